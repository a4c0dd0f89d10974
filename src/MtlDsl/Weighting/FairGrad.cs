namespace MtlDsl.Weighting;

/// <summary>
/// FairGrad (Ban and Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024), as LibMTL applies it: the
/// weights w are the α-fair allocation, the positive w with GGᵀ w = w^(−1/α) (elementwise), and the step
/// back-propagates Σ w_k L_k (trunk Σ w_k g_k, each head w_k times its task's gradient). α = 1 is proportional
/// fairness (Nash-MTL's system, on the unnormalised Gram matrix); α → ∞ approaches max-min fairness. LibMTL solves
/// the system with SciPy's least_squares; this class solves it as the minimiser of a strictly convex function by
/// Newton's method, written on the cosine matrix so that tasks of very different gradient norms solve alike, to a
/// relative residual of about 1e-13. A task whose gradient is zero keeps weight 1 and the others solve among
/// themselves. The reported weights are w. Parameter mode only. Cost: a Newton solve on the K×K Gram
/// matrix and one more backward pass than the K every gradient method makes.
/// </summary>
/// <param name="alpha">α &gt; 0; 1 by default, as LibMTL.</param>
public sealed class FairGrad(double alpha = 1.0) : GradientWeighting
{
    private double[]? _last;

    /// <inheritdoc />
    public override string Name => "FairGrad";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("alpha", Twin(Alpha))];

    /// <summary>α.</summary>
    public double Alpha { get; } = alpha > 0 && double.IsFinite(alpha) ? alpha
        : throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "FairGrad's alpha must be a positive, finite number.");

    /// <summary>The largest relative residual |GGᵀw − w^(−1/α)| / w^(−1/α) of the last solve.</summary>
    public double LastResidual { get; private set; }

    /// <inheritdoc />
    protected override bool WeightsHeads => true;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        var (w, start, residual) = WeightingMath.FairWeights(info, Alpha, 1.0, _last);
        LastResidual = residual;
        _last = start;
        return (w, (double[])w.Clone());
    }

    /// <summary>The last scale-free solution u (w = u / ‖g‖; the warm start of the next solve).</summary>
    public override IReadOnlyDictionary<string, double[]> GetState() =>
        _last is null ? new Dictionary<string, double[]>() : new Dictionary<string, double[]> { ["start"] = (double[])_last.Clone() };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        _last = state.TryGetValue("start", out double[]? start) ? (double[])start.Clone() : null;
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        OptionalStateValues(state, "start", TaskCount);
    }
}
