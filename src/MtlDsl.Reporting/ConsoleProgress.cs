using System.Globalization;
using MtlDsl.Data;
using MtlDsl.Training;
using Spectre.Console;

namespace MtlDsl.Reporting;

/// <summary>Fits with a live report: a progress bar per epoch with the running per-task losses, and the plots.</summary>
public static class ConsoleProgress
{
    /// <summary>
    /// <see cref="MultiTaskTrainer{TOutputs, TTargets, TLossValues}.Fit"/> with a progress bar per epoch showing each
    /// task's running mean loss, a summary line per epoch (training losses, validation metrics), and, when
    /// <see cref="FitOptions.OutputDirectory"/> is set, <c>loss.png</c> and <c>metrics.png</c> rewritten after every
    /// epoch. When the console is not interactive (output redirected, CI), only the per-epoch lines are printed.
    /// </summary>
    public static TrainingHistory FitWithProgress<TOutputs, TTargets, TLossValues>(this MultiTaskTrainer<TOutputs, TTargets, TLossValues> trainer,
        MultiTaskData<TTargets> train, FitOptions options, MultiTaskData<TTargets>? validation = null, IAnsiConsole? console = null)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
        where TLossValues : ITaskLossValues<TLossValues>
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(options);
        console ??= AnsiConsole.Console;
        bool interactive = console.Profile.Capabilities.Interactive;
        var lines = new EpochLines(console, interactive);
        var observers = new List<ITrainingObserver>(options.Observers) { new PlotWriter(), lines };
        if (!interactive)
            return trainer.Fit(train, options with { Observers = observers }, validation);

        TrainingHistory? history = null;
        // Refreshed from the training thread only: a background refresh thread would allocate while the training
        // thread is inside TorchSharp's native calls, and a garbage collection then can free a TorchSharp Scalar
        // still in use (its handles are not kept alive; see docs/known-issues).
        console.Progress()
            .AutoRefresh(false)
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                observers.Add(new ProgressBars(context));
                history = trainer.Fit(train, options with { Observers = observers }, validation);
            });
        return history!;
    }

    /// <summary>
    /// One line per finished epoch: losses, validation metrics, time; at the end, where the outputs are. Not
    /// interactive (redirected, CI), each line is written as it is, never wrapped at the console's width.
    /// </summary>
    private sealed class EpochLines(IAnsiConsole console, bool interactive) : ITrainingObserver
    {
        private int _epochs;
        private string? _folder;

        private void WriteLine(string line)
        {
            if (interactive) console.WriteLine(line);
            else console.Profile.Out.Writer.WriteLine(line);
        }

        public void FitStarted(FitStart start)
        {
            (_epochs, _folder) = (start.Epochs, start.OutputDirectory);
            if (start.Backend is { } backend) WriteLine(backend.Summary);
            if (start.FirstEpoch > 0) WriteLine($"resuming at epoch {start.FirstEpoch + 1}/{start.Epochs}");
        }

        public void FitEnded(TrainingHistory history)
        {
            if (_folder is null) return;
            string[] files = ["history.csv", TrainingPlots.LossFile, TrainingPlots.MetricsFile, "checkpoints/last.ckpt", "checkpoints/best.ckpt"];
            WriteLine($"outputs in {Path.GetFullPath(_folder)}: {string.Join(", ", files.Where(f => File.Exists(Path.Combine(_folder, f))))}");
        }

        public void EpochEnded(EpochResult result, TrainingHistory history)
        {
            var text = new List<string> { $"epoch {result.Epoch + 1}/{_epochs}" };
            text.Add("loss " + string.Join(" ", history.Tasks.Select((t, k) => $"{t} {Format(result.TrainLosses[k])}")));
            if (result.Validation is { } v)
                text.Add("validation " + string.Join(" ", history.Tasks.Select((t, k) => $"{t} " + string.Join(" ", v.Metrics[k].Select(m => $"{m.Key} {Format(m.Value)}")))));
            text.Add($"{result.Seconds:F1} s");
            if (history.BestEpoch == result.Epoch) text.Add("(best)");
            WriteLine(string.Join("  |  ", text));
            if (history.StoppedEarly && result == history.Epochs[^1])
                WriteLine($"early stop: no improvement since epoch {history.BestEpoch + 1}");
        }
    }

    /// <summary>A progress bar over each epoch's steps, its description the running mean loss of each task.</summary>
    private sealed class ProgressBars(ProgressContext context) : ITrainingObserver
    {
        private readonly System.Diagnostics.Stopwatch _sinceRefresh = System.Diagnostics.Stopwatch.StartNew();
        private ProgressTask? _bar;
        private double[] _sums = [];
        private int[] _counts = [];
        private IReadOnlyList<string> _tasks = [];
        private int _epochs;

        public void FitStarted(FitStart start) => (_tasks, _epochs) = (start.Tasks, start.Epochs);

        // One bar for the whole fit, restarted every epoch; finished epochs are the summary lines above it.
        public void EpochStarted(int epoch, int steps)
        {
            _bar ??= context.AddTask("epoch", maxValue: steps);
            _bar.MaxValue = steps;
            _bar.Value = 0;
            _bar.Description = Markup.Escape($"epoch {epoch + 1}/{_epochs}");
            _sums = new double[_tasks.Count];
            _counts = new int[_tasks.Count];
        }

        public void StepEnded(int epoch, int step, IReadOnlyList<double> taskLosses)
        {
            for (int k = 0; k < taskLosses.Count; k++)
                if (!double.IsNaN(taskLosses[k])) (_sums[k], _counts[k]) = (_sums[k] + taskLosses[k], _counts[k] + 1);
            string losses = string.Join("  ", _tasks.Select((t, k) => $"{t} {Format(_counts[k] > 0 ? _sums[k] / _counts[k] : double.NaN)}"));
            _bar!.Description = Markup.Escape($"epoch {epoch + 1}/{_epochs}  {losses}");
            _bar.Increment(1);
            if (_sinceRefresh.ElapsedMilliseconds >= 100 || _bar.Value >= _bar.MaxValue)
            {
                context.Refresh();
                _sinceRefresh.Restart();
            }
        }

        public void FitEnded(TrainingHistory history)
        {
            _bar?.StopTask();
            context.Refresh();
        }
    }

    // An absent value (a task without labels) shows as a dash, never as a loss of 0.
    private static string Format(double value) => double.IsNaN(value) ? "–" : value.ToString("0.0000", CultureInfo.InvariantCulture);
}
