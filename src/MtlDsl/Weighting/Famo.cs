using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Fast adaptive multitask optimization (FAMO; Liu et al., NeurIPS 2023), as LibMTL and the paper's code apply it:
/// with z = softmax(ξ) over learnable logits ξ (0 at the start), each step back-propagates Σ_k z_k log(L_k + 1e-8) / c,
/// c = Σ_k z_k / (L_k + 1e-8), so task k's gradient is weighted z_k / (c (L_k + 1e-8)) (the reported weights). After the
/// optimizer step the trainer computes the losses of the same batch again; with δ_k = log(L_k before + 1e-8) −
/// log(L_k after + 1e-8), the logits take one Adam step (learning rate 0.025, weight decay 1e-3: LibMTL's FAMO_w_lr
/// and FAMO_w_gamma) along the gradient of z·δ with respect to ξ, which favours the tasks whose loss fell least.
/// O(1) per step in backward passes (one, as for static weights) plus one forward pass without gradients. A task
/// without labels in the batch sits out the step (neither weighted nor updated). ξ and its Adam moments are the
/// state; they are the strategy's own, not the optimizer's.
/// </summary>
/// <param name="learningRate">The logits' Adam learning rate; 0.025 by default.</param>
/// <param name="weightDecay">The logits' weight decay (added to their gradient, as torch.optim.Adam does); 1e-3 by default.</param>
public sealed class Famo(double learningRate = 0.025, double weightDecay = 1e-3) : LossWeighting
{
    private const double Beta1 = 0.9, Beta2 = 0.999, AdamEpsilon = 1e-8, Offset = 1e-8;
    private double[] _logits = [];
    private double[] _first = [], _second = [];
    private long _updates;
    private double[]? _before;
    private bool[]? _present;

    /// <inheritdoc />
    public override string Name => "FAMO";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("learning_rate", Twin(LearningRate)), ("weight_decay", Twin(WeightDecay))];

    /// <summary>The logits' learning rate.</summary>
    public double LearningRate { get; } = learningRate > 0 && double.IsFinite(learningRate) ? learningRate
        : throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "FAMO's learning rate must be a positive, finite number.");

    /// <summary>The logits' weight decay.</summary>
    public double WeightDecay { get; } = weightDecay >= 0 && double.IsFinite(weightDecay) ? weightDecay
        : throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "FAMO's weight decay must be a finite number ≥ 0.");

    /// <summary>The task distribution z = softmax(ξ).</summary>
    public double[] Distribution => Softmax(_logits);

    /// <inheritdoc />
    public override bool NeedsLossesAfterStep => true;

    /// <inheritdoc />
    protected override void OnInitialize(ScalarType dtype, Device device)
    {
        _logits = new double[TaskCount];
        _first = new double[TaskCount];
        _second = new double[TaskCount];
    }

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        double[] z = Softmax(_logits);
        double[] values = losses.Select(l => l.detach().to(ScalarType.Float64).cpu().item<double>()).ToArray();
        bool[] present = Enumerable.Range(0, TaskCount).Select(context.IsPresent).ToArray();
        double c = 0;
        for (int k = 0; k < TaskCount; k++)
            if (present[k]) c += z[k] / (values[k] + Offset);
        // Σ z_k log(L_k + ε) / c has the gradient Σ z_k / (c (L_k + ε)) ∇L_k: the same weights on the plain losses.
        double[] weights = Enumerable.Range(0, TaskCount).Select(k => present[k] && c > 0 ? z[k] / (c * (values[k] + Offset)) : 0).ToArray();
        _before = values;
        _present = present;
        return (WeightedSum(losses, weights), weights);
    }

    /// <inheritdoc />
    public override void AfterStep(IReadOnlyList<double> lossesAfter)
    {
        ArgumentNullException.ThrowIfNull(lossesAfter);
        if (_before is null || _present is null) return;
        if (lossesAfter.Count != TaskCount) throw new ArgumentException($"FAMO has {TaskCount} tasks; got {lossesAfter.Count} losses.", nameof(lossesAfter));
        double[] z = Softmax(_logits);
        var delta = new double[TaskCount];
        for (int k = 0; k < TaskCount; k++)
            if (_present[k] && double.IsFinite(lossesAfter[k]))
                delta[k] = Math.Log(_before[k] + Offset) - Math.Log(lossesAfter[k] + Offset);
        // The gradient of z·δ with respect to ξ: (diag(z) − z zᵀ) δ.
        double zDelta = z.Zip(delta, (a, b) => a * b).Sum();
        _updates++;
        for (int k = 0; k < TaskCount; k++)
        {
            double gradient = z[k] * (delta[k] - zDelta) + WeightDecay * _logits[k];
            _first[k] = Beta1 * _first[k] + (1 - Beta1) * gradient;
            _second[k] = Beta2 * _second[k] + (1 - Beta2) * gradient * gradient;
            double corrected = _first[k] / (1 - Math.Pow(Beta1, _updates));
            double scale = Math.Sqrt(_second[k] / (1 - Math.Pow(Beta2, _updates)));
            _logits[k] -= LearningRate * corrected / (scale + AdamEpsilon);
        }
        _before = null;
    }

    private static double[] Softmax(double[] logits)
    {
        if (logits.Length == 0) return [];
        double max = logits.Max();
        double[] e = logits.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>The logits, their Adam moments and the number of updates.</summary>
    public override IReadOnlyDictionary<string, double[]> GetState() => new Dictionary<string, double[]>
    {
        ["logits"] = (double[])_logits.Clone(),
        ["adam_first"] = (double[])_first.Clone(),
        ["adam_second"] = (double[])_second.Clone(),
        ["updates"] = [_updates],
    };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        _logits = (double[])state["logits"].Clone();
        _first = (double[])state["adam_first"].Clone();
        _second = (double[])state["adam_second"].Clone();
        _updates = (long)state["updates"][0];
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        StateValues(state, "logits", TaskCount);
        StateValues(state, "adam_first", TaskCount);
        double[] second = StateValues(state, "adam_second", TaskCount);
        int negative = Array.FindIndex(second, v => v < 0);
        if (negative >= 0)
            throw new ArgumentException($"FAMO: the state's 'adam_second' holds {second[negative]} at {negative}; expected second moments ≥ 0.", nameof(state));
        if (!state.TryGetValue("updates", out double[]? updates) || updates.Length != 1)
            throw new ArgumentException("FAMO: the state needs 'updates' = [number of logit updates].", nameof(state));
        StateCount(updates[0], "'updates'");
    }
}
