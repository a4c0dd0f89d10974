using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Metrics;

/// <summary>
/// The area under the ROC curve of a binary task, exact: the probability that a positive scores above a negative, ties
/// counting one half (the Mann–Whitney statistic with mid-ranks), over every present label. Every batch's scores and
/// labels are kept (8 bytes and 1 per label), so the result does not depend on how the data was batched; the scores
/// are the head's logits, whose order is the probabilities' (the sigmoid in float32 would tie large logits at 1).
/// A NaN target is a missing label and is left out. An output of several labels per sample (<c>[N, L]</c>) is scored
/// over all its elements together (micro AUC). With only one class among the present labels the AUC is undefined:
/// <see cref="Compute"/> returns NaN, which history and reports show as an empty value, as for a task without labels.
/// </summary>
public sealed class AreaUnderCurve : TaskMetric
{
    private readonly List<double> _scores = [];
    private readonly List<bool> _positive = [];

    /// <inheritdoc />
    public override string Name => "auc";

    /// <inheritdoc />
    public override bool HigherIsBetter => true;

    /// <inheritdoc />
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        var (scores, labels) = BinaryElements.Read(Name, output, target);
        for (int i = 0; i < labels.Length; i++)
        {
            if (double.IsNaN(labels[i])) continue;
            _scores.Add(scores[i]);
            _positive.Add(labels[i] > 0.5);
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Nothing was added.</exception>
    public override double Compute()
    {
        if (_scores.Count == 0) throw new InvalidOperationException($"{Name}: no sample was added.");
        int[] order = Enumerable.Range(0, _scores.Count).OrderBy(i => _scores[i]).ToArray();
        long positives = 0, negatives = 0, negativesBelow = 0;
        double pairs = 0;  // Σ over positives of the negatives below it, ties one half (exact: counts below 2^53)
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            long groupPositives = 0, groupNegatives = 0;
            while (end < order.Length && _scores[order[end]] == _scores[order[start]])
            {
                if (_positive[order[end]]) groupPositives++; else groupNegatives++;
                end++;
            }
            pairs += groupPositives * (negativesBelow + 0.5 * groupNegatives);
            negativesBelow += groupNegatives;
            positives += groupPositives;
            negatives += groupNegatives;
            start = end;
        }
        return positives == 0 || negatives == 0 ? double.NaN : pairs / ((double)positives * negatives);
    }

    /// <inheritdoc />
    public override void Reset()
    {
        _scores.Clear();
        _positive.Clear();
    }
}

/// <summary>
/// The log-loss of a binary task: the mean binary cross-entropy of the predicted probabilities over every present label,
/// <c>−[y·log σ(x) + (1 − y)·log(1 − σ(x))]</c>, computed from the logits x in float64 as
/// <c>max(x, 0) − x·y + log(1 + e^−|x|)</c> (no probability is ever rounded to 0 or 1). Unweighted whatever the task's
/// loss weights, so it stays comparable across models. NaN targets are left out.
/// </summary>
public sealed class LogLoss : TaskMetric
{
    private double _sum;
    private long _count;

    /// <inheritdoc />
    public override string Name => "log_loss";

    /// <inheritdoc />
    public override bool HigherIsBetter => false;

    /// <inheritdoc />
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        var (logits, labels) = BinaryElements.Read(Name, output, target);
        for (int i = 0; i < labels.Length; i++)
        {
            double x = logits[i], y = labels[i];
            if (double.IsNaN(y)) continue;
            _sum += Math.Max(x, 0) - x * y + Math.Log(1 + Math.Exp(-Math.Abs(x)));
            _count++;
        }
    }

    /// <inheritdoc />
    public override double Compute() => _count > 0 ? _sum / _count : throw new InvalidOperationException($"{Name}: no sample was added.");

    /// <inheritdoc />
    public override void Reset() => (_sum, _count) = (0, 0);
}

/// <summary>A binary task's batch as float64 values on the host, element by element: the logits and the labels (NaN: missing).</summary>
internal static class BinaryElements
{
    public static (double[] Outputs, double[] Labels) Read(string metric, Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        double[] outputs = output.detach().to_type(ScalarType.Float64).flatten().cpu().data<double>().ToArray();
        double[] labels = target.detach().to_type(ScalarType.Float64).flatten().cpu().data<double>().ToArray();
        if (outputs.Length != labels.Length)
            throw new ArgumentException($"{metric}: the output has {outputs.Length} values and the target {labels.Length}; a binary task's target has the head's shape.");
        return (outputs, labels);
    }
}
