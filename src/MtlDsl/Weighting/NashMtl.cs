namespace MtlDsl.Weighting;

/// <summary>
/// Nash-MTL (Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022), as LibMTL applies it: the weights α
/// are the Nash bargaining solution, the positive α with (GGᵀ/‖GGᵀ‖_F) α = 1/α (elementwise), and the step
/// back-propagates Σ α_k L_k, so the trunk's gradient is Σ α_k g_k and each head's α_k times its task's; then the
/// trunk's gradient is clipped to the norm <c>maxNorm</c> (LibMTL's max_norm, 1; 0 turns it off). LibMTL and the
/// paper approach α by a sequence of convex programs (cvxpy, 20 iterations, stopping at a residual of 1e-3); this
/// class solves the system itself, as the minimiser of a strictly convex function by Newton's method on the cosine
/// matrix (so that tasks of very different gradient norms solve alike), to a relative residual of about 1e-13. A task whose gradient is zero cannot bargain (no α solves its equation): it keeps weight 1 and the
/// others solve among themselves. <c>updateEvery</c> > 1 recomputes α only every that many steps (LibMTL's
/// update_weights_every). The reported weights are α. Parameter mode only. Cost: a Newton solve on the K×K Gram
/// matrix and one more backward pass than the K every gradient method makes.
/// </summary>
/// <param name="maxNorm">The trunk gradient's largest norm after the step; 0 for none. 1 by default, as LibMTL.</param>
/// <param name="updateEvery">Recompute the weights every this many steps; 1 by default.</param>
public sealed class NashMtl(double maxNorm = 1.0, int updateEvery = 1) : GradientWeighting
{
    private double[]? _alpha;
    private double[]? _start;
    private long _steps;

    /// <inheritdoc />
    public override string Name => "Nash-MTL";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("max_norm", Twin(MaxNorm)), ("update_every", UpdateEvery.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The largest norm of the trunk gradient; 0 for no clipping.</summary>
    public double MaxNorm { get; } = maxNorm >= 0 && double.IsFinite(maxNorm) ? maxNorm
        : throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "Nash-MTL's max norm must be a finite number ≥ 0 (0 turns the clipping off).");

    /// <summary>How often the weights are recomputed, in steps.</summary>
    public int UpdateEvery { get; } = updateEvery >= 1 ? updateEvery
        : throw new ArgumentOutOfRangeException(nameof(updateEvery), updateEvery, "Nash-MTL recomputes its weights every n ≥ 1 steps.");

    /// <summary>The largest relative residual |Aα − 1/α| / (1/α) of the last solve.</summary>
    public double LastResidual { get; private set; }

    /// <inheritdoc />
    protected override bool WeightsHeads => true;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        if (_alpha is null || _steps % UpdateEvery == 0)
        {
            double frobenius = 0;
            foreach (double v in info.Gram) frobenius += v * v;
            frobenius = Math.Sqrt(frobenius);
            // The bargaining solution among the tasks whose gradient is not zero: (G/‖G‖_F) α = 1/α, G α = ‖G‖_F/α.
            (_alpha, _start, double residual) = WeightingMath.FairWeights(info, 1.0, frobenius, _start is { } last && last.All(v => v > 0) ? last : null);
            LastResidual = residual;
        }
        _steps++;
        double[] alpha = (double[])_alpha.Clone();
        double[] coefficients = (double[])alpha.Clone();
        double norm = Math.Sqrt(Math.Max(0, WeightingMath.Quadratic(alpha, info.Gram, alpha)));
        if (MaxNorm > 0 && norm > MaxNorm)
            for (int k = 0; k < n; k++) coefficients[k] *= MaxNorm / norm;
        return (coefficients, alpha);
    }

    /// <summary>The weights of the last solve, its scale-free solution (the warm start of the next) and the number of steps taken.</summary>
    public override IReadOnlyDictionary<string, double[]> GetState()
    {
        var state = new Dictionary<string, double[]> { ["steps"] = [_steps] };
        if (_alpha is not null) state["alpha"] = (double[])_alpha.Clone();
        if (_start is not null) state["start"] = (double[])_start.Clone();
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        _steps = (long)state["steps"][0];
        _alpha = state.TryGetValue("alpha", out double[]? alpha) ? (double[])alpha.Clone() : null;
        _start = state.TryGetValue("start", out double[]? start) ? (double[])start.Clone() : null;
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        if (!state.TryGetValue("steps", out double[]? steps) || steps.Length != 1)
            throw new ArgumentException("Nash-MTL: the state needs 'steps' = [steps taken].", nameof(state));
        StateCount(steps[0], "'steps'");
        OptionalStateValues(state, "alpha", TaskCount);
        OptionalStateValues(state, "start", TaskCount);
    }
}
