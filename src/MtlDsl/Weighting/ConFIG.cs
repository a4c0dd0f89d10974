namespace MtlDsl.Weighting;

/// <summary>
/// Conflict-free inverse gradients (ConFIG; Liu et al., "ConFIG: Towards Conflict-free Training of Physics Informed
/// Neural Networks", ICLR 2025), as torchjd computes it: with u_k = g_k / ‖g_k‖ the unit task gradients, the direction
/// is v = U⁺ 1, the least-norm vector with u_kᵀ v = 1 for every task (so it makes the same angle with every task
/// gradient, and an acute one), normalised to ĝ = v / ‖v‖; the update is (Σ_k g_kᵀ ĝ) ĝ. On the Gram matrix: with
/// the cosine matrix C, a = C⁺ 1 and the coefficient of g_k is (Σ_i g_iᵀ ĝ) a_k / (‖g_k‖ ‖v‖), ‖v‖² = aᵀ C a. The
/// pseudo-inverse cuts eigenvalues below λ_max · K · ε (ε of the gradients' type), so duplicated or dependent tasks
/// share the direction; a task whose gradient is zero has no unit vector and takes no part. The reported weights are
/// the coefficients. Parameter and representation modes. Cost: an eigen-decomposition of the K×K cosine matrix.
/// </summary>
public sealed class ConFIG : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "ConFIG";

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        double[] norms = Enumerable.Range(0, n).Select(info.Norm).ToArray();
        bool[] active = Enumerable.Range(0, n).Select(k => !info.IsZero(k)).ToArray();
        var coefficients = new double[n];
        if (!active.Any(x => x)) return (coefficients, (double[])coefficients.Clone());

        var cosine = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                cosine[i, j] = active[i] && active[j] ? info.Gram[i, j] / (norms[i] * norms[j]) : 0;
        var (values, vectors) = WeightingMath.SymmetricEigen(cosine);
        double cut = values.Max() * n * info.Epsilon;
        var a = new double[n];
        for (int e = 0; e < n; e++)
        {
            if (values[e] <= cut) continue;
            double projection = 0;
            for (int k = 0; k < n; k++) projection += vectors[k, e] * (active[k] ? 1 : 0);
            for (int k = 0; k < n; k++) a[k] += vectors[k, e] * projection / values[e];
        }
        double vNorm = Math.Sqrt(Math.Max(0, WeightingMath.Quadratic(a, cosine, a)));
        if (vNorm == 0) return (coefficients, (double[])coefficients.Clone());
        double[] unit = Enumerable.Range(0, n).Select(k => active[k] ? a[k] / (norms[k] * vNorm) : 0).ToArray();
        double length = WeightingMath.Multiply(info.Gram, unit).Sum();
        for (int k = 0; k < n; k++) coefficients[k] = length * unit[k];
        return (coefficients, (double[])coefficients.Clone());
    }
}
