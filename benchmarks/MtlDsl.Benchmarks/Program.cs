using System.Diagnostics;
using MtlDsl.Benchmarks;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

// Side-by-side comparison of the generated article network and the same network written by hand in
// TorchSharp, with MtlDsl's block-aligned convolutions so that both compute the same thing and the ratio is the
// cost of MtlDsl's checks and glue (the convolution fix alone: "convolution" below): same data, same threads,
// same process. Step times are measured in interleaved rounds (the
// order alternates every round) so that machine noise falls on both alike; native memory is sampled over a
// long run of each. Usage: [--threads N] [--rounds N] [--steps-per-round N] [--memory-steps N]
// With "weighting" first: every weighting strategy side by side (step time relative to EW, peak memory).
// With "convolution" first: the candidate fixes for oneDNN's NaN in the convolution backward pass, side by side.
// With "outputs" first: what history, checkpoints, progress lines and plots cost a fit on small data.
// With "experts" first: the generated MMoE and CGC against the same networks written by hand ([--batch N]); with
// "--bottom" too, MMoE and PLE over a shared bottom of embeddings and a bag of ids instead (with "--parts": where a
// difference comes from).
// With "serving" first: inference of an exported model in TorchSharp, in ONNX Runtime, and through samples/OnnxServing over HTTP.
// With "torchrun" first: the PyTorch twin under torchrun with 1 and 2 processes, samples per second for three strategies, and
// what each strategy all-reduces per step ([--rounds N] [--samples N] [--batch N]; docs/scale-out.md).
// With "threads" first: one training epoch with 1 and 2 intra-op threads, quiet and with every core kept busy
// ([--model lenet|penguins] [--images N] [--batch N] [--spinners N] [--busy-only]; docs/performance.md).
if (args.Length >= 3 && args[0] == "--peak-memory-of")
{
    WeightingBenchmark.PrintPeakMemory(args[1], Enum.Parse<MtlDsl.Weighting.GradientMode>(args[2]));
    return;
}
if (args.Length >= 5 && args[0] == "threads-worker")
{
    ThreadsBenchmark.Serve(args[1], args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
    return;
}
if (args.Length > 0 && args[0] == "torchrun")
{
    TorchrunBenchmark.Run(Option("--rounds", 5), Option("--samples", 32768), Option("--batch", 256));
    return;
}
if (args.Length > 0 && args[0] == "threads")
{
    string model = Array.IndexOf(args, "--model") is int m and >= 0 && m + 1 < args.Length ? args[m + 1] : "lenet";
    ThreadsBenchmark.Run(Option("--rounds", 5), model, Option("--images", 1000), Option("--batch", 64), Option("--spinners", Environment.ProcessorCount), args.Contains("--busy-only"));
    return;
}
if (args.Length > 0 && args[0] == "convolution")
{
    torch.set_num_threads(Option("--threads", 2));
    ConvolutionBenchmark.Run(Option("--rounds", 20), Option("--steps-per-round", 5));
    return;
}
if (args.Length > 0 && args[0] == "outputs")
{
    torch.set_num_threads(Option("--threads", 2));
    OutputsBenchmark.Run(Option("--rounds", 5), Option("--epochs", 100));
    return;
}
if (args.Length > 0 && args[0] == "experts")
{
    torch.set_num_threads(Option("--threads", 2));
    if (args.Contains("--bottom") && args.Contains("--parts")) BottomBenchmark.RunParts(Option("--rounds", 100), Option("--steps-per-round", 5), Option("--batch", 512));
    else if (args.Contains("--bottom")) BottomBenchmark.Run(Option("--rounds", 100), Option("--steps-per-round", 5), Option("--batch", 512));
    else ExpertsBenchmark.Run(Option("--rounds", 100), Option("--steps-per-round", 5), Option("--batch", 512));
    return;
}
if (args.Length > 0 && args[0] == "serving")
{
    torch.set_num_threads(Option("--threads", 2));
    ServingBenchmark.Run(Option("--rounds", 10), Option("--requests-per-round", 200), Option("--threads", 2));
    return;
}
if (args.Length > 0 && args[0] == "weighting")
{
    torch.set_num_threads(Option("--threads", 2));
    WeightingBenchmark.Run(Option("--rounds", 8), Option("--steps-per-round", 3));
    return;
}
int threads = Option("--threads", 2), rounds = Option("--rounds", 20), stepsPerRound = Option("--steps-per-round", 10), memorySteps = Option("--memory-steps", 2000);
torch.set_num_threads(threads);
torch.manual_seed(0);
const int batch = 64;
var (images, classes, boxes) = SyntheticVision.Generate(batch * 16, seed: 1);
Tensor[] batchImages = images.split(batch), batchClasses = classes.split(batch), batchBoxes = boxes.split(batch);

using var generated = new VisionModel();
using var handWritten = new HandWrittenVisionModel(blockAlignedConvolutions: true);
handWritten.load_state_dict(generated.state_dict());
var trainer = generated.CreateTrainer(optim.Adam(generated.parameters(), lr: 1e-3));
var optimizer = optim.Adam(handWritten.parameters(), lr: 1e-3);
int cursor = 0;
void GeneratedStep() { int b = cursor++ % batchImages.Length; trainer.Step(batchImages[b], new VisionModel.Targets(batchClasses[b], batchBoxes[b])); }
void HandWrittenStep() { int b = cursor++ % batchImages.Length; handWritten.Step(optimizer, batchImages[b], batchClasses[b], batchBoxes[b]); }

Console.WriteLine($"Article network, batch {batch} of 3x28x28, Adam; {threads} thread(s); TorchSharp native: {MtlDsl.Native.TorchNative.LoadedFrom}");
for (int i = 0; i < 20; i++) { GeneratedStep(); HandWrittenStep(); }

var generatedTimes = new List<double>();
var handWrittenTimes = new List<double>();
var ratios = new List<double>();
for (int round = 0; round < rounds; round++)
{
    double Measure(Action step)
    {
        var watch = Stopwatch.StartNew();
        for (int s = 0; s < stepsPerRound; s++) step();
        return watch.Elapsed.TotalMilliseconds / stepsPerRound;
    }
    double g, h;
    if (round % 2 == 0) { g = Measure(GeneratedStep); h = Measure(HandWrittenStep); }
    else { h = Measure(HandWrittenStep); g = Measure(GeneratedStep); }
    generatedTimes.Add(g);
    handWrittenTimes.Add(h);
    ratios.Add(g / h);
}
Console.WriteLine();
Console.WriteLine($"step time ({rounds} interleaved rounds of {stepsPerRound} steps, median):");
Console.WriteLine($"  generated     {Statistics.Median(generatedTimes),7:F2} ms");
Console.WriteLine($"  hand-written  {Statistics.Median(handWrittenTimes),7:F2} ms");
Console.WriteLine($"  ratio generated / hand-written: {Statistics.Median(ratios):F3} (median of per-round ratios; goal <= 1.02)");

if (memorySteps > 0)
{
    Console.WriteLine();
    Console.WriteLine($"native memory over {memorySteps} steps (resident set, MiB; sampled every {memorySteps / 20} steps after a warm-up of {memorySteps / 10}):");
    ReportMemory("generated", GeneratedStep);
    ReportMemory("hand-written", HandWrittenStep);
}

void ReportMemory(string name, Action step)
{
    int every = Math.Max(1, memorySteps / 20), warmUp = memorySteps / 10;
    var samples = new List<(int Step, double MiB)>();
    for (int s = 1; s <= memorySteps; s++)
    {
        step();
        if (s >= warmUp && s % every == 0) samples.Add((s, ResidentMiB()));
    }
    double slope = Slope(samples) * 1000;
    Console.WriteLine($"  {name,-13} first {samples[0].MiB,8:F1}  last {samples[^1].MiB,8:F1}  min {samples.Min(x => x.MiB),8:F1}  max {samples.Max(x => x.MiB),8:F1}  trend {slope,6:F2} MiB per 1,000 steps");
}

static double ResidentMiB()
{
    using var process = Process.GetCurrentProcess();
    process.Refresh();
    return process.WorkingSet64 / (1024.0 * 1024.0);
}

static double Slope(List<(int Step, double MiB)> samples)
{
    double meanX = samples.Average(s => (double)s.Step), meanY = samples.Average(s => s.MiB);
    double num = samples.Sum(s => (s.Step - meanX) * (s.MiB - meanY)), den = samples.Sum(s => (s.Step - meanX) * (s.Step - meanX));
    return den == 0 ? 0 : num / den;
}

int Option(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out int value) ? value : fallback;
}
