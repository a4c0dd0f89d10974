namespace MtlDsl.Metrics;

/// <summary>One metric of a multi-task model beside the same metric of its single-task baseline.</summary>
/// <param name="Value">The multi-task model's value.</param>
/// <param name="Baseline">The single-task baseline's value (not zero).</param>
/// <param name="HigherIsBetter">Whether a larger value is better.</param>
public readonly record struct MetricComparison(double Value, double Baseline, bool HigherIsBetter);

/// <summary>
/// Δm, the average relative change of every metric against single-task baselines, in percent, as LibMTL computes
/// it: Δm = 100 / N · Σ_i (−1)^{δ_i} (M_i − B_i) / B_i, with δ_i = 1 where lower is better. Positive means the
/// multi-task model is better on average.
/// </summary>
public static class DeltaM
{
    /// <summary>Δm in percent over all the comparisons (every metric of every task).</summary>
    /// <exception cref="ArgumentException">No comparison, or a baseline of zero.</exception>
    public static double Compute(IReadOnlyList<MetricComparison> comparisons)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        if (comparisons.Count == 0) throw new ArgumentException("Δm needs at least one metric with its baseline.", nameof(comparisons));
        double total = 0;
        foreach (MetricComparison m in comparisons)
        {
            if (m.Baseline == 0 || !double.IsFinite(m.Baseline))
                throw new ArgumentException($"Δm: a baseline of {m.Baseline} leaves the relative change undefined.", nameof(comparisons));
            double change = (m.Value - m.Baseline) / m.Baseline;
            total += m.HigherIsBetter ? change : -change;
        }
        return 100 * total / comparisons.Count;
    }
}
