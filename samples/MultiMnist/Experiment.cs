using System.Diagnostics;
using MtlDsl.Data;
using MtlDsl.Metrics;
using MtlDsl.Reporting;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiMnist;

/// <summary>What one run of the comparison trains.</summary>
/// <param name="Epochs">Epochs per model.</param>
/// <param name="TrainDigits">How many of the 10,000 digits build the training images.</param>
/// <param name="TestDigits">How many other digits build the test images (the same ones for every training size).</param>
/// <param name="Methods">The multi-task methods: <c>Static</c> and the names of <see cref="WeightingStrategies"/>.</param>
/// <param name="OutputDirectory">Where each model's history, plots and checkpoints go (one folder per method).</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="LearningRate">The learning rate: Adam's, cosine-annealed to a tenth over the epochs; or, with
/// <paramref name="Paper"/>, SGD's.</param>
/// <param name="Seed">The seed of the split, the pairing, the initial weights, the batch order and dropout.</param>
/// <param name="Paper">Sener &amp; Koltun's protocol: SGD with momentum 0.9, the rate halved every 30 epochs.</param>
/// <param name="Architectures">Architectures other than hard sharing to train with static weights (<see cref="Experiment.AllArchitectures"/>).</param>
/// <param name="EqualTime">Also the multi-task model with static weights trained twice the epochs: the time of the two
/// single-task trainings it replaces (<see cref="Experiment.EqualTime"/>).</param>
public sealed record ExperimentOptions(int Epochs, int TrainDigits, int TestDigits, IReadOnlyList<string> Methods, string OutputDirectory,
    int BatchSize = 64, double LearningRate = 2e-3, int Seed = 2018, bool Paper = false, IReadOnlyList<string>? Architectures = null,
    bool EqualTime = false)
{
    /// <summary>The optimizer of every model of the run.</summary>
    public optim.Optimizer CreateOptimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters) => Paper
        ? new MtlDsl.Optimizers.SGD(parameters, lr: LearningRate, momentum: 0.9)
        : new MtlDsl.Optimizers.Adam(parameters, lr: LearningRate);

    /// <summary>The learning-rate schedule of every model of the run.</summary>
    public LearningRateSchedule Schedule => Paper ? LearningRateSchedule.Step(every: 30, gamma: 0.5) : LearningRateSchedule.Cosine(Epochs, minFactor: 0.1);

    /// <summary>A sentence saying how the models are trained.</summary>
    public string Protocol => Paper
        ? $"SGD momentum 0.9, learning rate {LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)} halved every 30 epochs"
        : $"Adam, learning rate {LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)} cosine-annealed to a tenth";
}

/// <summary>The MultiMNIST images of one run: training and test, each with its left and right labels.</summary>
public sealed record MultiMnistImages(Tensor TrainImages, Tensor TrainLeft, Tensor TrainRight, Tensor TestImages, Tensor TestLeft, Tensor TestRight)
{
    /// <summary>
    /// The quick and full modes: training and test images from disjoint digits of the 10,000 in Data/mnist-digits.
    /// </summary>
    public static MultiMnistImages FromDigits(MnistDigits digits, ExperimentOptions options)
    {
        var (trainIndices, testIndices) = MultiMnistBuilder.Split(digits.Count, options.TrainDigits, options.TestDigits, options.Seed);
        var (trainImages, trainLeft, trainRight) = MultiMnistBuilder.Build(digits, trainIndices, options.Seed + 1);
        var (testImages, testLeft, testRight) = MultiMnistBuilder.Build(digits, testIndices, options.Seed + 2);
        return new(trainImages, trainLeft, trainRight, testImages, testLeft, testRight);
    }

