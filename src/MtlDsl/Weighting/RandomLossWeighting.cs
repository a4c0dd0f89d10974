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
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        Tensor draw = nn.functional.softmax(randn(TaskCount, dtype: ScalarType.Float64, generator: generator), 0);
        double[] weights = draw.data<double>().ToArray();
        return (WeightedSum(losses, weights), weights);
    }
}
