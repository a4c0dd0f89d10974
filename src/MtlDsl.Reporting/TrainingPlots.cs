using MtlDsl.Checkpoints;
using MtlDsl.Training;
using ScottPlot;

namespace MtlDsl.Reporting;

/// <summary>
/// PNG plots of a fit, made to be read: <c>loss.png</c>, every task's training loss (solid) and validation loss
/// (dashed) per epoch, and <c>metrics.png</c>, one panel per validation metric (accuracy, macro F1, MAE, …) holding
/// that metric of every task that has it. A task keeps its colour in every panel; the legends sit outside the
/// curves (below each panel), the epoch axis has whole epochs only (counted from 1, as the progress lines count
/// them), and a grey dotted line marks the best epoch.
/// </summary>
/// <remarks>
/// The best epoch is the one early stopping chose (<see cref="TrainingHistory.BestEpoch"/>: the best value of its
/// task and metric, the epoch of <c>best.ckpt</c>) when the fit had early stopping; otherwise, with validation data,
/// the epoch with the lowest sum of the tasks' validation losses, each divided by that task's lowest validation loss
/// of the fit so that the task with the largest losses does not decide alone (a task without labels in the
/// validation data counts nothing); without validation data no epoch is marked. Tasks whose losses differ more than tenfold in size (a cross-entropy beside a
/// squared error in other units) get loss panels of their own, so that no curve is flattened against the axis.
/// </remarks>
public static class TrainingPlots
{
    /// <summary>The file names written into the output folder.</summary>
    public const string LossFile = "loss.png", MetricsFile = "metrics.png";

