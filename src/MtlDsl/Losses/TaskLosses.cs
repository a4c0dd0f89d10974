using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Losses;

/// <summary>Computes a task's loss after checking that its target fits the head's output.</summary>
/// <remarks>
/// Missing labels: a class index of <see cref="MissingClass"/> (PyTorch's <c>ignore_index</c>) or a NaN in a
/// floating-point target marks that label as missing. The task's loss is then the mean over the labels that are
/// present, and 0 (still connected to the graph) when a batch has none, so the step trains the other tasks.
/// Class imbalance: a task's <see cref="TaskDefinition.ClassWeights"/> (cross-entropy) and
/// <see cref="TaskDefinition.PositiveWeights"/> (binary cross-entropy) weigh its loss as PyTorch's <c>weight</c> and
/// <c>pos_weight</c> do (the formulas are on <see cref="TaskAttribute.ClassWeights"/> and
/// <see cref="TaskAttribute.PositiveWeights"/>), over the labels present.
/// </remarks>
public static class TaskLosses
{
    /// <summary>The class index that marks a missing label: −100, as PyTorch's <c>ignore_index</c>.</summary>
    public const long MissingClass = -100;

    /// <summary>
    /// The loss of <paramref name="task"/> for one batch (mean over the labels present). The target is checked
    /// first: a shape that does not fit the output, or a class label out of range, is a
    /// <see cref="TaskTensorException"/> that names the task and the expected shape, never a silent broadcast or a
    /// native error.
    /// </summary>
    public static Tensor Compute(TaskDefinition task, Tensor output, Tensor target) => Compute(task, output, target, out _);

    /// <summary>
    /// <see cref="Compute(TaskDefinition, Tensor, Tensor)"/>, and whether the batch holds any label of the task (a
    /// loss of 0 from a batch without labels is absent, not learned).
    /// </summary>
    internal static Tensor Compute(TaskDefinition task, Tensor output, Tensor target, out bool anyPresent)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(output);
        if (target is null || target.IsInvalid)
            throw new TaskTensorException(task.Name, "target", $"Task '{task.Name}': the target is missing.");

