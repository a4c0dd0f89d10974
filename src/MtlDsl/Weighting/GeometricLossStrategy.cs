using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Geometric loss strategy (GLS; Chennupati et al., "MultiNet++", CVPR Workshops 2019): the joint loss is the
/// geometric mean (Π_k L_k)^{1/K}, which balances tasks whose losses differ in scale. Its gradient weights task k
/// by L / (K · L_k); those effective weights are reported. Every loss must be positive.
/// </summary>
public sealed class GeometricLossStrategy : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "GLS";

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        // The geometric mean of the tasks with labels in the batch: a task without any (or a weight-0 factor of a
        // product task, which never has) is left out, with weight 0, as its loss of 0 would make the product 0.
        int[] tasks = Enumerable.Range(0, TaskCount).Where(context.IsPresent).ToArray();
        var weights = new double[TaskCount];
        if (tasks.Length == 0) return (WeightedSum(losses, weights), weights);
        Tensor stacked = stack(tasks.Select(k => losses[k]).ToArray());
        using Scalar exponent = (1.0 / tasks.Length).ToScalar();
        Tensor objective = stacked.prod().pow(exponent);
        double total = objective.detach().to(ScalarType.Float64).item<double>();
        double[] values = stacked.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        if (values.Any(v => v <= 0))
            throw new InvalidOperationException($"GLS needs positive losses; got [{string.Join(", ", values)}].");
        for (int i = 0; i < tasks.Length; i++) weights[tasks[i]] = total / (tasks.Length * values[i]);
        return (objective, weights);
    }
}
