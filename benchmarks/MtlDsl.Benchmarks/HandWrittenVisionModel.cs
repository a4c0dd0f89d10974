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

    /// <param name="blockAlignedConvolutions">MtlDsl's convolution instead of TorchSharp's (to measure its cost alone).</param>
    public HandWrittenVisionModel(bool blockAlignedConvolutions = false) : base(nameof(HandWrittenVisionModel))
    {
        Module<Tensor, Tensor> Conv(long inChannels, long outChannels, long kernel, long padding) => blockAlignedConvolutions
            ? MtlDsl.BlockAlignedConv.Conv2d(inChannels, outChannels, kernel, padding: padding)
            : Conv2d(inChannels, outChannels, kernel, padding: padding);
        features = Sequential(
            Conv(3, 32, 3, 1), ReLU(), MaxPool2d(2),
            Conv(32, 64, 3, 1), ReLU(), MaxPool2d(2));
        classification = Sequential(Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Linear(128, 10));
        detection = Sequential(Conv(64, 128, 3, 1), ReLU(), Conv(128, 35, 1, 0));
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
