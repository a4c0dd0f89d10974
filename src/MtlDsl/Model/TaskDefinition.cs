using System.Collections.ObjectModel;
using System.Globalization;

namespace MtlDsl;

/// <summary>
/// One task of a multi-task model as declared: its name, loss, static weight, per-sample output shape, the
/// representation its head reads, and the loss's weights for rare positives or classes, where declared.
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
    string Representation = "", IReadOnlyList<int>? RepresentationShape = null)
{
    private readonly IReadOnlyList<double>? _positiveWeights, _classWeights;
    private readonly IReadOnlyList<int>? _factors;

    /// <summary>
    /// For a task built from tasks (<see cref="ProductOfAttribute"/>): the indices (declaration order) of the tasks whose
    /// probabilities it multiplies; its output is <see cref="TaskCombination.ProductLogit"/> of their outputs. Null for a
    /// task with a head of its own. Two or more distinct indices; the list is copied.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two, more than <see cref="TaskCombination.MaxFactors"/>, negative or repeated indices.</exception>
    public IReadOnlyList<int>? Factors
    {
        get => _factors;
        init
        {
            if (value is null) { _factors = null; return; }
            int[] copy = [.. value];
            if (copy.Length < 2 || copy.Length > TaskCombination.MaxFactors || copy.Any(i => i < 0) || copy.Distinct().Count() != copy.Length)
                throw new ArgumentException($"Factors [{string.Join(", ", copy)}]: a product takes 2 to {TaskCombination.MaxFactors} distinct task indices.", nameof(Factors));
            _factors = Array.AsReadOnly(copy);
        }
    }

    /// <summary>Whether the task is built from tasks (<see cref="Factors"/>).</summary>
    public bool IsProduct => _factors is not null;

    /// <summary>
    /// Whether the task is scored but not trained by its own loss: weight 0, allowed on a factor of a product task
    /// (ESMM's conversion tower). Every training step treats its labels as absent; evaluation scores it.
    /// </summary>
    public bool ScoredOnly => Weight == 0;

    /// <summary>
    /// For <see cref="Loss.BinaryCrossEntropyWithLogits"/>: the weight of a positive label, one for every label or one
    /// per label along the head's first output dimension (PyTorch's <c>pos_weight</c>); null when not declared
    /// (<see cref="TaskAttribute.PositiveWeights"/> gives the formula). Each a positive, finite number; the list is
    /// copied.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, or a value that is not positive and finite.</exception>
    public IReadOnlyList<double>? PositiveWeights
    {
        get => _positiveWeights;
        init => _positiveWeights = Checked(value, nameof(PositiveWeights), positive: true);
    }

    /// <summary>
    /// For <see cref="Loss.CrossEntropy"/>: one weight per class (PyTorch's <c>weight</c>); null when not declared
    /// (<see cref="TaskAttribute.ClassWeights"/> gives the formulas). Each a finite number ≥ 0, not all 0; the list is
    /// copied.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, all 0, or a value that is negative or not finite.</exception>
    public IReadOnlyList<double>? ClassWeights
    {
        get => _classWeights;
        init => _classWeights = Checked(value, nameof(ClassWeights), positive: false);
    }

    // The values as a read-only copy, refused as the generator refuses them (MTL036): the loss and the number of
    // classes are checked where the loss is computed, against the head's output.
    private static ReadOnlyCollection<double>? Checked(IReadOnlyList<double>? values, string name, bool positive)
    {
        if (values is null) return null;
        double[] copy = [.. values];
        if (copy.Length == 0) throw new ArgumentException($"{name} is empty: give {(positive ? "one weight for every label, or one per label" : "one weight per class")}, or none.", name);
        for (int i = 0; i < copy.Length; i++)
            if (!double.IsFinite(copy[i]) || (positive ? copy[i] <= 0 : copy[i] < 0))
                throw new ArgumentException($"{name}[{i}] is {copy[i].ToString(CultureInfo.InvariantCulture)}: {(positive ? "a positive weight must be a positive, finite number" : "a class weight must be a finite number ≥ 0")}.", name);
        if (!positive && copy.All(w => w == 0)) throw new ArgumentException($"{name} are all 0: the loss would weigh nothing; give at least one class a positive weight.", name);
        return Array.AsReadOnly(copy);
    }
}

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
