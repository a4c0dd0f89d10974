using System.Diagnostics;
using MtlDsl.Weighting;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Benchmarks;

/// <summary>
/// Each weighting strategy trains the article network side by side: step times in interleaved rounds (the order
/// rotates every round), relative to EW; peak memory of each measured alone in a fresh process (VmHWM), since a
/// process's peak never goes down.
/// </summary>
internal static class WeightingBenchmark
{
    public static readonly (string Name, GradientMode Mode)[] Configurations =
    [
        ("EW", GradientMode.Parameters), ("Static", GradientMode.Parameters), ("DWA", GradientMode.Parameters),
        ("UW", GradientMode.Parameters), ("RLW", GradientMode.Parameters), ("GLS", GradientMode.Parameters),
        ("PCGrad", GradientMode.Parameters), ("MGDA", GradientMode.Parameters), ("MGDA", GradientMode.Representation),
        ("CAGrad", GradientMode.Parameters), ("IMTL", GradientMode.Parameters), ("IMTL", GradientMode.Representation),
        ("GradNorm", GradientMode.Parameters), ("GradNorm", GradientMode.Representation),
        ("Aligned-MTL", GradientMode.Parameters), ("Aligned-MTL", GradientMode.Representation),
        ("GradVac", GradientMode.Parameters), ("Nash-MTL", GradientMode.Parameters), ("FAMO", GradientMode.Parameters),
        ("FairGrad", GradientMode.Parameters), ("UPGrad", GradientMode.Parameters), ("UPGrad", GradientMode.Representation),
        ("DualProj", GradientMode.Parameters), ("DualProj", GradientMode.Representation),
        ("ConFIG", GradientMode.Parameters), ("ConFIG", GradientMode.Representation),
    ];

    // MGDA with L2-normalised gradients, the paper's recommended setting; every other one with its defaults.
    public static WeightingStrategy Create(string name) => name switch
    {
        "Static" => new StaticWeighting([1.0, 0.5]),
        "MGDA" => new Mgda(MgdaNormalization.L2),
        _ => WeightingStrategies.Create(name, seed: 1),
    };

    private sealed class Runner : IDisposable
    {
        private readonly VisionModel _model = new();
        private readonly MtlDsl.Training.MultiTaskTrainer<VisionModel.Outputs, VisionModel.Targets, VisionModel.LossValues> _trainer;
        private readonly Tensor[] _images, _classes, _boxes;
        private int _cursor;

        public Runner(string name, GradientMode mode, (Tensor[] Images, Tensor[] Classes, Tensor[] Boxes) data)
        {
            _trainer = _model.CreateTrainer(parameters => optim.Adam(parameters, lr: 1e-3), Create(name), mode);
            (_images, _classes, _boxes) = data;
            for (int i = 0; i < 3; i++) Step();
            _trainer.EndEpoch(); // DWA and GradNorm reach their gradient-based regime from the second epoch on
            for (int i = 0; i < 3; i++) Step();
            _trainer.EndEpoch();
        }

        public void Step()
        {
            int b = _cursor++ % _images.Length;
            _trainer.Step(_images[b], new VisionModel.Targets(_classes[b], _boxes[b]));
        }

        public void Dispose() => _model.Dispose();
    }

    private static (Tensor[], Tensor[], Tensor[]) Data()
    {
        var (images, classes, boxes) = SyntheticVision.Generate(64 * 8, seed: 1);
        return (images.split(64), classes.split(64), boxes.split(64));
    }

    public static void Run(int rounds, int stepsPerRound)
    {
        torch.manual_seed(0);
        var data = Data();
        var runners = Configurations.Select(c => (c.Name, c.Mode, Runner: new Runner(c.Name, c.Mode, data))).ToList();
        var times = runners.ToDictionary(r => $"{r.Name} ({r.Mode})", _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < runners.Count; i++)
            {
                var r = runners[(i + round) % runners.Count];
                var watch = Stopwatch.StartNew();
                for (int s = 0; s < stepsPerRound; s++) r.Runner.Step();
                times[$"{r.Name} ({r.Mode})"].Add(watch.Elapsed.TotalMilliseconds / stepsPerRound);
            }
        }
        double ew = Statistics.Median(times["EW (Parameters)"]);
        Console.WriteLine($"Weighting strategies on the article network (batch 64, Adam, {torch.get_num_threads()} threads), {rounds} interleaved rounds of {stepsPerRound} steps:");
        Console.WriteLine($"{"strategy",-30} {"step ms",8} {"× EW",6} {"peak MiB",9}");
        foreach (var (name, mode, runner) in runners)
        {
            double median = Statistics.Median(times[$"{name} ({mode})"]);
            double peak = PeakMemoryAlone(name, mode);
            Console.WriteLine($"{$"{name} ({mode})",-30} {median,8:F1} {median / ew,6:F2} {peak,9:F0}");
            runner.Dispose();
        }
    }

    /// <summary>Runs 20 steps of one configuration in a fresh process and returns its peak resident memory.</summary>
    private static double PeakMemoryAlone(string name, GradientMode mode)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!, [typeof(WeightingBenchmark).Assembly.Location, "--peak-memory-of", name, mode.ToString()])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) != "dotnet") start.ArgumentList.RemoveAt(0);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return double.TryParse(output.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture, out double mib) ? mib : double.NaN;
    }

    /// <summary>In the child process: train one configuration and print the peak resident memory (MiB).</summary>
    public static void PrintPeakMemory(string name, GradientMode mode)
    {
        torch.manual_seed(0);
        using var runner = new Runner(name, mode, Data());
        for (int s = 0; s < 20; s++) runner.Step();
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        double kib = line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine((kib / 1024).ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
    }

}
