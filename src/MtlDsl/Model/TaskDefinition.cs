namespace MtlDsl;

/// <summary>
/// One task of a multi-task model as declared: its name, loss, static weight, per-sample output shape, and the
/// representation its head reads.
/// </summary>
/// <param name="Name">The task's name (the head's property name).</param>
/// <param name="Loss">The task's loss.</param>
/// <param name="Weight">The task's static weight λ in the joint loss.</param>
/// <param name="OutputShape">The head's output shape for one sample (without the batch dimension), inferred at compile time.</param>
/// <param name="Representation">
/// What the head reads: the state-dict name of a trunk block (hard sharing; tasks that name the same block share
/// one representation), or the task's own representation (<c>"mixture of left"</c>, …) in the other architectures.
/// Empty when not given.
/// </param>
/// <param name="RepresentationShape">The representation's shape for one sample; null when not given.</param>
public sealed record TaskDefinition(string Name, Loss Loss, double Weight, IReadOnlyList<int> OutputShape,
    string Representation = "", IReadOnlyList<int>? RepresentationShape = null);

/// <summary>One tensor per task, in declaration order: the typed outputs and targets records implement it.</summary>
public interface ITaskTensors
{
    /// <summary>The number of tasks.</summary>
    int Count { get; }

    /// <summary>The tensor of the task at <paramref name="task"/> (declaration order).</summary>
    TorchSharp.torch.Tensor this[int task] { get; }
}

/// <summary>One tensor per task that can be built from a list: the typed outputs and targets records implement it.</summary>
/// <typeparam name="TSelf">The implementing record.</typeparam>
public interface ITaskTensors<TSelf> : ITaskTensors where TSelf : ITaskTensors<TSelf>
{
    /// <summary>The task names, in declaration order.</summary>
    static abstract IReadOnlyList<string> TaskNames { get; }

    /// <summary>Creates the record from one tensor per task (declaration order).</summary>
    static abstract TSelf Create(IReadOnlyList<TorchSharp.torch.Tensor> tensors);
}

/// <summary>Loss values of one training step as plain numbers: the generated <c>LossValues</c> record implements it.</summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface ITaskLossValues<TSelf> where TSelf : ITaskLossValues<TSelf>
{
    /// <summary>Creates the values from the joint loss and each task's loss (declaration order).</summary>
    static abstract TSelf Create(double total, IReadOnlyList<double> taskLosses);
}
