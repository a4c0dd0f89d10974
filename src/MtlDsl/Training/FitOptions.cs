using MtlDsl.Metrics;

namespace MtlDsl.Training;

/// <summary>How the steps of an epoch take the tasks when every task has its own dataset.</summary>
/// <remarks>
/// An epoch always shows every sample of every task at least once; no dataset is cut to the smallest.
/// </remarks>
public enum TaskInterleaving
{
    /// <summary>
    /// Every step takes one batch of every task (LibMTL's multi-input mode); the epoch lasts as many steps as the
    /// largest dataset needs, and a smaller dataset starts over, reshuffled, when it runs out. Works with every
    /// weighting strategy.
    /// </summary>
    AllTasks,

    /// <summary>
    /// Every step trains one task on a batch of its own; the tasks take turns, and a task whose batches are used up
    /// drops out of the turn until the epoch ends. An epoch is one pass over every dataset (Σ batches steps).
    /// Static weights or EW only.
    /// </summary>
    RoundRobin,

    /// <summary>
    /// Every step trains one task, drawn at random with probability proportional to the batches it has left, so
    /// a larger dataset is visited more often; an epoch is one pass over every dataset. Static weights or EW only.
    /// </summary>
    Proportional,
}

/// <summary>What a fit does with a step whose gradients (or task weights) are not finite.</summary>
public enum NonFiniteGradientAction
{
    /// <summary>Stops with a <see cref="NonFiniteGradientException"/> that names the parameter and the step.</summary>
    Throw,

    /// <summary>
    /// Skips the optimizer step (the parameters stay as they were), counts it in the epoch's
    /// <see cref="EpochResult.SkippedSteps"/> and goes on, as mixed-precision training does; more than
    /// <see cref="FitOptions.MaxSkippedSteps"/> skipped steps in one fit stop it with the exception.
    /// </summary>
    SkipStep,
}

/// <summary>When a fit with an output folder writes <c>checkpoints/last.ckpt</c>, the checkpoint it resumes from.</summary>
public enum CheckpointCadence
{
    /// <summary>
    /// After every epoch. A kill costs the epoch in progress, and at most one finished epoch (when it lands while
    /// that epoch's checkpoint is being written). The default.
    /// </summary>
    EveryEpoch,

    /// <summary>
    /// With <c>history.csv</c> and <c>best.ckpt</c>, when writing keeps under 5 % of the fit (<see cref="WriteCadence"/>):
    /// cheaper when epochs take milliseconds, but a kill costs every epoch finished since the last write.
    /// </summary>
    WriteBudget,
}

/// <summary>Stops training when a validation metric of one task has not improved for some epochs.</summary>
/// <param name="Task">The task to watch (its declared name).</param>
/// <param name="Metric">The metric: <c>loss</c>, or one of the task's metrics (<c>accuracy</c>, <c>macro_f1</c>, <c>mae</c>, <c>rmse</c>, …).</param>
/// <param name="Patience">How many epochs without improvement end training.</param>
/// <param name="MinDelta">The least change that counts as an improvement.</param>
/// <param name="RestoreBest">Whether the model gets the weights of its best epoch back when training ends.</param>
public sealed record EarlyStopping(string Task, string Metric, int Patience = 5, double MinDelta = 0, bool RestoreBest = true);

/// <summary>Options of <see cref="MultiTaskTrainer{TOutputs, TTargets, TLossValues}.Fit"/>.</summary>
public sealed record FitOptions
{
    /// <summary>The number of epochs (the last one, if training resumes).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Samples per training batch (per task, with one dataset per task).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Samples per evaluation batch.</summary>
    public int EvaluationBatchSize { get; init; } = 512;

    /// <summary>
    /// The seed of the batch order and of the random layers (dropout): each epoch reseeds TorchSharp's generator
    /// from it, so a run repeats exactly and a resumed run continues exactly. Seed the model's initial weights
    /// yourself (<c>torch.manual_seed</c> before creating it).
    /// </summary>
    public int Seed { get; init; }

    /// <summary>Whether the training batches are shuffled each epoch.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>The learning rate per epoch, as a factor of the optimizer's learning rate when the fit starts (a resumed fit uses the saved one).</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant();

    /// <summary>When set, stops on a validation metric (validation data is then required) and picks the best checkpoint.</summary>
    public EarlyStopping? EarlyStopping { get; init; }

    /// <summary>How per-task datasets are interleaved (ignored for one shared dataset).</summary>
    public TaskInterleaving Interleaving { get; init; } = TaskInterleaving.AllTasks;

    /// <summary>The metrics of each task on the validation data; by default <see cref="TaskMetrics.Default"/>.</summary>
    public Func<TaskDefinition, IReadOnlyList<TaskMetric>> Metrics { get; init; } = TaskMetrics.Default;

    /// <summary>
    /// Where the outputs go, if anywhere: <c>history.csv</c>, <c>checkpoints/last.ckpt</c> and
    /// <c>checkpoints/best.ckpt</c> (the epoch where the early-stopping metric last improved). <c>last.ckpt</c> is
    /// rewritten after every epoch (<see cref="CheckpointCadence"/>); the history and <c>best.ckpt</c> after an epoch
    /// when writing them costs at most 5 % of the fit (<see cref="WriteCadence"/>: every epoch when epochs are long,
    /// every few when they are short); all of them after the last. Every file is written atomically, so a crash
    /// leaves the previous one whole, and a resumed fit continues exactly from the epoch it holds.
    /// </summary>
    public string? OutputDirectory { get; init; }

    /// <summary>
    /// When <c>checkpoints/last.ckpt</c> is written: after every epoch (the default, so a kill loses at most one finished
    /// epoch), or with the other outputs under their 5 % write budget.
    /// </summary>
    public CheckpointCadence CheckpointCadence { get; init; } = CheckpointCadence.EveryEpoch;

    /// <summary>A checkpoint to continue from (one written by a previous fit): training goes on at the epoch after it.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>
    /// What happens when a step's gradients are not finite: every step checks all of them (model and strategy
    /// parameters, one reduction) before the optimizer step, so a NaN never reaches the parameters.
    /// </summary>
    public NonFiniteGradientAction NonFiniteGradients { get; init; } = NonFiniteGradientAction.Throw;

    /// <summary>With <see cref="NonFiniteGradientAction.SkipStep"/>: how many skipped steps one fit tolerates.</summary>
    public int MaxSkippedSteps { get; init; } = 10;

    /// <summary>Observers told about every step and epoch (progress bars, plots, logs).</summary>
    public IReadOnlyList<ITrainingObserver> Observers { get; init; } = [];
}
