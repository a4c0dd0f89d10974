using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Metrics;

/// <summary>
/// A metric accumulated over the batches of an evaluation: <see cref="Update(Tensor, Tensor)"/> with each batch's head output and
/// target, then <see cref="Compute"/>. Counts are kept as exact sums, so the result does not depend on how the
/// data was split into batches. Missing labels (class <see cref="Losses.TaskLosses.MissingClass"/>, NaN values)
/// are left out, as the losses leave them out.
/// </summary>
public abstract class TaskMetric
{
    /// <summary>The metric's name (accuracy, macro_f1, mae, rmse).</summary>
    public abstract string Name { get; }

    /// <summary>Whether a larger value is better (for Δm and early stopping).</summary>
    public abstract bool HigherIsBetter { get; }

    /// <summary>Adds one batch: the head's output and the target, as the task's loss takes them.</summary>
    public abstract void Update(Tensor output, Tensor target);

    /// <summary>
    /// Adds one batch with the model's inputs of the same samples, by declared name (<c>"input"</c> for a model's one
    /// unnamed input): what evaluation calls, for metrics that read an input as well, such as
    /// <see cref="GroupedAreaUnderCurve"/>, which groups the samples by user. By default it is
    /// <see cref="Update(Tensor, Tensor)"/>.
    /// </summary>
    public virtual void Update(Tensor output, Tensor target, IReadOnlyDictionary<string, Tensor> inputs) => Update(output, target);

    /// <summary>The metric over everything added since the last <see cref="Reset"/>.</summary>
    /// <exception cref="InvalidOperationException">Nothing was added.</exception>
    public abstract double Compute();

    /// <summary>Forgets everything added.</summary>
    public abstract void Reset();

    /// <summary>Checks that the output and target describe the same samples.</summary>
    protected void CheckBatch(Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.dim() == 0 || target.dim() == 0 || output.shape[0] != target.shape[0])
            throw new ArgumentException($"{Name}: the output has shape [{string.Join(", ", output.shape)}] and the target [{string.Join(", ", target.shape)}]; both need the batch as their first dimension, of one size.");
    }
}

/// <summary>A fraction of labels that are right, counted exactly over the batches: <c>correct / labels present</c>.</summary>
public abstract class FractionMetric : TaskMetric
{
    private long _correct, _total;

    /// <inheritdoc />
    public override bool HigherIsBetter => true;

    /// <inheritdoc />
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        using var scope = NewDisposeScope();
        var (correct, present) = Count(output, target);
        _correct += (correct & present).sum().item<long>();
        _total += present.sum().item<long>();
    }

    /// <summary>For one batch: which labels are right, and which are present (not missing).</summary>
    protected abstract (Tensor Correct, Tensor Present) Count(Tensor output, Tensor target);

    /// <inheritdoc />
    public override double Compute() => _total > 0 ? (double)_correct / _total : throw new InvalidOperationException($"{Name}: no sample was added.");

    /// <inheritdoc />
    public override void Reset() => _correct = _total = 0;
}

/// <summary>The fraction of samples (and positions, for class maps) whose highest-scoring class is the target class.</summary>
public sealed class Accuracy : FractionMetric
{
    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    protected override (Tensor Correct, Tensor Present) Count(Tensor output, Tensor target)
    {
        Tensor labels = target.to_type(ScalarType.Int64);
        using Scalar missingClass = Losses.TaskLosses.MissingClass.ToScalar();
        return (output.argmax(1).eq(labels), labels.ne(missingClass));
    }
}

/// <summary>For logits with binary targets: the fraction of elements where (logit &gt; 0) equals (target &gt; 0.5); NaN targets are left out.</summary>
public sealed class BinaryAccuracy : FractionMetric
{
    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    protected override (Tensor Correct, Tensor Present) Count(Tensor output, Tensor target)
    {
        using Scalar zero = 0.0.ToScalar(), half = 0.5.ToScalar();
        return (output.gt(zero).eq(target.gt(half)), target.isnan().logical_not());
    }
}

/// <summary>
/// A metric of the confusion counts of a classification, per class: true positives, false positives and false
/// negatives over every sample (and position, for class maps) whose label is present, summed exactly over batches.
/// </summary>
public abstract class ConfusionMetric : TaskMetric
{
    private readonly long[] _truePositive;
    private readonly long[] _falsePositive;
    private readonly long[] _falseNegative;

