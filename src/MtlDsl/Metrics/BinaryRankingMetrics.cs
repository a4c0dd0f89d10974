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
        return Of(Enumerable.Range(0, _scores.Count).ToArray(), _scores, _positive);
    }

    /// <summary>
    /// The exact AUC of the labels at <paramref name="indices"/>: the Mann–Whitney statistic with mid-ranks (ties one
    /// half), NaN when only one class is among them.
    /// </summary>
    internal static double Of(int[] indices, IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        int[] order = indices.OrderBy(i => scores[i]).ToArray();
        long positives = 0, negatives = 0, negativesBelow = 0;
        double pairs = 0;  // Σ over positives of the negatives below it, ties one half (exact: counts below 2^53)
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            long groupPositives = 0, groupNegatives = 0;
            while (end < order.Length && scores[order[end]] == scores[order[start]])
            {
                if (positive[order[end]]) groupPositives++; else groupNegatives++;
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
/// Group AUC (GAUC, as in Zhou et al.'s Deep Interest Network, KDD 2018): the AUC of each group of samples, a user for
/// example, averaged with each group weighted by its number of present labels (impressions). It asks how well the
/// model ranks within one user's items, which is what a recommender serves, where the AUC over all samples also
/// rewards telling active users from quiet ones. The group of a sample is the value of the model's input named by
/// the constructor (ids, one per sample: <c>[N]</c> or <c>[N, 1]</c>), which evaluation passes
/// (<see cref="TaskMetric.Update(Tensor, Tensor, IReadOnlyDictionary{string, Tensor})"/>). Each group's AUC is
/// <see cref="AreaUnderCurve"/>'s, exact with ties one half over its present labels (all of a sample's labels for a
/// multi-label output); a group with one class only has no AUC and is left out of the average. NaN when no group has
/// both classes. Not among the default metrics (it needs the input's name): add it, for example
/// <c>Metrics = t =&gt; [.. TaskMetrics.Default(t), new GroupedAreaUnderCurve("User")]</c>.
/// </summary>
public sealed class GroupedAreaUnderCurve : TaskMetric
{
    private readonly List<double> _scores = [];
    private readonly List<bool> _positive = [];
    private readonly List<long> _groups = [];

    /// <summary>A GAUC whose groups are the values of input <paramref name="input"/> (its declared name).</summary>
    public GroupedAreaUnderCurve(string input)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        Input = input;
    }

    /// <summary>The input whose values group the samples.</summary>
    public string Input { get; }

    /// <inheritdoc />
    public override string Name => "gauc";

    /// <inheritdoc />
    public override bool HigherIsBetter => true;

    /// <summary>Refused: the groups come from an input, which evaluation passes with the other overload.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Update(Tensor output, Tensor target) =>
        throw new InvalidOperationException($"{Name} groups the samples by input '{Input}', which this call does not give: update it with the batch's inputs (Update(output, target, inputs)), as Evaluate and Fit's validation do.");

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The inputs have no <see cref="Input"/>, or it does not hold one integral id per sample.</exception>
    public override void Update(Tensor output, Tensor target, IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        CheckBatch(output, target);
        if (!inputs.TryGetValue(Input, out Tensor? groups))
            throw new ArgumentException($"{Name} groups the samples by input '{Input}', but the model's inputs are {string.Join(", ", inputs.Keys.Select(k => $"'{k}'"))}; name one of them.", nameof(inputs));
        if (groups.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte)
            || groups.dim() == 0 || groups.shape[0] != output.shape[0] || groups.numel() != output.shape[0])
            throw new ArgumentException($"{Name} groups the samples by input '{Input}', which must hold one integral id per sample ([N] or [N, 1] of N = {output.shape[0]}), but it is {groups.dtype} [{string.Join(", ", groups.shape)}].", nameof(inputs));
        var (scores, labels) = BinaryElements.Read(Name, output, target);
        long[] ids;
        using (var scope = NewDisposeScope())
            ids = groups.detach().to_type(ScalarType.Int64).flatten().cpu().data<long>().ToArray();
        int perSample = labels.Length / ids.Length;
        for (int i = 0; i < labels.Length; i++)
        {
            if (double.IsNaN(labels[i])) continue;
            _scores.Add(scores[i]);
            _positive.Add(labels[i] > 0.5);
            _groups.Add(ids[i / perSample]);
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Nothing was added.</exception>
    public override double Compute()
    {
        if (_scores.Count == 0) throw new InvalidOperationException($"{Name}: no sample was added.");
        double weighted = 0, weights = 0;
        foreach (var group in Enumerable.Range(0, _scores.Count).GroupBy(i => _groups[i]))
        {
            int[] members = group.ToArray();
            double auc = AreaUnderCurve.Of(members, _scores, _positive);
            if (double.IsNaN(auc)) continue;
            weighted += members.Length * auc;
            weights += members.Length;
        }
        return weights == 0 ? double.NaN : weighted / weights;
    }

    /// <inheritdoc />
    public override void Reset()
    {
        _scores.Clear();
        _positive.Clear();
        _groups.Clear();
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
