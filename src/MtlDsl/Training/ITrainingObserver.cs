namespace MtlDsl.Training;

/// <summary>What a fit tells its observers when it starts.</summary>
/// <param name="Tasks">The task names, in declaration order.</param>
/// <param name="FirstEpoch">The first epoch this fit runs (later than 0 when it resumes).</param>
/// <param name="Epochs">The number of epochs in all.</param>
/// <param name="OutputDirectory">Where the fit writes its outputs, if anywhere.</param>
public sealed record FitStart(IReadOnlyList<string> Tasks, int FirstEpoch, int Epochs, string? OutputDirectory)
{
    /// <summary>What the check of this CPU's kernels found before the fit's first step (<see cref="BackendCheck"/>).</summary>
    public BackendReport? Backend { get; init; }
}

/// <summary>
/// Follows a fit: a progress bar, a plot writer, a logger. Every method has an empty default; implement the ones
/// you need. They run on the training thread, between steps.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>The fit starts (after any resume).</summary>
    void FitStarted(FitStart start) { }

    /// <summary>An epoch of <paramref name="steps"/> steps starts.</summary>
    void EpochStarted(int epoch, int steps) { }

    /// <summary>
    /// A step ended. <paramref name="taskLosses"/> holds each task's loss in this step, NaN for a task the step did
    /// not train (one task per step with round-robin or proportional interleaving).
    /// </summary>
    void StepEnded(int epoch, int step, IReadOnlyList<double> taskLosses) { }

    /// <summary>An epoch ended; <paramref name="history"/> holds it as its last entry.</summary>
    void EpochEnded(EpochResult result, TrainingHistory history) { }

    /// <summary>The fit ended (after the last epoch or an early stop).</summary>
    void FitEnded(TrainingHistory history) { }
}
