using System.Diagnostics;
using MtlDsl.Data;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiMnist;

/// <summary>One row of the dense comparison: what was trained and each task's test scores (null where not trained).</summary>
public sealed record DenseResult(string Model, double? Left, double? Right, double? PixelAccuracy, double? MeanIoU, double Seconds);

/// <summary>
/// The dense task MultiMNIST's construction gives for free (<see cref="MultiMnistBuilder.Regions"/>), with and without
/// the digits: each task alone, the two digits without the pixels (their labels all missing), and all three.
/// </summary>
public static class DenseExperiment
{
    /// <summary>Trains the five models on the same images and returns their rows.</summary>
    public static IReadOnlyList<DenseResult> Run(ExperimentOptions options, MnistDigits digits, Action<string> log, bool progress)
    {
        var (trainIndices, testIndices) = MultiMnistBuilder.Split(digits.Count, options.TrainDigits, options.TestDigits, options.Seed);
        var (trainImages, trainLeft, trainRight, trainRegions) = MultiMnistBuilder.BuildWithRegions(digits, trainIndices, options.Seed + 1);
        var (testImages, testLeft, testRight, testRegions) = MultiMnistBuilder.BuildWithRegions(digits, testIndices, options.Seed + 2);
        log($"MultiMNIST with per-pixel regions: {trainImages.shape[0]:N0} training and {testImages.shape[0]:N0} test images, {options.Epochs} epochs, " +
            $"batch {options.BatchSize}, {options.Protocol}; static weights 1:1:1.");
        var train = MultiTaskData<DenseMultiLeNet.Targets>.Shared(trainImages, new DenseMultiLeNet.Targets(trainLeft, trainRight, trainRegions));
        var test = MultiTaskData<DenseMultiLeNet.Targets>.Shared(testImages, new DenseMultiLeNet.Targets(testLeft, testRight, testRegions));
        // The digits alone: every pixel label missing, so the pixel head has no loss and the trunk learns from the digits only.
        Tensor NoPixels(Tensor regions) => full_like(regions, MtlDsl.Losses.TaskLosses.MissingClass);
        var digitsOnly = MultiTaskData<DenseMultiLeNet.Targets>.Shared(trainImages, new DenseMultiLeNet.Targets(trainLeft, trainRight, NoPixels(trainRegions)));
        var digitsOnlyTest = MultiTaskData<DenseMultiLeNet.Targets>.Shared(testImages, new DenseMultiLeNet.Targets(testLeft, testRight, NoPixels(testRegions)));

        return
        [
            Fit("single-task Left", options, train.OnlyTask("Left"), test.OnlyTask("Left"), log, progress),
            Fit("single-task Right", options, train.OnlyTask("Right"), test.OnlyTask("Right"), log, progress),
            Fit("single-task Pixels", options, train.OnlyTask("Pixels"), test.OnlyTask("Pixels"), log, progress),
            Fit("Left + Right", options, digitsOnly, digitsOnlyTest, log, progress),
            Fit("Left + Right + Pixels", options, train, test, log, progress),
        ];
    }

    private static DenseResult Fit(string name, ExperimentOptions options, MultiTaskData<DenseMultiLeNet.Targets> train,
        MultiTaskData<DenseMultiLeNet.Targets> test, Action<string> log, bool progress)
    {
        var clock = Stopwatch.StartNew();
        torch.manual_seed(options.Seed);
        using var model = new DenseMultiLeNet();
        var trainer = model.CreateTrainer(options.CreateOptimizer);
        string folder = "dense-" + name.ToLowerInvariant().Replace(" + ", "-").Replace(' ', '-');
        EvaluationResult result = Experiment.Fit(trainer, train, test, options, folder, log, progress).Epochs[^1].Validation!;
        double? Score(string task, string metric) => result[task, metric] is var value && double.IsNaN(value) ? null : value;
        return new DenseResult(name, Score("Left", "accuracy"), Score("Right", "accuracy"), Score("Pixels", "accuracy"), Score("Pixels", "mean_iou"),
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>The rows as a Markdown table.</summary>
    public static string Format(IReadOnlyList<DenseResult> results)
    {
        static string Percent(double? value) => value is double v ? (100 * v).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "–";
        var lines = new List<string>
        {
            "| model | left digit (%) | right digit (%) | pixel accuracy (%) | pixel mean IoU (%) | time (s) |",
            "|---|---|---|---|---|---|",
        };
        lines.AddRange(results.Select(r => $"| {r.Model} | {Percent(r.Left)} | {Percent(r.Right)} | {Percent(r.PixelAccuracy)} | {Percent(r.MeanIoU)} | " +
                                           $"{r.Seconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)} |"));
        return string.Join(Environment.NewLine, lines);
    }
}
