using static TorchSharp.torch;

namespace MtlDsl.Metrics;

/// <summary>The metrics a task gets unless told otherwise.</summary>
public static class TaskMetrics
{
    /// <summary>
    /// Cross-entropy: accuracy and macro F1; binary cross-entropy: binary accuracy; regression losses (MSE, L1,
    /// smooth L1): MAE and RMSE.
    /// </summary>
    public static IReadOnlyList<TaskMetric> Default(TaskDefinition task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Loss switch
        {
            Loss.CrossEntropy => [new Accuracy(), new MacroF1(Math.Max(2, task.OutputShape[0]))],
            Loss.BinaryCrossEntropyWithLogits => [new BinaryAccuracy()],
            _ => [new MeanAbsoluteError(), new RootMeanSquaredError()],
        };
    }
}

/// <summary>For logits with binary targets: the fraction of elements where (logit &gt; 0) equals (target &gt; 0.5); NaN targets are left out.</summary>
public sealed class BinaryAccuracy : TaskMetric
{
    private long _correct, _total;

    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    public override bool HigherIsBetter => true;

    /// <inheritdoc />
    public override void Update(Tensor output, Tensor target)
    {
        CheckBatch(output, target);
        using var scope = NewDisposeScope();
        Tensor present = target.isnan().logical_not();
        Tensor agree = output.gt(0).eq(target.gt(0.5)) & present;
        _correct += agree.sum().item<long>();
        _total += present.sum().item<long>();
    }

    /// <inheritdoc />
    public override double Compute() => _total > 0 ? (double)_correct / _total : throw new InvalidOperationException("accuracy: no sample was added.");

    /// <inheritdoc />
    public override void Reset() => _correct = _total = 0;
}
