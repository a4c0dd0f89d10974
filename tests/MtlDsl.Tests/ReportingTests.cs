using System.Buffers.Binary;
using MtlDsl.Reporting;
using MtlDsl.TestModels;
using MtlDsl.Training;
using ScottPlot;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The console report and the plots of a fit.</summary>
public class ReportingTests : TemporaryFolderTest
{
    [Fact]
    public void AFitWithProgressPrintsEveryEpochAndWritesThePlots()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 3e-3));
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        var history = trainer.FitWithProgress(TabularProblem.Data(256, seed: 1),
            new FitOptions { Epochs = 3, BatchSize = 64, OutputDirectory = Folder }, TabularProblem.Data(128, seed: 2), console);

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The backend check, one line per epoch (whole whatever the console's width), and where the outputs are.
        Assert.Equal(5, lines.Length);
        Assert.Matches(@"^backend check: \d+ kernels? right as MtlDsl runs them \(.*\); \d+ ms$", lines[0]);
        Assert.StartsWith("epoch 3/3  |  loss Species ", lines[3]);
        Assert.StartsWith($"outputs in {Path.GetFullPath(Folder)}: history.csv, loss.png", lines[4]);
        Assert.Contains("validation Species accuracy ", lines[3]);
        Assert.Contains("BodyMass mae ", lines[3]);
        Assert.Equal(3, history.Epochs.Count);

        // One row of panels is 900×540; each further row (two panels to a row) adds half of that.
        foreach (var (file, panels) in new[] { (TrainingPlots.LossFile, TrainingPlots.LossPanels(history)), (TrainingPlots.MetricsFile, TrainingPlots.MetricPanels(history)) })
        {
            byte[] png = File.ReadAllBytes(Path.Combine(Folder, file));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.Equal(900, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));  // IHDR width
            int rows = (panels.Subplots.Count + 1) / 2;
            Assert.Equal(540 + (rows - 1) * 270, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));  // IHDR height
            Assert.True(png.Length > 10_000, $"{file} has {png.Length} bytes: the curves are drawn");
        }
        Assert.True(File.Exists(Path.Combine(Folder, "history.csv")));
    }

    [Fact]
    public void WithoutValidationOnlyTheLossIsPlotted()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 3e-3));
        var history = trainer.Fit(TabularProblem.Data(128, seed: 1), new FitOptions { Epochs = 2, BatchSize = 64 });
        Assert.Equal([Path.Combine(Folder, TrainingPlots.LossFile)], TrainingPlots.Write(history, Folder));
    }

    [Fact]
    public void TheMetricsHaveOnePanelPerMetricNameAcrossTasksWithWholeEpochTicks()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 3e-3));
        var history = trainer.Fit(TabularProblem.Data(256, seed: 1), new FitOptions { Epochs = 7, BatchSize = 64 }, TabularProblem.Data(128, seed: 2));

        // Species: accuracy, macro F1; IsMale: (binary) accuracy; BodyMass: MAE, RMSE. Accuracy holds two tasks.
        var metrics = TrainingPlots.MetricPanels(history);
        Plot[] panels = metrics.GetPlots();
        Assert.Equal(["Validation accuracy", "Validation macro F1", "Validation AUC", "Validation log-loss", "Validation mean absolute error", "Validation root mean squared error"],
            panels.Select(p => p.Axes.Title.Label.Text));
        Assert.Equal(["Species", "IsMale", "best epoch"], panels[0].GetPlottables().Select(Legend).Select(l => l.Split(' ')[0] == "best" ? "best epoch" : l));

        // Rendered at widths where an automatic axis would put ticks at 1.5, 2.5, …: every tick is a whole epoch.
        foreach (int width in new[] { 900, 2400 })
        {
            using var image = metrics.Render(width, 810);
            foreach (Plot panel in panels)
            {
                Tick[] ticks = panel.Axes.Bottom.TickGenerator.Ticks;
                Assert.True(ticks.Length >= 2, $"{ticks.Length} epoch ticks");
                // Whole to rounding (ScottPlot steps 1, 2, 3 by adding 1.0000000000000002 at times), labelled as such.
                Assert.All(ticks, t => Assert.Equal(Math.Round(t.Position), t.Position, 1e-9));
                Assert.All(ticks, t => Assert.Equal(((int)Math.Round(t.Position)).ToString(System.Globalization.CultureInfo.InvariantCulture), t.Label));
                Assert.All(ticks, t => Assert.True(t.Position >= 1 && t.Position <= 7, $"tick at {t.Position}"));
            }
        }
        // The legend is beside the data area (an edge panel), not drawn over the curves.
        Assert.All(panels, p => Assert.Contains(p.Axes.GetPanels(), panel => panel is ScottPlot.Panels.LegendPanel));
    }

    private static string Legend(ScottPlot.IPlottable plottable) => plottable switch
    {
        ScottPlot.Plottables.Scatter s => s.LegendText,
        ScottPlot.Plottables.AxisLine l => l.LegendText,
        _ => "",
    };

    [Fact]
    public void TheBestEpochIsTheLowestValidationLossSumOrEarlyStoppingsChoice()
    {
        // Two tasks whose losses differ a thousandfold in size: each gets its own loss panel.
        static EpochResult Epoch(int epoch, double a, double b) => new(epoch, 1e-3, 1, 1, [a, 1000 * b], [1, 1],
            new EvaluationResult(["Small", "Large"], [a, 1000 * b], [new Dictionary<string, double> { ["accuracy"] = 0.5 }, new Dictionary<string, double> { ["mae"] = b }]));
        // Summed as they are, Large decides alone (epoch 2, its lowest); scaled by each task's lowest, epoch 3's
        // 0.3 / 0.3 + 0.46 / 0.45 = 2.02 beats epoch 2's 0.4 / 0.3 + 1 = 2.33.
        var history = new TrainingHistory(["Small", "Large"], [Epoch(0, 1.0, 1.0), Epoch(1, 0.5, 0.5), Epoch(2, 0.4, 0.45), Epoch(3, 0.3, 0.46)]);
        Assert.Equal((3, "lowest scaled validation loss sum"), TrainingPlots.BestEpoch(history));
        Assert.Equal(2, TrainingPlots.LossPanels(history).Subplots.Count);
        Assert.Equal(2, TrainingPlots.MetricPanels(history).Subplots.Count);
        Assert.Equal([Path.Combine(Folder, TrainingPlots.LossFile), Path.Combine(Folder, TrainingPlots.MetricsFile)], TrainingPlots.Write(history, Folder));

        // With early stopping, its best epoch (by its own task and metric).
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 3e-3));
        var stopped = trainer.Fit(TabularProblem.Data(256, seed: 1),
            new FitOptions { Epochs = 4, BatchSize = 64, EarlyStopping = new("Species", "accuracy", Patience: 4) }, TabularProblem.Data(128, seed: 2));
        Assert.Equal((stopped.BestEpoch!.Value, "early stopping's metric"), TrainingPlots.BestEpoch(stopped));

        // Without validation data, no epoch is marked.
        var unvalidated = trainer.Fit(TabularProblem.Data(128, seed: 1), new FitOptions { Epochs = 2, BatchSize = 64 });
        Assert.Null(TrainingPlots.BestEpoch(unvalidated));
    }
}
