namespace MtlDsl.Benchmarks;

internal static class Statistics
{
    /// <summary>The median: robust to the odd slow round on a shared machine.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// Measures every candidate once per round, the order rotating every round so that machine noise falls on all
    /// alike; returns each candidate's measurements and their per-round ratios to candidate 0.
    /// </summary>
    public static (List<double>[] Values, List<double>[] Ratios) Interleaved(int candidates, int rounds, Func<int, double> measure)
    {
        var values = Enumerable.Range(0, candidates).Select(_ => new List<double>()).ToArray();
        var ratios = Enumerable.Range(0, candidates).Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            var measured = new double[candidates];
            for (int j = 0; j < candidates; j++)
            {
                int c = (j + round) % candidates;
                measured[c] = measure(c);
            }
            for (int c = 0; c < candidates; c++)
            {
                values[c].Add(measured[c]);
                ratios[c].Add(measured[c] / measured[0]);
            }
        }
        return (values, ratios);
    }
}
