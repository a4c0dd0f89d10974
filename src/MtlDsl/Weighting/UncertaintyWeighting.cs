using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Uncertainty weighting (UW; Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses",
/// CVPR 2018), in LibMTL's form: a learnable log-variance s_k per task and the objective
/// Σ_k L_k / (2 e^{s_k}) + s_k / 2, whose optimum for fixed losses is s_k = log L_k. The reported weights are
/// 1 / (2 e^{s_k}). The s_k must be optimised with the model (the trainer adds them to the optimizer).
/// </summary>
/// <param name="initialScale">The initial s_k; −0.5 as in LibMTL.</param>
public sealed class UncertaintyWeighting(double initialScale = -0.5) : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "UW";

    /// <summary>The log-variances s_k.</summary>
    public Parameter Scale => RequireScale();

    /// <inheritdoc />
    protected override void OnInitialize(ScalarType dtype, Device device) =>
        CreateLearnableScale(initialScale, dtype, device);

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        using Scalar two = 2.0.ToScalar();
        Tensor twiceVariance = Scale.exp().mul(two);
        Tensor objective = TensorMath.Plus(stack(losses) / twiceVariance, Scale.div(two)).sum();
        double[] weights = twiceVariance.detach().reciprocal().to(ScalarType.Float64).cpu().data<double>().ToArray();
        return (objective, weights);
    }
}
