namespace MtlDsl.Weighting;

/// <summary>
/// DualProj (Quinton and Rey, "Jacobian Descent for Multi-Objective Optimization", 2024), as torchjd computes it: the
/// mean gradient projected onto the dual cone of the task gradients. With G the Gram matrix divided by its trace plus
/// ε_reg·I, the coefficients are v = argmin vᵀ G v subject to v ≥ 1/K (every entry), and the reported weights are v.
/// When no gradient conflicts with the mean, v = 1/K and the update is the mean; otherwise every task gradient has a
/// non-negative inner product with it (up to the regularisation, as for <see cref="UPGrad"/>). Unlike UPGrad, one
/// projection of the mean rather than the mean of K projections: cheaper, and not guaranteed to weight every task's
/// preference alike. Parameter and representation modes. Cost: one small quadratic program per step.
/// </summary>
/// <param name="normEpsilon">Below this squared norm of the task gradients together, the Gram matrix counts as zero (torchjd's norm_eps, 1e-4).</param>
/// <param name="regularization">ε_reg, added to the normalised Gram matrix's diagonal (torchjd's reg_eps, 1e-4).</param>
public sealed class DualProj(double normEpsilon = 1e-4, double regularization = 1e-4) : DualConeWeighting(normEpsilon, regularization)
{
    /// <inheritdoc />
    public override string Name => "DualProj";

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        double[] v = WeightingMath.ProjectOntoDualCone(Enumerable.Repeat(1.0 / TaskCount, TaskCount).ToArray(),
            ProjectionGram(info));
        return (v, (double[])v.Clone());
    }
}
