using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>The weighted joint loss Σ λ·L of one batch, with each task's own (unweighted) loss.</summary>
/// <param name="Total">The joint loss, a scalar that back-propagates into trunk and heads.</param>
/// <param name="TaskLosses">Each task's loss (a scalar), in declaration order.</param>
public sealed record JointLoss(Tensor Total, IReadOnlyList<Tensor> TaskLosses)
{
    /// <summary>Σ w_k L_k.</summary>
    public static Tensor WeightedSum(IReadOnlyList<Tensor> losses, IReadOnlyList<double> weights)
        => TensorMath.Sum([.. losses.Select((loss, k) => TensorMath.Scaled(loss, weights[k]))]);
}