    /// <summary>
    /// Writes both plots into <paramref name="folder"/> (atomically, each file); returns their paths. Metrics are
    /// plotted only with validation data. <paramref name="width"/> and <paramref name="height"/> are those of a
    /// figure of one row of panels; a figure with more rows (four metric panels make two) grows by
    /// <paramref name="height"/> ÷ 2 per extra row.
    /// </summary>
    public static IReadOnlyList<string> Write(TrainingHistory history, string folder, int width = 900, int height = 540)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var written = new List<string>();
        if (history.Epochs.Count == 0) return written;
        written.Add(Save(LossPanels(history), Path.Combine(folder, LossFile), width, height));
        if (HasValidation(history)) written.Add(Save(MetricPanels(history), Path.Combine(folder, MetricsFile), width, height));
        return written;
    }

    /// <summary>
    /// The best epoch (counted from 0) and why it is the best, as <see cref="TrainingPlots"/> marks it: early
    /// stopping's choice, else the lowest sum of validation losses each scaled by its task's lowest; null without
    /// validation data.
    /// </summary>
    public static (int Epoch, string Reason)? BestEpoch(TrainingHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.BestEpoch is int stopped) return (stopped, "early stopping's metric");
        if (history.Epochs.Count == 0 || !HasValidation(history)) return null;
        // Tasks with a finite validation loss in every epoch: the sum compares like with like.
        int[] tasks = Enumerable.Range(0, history.Tasks.Count).Where(k => history.Epochs.All(e => double.IsFinite(e.Validation!.Losses[k]))).ToArray();
        if (tasks.Length == 0) return null;
        // Each task's loss divided by its lowest: a task whose losses are larger (a squared error in grams beside a
        // cross-entropy) does not decide alone.
        double[] lowest = tasks.Select(k => history.Epochs.Min(e => e.Validation!.Losses[k])).ToArray();
        int best = 0;
        double bestSum = double.PositiveInfinity;
        foreach (EpochResult e in history.Epochs)
        {
            double sum = tasks.Select((k, i) => lowest[i] > 0 ? e.Validation!.Losses[k] / lowest[i] : e.Validation!.Losses[k]).Sum();
            if (sum < bestSum) (best, bestSum) = (e.Epoch, sum);
        }
        return (best, tasks.Length == 1 ? "lowest validation loss" : "lowest scaled validation loss sum");
    }

    // The loss panels: one when the tasks' losses are of a size, else one per group of tasks of a size.
    internal static Multiplot LossPanels(TrainingHistory history)
    {
        bool validation = HasValidation(history);
        var best = BestEpoch(history);
        var groups = GroupBySize(history, validation);
        var panels = new List<Plot>();
        foreach (int[] group in groups)
        {
            Plot panel = NewPanel(panels, history, groups.Count == 1 ? "Loss per epoch" : $"Loss: {string.Join(", ", group.Select(k => history.Tasks[k]))}", "loss");
            foreach (int task in group)
            {
                Color color = TaskColor(task);
                AddSeries(panel, history, e => e.TrainLosses[task], color, validation ? $"{history.Tasks[task]} training" : history.Tasks[task]);
                if (validation) AddSeries(panel, history, e => e.Validation!.Losses[task], color, $"{history.Tasks[task]} validation", LinePattern.Dashed);
            }
            Finish(panel, history, best);
        }
        return Arrange(panels);
    }

    // The metric panels: one per metric name, with that metric of every task that has it.
    internal static Multiplot MetricPanels(TrainingHistory history)
    {
        var names = new List<string>();
        for (int k = 0; k < history.Tasks.Count; k++)
            foreach (string metric in history.Epochs[0].Validation!.Metrics[k].Keys)
                if (!names.Contains(metric)) names.Add(metric);
        var best = BestEpoch(history);
        var panels = new List<Plot>();
        foreach (string metric in names)
        {
            Plot panel = NewPanel(panels, history, $"Validation {Describe(metric)}", Describe(metric));
            for (int k = 0; k < history.Tasks.Count; k++)
            {
                int task = k;
                if (!history.Epochs[0].Validation!.Metrics[task].ContainsKey(metric)) continue;
                AddSeries(panel, history, e => e.Validation!.Metrics[task][metric], TaskColor(task), history.Tasks[task]);
            }
            Finish(panel, history, best);
        }
        return Arrange(panels);
    }

    private static bool HasValidation(TrainingHistory history) => history.Epochs.Count > 0 && history.Epochs.All(e => e.Validation is not null);

    private static string Describe(string metric) => metric switch
    {
        "accuracy" => "accuracy",
        "macro_f1" => "macro F1",
        "mean_iou" => "mean IoU",
        "mae" => "mean absolute error",
        "auc" => "AUC",
        "gauc" => "GAUC (per-group AUC)",
        "log_loss" => "log-loss",
        "rmse" => "root mean squared error",
        _ => metric.Replace('_', ' '),
    };

    // Tasks whose median losses lie within a factor of ten of the group's largest share a panel.
    private static List<int[]> GroupBySize(TrainingHistory history, bool validation)
    {
        double Size(int task)
        {
            var values = history.Epochs.Select(e => e.TrainLosses[task])
                .Concat(validation ? history.Epochs.Select(e => e.Validation!.Losses[task]) : [])
                .Where(double.IsFinite).Select(Math.Abs).Order().ToList();
            return values.Count == 0 ? double.NaN : values[values.Count / 2];
        }
        var sized = Enumerable.Range(0, history.Tasks.Count).Select(k => (Task: k, Size: Size(k))).ToList();
        var groups = new List<List<(int Task, double Size)>>();
        foreach (var t in sized.Where(t => double.IsFinite(t.Size)).OrderByDescending(t => t.Size))
        {
            if (groups.Count > 0 && groups[^1][0].Size <= 10 * Math.Max(t.Size, 1e-12)) groups[^1].Add(t);
            else groups.Add([t]);
        }
        // A task that never had a loss (no labels at all) has no curve; the figure still has one panel.
        if (groups.Count == 0) groups.Add(sized);
        return [.. groups.Select(g => g.Select(t => t.Task).Order().ToArray())];
    }

    private static Plot NewPanel(List<Plot> panels, TrainingHistory history, string title, string yLabel)
    {
        var panel = new Plot();
        panels.Add(panel);
        panel.Title(title, size: 15);
        panel.XLabel("epoch", size: 13);
        panel.YLabel(yLabel, size: 13);
        // Whole epochs only, numbered from 1; no minor ticks between them.
        panel.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new NoMinorTicks(),
        };
        // The legend below the panel, in a row: outside the curves, never over the last epochs.
        panel.ShowLegend(Edge.Bottom);
        panel.Legend.Orientation = Orientation.Horizontal;
        panel.Legend.FontSize = 12;
        panel.Legend.OutlineWidth = 0;
        panel.Legend.ShadowColor = Colors.Transparent;
        panel.Legend.ShadowOffset = new PixelOffset(0, 0);
        return panel;
    }

    // The best epoch's line, and the epoch axis from the first epoch to the last with a little room on both sides
    // (set after the curves, which would autoscale it).
    private static void Finish(Plot panel, TrainingHistory history, (int Epoch, string Reason)? best)
    {
        if (best is var (epoch, reason))
        {
            var line = panel.Add.VerticalLine(epoch + 1, width: 1.5f, color: Colors.Gray, pattern: LinePattern.Dotted);
            line.LegendText = $"best epoch {epoch + 1} ({reason})";
            line.EnableAutoscale = false;
        }
        int last = history.Epochs[^1].Epoch + 1, first = history.Epochs[0].Epoch + 1;
        double margin = Math.Max(0.25, 0.03 * (last - first));
        panel.Axes.AutoScaleY();
        panel.Axes.SetLimitsX(first - margin, last + margin);
    }

    // Rows of panels (Rows): one panel fills the figure; two or more go two to a row.
    private static Multiplot Arrange(List<Plot> panels)
    {
        var figure = new Multiplot(panels[0]);
        foreach (Plot panel in panels.Skip(1)) figure.AddPlot(panel);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(Rows(panels.Count), panels.Count == 1 ? 1 : 2);
        return figure;
    }

    // Panels go two to a row (one alone fills the figure).
    private static int Rows(int panels) => (panels + 1) / 2;

    private static Color TaskColor(int task) => new ScottPlot.Palettes.Category10().GetColor(task);

    // A curve over the epochs where the value exists: a task without labels (NaN) has no point there, and no
    // curve at all when it never had any, rather than a line at 0.
    private static void AddSeries(Plot plot, TrainingHistory history, Func<EpochResult, double> value, Color color, string legend, LinePattern? pattern = null)
    {
        var points = history.Epochs.Select(e => (X: e.Epoch + 1.0, Y: value(e))).Where(p => double.IsFinite(p.Y)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), color);
        line.LegendText = legend;
        line.LineWidth = 2;
        line.MarkerSize = points.Length <= 30 ? 5 : 0;
        if (pattern is { } p) line.LinePattern = p;
    }

    private static string Save(Multiplot figure, string path, int width, int height)
    {
        using Image image = figure.Render(width, height + (Rows(figure.Subplots.Count) - 1) * height / 2);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
        return path;
    }

    private sealed class NoMinorTicks : IMinorTickGenerator
    {
        public IEnumerable<double> GetMinorTicks(double[] majorPositions, CoordinateRange visibleRange) => [];
    }
}

/// <summary>
/// Rewrites the plots in the fit's output folder while it trains, at a cadence that keeps their cost under 5 % of
/// the fit (<see cref="WriteCadence"/>), and once more when it ends.
/// </summary>
public sealed class PlotWriter : ITrainingObserver
{
    private WriteCadence _cadence = new(0.05, TimeSpan.FromMilliseconds(80));
    private string? _folder;
    private bool _pending;

    /// <inheritdoc />
    public void FitStarted(FitStart start)
    {
        _folder = start.OutputDirectory;
        _cadence = new WriteCadence(0.05, TimeSpan.FromMilliseconds(80));  // both figures take 60–90 ms here (PNG encoding most of it)
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