    /// <summary>
    /// The paper's construction on the full MNIST: one MultiMNIST image per training digit (60,000, partners drawn
    /// from the training digits) and per test digit (10,000, partners from the test digits). With
    /// <paramref name="holdOut"/> digits, for choosing a learning rate without looking at the test set: the "test"
    /// images are built from that many training digits (a seeded draw) and the training images from the rest; the
    /// test digits are not used.
    /// </summary>
    public static MultiMnistImages FromFullMnist(MnistDigits train, MnistDigits test, int seed, int holdOut = 0)
    {
        if (holdOut > 0)
        {
            var (fit, held) = MultiMnistBuilder.Split(train.Count, train.Count - holdOut, holdOut, seed);
            var (fitImages, fitLeft, fitRight) = MultiMnistBuilder.Build(train, fit, seed + 1);
            var (heldImages, heldLeft, heldRight) = MultiMnistBuilder.Build(train, held, seed + 2);
            return new(fitImages, fitLeft, fitRight, heldImages, heldLeft, heldRight);
        }
        var (trainImages, trainLeft, trainRight) = MultiMnistBuilder.Build(train, Enumerable.Range(0, train.Count).ToArray(), seed + 1);
        var (testImages, testLeft, testRight) = MultiMnistBuilder.Build(test, Enumerable.Range(0, test.Count).ToArray(), seed + 2);
        return new(trainImages, trainLeft, trainRight, testImages, testLeft, testRight);
    }
}

/// <summary>One row of the comparison: test accuracy of both digits, Δm against the single-task baselines, time.</summary>
public sealed record MethodResult(string Method, double Left, double Right, double? DeltaM, double Seconds);

/// <summary>Sener &amp; Koltun's MultiMNIST comparison: single-task baselines and the multi-task model trained with each method.</summary>
public static class Experiment
{
    /// <summary>The published test accuracies (left, right) of Sener &amp; Koltun (2018), table 2, trained on 60,000 images.</summary>
    public static IReadOnlyDictionary<string, (double Left, double Right)> Published { get; } = new Dictionary<string, (double, double)>
    {
        ["single-task"] = (97.23, 95.90),
        ["Static"] = (96.46, 94.99),
        ["UW"] = (96.47, 95.29),
        ["GradNorm"] = (96.27, 94.84),
        ["MGDA"] = (97.26, 95.90),
    };

    /// <summary>The architectures other than hard sharing that fit the MultiMNIST LeNet (ArchitectureModels.cs).</summary>
    public static IReadOnlyList<string> AllArchitectures { get; } = ["MMoE", "CGC", "PLE", "Cross-stitch", "MTAN"];

    /// <summary>The first run's methods: equal weights, one loss weighting (UW) and one gradient method (MGDA-UB, Sener &amp; Koltun's, which costs little more than a plain step).</summary>
    public static IReadOnlyList<string> QuickMethods { get; } = ["Static", "UW", "MGDA"];

    /// <summary>The first run's architecture: CGC (a shared expert and one per digit).</summary>
    public static IReadOnlyList<string> QuickArchitectures { get; } = ["CGC"];

    /// <summary>
    /// The row name of the multi-task model with static weights trained twice the epochs of the others: one
    /// multi-task model replaces two single-task ones, so at the single-task pair's training time it gets twice
    /// their epochs.
    /// </summary>
    public const string EqualTime = "Static, equal time";

    /// <summary>The first run's training images and epochs.</summary>
    public const int QuickImages = 6_000, QuickEpochs = 6;

    /// <summary>Where the run's outputs are: the folder, one subfolder per model, and the files in one of them.</summary>
    public static string DescribeOutputs(string output, IReadOnlyList<MethodResult> results)
    {
        string root = Path.GetFullPath(output);
        string[] folders = ["single-left", "single-right", .. results.Skip(1).Select(r => r.Method == EqualTime ? "Static-equal-time" : r.Method)];
        string first = Path.Combine(root, folders[^1]);
        string files = Directory.Exists(first)
            ? string.Join(", ", Directory.EnumerateFiles(first).Select(Path.GetFileName).Order()
                .Concat(Directory.Exists(Path.Combine(first, "checkpoints")) ? Directory.EnumerateFiles(Path.Combine(first, "checkpoints")).Select(f => "checkpoints/" + Path.GetFileName(f)).Order() : []))
            : "";
        return $"outputs in {root}: a folder per model ({string.Join(", ", folders)}), each with {files}";
    }

