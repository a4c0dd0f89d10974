using System.Diagnostics;
using MtlDsl.Checkpoints;
using MtlDsl.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Training;

public sealed partial class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
{
    /// <summary>
    /// Trains for <see cref="FitOptions.Epochs"/> epochs: each epoch sets the scheduled learning rate, reseeds the
    /// random layers, takes its steps over <paramref name="train"/> (shuffled with the seed), ends the epoch for
    /// the weighting strategy, evaluates on <paramref name="validation"/> in evaluation mode without gradients,
    /// and writes the history and a checkpoint when an output folder is given. Early stopping watches one task's
    /// validation metric. With <see cref="FitOptions.ResumeFrom"/> the fit continues a checkpoint exactly as if
    /// training had not stopped.
    /// </summary>
    /// <exception cref="TaskTensorException">A target does not fit its task; the message names the task, the tensor and the step.</exception>
    /// <exception cref="NonFiniteLossException">A loss became NaN or infinite; names the task and the step.</exception>
    /// <exception cref="NonFiniteGradientException">A gradient became NaN or infinite (or too many steps were skipped for it); names the parameter and the step.</exception>
    public TrainingHistory Fit(MultiTaskData<TTargets> train, FitOptions options, MultiTaskData<TTargets>? validation = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions(train, options, validation);

        string[] names = _model.Tasks.Select(t => t.Name).ToArray();
        // Where the fit stands: the history (with its best epoch and early stop) and these; a checkpoint keeps them.
        int firstEpoch = 0;
        double[] baseRates = _optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        double? bestValue = null;
        int withoutImprovement = 0;
        var history = new TrainingHistory(names);
        _bestWeights = null;
        if (options.ResumeFrom is not null)
        {
            // Checked whole before anything is loaded; a checkpoint that SaveCheckpoint wrote is refused untouched.
            FitState saved = LoadCheckpoint(options.ResumeFrom, resume: true, out byte[]? best)!;
            _bestWeights = best;
            (firstEpoch, baseRates, bestValue, withoutImprovement) = (saved.NextEpoch, saved.BaseLearningRates, saved.BestValue, saved.EpochsWithoutImprovement);
            history = new TrainingHistory(names, saved.History) { BestEpoch = saved.BestEpoch, StoppedEarly = saved.StoppedEarly };
        }
        CheckLearningRates(baseRates, options, firstEpoch);
        bool higherIsBetter = options.EarlyStopping is { Metric: not "loss" } watch
            && options.Metrics(_model.Tasks.First(t => t.Name == watch.Task)).First(m => m.Name == watch.Metric).HigherIsBetter;
        // The kernels this model runs, checked on this CPU against float64 (each configuration once per process).
        BackendReport backend = BackendCheck.Run(_model);
        foreach (ITrainingObserver observer in options.Observers)
            observer.FitStarted(new FitStart(names, firstEpoch, options.Epochs, options.OutputDirectory) { Backend = backend });
        (_nonFiniteGradients, _maxSkippedSteps, _skippedInFit) = (options.NonFiniteGradients, options.MaxSkippedSteps, 0);
        // The history and best.ckpt (and last.ckpt with CheckpointCadence.WriteBudget) take at most 5 % of the fit while it
        // runs (the plots of MtlDsl.Reporting another 5 %).
        var outputs = new WriteCadence(0.05, TimeSpan.FromMilliseconds(20));
        List<(string, byte[])>? pendingBest = null;
        try
        {
            for (int epoch = firstEpoch; epoch < options.Epochs && !history.StoppedEarly; epoch++)
            {
                // The epoch's index batches (and anything else an epoch creates) are freed when it ends, not left to
                // the finalizer.
                using var epochScope = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                torch.random.manual_seed(options.Seed * 1_000_003L + epoch);
                double factor = options.Schedule.Factor(epoch);
                int group = 0;
                foreach (var paramGroup in _optimizer.ParamGroups) paramGroup.LearningRate = baseRates[group++] * factor;

                long skippedBefore = SkippedSteps;
                List<Action<double[]>> steps = PlanEpoch(train, options, epoch);
                foreach (ITrainingObserver observer in options.Observers) observer.EpochStarted(epoch, steps.Count);
                var losses = new double[names.Length];
                for (int step = 0; step < steps.Count; step++)
                {
                    Array.Fill(losses, double.NaN);
                    steps[step](losses);
                    foreach (ITrainingObserver observer in options.Observers) observer.StepEnded(epoch, step, losses);
                }
                EndEpoch();

                EvaluationResult? result = validation is null ? null : Evaluate(validation, options.EvaluationBatchSize, options.Metrics);
                var record = new EpochResult(epoch, _optimizer.ParamGroups.First().LearningRate, clock.Elapsed.TotalSeconds, steps.Count,
                    _epochLosses[^1].ToArray(), LastWeights.ToArray(), result, (int)(SkippedSteps - skippedBefore));
                history.Add(record);

                bool improved = false;
                if (options.EarlyStopping is { } stop)
                {
                    double value = result!.Metric(stop.Task, stop.Metric);
                    improved = !double.IsNaN(value) && (bestValue is not double best || (higherIsBetter ? value > best + stop.MinDelta : value < best - stop.MinDelta));
                    if (improved)
                    {
                        (history.BestEpoch, bestValue, withoutImprovement) = (epoch, value, 0);
                        if (stop.RestoreBest) _bestWeights = Checkpoints.SafeTensors.Serialize(_model.state_dict());
                    }
                    else
                    {
                        withoutImprovement++;
                    }
                    history.StoppedEarly = withoutImprovement >= stop.Patience && epoch + 1 < options.Epochs;
                }

                if (options.OutputDirectory is { } folder)
                {
                    // The best epoch's checkpoint is built when it happens and written with the next write of the
                    // history; the resume checkpoint after every epoch by default, so that a kill loses little.
                    var fit = new FitState(epoch + 1, baseRates, history.BestEpoch, bestValue, withoutImprovement, [.. history.Epochs], history.StoppedEarly);
                    List<(string, byte[])>? current = improved ? BuildCheckpoint(fit, _bestWeights) : null;
                    if (improved) pendingBest = current;
                    bool end = epoch + 1 >= options.Epochs || history.StoppedEarly;
                    bool everyEpoch = options.CheckpointCadence == CheckpointCadence.EveryEpoch;
                    string checkpoints = Path.Combine(folder, "checkpoints");
                    void WriteLast() => CheckpointFile.Write(Path.Combine(checkpoints, "last.ckpt"), current ?? BuildCheckpoint(fit, _bestWeights));
                    if (everyEpoch) WriteLast();
                    if (end || outputs.Due)
                        outputs.Write(() =>
                        {
                            history.WriteCsv(Path.Combine(folder, "history.csv"));
                            if (!everyEpoch) WriteLast();
                            if (pendingBest is not null) CheckpointFile.Write(Path.Combine(checkpoints, "best.ckpt"), pendingBest);
                            pendingBest = null;
                        });
                }
                foreach (ITrainingObserver observer in options.Observers) observer.EpochEnded(record, history);
            }
        }
        finally
        {
            _nonFiniteGradients = NonFiniteGradientAction.Throw; // a step outside a fit throws
        }

        if (options.EarlyStopping is { RestoreBest: true } && _bestWeights is not null)
            Checkpoints.SafeTensors.LoadInto(_model, _bestWeights, "the best epoch's weights");
        foreach (ITrainingObserver observer in options.Observers) observer.FitEnded(history);
        return history;
    }

