using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>A method that back-propagates one weighted sum of the losses (plus any terms of its own).</summary>
public abstract class LossWeighting : WeightingStrategy
{
    /// <inheritdoc />
    public sealed override double[] Backward(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        CheckLosses(losses);
        ArgumentNullException.ThrowIfNull(context);
        var (objective, weights) = Objective(losses, context);
        objective.backward();
        return weights;
    }

    /// <summary>The scalar to back-propagate and the task weights to report.</summary>
    protected abstract (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context);

    /// <summary>Σ w_k L_k.</summary>
    protected static Tensor WeightedSum(IReadOnlyList<Tensor> losses, IReadOnlyList<double> weights) => JointLoss.WeightedSum(losses, weights);
}
