namespace MtlDsl.Weighting;

/// <summary>
/// Unconflicting projection of gradients (UPGrad; Quinton and Rey, "Jacobian Descent for Multi-Objective
/// Optimization", 2024), as torchjd and LibMTL compute it: each task gradient, weighted by its preference 1/K, is
/// projected onto the dual cone of the task gradients (the directions at a non-negative inner product with every one
/// of them), and the trunk follows the sum of the projections. With G the Gram matrix divided by its trace plus
/// ε_reg·I, projection i is Jᵀ v_i with v_i = argmin vᵀ G v subject to v ≥ e_i / K; the coefficients are Σ_i v_i, and
/// the reported weights are those coefficients. When no two gradients conflict every v_i is e_i / K and the update is
/// the mean gradient; otherwise every task gradient has a non-negative inner product with the update (up to the
/// regularisation: g_jᵀ d ≥ −ε_reg · Σ_k ‖g_k‖² · w_j). The quadratic programs are solved exactly by an active-set
/// method (torchjd calls quadprog). Parameter and representation modes. Cost: K small quadratic programs on the K×K
/// Gram matrix per step, beside the K backward passes every gradient method makes.
/// </summary>
/// <param name="normEpsilon">Below this squared norm of the task gradients together, the Gram matrix counts as zero (torchjd's norm_eps, 1e-4).</param>
/// <param name="regularization">ε_reg, added to the normalised Gram matrix's diagonal (torchjd's reg_eps, 1e-4).</param>
public sealed class UPGrad(double normEpsilon = 1e-4, double regularization = 1e-4) : DualConeWeighting(normEpsilon, regularization)
{
    /// <inheritdoc />
    public override string Name => "UPGrad";

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        double[,] gram = ProjectionGram(info);
        var coefficients = new double[n];
        for (int i = 0; i < n; i++)
        {
            var u = new double[n];
            u[i] = 1.0 / n;
            double[] v = WeightingMath.ProjectOntoDualCone(u, gram);
            for (int k = 0; k < n; k++) coefficients[k] += v[k];
        }
        return (coefficients, (double[])coefficients.Clone());
    }
}