    private byte[]? _bestWeights;

    // The epoch's steps, each writing the losses of the tasks it trained into its argument.
    private List<Action<double[]>> PlanEpoch(MultiTaskData<TTargets> train, FitOptions options, int epoch)
    {
        var steps = new List<Action<double[]>>();
        int batch = options.BatchSize;
        if (train.Layout == DataLayout.Shared)
        {
            foreach (Tensor indices in Batches.Epoch(train.Count(0), batch, options.Seed, epoch, options.Shuffle))
                steps.Add(losses =>
                {
                    using var scope = torch.NewDisposeScope();
                    var (input, targets) = train.BatchInputs(indices);
                    InBatch(StepCount + 1, indices, () => StepLosses(input, targets)).CopyTo(losses, 0);
                });
            return steps;
        }

        long[] counts = Enumerable.Range(0, train.TaskCount).Select(k => train.Count(k)).ToArray();
        if (options.Interleaving == TaskInterleaving.AllTasks)
        {
            foreach (Tensor[] perTask in Batches.PerTaskEpoch(counts, batch, options.Seed, epoch))
                steps.Add(losses =>
                {
                    using var scope = torch.NewDisposeScope();
                    var inputs = new Tensor[perTask.Length][];
                    var targets = new Tensor[perTask.Length];
                    for (int k = 0; k < perTask.Length; k++) (inputs[k], targets[k]) = train.TaskBatchInputs(k, perTask[k]);
                    StepLosses(inputs, TTargets.Create(targets), perTask).CopyTo(losses, 0);
                });
            return steps;
        }

        foreach (var (task, indices) in Batches.Interleave(counts, batch, options.Seed, epoch, options.Interleaving == TaskInterleaving.Proportional))
            steps.Add(losses =>
            {
                using var scope = torch.NewDisposeScope();
                var (input, target) = train.TaskBatchInputs(task, indices);
                losses[task] = InBatch(StepCount + 1, indices, () => StepTask(task, input, target).Loss);
            });
        return steps;
    }