    /// <summary>Every method: static weights, then every named strategy except EW (which is static 1:1 here).</summary>
    public static IReadOnlyList<string> AllMethods { get; } = ["Static", .. WeightingStrategies.Names.Where(n => n != "EW")];

    /// <summary>Trains the baselines and every method; returns the rows, the baselines first.</summary>
    public static IReadOnlyList<MethodResult> Run(ExperimentOptions options, MultiMnistImages images, Action<string> log, bool progress)
    {
        log($"MultiMNIST: {images.TrainImages.shape[0]:N0} training and {images.TestImages.shape[0]:N0} test images (disjoint digits), {options.Epochs} epochs, batch {options.BatchSize}, {options.Protocol}.");

        var train = MultiTaskData<MultiLeNet.Targets>.Shared(images.TrainImages, new MultiLeNet.Targets(images.TrainLeft, images.TrainRight));
        var test = MultiTaskData<MultiLeNet.Targets>.Shared(images.TestImages, new MultiLeNet.Targets(images.TestLeft, images.TestRight));

        // The single-task baselines: the same network trained with the other digit's labels masked, which is
        // exactly a trunk and one head trained alone (the other head gets no gradient and stays as it was).
        var results = new List<MethodResult>();
        var clock = Stopwatch.StartNew();
        double left = FitOne(options, "single-left", "Left", train, test, log, progress);
        double right = FitOne(options, "single-right", "Right", train, test, log, progress);
        var baseline = new MethodResult("single-task", left, right, null, clock.Elapsed.TotalSeconds);
        results.Add(baseline);

        foreach (string method in options.Methods)
        {
            clock.Restart();
            torch.manual_seed(options.Seed);
            using var model = new MultiLeNet();
            WeightingStrategy? weighting = method == "Static" ? null : WeightingStrategies.Create(method, options.Seed);
            // MGDA-UB: MGDA on the gradients with respect to the representation, as Sener & Koltun train it.
            var mode = method == "MGDA" ? GradientMode.Representation : GradientMode.Parameters;
            var trainer = model.CreateTrainer(options.CreateOptimizer, weighting, mode);
            TrainingHistory history = Fit(trainer, train, test, options, method, log, progress);
            EvaluationResult final = history.Epochs[^1].Validation!;
            double l = final["Left", "accuracy"], r = final["Right", "accuracy"];
            double deltaM = DeltaM.Compute([new MetricComparison(l, baseline.Left, true), new MetricComparison(r, baseline.Right, true)]);
            results.Add(new MethodResult(method, l, r, deltaM, clock.Elapsed.TotalSeconds));
        }

        // One multi-task model instead of two single-task ones, given their time: twice the epochs (and its own
        // cosine schedule over them), the same images and initial weights.
        if (options.EqualTime)
        {
            clock.Restart();
            torch.manual_seed(options.Seed);
            using var model = new MultiLeNet();
            var twice = options with { Epochs = 2 * options.Epochs };
            var trainer = model.CreateTrainer(twice.CreateOptimizer);
            EvaluationResult final = Fit(trainer, train, test, twice, "Static-equal-time", log, progress).Epochs[^1].Validation!;
            double l = final["Left", "accuracy"], r = final["Right", "accuracy"];
            double deltaM = DeltaM.Compute([new MetricComparison(l, baseline.Left, true), new MetricComparison(r, baseline.Right, true)]);
            results.Add(new MethodResult(EqualTime, l, r, deltaM, clock.Elapsed.TotalSeconds));
        }

        // The other architectures, each with the static weights 1:1 (compare with the Static row: hard sharing).
        foreach (string architecture in options.Architectures ?? [])
        {
            clock.Restart();
            torch.manual_seed(options.Seed);
            var (l, r) = architecture switch
            {
                "MMoE" => FitArchitecture<MMoELeNet.Outputs, MMoELeNet.Targets, MMoELeNet.LossValues>(new MMoELeNet(), architecture, images, options, log, progress),
                "CGC" => FitArchitecture<CGCLeNet.Outputs, CGCLeNet.Targets, CGCLeNet.LossValues>(new CGCLeNet(), architecture, images, options, log, progress),
                "PLE" => FitArchitecture<PLELeNet.Outputs, PLELeNet.Targets, PLELeNet.LossValues>(new PLELeNet(), architecture, images, options, log, progress),
                "Cross-stitch" => FitArchitecture<CrossStitchLeNet.Outputs, CrossStitchLeNet.Targets, CrossStitchLeNet.LossValues>(new CrossStitchLeNet(), architecture, images, options, log, progress),
                "MTAN" => FitArchitecture<MTANLeNet.Outputs, MTANLeNet.Targets, MTANLeNet.LossValues>(new MTANLeNet(), architecture, images, options, log, progress),
                _ => throw new ArgumentException($"Unknown architecture '{architecture}'; choose from {string.Join(", ", AllArchitectures)}."),
            };
            double deltaM = DeltaM.Compute([new MetricComparison(l, baseline.Left, true), new MetricComparison(r, baseline.Right, true)]);
            results.Add(new MethodResult(architecture, l, r, deltaM, clock.Elapsed.TotalSeconds));
        }
        return results;
    }

