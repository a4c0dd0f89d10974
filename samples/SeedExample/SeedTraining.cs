using TorchSharp;
using static TorchSharp.torch;

namespace SeedExample;

/// <summary>One epoch of the sample: mean training losses and held-out accuracy and detection error.</summary>
public sealed record EpochResult(int Epoch, double Total, double Classification, double Detection, double TestAccuracy, double TestCellHits);

/// <summary>Trains the article's network on synthetic images, as a newcomer would write it.</summary>
public static class SeedTraining
{
    /// <summary>Trains for <paramref name="epochs"/> epochs of 2,048 images (batch 64, Adam 1e-3) and evaluates on 512 others.</summary>
    public static IReadOnlyList<EpochResult> Run(int epochs, int seed, Action<string> log)
    {
        torch.manual_seed(seed);
        var (trainImages, trainClasses, trainBoxes) = SyntheticVision.Generate(2048, seed);
        var (testImages, testClasses, testBoxes) = SyntheticVision.Generate(512, seed + 1);
        const int batch = 64;

        using var model = new VisionModel();
        var trainer = model.CreateTrainer(new MtlDsl.Optimizers.Adam(model.parameters(), lr: 1e-3));
        var results = new List<EpochResult>();
        log($"{"epoch",5}  {"total",8}  {"classification",14}  {"detection",9}  {"test accuracy",13}  {"test square found",17}");
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double total = 0, classification = 0, detection = 0;
            int steps = 0;
            using (var order = randperm(trainImages.shape[0]))
            {
                for (long start = 0; start < trainImages.shape[0]; start += batch)
                {
                    using var scope = NewDisposeScope();
                    Tensor index = order.narrow(0, start, Math.Min(batch, trainImages.shape[0] - start));
                    var step = trainer.Step(trainImages[index], new VisionModel.Targets(trainClasses[index], trainBoxes[index]));
                    total += step.Total;
                    classification += step.Classification;
                    detection += step.Detection;
                    steps++;
                }
            }

            var (accuracy, cellHits) = Evaluate(model, testImages, testClasses, testBoxes);
            var result = new EpochResult(epoch, total / steps, classification / steps, detection / steps, accuracy, cellHits);
            results.Add(result);
            log($"{epoch,5}  {result.Total,8:F4}  {result.Classification,14:F4}  {result.Detection,9:F5}  {result.TestAccuracy,13:P1}  {result.TestCellHits,17:P1}");
        }
        return results;
    }

    // Accuracy of the class, and how often the detection head's strongest objectness cell is the square's cell.
    private static (double Accuracy, double CellHits) Evaluate(VisionModel model, Tensor images, Tensor classes, Tensor boxes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var outputs = model.forward(images);
        double accuracy = outputs.Classification.argmax(1).eq(classes).to_type(ScalarType.Float32).mean().item<float>();
        long count = images.shape[0];
        Tensor predictedCell = outputs.Detection.select(1, 0).reshape(count, -1).argmax(1);
        Tensor trueCell = boxes.select(1, 0).reshape(count, -1).argmax(1);
        double cellHits = predictedCell.eq(trueCell).to_type(ScalarType.Float32).mean().item<float>();
        model.train();
        return (accuracy, cellHits);
    }
}
