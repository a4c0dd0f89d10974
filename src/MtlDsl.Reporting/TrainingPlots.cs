using MtlDsl.Checkpoints;
using MtlDsl.Training;
using ScottPlot;

namespace MtlDsl.Reporting;

/// <summary>PNG plots of a fit: <c>loss.png</c> (every task's training and validation loss per epoch) and <c>metrics.png</c> (every validation metric per epoch).</summary>
public static class TrainingPlots
{
    /// <summary>The file names written into the output folder.</summary>
    public const string LossFile = "loss.png", MetricsFile = "metrics.png";

    /// <summary>Writes both plots into <paramref name="folder"/> (atomically, each file); returns their paths. Metrics are plotted only with validation data.</summary>
    public static IReadOnlyList<string> Write(TrainingHistory history, string folder, int width = 900, int height = 540)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var written = new List<string>();
        if (history.Epochs.Count == 0) return written;
        double[] epochs = history.Epochs.Select(e => e.Epoch + 1.0).ToArray();

        var loss = new Plot();
        for (int k = 0; k < history.Tasks.Count; k++)
        {
            int task = k;
            Color color = loss.Add.Palette.GetColor(task);
            var train = loss.Add.Scatter(epochs, history.Epochs.Select(e => e.TrainLosses[task]).ToArray(), color);
            train.LegendText = $"{history.Tasks[task]} (train)";
            if (history.Epochs.All(e => e.Validation is not null))
            {
                var validation = loss.Add.Scatter(epochs, history.Epochs.Select(e => e.Validation!.Losses[task]).ToArray(), color);
                validation.LegendText = $"{history.Tasks[task]} (validation)";
                validation.LinePattern = LinePattern.Dashed;
            }
        }
        loss.Title("Loss per task");
        loss.XLabel("epoch");
        loss.YLabel("loss");
        loss.ShowLegend(Alignment.UpperRight);  // losses fall: the upper right stays clear
        written.Add(Save(loss, Path.Combine(folder, LossFile), width, height));

        if (history.Epochs.All(e => e.Validation is not null))
        {
            var metrics = new Plot();
            int series = 0;
            for (int k = 0; k < history.Tasks.Count; k++)
            {
                int task = k;
                foreach (string metric in history.Epochs[0].Validation!.Metrics[task].Keys)
                {
                    var line = metrics.Add.Scatter(epochs, history.Epochs.Select(e => e.Validation!.Metrics[task][metric]).ToArray(), metrics.Add.Palette.GetColor(series++));
                    line.LegendText = $"{history.Tasks[task]} {metric}";
                }
            }
            metrics.Title("Validation metrics per task");
            metrics.XLabel("epoch");
            metrics.YLabel("value");
            metrics.ShowLegend(Alignment.LowerRight);  // metrics mostly rise: the lower right stays clear
            written.Add(Save(metrics, Path.Combine(folder, MetricsFile), width, height));
        }
        return written;
    }

    private static string Save(Plot plot, string path, int width, int height)
    {
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
        return path;
    }
}

/// <summary>Rewrites the plots in the fit's output folder after every epoch.</summary>
public sealed class PlotWriter : ITrainingObserver
{
    private string? _folder;

    /// <inheritdoc />
    public void FitStarted(FitStart start) => _folder = start.OutputDirectory;

    /// <inheritdoc />
    public void EpochEnded(EpochResult result, TrainingHistory history)
    {
        if (_folder is not null) TrainingPlots.Write(history, _folder);
    }
}
