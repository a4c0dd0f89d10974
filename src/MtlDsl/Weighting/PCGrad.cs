namespace MtlDsl.Weighting;

/// <summary>
/// Projecting conflicting gradients (PCGrad; Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020),
/// as LibMTL implements it: for each task i, over all tasks j in a shuffled order (i itself included, as in
/// LibMTL), pc_i −= (pc_i·g_j) / (‖g_j‖² + 1e-8) · g_j whenever pc_i·g_j &lt; 0, projecting on the original g_j; the
/// trunk's gradient is Σ_i pc_i. The reported weights are the effective coefficient of each g_j in that sum.
/// Parameter mode only. The projections are computed exactly on the Gram matrix (pc_i is a combination of the g_j).
/// </summary>
/// <param name="random">The shuffle's random source; a fixed seed gives repeatable runs.</param>
/// <param name="shuffle">False keeps the task order 0…K−1 (for comparisons with reference values).</param>
public sealed class PCGrad(Random? random = null, bool shuffle = true) : GradientWeighting
{
    private readonly Random _random = random ?? new Random();

    /// <inheritdoc />
    public override string Name => "PCGrad";

    /// <summary>The task orders of the last step, one per task i.</summary>
    public IReadOnlyList<int[]> LastOrders { get; private set; } = [];

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        var a = new double[n, n]; // pc_i = Σ_m a[i, m] g_m
        for (int i = 0; i < n; i++) a[i, i] = 1;
        var orders = new List<int[]>();
        for (int i = 0; i < n; i++)
        {
            int[] order = Enumerable.Range(0, n).ToArray();
            if (shuffle) _random.Shuffle(order);
            orders.Add(order);
            foreach (int j in order)
            {
                double dot = 0;
                for (int m = 0; m < n; m++) dot += a[i, m] * info.Gram[m, j];
                if (dot < 0) a[i, j] -= dot / (info.Gram[j, j] + 1e-8);
            }
        }
        LastOrders = orders;
        var coefficients = new double[n];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++) coefficients[j] += a[i, j];
        return (coefficients, (double[])coefficients.Clone());
    }
}