    /// <summary>Creates the counts for <paramref name="classes"/> classes.</summary>
    protected ConfusionMetric(int classes)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A per-class metric needs at least 2 classes.");
        _truePositive = new long[classes];
        _falsePositive = new long[classes];
        _falseNegative = new long[classes];
    }

    /// <inheritdoc />
    public override bool HigherIsBetter => true;

    /// <inheritdoc />
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        using var scope = NewDisposeScope();
        long[] predicted = output.argmax(1).flatten().cpu().data<long>().ToArray();
        long[] actual = target.to_type(ScalarType.Int64).flatten().cpu().data<long>().ToArray();
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] == Losses.TaskLosses.MissingClass) continue;
            if (actual[i] < 0 || actual[i] >= _truePositive.Length)
                throw new ArgumentException($"{Name}: target class {actual[i]} is outside [0, {_truePositive.Length - 1}].");
            if (predicted[i] == actual[i]) _truePositive[actual[i]]++;
            else
            {
                _falsePositive[predicted[i]]++;
                _falseNegative[actual[i]]++;
            }
        }
    }

    /// <inheritdoc />
    public override double Compute()
    {
        var scores = new List<double>();
        for (int c = 0; c < _truePositive.Length; c++)
            if (Score(_truePositive[c], _falsePositive[c], _falseNegative[c]) is double score) scores.Add(score);
        return scores.Count > 0 ? scores.Average() : throw new InvalidOperationException($"{Name}: no sample was added.");
    }

    /// <summary>One class's score from its counts, or null where it is undefined (the class never occurs and is never predicted).</summary>
    protected abstract double? Score(long truePositive, long falsePositive, long falseNegative);

    /// <inheritdoc />
    public override void Reset()
    {
        Array.Clear(_truePositive);
        Array.Clear(_falsePositive);
        Array.Clear(_falseNegative);
    }
}

/// <summary>
/// Macro-averaged F1: the mean over classes of 2·TP / (2·TP + FP + FN). A class that never occurs and is never
/// predicted is left out of the mean (its F1 is undefined), as scikit-learn does with <c>labels</c> restricted to
/// classes present.
/// </summary>
/// <param name="classes">The number of classes.</param>
public sealed class MacroF1(int classes) : ConfusionMetric(classes)
{
    /// <inheritdoc />
    public override string Name => "macro_f1";

    /// <inheritdoc />
    protected override double? Score(long truePositive, long falsePositive, long falseNegative)
    {
        long denominator = 2 * truePositive + falsePositive + falseNegative;
        return denominator > 0 ? 2.0 * truePositive / denominator : null;
    }
}

/// <summary>
/// Mean intersection over union, the usual score of segmentation: the mean over classes of TP / (TP + FP + FN),
/// over every position whose label is present; a class that never occurs and is never predicted is left out.
/// </summary>
/// <param name="classes">The number of classes.</param>
public sealed class MeanIoU(int classes) : ConfusionMetric(classes)
{
    /// <inheritdoc />
    public override string Name => "mean_iou";

    /// <inheritdoc />
    protected override double? Score(long truePositive, long falsePositive, long falseNegative)
    {
        long union = truePositive + falsePositive + falseNegative;
        return union > 0 ? (double)truePositive / union : null;
    }
}

/// <summary>A regression metric: the mean of an error over every element whose target is present.</summary>
public abstract class ElementwiseErrorMetric : TaskMetric
{
    private double _sum;
    private long _count;

    /// <inheritdoc />
    public override bool HigherIsBetter => false;

    /// <summary>The error of each element, from output − target.</summary>
    protected abstract Tensor Error(Tensor difference);

    /// <summary>The metric from the mean error.</summary>
    protected virtual double Finish(double meanError) => meanError;

    /// <inheritdoc />
    /// <remarks>
    /// An element counts where its target is present (not NaN); a NaN or infinite prediction there makes the metric
    /// NaN or infinite, never an element silently left out as a missing label is.
    /// </remarks>
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        using var scope = NewDisposeScope();
        Tensor difference = output.to_type(ScalarType.Float64) - target.to_type(ScalarType.Float64);
        Tensor missing = target.isnan();
        using Scalar zero = 0.0.ToScalar();
        _sum += Error(difference).masked_fill(missing, zero).sum().item<double>();
        _count += missing.logical_not().sum().item<long>();
    }

    /// <inheritdoc />
    public override double Compute() => _count > 0 ? Finish(_sum / _count) : throw new InvalidOperationException($"{Name}: no sample was added.");

    /// <inheritdoc />
    public override void Reset() => (_sum, _count) = (0, 0);
}

/// <summary>Mean absolute error over every element.</summary>
public sealed class MeanAbsoluteError : ElementwiseErrorMetric
{
    /// <inheritdoc />
    public override string Name => "mae";

    /// <inheritdoc />
    protected override Tensor Error(Tensor difference) => difference.abs();
}

/// <summary>Root mean squared error over every element.</summary>
public sealed class RootMeanSquaredError : ElementwiseErrorMetric
{
    /// <inheritdoc />
    public override string Name => "rmse";

    /// <inheritdoc />
    protected override Tensor Error(Tensor difference) => difference.mul(difference); // not square(): TorchSharp implements it as pow(2), an implicit Scalar

    /// <inheritdoc />
    protected override double Finish(double meanError) => Math.Sqrt(meanError);
}
