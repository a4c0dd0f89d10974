namespace MtlDsl.Weighting;

/// <summary>
/// Projecting conflicting gradients (PCGrad; Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020),
/// as LibMTL implements it: for each task i, over all tasks j in a shuffled order (i itself included, as in
/// LibMTL), pc_i −= (pc_i·g_j) / (‖g_j‖² + 1e-8) · g_j whenever pc_i·g_j &lt; 0, projecting on the original g_j; the
/// trunk's gradient is Σ_i pc_i. The reported weights are the effective coefficient of each g_j in that sum.
/// Parameter mode only. The projections are computed exactly on the Gram matrix (pc_i is a combination of the g_j).
/// </summary>
/// <param name="seed">The seed of the shuffles; a fixed seed gives repeatable runs (a random one if null).</param>
/// <param name="shuffle">False keeps the task order 0…K−1 (for comparisons with reference values).</param>
public sealed class PCGrad(int? seed = null, bool shuffle = true) : GradientWeighting
{
    // Step t shuffles with a generator seeded from (seed, t): the state is two numbers, so a resumed run repeats.
    // Without a seed, a random one; a checkpoint's state then brings the seed it was saved with.
    private int _seed = seed ?? Random.Shared.Next();
    private readonly bool _seedGiven = seed is not null;
    private long _steps;

    /// <inheritdoc />
    public override string Name => "PCGrad";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("seed", _seed.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The task orders of the last step, one per task i.</summary>
    public IReadOnlyList<int[]> LastOrders { get; private set; } = [];

    /// <summary>Orders to take instead of shuffling, one per task i and step in turn (tests replaying recorded orders).</summary>
    internal Queue<int[]>? ReplayOrders { get; set; }

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        var a = new double[n, n]; // pc_i = Σ_m a[i, m] g_m
        for (int i = 0; i < n; i++) a[i, i] = 1;
        var orders = new List<int[]>();
        var random = new Random(unchecked(_seed * 1_000_003 + (int)_steps));
        _steps++;
        for (int i = 0; i < n; i++)
        {
            int[] order = ReplayOrders is { Count: > 0 } replay ? replay.Dequeue() : Enumerable.Range(0, n).ToArray();
            if (shuffle && ReplayOrders is null) random.Shuffle(order);
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

    /// <summary>The seed and the number of steps taken, which fix every later shuffle.</summary>
    public override IReadOnlyDictionary<string, double[]> GetState() =>
        new Dictionary<string, double[]> { ["shuffle"] = [_seed, _steps] };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        _seed = (int)state["shuffle"][0];
        _steps = (long)state["shuffle"][1];
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        if (!state.TryGetValue("shuffle", out double[]? shuffleState) || shuffleState.Length != 2)
            throw new ArgumentException($"PCGrad: the state needs 'shuffle' = [seed, steps].", nameof(state));
        int seed = StateSeed(shuffleState[0], "seed");
        StateCount(shuffleState[1], "step count");
        if (_seedGiven && seed != _seed)
            throw new ArgumentException($"PCGrad was created with the seed {_seed}, and the state was saved with the seed {seed}: create it with that seed, or without one.", nameof(state));
    }
}