    // One architecture's model with static weights 1:1; returns its test accuracy of both digits.
    private static (double Left, double Right) FitArchitecture<TOutputs, TTargets, TLossValues>(MtlDsl.MultiTaskModule<TOutputs, TTargets> model, string name,
        MultiMnistImages images, ExperimentOptions options, Action<string> log, bool progress)
        where TOutputs : MtlDsl.ITaskTensors<TOutputs>
        where TTargets : MtlDsl.ITaskTensors<TTargets>
        where TLossValues : MtlDsl.ITaskLossValues<TLossValues>
    {
        using var _ = model;
        var train = MultiTaskData<TTargets>.Shared(images.TrainImages, TTargets.Create([images.TrainLeft, images.TrainRight]));
        var test = MultiTaskData<TTargets>.Shared(images.TestImages, TTargets.Create([images.TestLeft, images.TestRight]));
        var trainer = new MultiTaskTrainer<TOutputs, TTargets, TLossValues>(model, options.CreateOptimizer);
        EvaluationResult final = Fit(trainer, train, test, options, name, log, progress).Epochs[^1].Validation!;
        return (final["Left", "accuracy"], final["Right", "accuracy"]);
    }

    private static double FitOne(ExperimentOptions options, string name, string task, MultiTaskData<MultiLeNet.Targets> train,
        MultiTaskData<MultiLeNet.Targets> test, Action<string> log, bool progress)
    {
        torch.manual_seed(options.Seed);
        using var model = new MultiLeNet();
        var trainer = model.CreateTrainer(options.CreateOptimizer);
        var history = Fit(trainer, train.OnlyTask(task), test.OnlyTask(task), options, name, log, progress);
        return history.Epochs[^1].Validation![task, "accuracy"];
    }

    internal static TrainingHistory Fit<TOutputs, TTargets, TLossValues>(MultiTaskTrainer<TOutputs, TTargets, TLossValues> trainer,
        MultiTaskData<TTargets> train, MultiTaskData<TTargets> test, ExperimentOptions options, string name, Action<string> log, bool progress)
        where TOutputs : MtlDsl.ITaskTensors<TOutputs>
        where TTargets : MtlDsl.ITaskTensors<TTargets>
        where TLossValues : MtlDsl.ITaskLossValues<TLossValues>
    {
        var fit = new FitOptions
        {
            Epochs = options.Epochs, BatchSize = options.BatchSize, Seed = options.Seed,
            Schedule = options.Schedule,
            OutputDirectory = Path.Combine(options.OutputDirectory, name),
        };
        log($"{name}:");
        if (progress) return trainer.FitWithProgress(train, fit, test);
        TrainingHistory history = trainer.Fit(train, fit with { Observers = [new PlotWriter()] }, test);
        return history;
    }
}
