using System.Globalization;
using System.Text;

namespace MultiMnist;

/// <summary>
/// How <c>--paper</c>'s learning rates are chosen, without looking at the test set: every method with each rate of
/// a grid, under the paper's protocol (SGD momentum 0.9, batch 256) for a few epochs, trained on 50,000 training
/// digits' images and scored on the images of the other 10,000; per method the rate with the best mean accuracy.
/// Sener &amp; Koltun chose theirs from a grid too, without publishing the chosen values.
/// </summary>
public static class Tuning
{
    /// <summary>
    /// The rate <c>--tune</c> chose for every method alike (the best mean held-out accuracy after 5 epochs, for the
    /// single-task baselines and each of Static, UW, GradNorm and MGDA-UB, over the grid 0.001, 0.005, 0.01, 0.05,
    /// 0.1, 0.2; the figures are in docs/samples.md).
    /// </summary>
    public const double PaperRate = 0.05;

    /// <summary>Runs the grid and prints each rate's held-out accuracies and the best rate per method.</summary>
    public static int Run(string[] args, Func<string, string?> value)
    {
        int epochs = int.TryParse(value("--epochs"), out int e) ? e : 5;
        double[] grid = value("--grid")?.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray() ?? [1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.2];
        string[] methods = value("--methods")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? ["Static", "UW", "GradNorm", "MGDA"];
        string output = value("--out") ?? Path.Combine("out", "multimnist-tune");
        const int seed = 2018, holdOut = 10_000;

        var (trainDigits, testDigits) = MnistFiles.Load(MnistFiles.DefaultFolder);
        MultiMnistImages images = MultiMnistImages.FromFullMnist(trainDigits, testDigits, seed, holdOut);
        var best = new Dictionary<string, (double Rate, double Accuracy)>();
        var table = new StringBuilder();
        table.AppendLine($"{"rate",8}  " + string.Join("  ", new[] { "single-task" }.Concat(methods).Select(m => $"{m,-14}")));
        foreach (double rate in grid)
        {
            var options = new ExperimentOptions(epochs, trainDigits.Count - holdOut, holdOut, methods, Path.Combine(output, rate.ToString(CultureInfo.InvariantCulture)),
                BatchSize: 256, LearningRate: rate, Seed: seed, Paper: true);
            IReadOnlyList<MethodResult> results = Experiment.Run(options, images, Console.WriteLine, progress: false);
            table.Append($"{rate.ToString(CultureInfo.InvariantCulture),8}  ");
            foreach (MethodResult r in results)
            {
                double mean = (r.Left + r.Right) / 2;
                table.Append($"{(100 * mean).ToString("F2", CultureInfo.InvariantCulture),-14}  ");
                if (!best.TryGetValue(r.Method, out var b) || mean > b.Accuracy) best[r.Method] = (rate, mean);
            }
            table.AppendLine();
        }
        Console.WriteLine();
        Console.WriteLine($"Mean held-out accuracy % of both digits after {epochs} epochs ({trainDigits.Count - holdOut:N0} training digits' images, scored on the other {holdOut:N0}'s):");
        Console.Write(table);
        Console.WriteLine("Best rate per method: " + string.Join(", ", best.Select(p => $"{p.Key} {p.Value.Rate.ToString(CultureInfo.InvariantCulture)}")));
        return 0;
    }
}
