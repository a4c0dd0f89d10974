namespace MtlDsl.Weighting;

/// <summary>
/// Gradient vaccine (GradVac; Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in
/// Massively Multilingual Models", ICLR 2021), as LibMTL implements it with the whole model as one group: for each
/// task i, over the other tasks j in a shuffled order, with φ the cosine between the partly adjusted pc_i and the
/// original g_j (each norm + 1e-8), if φ &lt; φ̂_ij then pc_i += ‖pc_i‖ (φ̂√(1−φ²) − φ√(1−φ̂²)) / (‖g_j‖ √(1−φ̂²) + 1e-8) · g_j,
/// and in every case φ̂_ij ← (1−β) φ̂_ij + β φ, an exponential moving average of the cosines that starts at 0 (so
/// the first steps adjust only conflicting pairs). The trunk's gradient is Σ_i pc_i; the adjustments are computed
/// exactly on the Gram matrix. The reported weights are each g_j's coefficient in that sum (LibMTL returns none).
/// State: φ̂ and the shuffle's seed and step count. Parameter mode only. Cost: O(K²) on the Gram matrix per step.
/// </summary>
/// <param name="beta">β, the moving average's rate; 0.5 by default, as LibMTL.</param>
/// <param name="seed">The seed of the shuffles; a fixed seed gives repeatable runs (a random one if null).</param>
/// <param name="shuffle">False keeps the order of the other tasks ascending (for comparisons with reference values).</param>
public sealed class GradVac(double beta = 0.5, int? seed = null, bool shuffle = true) : GradientWeighting
{
    // Without a seed, a random one; a checkpoint's state then brings the seed it was saved with.
    private int _seed = seed ?? Random.Shared.Next();
    private readonly bool _seedGiven = seed is not null;
    private long _steps;
    private double[,]? _target;

    /// <inheritdoc />
    public override string Name => "GradVac";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("beta", Twin(Beta)), ("seed", _seed.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>β.</summary>
    public double Beta { get; } = beta is >= 0 and <= 1 ? beta : throw new ArgumentOutOfRangeException(nameof(beta), beta, "GradVac's beta lies in [0, 1].");

    /// <summary>The target cosines φ̂ (K×K; row i, column j: task i adjusted toward task j).</summary>
    public double[,] Targets => (double[,])(_target ?? new double[TaskCount, TaskCount]).Clone();

    /// <summary>The orders of the other tasks in the last step, one per task i.</summary>
    public IReadOnlyList<int[]> LastOrders { get; private set; } = [];

    /// <summary>Orders to take instead of shuffling, one per task i and step in turn (tests replaying recorded orders).</summary>
    internal Queue<int[]>? ReplayOrders { get; set; }

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        _target ??= new double[n, n];
        double[,] g = info.Gram;
        var a = new double[n, n]; // pc_i = Σ_m a[i, m] g_m
        for (int i = 0; i < n; i++) a[i, i] = 1;
        var random = new Random(unchecked(_seed * 1_000_003 + (int)_steps));
        _steps++;
        var orders = new List<int[]>();
        for (int i = 0; i < n; i++)
        {
            int[] order = ReplayOrders is { Count: > 0 } replay ? replay.Dequeue() : Enumerable.Range(0, n).Where(j => j != i).ToArray();
            if (shuffle && ReplayOrders is null) random.Shuffle(order);
            orders.Add(order);
            foreach (int j in order)
            {
                double dot = 0, squared = 0;
                for (int m = 0; m < n; m++)
                {
                    dot += a[i, m] * g[m, j];
                    for (int l = 0; l < n; l++) squared += a[i, m] * a[i, l] * g[m, l];
                }
                double pcNorm = Math.Sqrt(Math.Max(0, squared)), gNorm = Math.Sqrt(Math.Max(0, g[j, j]));
                double cosine = dot / (pcNorm * gNorm + 1e-8);
                double target = _target[i, j];
                if (cosine < target)
                {
                    double w = pcNorm * (target * Math.Sqrt(Math.Max(0, 1 - cosine * cosine)) - cosine * Math.Sqrt(Math.Max(0, 1 - target * target)))
                               / (gNorm * Math.Sqrt(Math.Max(0, 1 - target * target)) + 1e-8);
                    a[i, j] += w;
                }
                _target[i, j] = (1 - Beta) * target + Beta * cosine;
            }
        }
        LastOrders = orders;
        var coefficients = new double[n];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++) coefficients[j] += a[i, j];
        return (coefficients, (double[])coefficients.Clone());
    }

    /// <summary>The target cosines (row by row), the shuffle's seed and the number of steps taken.</summary>
    public override IReadOnlyDictionary<string, double[]> GetState()
    {
        double[,] target = _target ?? new double[TaskCount, TaskCount];
        return new Dictionary<string, double[]>
        {
            ["shuffle"] = [_seed, _steps],
            ["targets"] = [.. Enumerable.Range(0, TaskCount * TaskCount).Select(x => target[x / TaskCount, x % TaskCount])],
        };
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        double[] shuffleState = state["shuffle"], targets = state["targets"];
        _seed = (int)shuffleState[0];
        _steps = (long)shuffleState[1];
        _target = new double[TaskCount, TaskCount];
        for (int x = 0; x < targets.Length; x++) _target[x / TaskCount, x % TaskCount] = targets[x];
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        if (!state.TryGetValue("shuffle", out double[]? shuffleState) || shuffleState.Length != 2)
            throw new ArgumentException($"GradVac: the state needs 'shuffle' = [seed, steps].", nameof(state));
        int seed = StateSeed(shuffleState[0], "seed");
        StateCount(shuffleState[1], "step count");
        if (_seedGiven && seed != _seed)
            throw new ArgumentException($"GradVac was created with the seed {_seed}, and the state was saved with the seed {seed}: create it with that seed, or without one.", nameof(state));
        if (!state.TryGetValue("targets", out double[]? targets) || targets.Length != TaskCount * TaskCount)
            throw new ArgumentException($"GradVac: the state needs 'targets', the {TaskCount}×{TaskCount} target cosines row by row.", nameof(state));
        StateValues(state, "targets", TaskCount * TaskCount);
    }

    /// <summary>Sets the target cosines (row i, column j), as a reference state gives them.</summary>
    internal void SetTargets(double[,] targets) => _target = (double[,])targets.Clone();
}
