using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Equal weighting (EW): the joint loss is the plain sum Σ L_k. As in LibMTL, every weight is 1 (not 1/K), so the
/// trunk's gradient is the sum of the task gradients.
/// </summary>
public sealed class EqualWeighting : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "EW";

    /// <inheritdoc />
    public override IReadOnlyList<double>? FixedWeights => TaskCount > 0 ? Enumerable.Repeat(1.0, TaskCount).ToArray() : null;

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        double[] weights = Enumerable.Repeat(1.0, TaskCount).ToArray();
        return (WeightedSum(losses, weights), weights);
    }
}
