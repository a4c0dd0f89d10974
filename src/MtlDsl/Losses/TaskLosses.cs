using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Losses;

/// <summary>Computes a task's loss after checking that its target fits the head's output.</summary>
public static class TaskLosses
{
    /// <summary>
    /// The loss of <paramref name="task"/> for one batch (mean over the batch). The target is checked first:
    /// a shape that does not fit the output, or a class label out of range, is a <see cref="TaskTensorException"/>
    /// that names the task and the expected shape, never a silent broadcast or a native error.
    /// </summary>
    public static Tensor Compute(TaskDefinition task, Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(output);
        if (target is null || target.IsInvalid)
            throw new TaskTensorException(task.Name, "target", $"Task '{task.Name}': the target is missing.");

        switch (task.Loss)
        {
            case Loss.CrossEntropy:
                return CrossEntropy(task, output, target);
            case Loss.BinaryCrossEntropyWithLogits:
                return nn.functional.binary_cross_entropy_with_logits(output, SameShape(task, output, target));
            case Loss.MeanSquaredError:
                return nn.functional.mse_loss(output, SameShape(task, output, target));
            case Loss.L1:
                return nn.functional.l1_loss(output, SameShape(task, output, target));
            case Loss.SmoothL1:
                return nn.functional.smooth_l1_loss(output, SameShape(task, output, target));
            default:
                throw new ArgumentOutOfRangeException(nameof(task), task.Loss, $"Task '{task.Name}': unknown loss.");
        }
    }

    private static Tensor CrossEntropy(TaskDefinition task, Tensor output, Tensor target)
    {
        if (output.dim() < 2)
            throw new TaskTensorException(task.Name, "output",
                $"Task '{task.Name}': cross-entropy needs class scores of shape [N, C] or [N, C, d…]; the head's output has shape {Format(output.shape)}.");

        // Class probabilities, PyTorch's second form of cross-entropy targets.
        if (target.is_floating_point())
            return nn.functional.cross_entropy(output, SameShape(task, output, target));

        long[] expected = [output.shape[0], .. output.shape.Skip(2)];
        if (!target.shape.SequenceEqual(expected))
            throw new TaskTensorException(task.Name, "target",
                $"Task '{task.Name}': the target of class indices has shape {Format(target.shape)}, expected {Format(expected)} " +
                $"(the head's output is {Format(output.shape)}: one class index per sample{(expected.Length > 1 ? " and position" : "")}).");

        long classes = output.shape[1];
        Tensor labels = target.dtype == ScalarType.Int64 ? target : target.to_type(ScalarType.Int64);
        using (torch.no_grad())
        {
            if (labels.numel() > 0 && (labels.lt(0) | labels.ge(classes)).any().item<bool>())
            {
                long min = labels.min().item<long>(), max = labels.max().item<long>();
                throw new TaskTensorException(task.Name, "target",
                    $"Task '{task.Name}': class labels must lie in [0, {classes - 1}] for {classes} classes; the target holds labels from {min} to {max}.");
            }
        }
        return nn.functional.cross_entropy(output, labels);
    }

    private static Tensor SameShape(TaskDefinition task, Tensor output, Tensor target)
    {
        if (!target.shape.SequenceEqual(output.shape))
            throw new TaskTensorException(task.Name, "target",
                $"Task '{task.Name}': the target has shape {Format(target.shape)}, expected {Format(output.shape)} " +
                $"(the head's output shape; a {task.Loss} target must match it exactly, it is never broadcast).");
        return target.dtype == output.dtype ? target : target.to_type(output.dtype);
    }

    internal static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
