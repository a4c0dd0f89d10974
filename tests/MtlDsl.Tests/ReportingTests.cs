using System.Buffers.Binary;
using MtlDsl.Reporting;
using MtlDsl.TestModels;
using MtlDsl.Training;
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

        foreach (string file in new[] { TrainingPlots.LossFile, TrainingPlots.MetricsFile })
        {
            byte[] png = File.ReadAllBytes(Path.Combine(Folder, file));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.Equal(900, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));  // IHDR width
            Assert.Equal(540, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));  // IHDR height
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
}
