using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Dynamic Weight Average (DWA; Liu, Johns and Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019):
/// from the third epoch on, w = K · softmax(r / T) with r_k = L̄_k(e−1) / L̄_k(e−2), the ratio of the task's
/// average loss over the two previous epochs; before that every weight is 1. The current batch's losses do not
/// enter the weights. Needs the trainer's per-epoch losses (end each epoch with <c>EndEpoch</c>).
/// </summary>
/// <param name="temperature">T; 2 by default, as in the paper and LibMTL.</param>
public sealed class DynamicWeightAverage(double temperature = 2.0) : LossWeighting
{
    /// <inheritdoc />
    public override string Name => "DWA";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("temperature", Twin(Temperature))];

    /// <summary>The temperature T.</summary>
    public double Temperature { get; } = temperature > 0 && double.IsFinite(temperature)
        ? temperature
        : throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "DWA's temperature must be a positive, finite number.");

    /// <inheritdoc />
    protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        double[] weights = Enumerable.Repeat(1.0, TaskCount).ToArray();
        if (context.Epoch >= 2)
        {
            if (context.EpochLosses.Count < context.Epoch)
                throw new InvalidOperationException($"DWA at epoch {context.Epoch} needs the average losses of epochs {context.Epoch - 2} and {context.Epoch - 1}; end every epoch with the trainer's EndEpoch().");
            double[] last = context.EpochLosses[context.Epoch - 1], before = context.EpochLosses[context.Epoch - 2];
            double[] ratio = Enumerable.Range(0, TaskCount).Select(k => last[k] / before[k] / Temperature).ToArray();
            // A task without an average in either epoch (no labels; a weight-0 factor of a product task, which never
            // has) keeps weight 1 and its loss counts for nothing; the others share their count as usual.
            int[] known = Enumerable.Range(0, TaskCount).Where(k => double.IsFinite(ratio[k])).ToArray();
            if (known.Length > 0)
            {
                double max = known.Max(k => ratio[k]);
                double sum = known.Sum(k => Math.Exp(ratio[k] - max));
                foreach (int k in known) weights[k] = known.Length * Math.Exp(ratio[k] - max) / sum;
            }
        }
        return (WeightedSum(losses, weights), weights);
    }
}
