using System.Diagnostics;
using MtlDsl.Data;
using MtlDsl.Reporting;
using MtlDsl.Training;
using Penguins;
using Spectre.Console;
using TorchSharp;

namespace MtlDsl.Benchmarks;

/// <summary>
/// What a fit's outputs cost on small data: the penguins table (about 270 training rows, batch 32, 100 epochs)
/// fitted plainly, with an output folder (history and checkpoints; the resume checkpoint every epoch, the default,
/// or under the write budget), and with the progress lines and plots too, in interleaved rounds; the ratios are medians of per-round ratios to the plain fit. Goal: at most 1.10.
/// </summary>
internal static class OutputsBenchmark
{
    public static void Run(int rounds, int epochs)
    {
        var (train, test, _) = PenguinData.Load(PenguinData.Read(PenguinData.DefaultPath), testFraction: 0.2, seed: 7);
        var data = MultiTaskData<PenguinModel.Targets>.Shared(train.Inputs, new PenguinModel.Targets(train.Species, train.Sex, train.BodyMass));
        var validation = MultiTaskData<PenguinModel.Targets>.Shared(test.Inputs, new PenguinModel.Targets(test.Species, test.Sex, test.BodyMass));
        string folder = Path.Combine(Path.GetTempPath(), $"mtldsl-outputs-{Environment.ProcessId}");
        var options = new FitOptions { Epochs = epochs, BatchSize = 32, Seed = 1, EarlyStopping = new("Species", "accuracy", Patience: epochs) };
        // A console that is not interactive, as when the output is redirected; its lines go nowhere.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });

        double Fit(Func<MultiTaskTrainer<PenguinModel.Outputs, PenguinModel.Targets, PenguinModel.LossValues>, TrainingHistory> fit)
        {
            torch.manual_seed(1);
            using var model = new PenguinModel();
            var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-2));
            var clock = Stopwatch.StartNew();
            fit(trainer);
            return clock.Elapsed.TotalSeconds;
        }
        (string Name, Func<double> Run)[] candidates =
        [
            ("Fit", () => Fit(t => t.Fit(data, options, validation))),
            ("Fit with an output folder", () => Fit(t => t.Fit(data, options with { OutputDirectory = folder }, validation))),
            ("  same, last.ckpt under the 5 % budget", () => Fit(t => t.Fit(data, options with { OutputDirectory = folder, CheckpointCadence = CheckpointCadence.WriteBudget }, validation))),
            ("FitWithProgress with outputs and plots", () => Fit(t => t.FitWithProgress(data, options with { OutputDirectory = folder }, validation, console))),
        ];
        foreach (var (_, run) in candidates) run();

        var (times, ratios) = Statistics.Interleaved(candidates.Length, rounds, c => candidates[c].Run());
        Directory.Delete(folder, recursive: true);
        Console.WriteLine($"Penguins, {train.Rows.Count} training rows, batch 32, {epochs} epochs with validation, {rounds} interleaved rounds, median:");
        for (int c = 0; c < candidates.Length; c++)
            Console.WriteLine($"  {candidates[c].Name,-40} {Statistics.Median(times[c]),6:F2} s   ratio {Statistics.Median(ratios[c]),5:F3} (goal <= 1.10)");
    }
}
