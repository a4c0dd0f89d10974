namespace MtlDsl;

/// <summary>A tensor given for a task does not fit it: a wrong shape, a class label out of range, a missing target.</summary>
public sealed class TaskTensorException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public TaskTensorException(string task, string tensor, string message) : base(message)
    {
        Task = task;
        Tensor = tensor;
    }

    // An error about one row of the data an evaluation read.
    internal TaskTensorException(string task, string tensor, string message, long? row) : this(task, tensor, message) => Row = row;

    private TaskTensorException(TaskTensorException inner, long step)
        : base($"Training step {step}: {inner.Message}", inner)
    {
        Task = inner.Task;
        Tensor = inner.Tensor;
        Step = step;
        Row = inner.Row;
    }

    /// <summary>The training step (counted from 1) whose batch held the tensor, when a trainer raised it; else null.</summary>
    public long? Step { get; }

    /// <summary>The row of the data (its first dimension) whose value is at fault, when an evaluation found it there; else null.</summary>
    public long? Row { get; }

    /// <summary>The same error, naming the training step.</summary>
    internal TaskTensorException AtStep(long step) => Step is null ? new TaskTensorException(this, step) : this;

    /// <summary>The task whose tensor is at fault.</summary>
    public string Task { get; }

    /// <summary>Which tensor: <c>input</c>, <c>output</c> or <c>target</c>.</summary>
    public string Tensor { get; }
}

/// <summary>A task's loss became NaN or infinite; training stopped before the optimizer step used it.</summary>
public sealed class NonFiniteLossException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(string task, long step, double value)
        : base($"Task '{task}': the loss is {value} at step {step}; the optimizer step was skipped. " +
               "Lower the learning rate, clip gradients, or check the inputs and targets of this task for NaN or infinite values.")
    {
        Task = task;
        Step = step;
        Value = value;
    }

    /// <summary>The task whose loss is not finite.</summary>
    public string Task { get; }

    /// <summary>The training step (counted from 1).</summary>
    public long Step { get; }

    /// <summary>The loss value.</summary>
    public double Value { get; }
}

/// <summary>
/// A gradient became NaN or infinite, or the weighting strategy produced a non-finite task weight, while every
/// task's loss was finite; the optimizer step did not take place, so the parameters are unchanged.
/// </summary>
public sealed class NonFiniteGradientException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteGradientException(string parameter, string? task, long step, string detail)
        : base($"Training step {step}: {detail}; the optimizer step was skipped and the parameters are unchanged. " +
               "Lower the learning rate or clip gradients (trainer.MaxGradientNorm); to skip such steps instead of stopping, " +
               "set FitOptions.NonFiniteGradients = NonFiniteGradientAction.SkipStep. A convolution of your own on the CPU may be " +
               "the cause with TorchSharp 0.107 (MtlDsl's known issues: NaN in a convolution's input gradient).")
    {
        Parameter = parameter;
        Task = task;
        Step = step;
    }

    /// <summary>The first parameter whose gradient is not finite (its state-dict name), or the strategy's task weights.</summary>
    public string Parameter { get; }

    /// <summary>The task whose loss alone made the gradient, when the step trained one task; else null.</summary>
    public string? Task { get; }

    /// <summary>The training step (counted from 1).</summary>
    public long Step { get; }
}
