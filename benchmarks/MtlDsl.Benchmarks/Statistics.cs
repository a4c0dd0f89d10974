namespace MtlDsl.Benchmarks;

internal static class Statistics
{
    /// <summary>The median: robust to the odd slow round on a shared machine.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