    // A bad input found in a batch gathered at indices, placed in the data: the training step (null: an
    // evaluation) and the row.
    private static T InBatch<T>(long? step, Tensor indices, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (InputTensorException e)
        {
            throw e.InBatch(step, indices);
        }
    }

    // Every epoch's learning rates, before the first step: a NaN, infinite or negative rate (a group's rate changed
    // after the trainer was made, a schedule of one's own) would turn the parameters NaN behind finite losses, and a
    // schedule that fails at epoch 40 should not cost 39 epochs first.
    private void CheckLearningRates(double[] baseRates, FitOptions options, int firstEpoch)
    {
        for (int group = 0; group < baseRates.Length; group++)
            if (!(double.IsFinite(baseRates[group]) && baseRates[group] >= 0))
                throw new ArgumentOutOfRangeException(nameof(options), baseRates[group],
                    $"The optimizer's parameter group {group} has the learning rate {baseRates[group]} when the fit starts; it must be a finite number ≥ 0.");
        for (int epoch = firstEpoch; epoch < options.Epochs; epoch++)
        {
            double factor = options.Schedule.Factor(epoch);
            if (!(double.IsFinite(factor) && factor >= 0))
                throw new ArgumentOutOfRangeException(nameof(options), factor,
                    $"FitOptions.Schedule ({options.Schedule}) gives the factor {factor} for epoch {epoch}; a learning-rate factor must be a finite number ≥ 0.");
            for (int group = 0; group < baseRates.Length; group++)
                if (!double.IsFinite(baseRates[group] * factor))
                    throw new ArgumentOutOfRangeException(nameof(options), factor,
                        $"FitOptions.Schedule ({options.Schedule}) gives the factor {factor} for epoch {epoch}, which makes the learning rate of parameter group {group} " +
                        $"{baseRates[group]} × {factor} = {baseRates[group] * factor}; it must be finite.");
        }
    }

    private void CheckOptions(MultiTaskData<TTargets> train, FitOptions options, MultiTaskData<TTargets>? validation)
    {
        CheckData(train, nameof(train));
        if (validation is not null) CheckData(validation, nameof(validation));
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be at least 1.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "FitOptions.BatchSize must be at least 1.");
        if (options.MaxSkippedSteps < 0) throw new ArgumentOutOfRangeException(nameof(options), options.MaxSkippedSteps, "FitOptions.MaxSkippedSteps cannot be negative.");
        if (options.EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.EvaluationBatchSize, "FitOptions.EvaluationBatchSize must be at least 1.");
        if (!Enum.IsDefined(options.CheckpointCadence))
            throw new ArgumentOutOfRangeException(nameof(options), options.CheckpointCadence, "FitOptions.CheckpointCadence must be EveryEpoch or WriteBudget.");
        ArgumentNullException.ThrowIfNull(options.Schedule, "options.Schedule");
        ArgumentNullException.ThrowIfNull(options.Metrics, "options.Metrics");
        ArgumentNullException.ThrowIfNull(options.Observers, "options.Observers");
        if (train.Layout == DataLayout.Shared && options.Interleaving != TaskInterleaving.AllTasks)
            throw new ArgumentException($"FitOptions.Interleaving = {options.Interleaving} applies to one dataset per task; this training data is one dataset for all tasks.", nameof(options));
        if (train.Layout == DataLayout.PerTask && options.Interleaving != TaskInterleaving.AllTasks && Weighting.FixedWeights is null)
            throw OneTaskUnsupported();
        if (options.EarlyStopping is { } stop)
        {
            if (validation is null) throw new ArgumentException("Early stopping watches a validation metric: pass validation data to Fit.", nameof(validation));
            if (stop.Patience < 1) throw new ArgumentOutOfRangeException(nameof(options), stop.Patience, "EarlyStopping.Patience must be at least 1.");
            TaskDefinition? task = _model.Tasks.FirstOrDefault(t => t.Name == stop.Task)
                ?? throw new ArgumentException($"Early stopping watches task '{stop.Task}', which the model does not have; its tasks are {string.Join(", ", _model.Tasks.Select(t => t.Name))}.", nameof(options));
            var metricNames = options.Metrics(task).Select(m => m.Name).ToList();
            if (stop.Metric != "loss" && !metricNames.Contains(stop.Metric))
                throw new ArgumentException($"Early stopping watches metric '{stop.Metric}' of task '{stop.Task}', which has loss, {string.Join(", ", metricNames)}.", nameof(options));
        }
    }
}
