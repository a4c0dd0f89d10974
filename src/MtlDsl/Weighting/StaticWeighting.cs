using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>Fixed task weights: Σ λ_k L_k. A model's declared weights (<c>[Task(…, Weight = λ)]</c>) are the trainer's default.</summary>
public sealed class StaticWeighting : LossWeighting
{
    private readonly double[] _weights;

    /// <summary>
    /// Creates the strategy with one finite weight per task: positive, or 0 for a task that is not trained by its own
    /// loss (a factor of a <see cref="ProductOfAttribute"/> task, declared <c>Weight = 0</c>); not all 0.
    /// </summary>
    public StaticWeighting(IEnumerable<double> weights)
    {
        _weights = weights?.ToArray() ?? throw new ArgumentNullException(nameof(weights));
        if (_weights.Any(w => !double.IsFinite(w) || w < 0) || _weights.All(w => w == 0))
            throw new ArgumentException($"Task weights must be finite numbers, positive or 0 and not all 0; got [{string.Join(", ", _weights)}].", nameof(weights));
    }

    /// <inheritdoc />
    public override string Name => "Static";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("weights", string.Join(",", _weights.Select(Twin)))];

    /// <summary>The weights.</summary>
    public IReadOnlyList<double> Weights => _weights;

    /// <inheritdoc />
    public override IReadOnlyList<double>? FixedWeights => _weights;

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        if (_weights.Length != TaskCount) throw new InvalidOperationException($"Static weighting has {_weights.Length} weights for {TaskCount} tasks.");
        return (WeightedSum(losses, _weights), (double[])_weights.Clone());
    }
}
