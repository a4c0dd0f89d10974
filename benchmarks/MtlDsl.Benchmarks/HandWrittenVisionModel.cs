using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MtlDsl.Benchmarks;

/// <summary>
/// The article's network written by hand in plain TorchSharp, as a careful user would without MtlDsl: the
/// baseline that the generated <c>VisionModel</c> is tested and measured against.
/// </summary>
public sealed class HandWrittenVisionModel : Module<Tensor, (Tensor Classification, Tensor Detection)>
{
    private readonly Sequential features;
    private readonly Sequential classification;
    private readonly Sequential detection;

    public HandWrittenVisionModel() : base(nameof(HandWrittenVisionModel))
    {
        features = Sequential(
            Conv2d(3, 32, 3, padding: 1), ReLU(), MaxPool2d(2),
            Conv2d(32, 64, 3, padding: 1), ReLU(), MaxPool2d(2));
        classification = Sequential(Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Linear(128, 10));
        detection = Sequential(Conv2d(64, 128, 3, padding: 1), ReLU(), Conv2d(128, 35, 1));
        RegisterComponents();
    }

    public override (Tensor Classification, Tensor Detection) forward(Tensor input)
    {
        Tensor representation = features.forward(input);
        return (classification.forward(representation), detection.forward(representation));
    }

    /// <summary>One training step: the article's joint loss CE + 0.5·MSE, backward, optimizer step.</summary>
    public (double Total, double Classification, double Detection) Step(optim.Optimizer optimizer, Tensor images, Tensor classes, Tensor boxes)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var (scores, maps) = forward(images);
        Tensor classificationLoss = functional.cross_entropy(scores, classes);
        Tensor detectionLoss = functional.mse_loss(maps, boxes);
        Tensor total = classificationLoss + detectionLoss * 0.5;
        double[] values = stack([total, classificationLoss, detectionLoss]).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        total.backward();
        optimizer.step();
        return (values[0], values[1], values[2]);
    }
}
