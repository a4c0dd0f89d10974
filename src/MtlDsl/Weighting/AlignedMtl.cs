namespace MtlDsl.Weighting;

/// <summary>
/// Aligned-MTL (Senushkin et al., "Independent Component Alignment for Multi-Task Learning", CVPR 2023), as in
/// LibMTL: with the eigen-decomposition G Gᵀ = V Λ Vᵀ of the tasks' Gram matrix, cut at rank
/// λ_max · K · ε (ε the machine epsilon of the gradients' type), B = √λ_min · V Λ^{-1/2} Vᵀ; the coefficients are
/// the column sums of B, which aligns the task gradients into an orthogonal, equal-norm system. The reported
/// weights are those coefficients.
/// </summary>
public sealed class AlignedMtl : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "Aligned-MTL";

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        var (values, vectors) = WeightingMath.SymmetricEigen(info.Gram);
        double tolerance = values.Max() * n * info.Epsilon;
        int[] kept = Enumerable.Range(0, n).Where(k => values[k] > tolerance).OrderByDescending(k => values[k]).ToArray();
        if (kept.Length == 0) throw new InvalidOperationException("Aligned-MTL: every task gradient is zero.");
        double smallest = Math.Sqrt(values[kept[^1]]);
        var coefficients = new double[n];
        for (int column = 0; column < n; column++)
            for (int row = 0; row < n; row++)
            {
                double b = 0;
                foreach (int k in kept) b += vectors[row, k] * vectors[column, k] / Math.Sqrt(values[k]);
                coefficients[column] += smallest * b;
            }
        return (coefficients, (double[])coefficients.Clone());
    }
}
