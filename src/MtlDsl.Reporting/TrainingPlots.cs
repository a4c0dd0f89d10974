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
            AddSeries(loss, epochs, history.Epochs.Select(e => e.TrainLosses[task]), color, $"{history.Tasks[task]} (train)");
            if (history.Epochs.All(e => e.Validation is not null))
                AddSeries(loss, epochs, history.Epochs.Select(e => e.Validation!.Losses[task]), color, $"{history.Tasks[task]} (validation)", LinePattern.Dashed);
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
                    AddSeries(metrics, epochs, history.Epochs.Select(e => e.Validation!.Metrics[task][metric]), metrics.Add.Palette.GetColor(series++), $"{history.Tasks[task]} {metric}");
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

    // A curve over the epochs where the value exists: a task without labels (NaN) has no point there, and no
    // curve at all when it never had any, rather than a line at 0.
    private static void AddSeries(Plot plot, double[] epochs, IEnumerable<double> values, Color color, string legend, LinePattern? pattern = null)
    {
        var points = epochs.Zip(values).Where(p => double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), color);
        line.LegendText = legend;
        if (pattern is { } p) line.LinePattern = p;
    }

    private static string Save(Plot plot, string path, int width, int height)
    {
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
        return path;
    }
}

/// <summary>
/// Rewrites the plots in the fit's output folder while it trains, at a cadence that keeps their cost under 5 % of
/// the fit (<see cref="WriteCadence"/>), and once more when it ends.
/// </summary>
public sealed class PlotWriter : ITrainingObserver
{
    private WriteCadence _cadence = new(0.05, TimeSpan.FromMilliseconds(50));
    private string? _folder;
    private bool _pending;

    /// <inheritdoc />
    public void FitStarted(FitStart start)
    {
        _folder = start.OutputDirectory;
        _cadence = new WriteCadence(0.05, TimeSpan.FromMilliseconds(50));  // two PNG files take about 50 ms here
    }

    /// <inheritdoc />
    public void EpochEnded(EpochResult result, TrainingHistory history)
    {
        _pending = true;
        if (_folder is not null && _cadence.Due) Write(history);
    }

    /// <inheritdoc />
    public void FitEnded(TrainingHistory history)
    {
        if (_folder is not null && _pending) Write(history);
    }

    private void Write(TrainingHistory history)
    {
        _cadence.Write(() => TrainingPlots.Write(history, _folder!));
        _pending = false;
    }
}
