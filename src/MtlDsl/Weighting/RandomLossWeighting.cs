using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Random loss weighting (RLW; Lin et al., "Reasonable Effectiveness of Random Weighting", TMLR 2022): every step
/// draws w = softmax(z), z ~ N(0, I), so the weights are positive and sum to 1.
/// </summary>
/// <param name="generator">The random generator; TorchSharp's default one if null (seed it with <c>torch.manual_seed</c>).</param>
public sealed class RandomLossWeighting(Generator? generator = null) : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "RLW";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => generator is null ? [] : [("seed", generator.initial_seed().ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        Tensor draw = nn.functional.softmax(randn(TaskCount, dtype: ScalarType.Float64, generator: generator), 0);
        double[] weights = draw.data<double>().ToArray();
        return (WeightedSum(losses, weights), weights);
    }

    /// <summary>The state of the strategy's own generator (its byte state), so a resumed run draws the same weights; nothing for the default generator, which a fit reseeds every epoch.</summary>
    public override IReadOnlyDictionary<string, double[]> GetState()
    {
        if (generator is null) return new Dictionary<string, double[]>();
        using Tensor state = generator.get_state();
        return new Dictionary<string, double[]> { ["generator_state"] = state.data<byte>().ToArray().Select(b => (double)b).ToArray() };
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        if (generator is null) return;
        using Tensor restored = tensor(state["generator_state"].Select(b => (byte)b).ToArray());
        generator.set_state(restored);
    }

    /// <inheritdoc />
    public override void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        base.CheckState(state);
        if (generator is null) return;
        using Tensor current = generator.get_state();
        if (!state.TryGetValue("generator_state", out double[]? bytes) || bytes.Length != current.numel() || bytes.Any(b => b is < 0 or > 255 || b != Math.Floor(b)))
            throw new ArgumentException($"RLW: the state needs 'generator_state', the generator's {current.numel()} bytes.", nameof(state));
    }
}
