using System.Globalization;
using System.Text;
using MtlDsl.Checkpoints;

namespace MtlDsl.Training;

/// <summary>Losses and metrics of every task on a dataset.</summary>
/// <param name="Tasks">The task names, in declaration order.</param>
/// <param name="Losses">Each task's mean loss over the labels present (NaN for a task without any label in the data).</param>
/// <param name="Metrics">Each task's metrics by name (NaN for a task without any label in the data).</param>
public sealed record EvaluationResult(IReadOnlyList<string> Tasks, IReadOnlyList<double> Losses, IReadOnlyList<IReadOnlyDictionary<string, double>> Metrics)
{
    /// <summary>One value by task and metric name; <c>loss</c> gives the task's loss.</summary>
    /// <exception cref="KeyNotFoundException">There is no such task or metric; the message lists what there is.</exception>
    public double this[string task, string metric] => Metric(task, metric);

    /// <summary>One value by task and metric name; <c>loss</c> gives the task's loss.</summary>
    /// <exception cref="KeyNotFoundException">There is no such task or metric; the message lists what there is.</exception>
    public double Metric(string task, string metric)
    {
        int index = IndexOf(task);
        if (metric == "loss") return Losses[index];
        return Metrics[index].TryGetValue(metric, out double value) ? value
            : throw new KeyNotFoundException($"Task '{task}' has no metric '{metric}'; it has loss, {string.Join(", ", Metrics[index].Keys)}.");
    }

    /// <summary>One line per task: its loss and metrics (<c>–</c> where the data holds no label of the task).</summary>
    public override string ToString() => string.Join(Environment.NewLine, Tasks.Select((task, k) =>
        $"{task}: loss {Format(Losses[k])}" + string.Concat(Metrics[k].Select(m => $", {m.Key} {Format(m.Value)}"))));

    private static string Format(double value) => double.IsNaN(value) ? "–" : value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The index of a task by name.</summary>
    public int IndexOf(string task)
    {
        for (int i = 0; i < Tasks.Count; i++)
            if (Tasks[i] == task) return i;
        throw new KeyNotFoundException($"There is no task '{task}'; the tasks are {string.Join(", ", Tasks)}.");
    }
}

/// <summary>One epoch of a fit.</summary>
/// <param name="Epoch">The epoch, counted from 0 (the progress lines show it from 1: epoch 3/3 is Epoch 2).</param>
/// <param name="LearningRate">The learning rate of the optimizer's first parameter group in this epoch.</param>
/// <param name="Seconds">The epoch's wall-clock time, evaluation included.</param>
/// <param name="Steps">The training steps taken in this epoch.</param>
/// <param name="TrainLosses">Each task's mean training loss over the epoch's steps.</param>
/// <param name="Weights">The task weights of the epoch's last step.</param>
/// <param name="Validation">The validation losses and metrics after the epoch, if validation data was given.</param>
/// <param name="SkippedSteps">Steps whose optimizer step was skipped for non-finite gradients (<see cref="NonFiniteGradientAction.SkipStep"/>).</param>
public sealed record EpochResult(int Epoch, double LearningRate, double Seconds, int Steps, IReadOnlyList<double> TrainLosses,
    IReadOnlyList<double> Weights, EvaluationResult? Validation, int SkippedSteps = 0);

/// <summary>Every epoch of a fit, and how it ended; writes itself as CSV.</summary>
public sealed class TrainingHistory
{
    private readonly List<EpochResult> _epochs;

    /// <summary>Creates a history for <paramref name="tasks"/>.</summary>
    public TrainingHistory(IReadOnlyList<string> tasks, IEnumerable<EpochResult>? epochs = null)
    {
        Tasks = tasks ?? throw new ArgumentNullException(nameof(tasks));
        _epochs = epochs?.ToList() ?? [];
    }

    /// <summary>The task names, in declaration order.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>Every epoch so far.</summary>
    public IReadOnlyList<EpochResult> Epochs => _epochs;

    /// <summary>The epoch whose early-stopping metric was best, if early stopping was on.</summary>
    public int? BestEpoch { get; internal set; }

    /// <summary>Whether early stopping ended the fit before its last epoch.</summary>
    public bool StoppedEarly { get; internal set; }

    internal void Add(EpochResult epoch) => _epochs.Add(epoch);

    /// <summary>How many epochs, how the fit ended, and the last epoch's validation results.</summary>
    public override string ToString()
    {
        string ending = StoppedEarly ? $", stopped early (best epoch {BestEpoch + 1})" : BestEpoch is int best ? $", best epoch {best + 1}" : "";
        string last = _epochs.Count > 0 && _epochs[^1].Validation is { } validation ? Environment.NewLine + validation : "";
        return $"{_epochs.Count} epoch(s){ending}{last}";
    }

    /// <summary>
    /// The history as CSV, one row per epoch: <c>epoch, learning_rate, seconds, steps, skipped_steps</c>, then per task
    /// <c>train_loss_{task}</c> and <c>weight_{task}</c>, then per task <c>val_loss_{task}</c> and
    /// <c>val_{metric}_{task}</c> when there was validation data. Invariant culture, RFC 4180 quoting; a task without
    /// any label in the epoch's batches or in the validation data has empty cells.
    /// </summary>
    public string ToCsv()
    {
        var header = new List<string> { "epoch", "learning_rate", "seconds", "steps", "skipped_steps" };
        header.AddRange(Tasks.Select(t => $"train_loss_{t}"));
        header.AddRange(Tasks.Select(t => $"weight_{t}"));
        EvaluationResult? first = _epochs.Select(e => e.Validation).FirstOrDefault(v => v is not null);
        var metricNames = first is null ? [] : Tasks.Select((t, k) => first.Metrics[k].Keys.ToList()).ToList();
        if (first is not null)
            for (int k = 0; k < Tasks.Count; k++)
            {
                header.Add($"val_loss_{Tasks[k]}");
                header.AddRange(metricNames[k].Select(m => $"val_{m}_{Tasks[k]}"));
            }
        var csv = new StringBuilder();
        csv.AppendLine(string.Join(",", header.Select(Quote)));
        foreach (EpochResult e in _epochs)
        {
            var row = new List<string> { Number(e.Epoch), Number(e.LearningRate), Number(e.Seconds), Number(e.Steps), Number(e.SkippedSteps) };
            row.AddRange(e.TrainLosses.Select(Number));
            row.AddRange(e.Weights.Select(Number));
            if (first is not null)
                for (int k = 0; k < Tasks.Count; k++)
                {
                    row.Add(e.Validation is null ? "" : Number(e.Validation.Losses[k]));
                    row.AddRange(metricNames[k].Select(m => e.Validation is null ? "" : Number(e.Validation.Metrics[k][m])));
                }
            csv.AppendLine(string.Join(",", row));
        }
        return csv.ToString();
    }

    /// <summary>Writes <see cref="ToCsv"/> to <paramref name="path"/>, atomically.</summary>
    public void WriteCsv(string path) => AtomicFile.WriteAllText(path, ToCsv());

    // An absent value (a task without labels, NaN) is an empty cell, not a number that looks learned.
    private static string Number(double value) => double.IsNaN(value) ? "" : value.ToString("R", CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