        CheckLossWeights(task, output);
        return task.Loss switch
        {
            Loss.CrossEntropy => CrossEntropy(task, output, target, out anyPresent),
            Loss.BinaryCrossEntropyWithLogits or Loss.MeanSquaredError or Loss.L1 or Loss.SmoothL1 => Elementwise(task, output, target, out anyPresent),
            _ => throw new ArgumentOutOfRangeException(nameof(task), task.Loss, $"Task '{task.Name}': unknown loss."),
        };
    }

    // Weights declared for another loss, or of another count than the head's labels or classes: a TaskDefinition
    // made by hand (the generator refuses both, MTL036). The values themselves are checked by TaskDefinition.
    private static void CheckLossWeights(TaskDefinition task, Tensor output)
    {
        if (task.PositiveWeights is { } positive)
        {
            if (task.Loss != Loss.BinaryCrossEntropyWithLogits)
                throw new ArgumentException($"Task '{task.Name}': PositiveWeights apply to {nameof(Loss.BinaryCrossEntropyWithLogits)} only; its loss is {task.Loss}.", nameof(task));
            long labels = output.dim() > 1 ? output.shape[1] : 1;
            if (positive.Count != 1 && positive.Count != labels)
                throw new ArgumentException($"Task '{task.Name}': {positive.Count} PositiveWeights for an output of shape {Format(output.shape)}: give one for every label, or one per label ({labels}).", nameof(task));
        }
        if (task.ClassWeights is { } classes)
        {
            if (task.Loss != Loss.CrossEntropy)
                throw new ArgumentException($"Task '{task.Name}': ClassWeights apply to {nameof(Loss.CrossEntropy)} only; its loss is {task.Loss}.", nameof(task));
            if (output.dim() >= 2 && classes.Count != output.shape[1])
                throw new ArgumentException($"Task '{task.Name}': {classes.Count} ClassWeights for {output.shape[1]} classes (the output has shape {Format(output.shape)}): give one per class.", nameof(task));
        }
    }

    // A task's declared weights as a tensor of the output's type on its device: float64 first, so that the values are
    // rounded once, to the output's type, as PyTorch's torch.tensor(weights, dtype=output.dtype) rounds them.
    private static Tensor WeightTensor(IReadOnlyList<double> weights, Tensor output) =>
        torch.tensor(weights.ToArray(), dtype: ScalarType.Float64).to(output.dtype, output.device);

    // PyTorch's pos_weight broadcasts along the last dimension; MtlDsl's labels are the first dimension of a sample
    // ([N, labels] or [N, labels, d…]), so one weight per label is shaped [labels, 1, …] to weigh that dimension.
    private static Tensor? PositiveWeightTensor(TaskDefinition task, Tensor output)
    {
        if (task.PositiveWeights is not { } weights) return null;
        Tensor values = WeightTensor(weights, output);
        return weights.Count == 1 || output.dim() <= 2 ? values : values.reshape([weights.Count, .. Enumerable.Repeat(1L, (int)output.dim() - 2)]);
    }

    // Mean over the present (non-NaN) elements. Without missing labels, the plain loss: the masking costs extra
    // passes over the batch, and the common case should cost what a hand-written loss costs. Positive weights
    // (binary cross-entropy) weigh each element's loss, and the mean is still over the elements, as PyTorch's.
    private static Tensor Elementwise(TaskDefinition task, Tensor output, Tensor target, out bool anyPresent)
    {
        Tensor values = SameShape(task, output, target);
        Tensor? positiveWeight = PositiveWeightTensor(task, output);
        // One reduction answers the common case: a sum that is not NaN means no label is missing (NaN marks one).
        bool anyMissing;
        using (torch.no_grad()) anyMissing = values.sum().isnan().item<bool>();
        if (!anyMissing)
        {
            anyPresent = values.numel() > 0;
            return ElementwiseLoss(task.Loss, output, values, nn.Reduction.Mean, positiveWeight);
        }
        Tensor missing = values.isnan();
        using (torch.no_grad()) anyPresent = !missing.all().item<bool>();
        Tensor present = missing.logical_not();
        Tensor perElement = ElementwiseLoss(task.Loss, output, values.nan_to_num(0.0), nn.Reduction.None, positiveWeight);
        return (perElement * present).sum() / AtLeastOne(present.sum());
    }

    private static Tensor ElementwiseLoss(Loss loss, Tensor output, Tensor target, nn.Reduction reduction, Tensor? positiveWeight) => loss switch
    {
        Loss.BinaryCrossEntropyWithLogits => nn.functional.binary_cross_entropy_with_logits(output, target, reduction: reduction, pos_weights: positiveWeight),
        Loss.MeanSquaredError => nn.functional.mse_loss(output, target, reduction: reduction),
        Loss.L1 => nn.functional.l1_loss(output, target, reduction: reduction),
        _ => nn.functional.smooth_l1_loss(output, target, reduction: reduction),
    };

    private static Tensor CrossEntropy(TaskDefinition task, Tensor output, Tensor target, out bool anyPresent)
    {
        if (output.dim() < 2)
            throw new TaskTensorException(task.Name, "output",
                $"Task '{task.Name}': cross-entropy needs class scores of shape [N, C] or [N, C, d…]; the head's output has shape {Format(output.shape)}.");

        // Class probabilities, PyTorch's second form of cross-entropy targets; a row with a NaN is missing.
        if (target.is_floating_point())
        {
            long[] indexShape = [output.shape[0], .. output.shape.Skip(2)];
            if (target.shape.SequenceEqual(indexShape))
                throw new TaskTensorException(task.Name, "target",
                    $"Task '{task.Name}': the target has shape {Format(target.shape)} and type {target.dtype}: class indices must be integers, " +
                    $"usually Int64 (target.to(ScalarType.Int64); {MissingClass} marks a missing label). A floating-point target is read as " +
                    $"class probabilities, of shape {Format(output.shape)}, the head's output.");
            Tensor probabilities = SameShape(task, output, target);
            Tensor rowPresent = probabilities.isnan().any(1, keepdim: false).logical_not();
            using (torch.no_grad()) anyPresent = rowPresent.any().item<bool>();
            // With class weights, PyTorch's row loss −Σ_c w_c·y_c·log p_c, and still the mean over the rows.
            Tensor? classWeight = task.ClassWeights is { } weights ? WeightTensor(weights, output) : null;
            Tensor perRow = nn.functional.cross_entropy(output, probabilities.nan_to_num(0.0), weight: classWeight, reduction: nn.Reduction.None);
            return (perRow * rowPresent).sum() / AtLeastOne(rowPresent.sum());
        }

        long[] expected = [output.shape[0], .. output.shape.Skip(2)];
        if (!target.shape.SequenceEqual(expected))
            throw new TaskTensorException(task.Name, "target",
                $"Task '{task.Name}': the target of class indices has shape {Format(target.shape)}, expected {Format(expected)} " +
                $"(the head's output is {Format(output.shape)}: one class index per sample{(expected.Length > 1 ? " and position" : "")}).");

        long classes = output.shape[1];
        Tensor labels = target.dtype == ScalarType.Int64 ? target : target.to_type(ScalarType.Int64);
        using Scalar missingClass = MissingClass.ToScalar(), zero = 0L.ToScalar(), classCount = classes.ToScalar();
        Tensor present = labels.ne(missingClass);
        bool anyMissing;
        using (torch.no_grad())
        {
            // One read for the three questions: any label out of range, any missing, any present.
            bool[] flags = stack([((labels.lt(zero) | labels.ge(classCount)) & present).any(), present.logical_not().any(), present.any()]).cpu().data<bool>().ToArray();
            (anyMissing, anyPresent) = (flags[1], flags[2]);
            if (flags[0])
            {
                Tensor shown = labels.masked_select(present);
                long min = shown.min().item<long>(), max = shown.max().item<long>();
                throw new TaskTensorException(task.Name, "target",
                    $"Task '{task.Name}': class labels must lie in [0, {classes - 1}] for {classes} classes (or be {MissingClass} for a missing label); the target holds labels from {min} to {max}.");
            }
        }
        if (task.ClassWeights is { } classWeights) return WeightedCrossEntropy(output, labels, present, WeightTensor(classWeights, output), out anyPresent);
        if (!anyMissing) return nn.functional.cross_entropy(output, labels);
        Tensor summed = nn.functional.cross_entropy(output, labels, ignore_index: MissingClass, reduction: nn.Reduction.Sum);
        return summed / AtLeastOne(present.sum());
    }

    // PyTorch's weighted mean over the labels present, Σ w_yᵢ·lᵢ / Σ w_yᵢ (its own reduction, ignore_index −100). Where
    // the present labels weigh nothing (none present, or all of classes weighted 0) PyTorch's mean is 0/0: the task
    // then has no loss in this batch, 0 in the graph, as a batch without labels.
    private static Tensor WeightedCrossEntropy(Tensor output, Tensor labels, Tensor present, Tensor weight, out bool anyPresent)
    {
        using (torch.no_grad())
        {
            using Scalar zero = 0L.ToScalar();
            anyPresent = WeightOfPresentLabels(weight, labels, present).gt(zero).item<bool>();
        }
        return nn.functional.cross_entropy(output, labels, weight: weight, ignore_index: MissingClass, reduction: anyPresent ? nn.Reduction.Mean : nn.Reduction.Sum);
    }

    /// <summary>
    /// What the task's loss of this batch is the mean over, so that batches add up to the mean over all the data: the
    /// present labels (<see cref="PresentCount"/>), or with class weights and class indices their total weight,
    /// Σ w_yᵢ over the labels present (in float64).
    /// </summary>
    internal static double LossDenominator(TaskDefinition task, Tensor target, long presentCount)
    {
        if (task.Loss != Loss.CrossEntropy || task.ClassWeights is not { } weights || target.is_floating_point()) return presentCount;
        using var scope = NewDisposeScope();
        using Scalar missingClass = MissingClass.ToScalar();
        Tensor labels = target.to_type(ScalarType.Int64);
        Tensor weight = torch.tensor(weights.ToArray(), dtype: ScalarType.Float64, device: target.device);
        return WeightOfPresentLabels(weight, labels, labels.ne(missingClass)).item<double>();
    }

    // Σ w_yᵢ over the labels present (class indices; a missing one reads class 0's weight, then counts 0), in the weights' type.
    private static Tensor WeightOfPresentLabels(Tensor weight, Tensor labels, Tensor present)
    {
        using Scalar zero = 0L.ToScalar();
        return (weight.index_select(0, labels.masked_fill(present.logical_not(), zero).flatten()) * present.flatten()).sum();
    }

    // A count of present labels, at least 1, so that a batch without any divides 0 by 1.
    private static Tensor AtLeastOne(Tensor count)
    {
        using Scalar one = 1L.ToScalar();
        return count.clamp_min(one);
    }

    private static Tensor SameShape(TaskDefinition task, Tensor output, Tensor target)
    {
        if (!target.shape.SequenceEqual(output.shape))
            throw new TaskTensorException(task.Name, "target",
                $"Task '{task.Name}': the target has shape {Format(target.shape)}, expected {Format(output.shape)} " +
                $"(the head's output shape; a {task.Loss} target must match it exactly, it is never broadcast).");
        return target.dtype == output.dtype ? target : target.to_type(output.dtype);
    }

    /// <summary>How many labels of <paramref name="target"/> are present: what the task's mean loss divides by.</summary>
    internal static long PresentCount(TaskDefinition task, Tensor target)
    {
        using var scope = NewDisposeScope();
        if (task.Loss == Loss.CrossEntropy && !target.is_floating_point())
        {
            using Scalar missingClass = MissingClass.ToScalar();
            return target.ne(missingClass).sum().item<long>();
        }
        if (task.Loss == Loss.CrossEntropy)
            return target.isnan().any(1, keepdim: false).logical_not().sum().item<long>();
        return target.isnan().logical_not().sum().item<long>();
    }

    internal static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
