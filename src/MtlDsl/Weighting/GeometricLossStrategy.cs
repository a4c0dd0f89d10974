using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Geometric loss strategy (GLS; Chennupati et al., "MultiNet++", CVPR Workshops 2019): the joint loss is the
/// geometric mean (Π_k L_k)^{1/K}, which balances tasks whose losses differ in scale. Its gradient weights task k
/// by L / (K · L_k); those effective weights are reported. Every loss must be positive.
/// </summary>
public sealed class GeometricLossStrategy : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "GLS";

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        Tensor stacked = stack(losses);
        using Scalar exponent = (1.0 / TaskCount).ToScalar();
        Tensor objective = stacked.prod().pow(exponent);
        double total = objective.detach().to(ScalarType.Float64).item<double>();
        double[] values = stacked.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        if (values.Any(v => v <= 0))
            throw new InvalidOperationException($"GLS needs positive losses; got [{string.Join(", ", values)}].");
        return (objective, values.Select(v => total / (TaskCount * v)).ToArray());
    }
}
