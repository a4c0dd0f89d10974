using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>The weighted joint loss Σ λ·L of one batch, with each task's own (unweighted) loss.</summary>
/// <param name="Total">The joint loss, a scalar that back-propagates into trunk and heads.</param>
/// <param name="TaskLosses">Each task's loss (a scalar), in declaration order.</param>
public sealed record JointLoss(Tensor Total, IReadOnlyList<Tensor> TaskLosses);
