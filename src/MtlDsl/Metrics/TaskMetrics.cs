
namespace MtlDsl.Metrics;

/// <summary>The metrics a task gets unless told otherwise.</summary>
public static class TaskMetrics
{
    /// <summary>
    /// Cross-entropy: accuracy and macro F1, and for a class map (a head whose output has positions, <c>[C, H, W]</c>)
    /// mean IoU too, all over every position; binary cross-entropy: binary accuracy, AUC and log-loss; regression losses (MSE, L1,
    /// smooth L1): MAE and RMSE.
    /// </summary>
    public static IReadOnlyList<TaskMetric> Default(TaskDefinition task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.Loss switch
        {
            Loss.CrossEntropy when task.OutputShape.Count > 1 =>
                [new Accuracy(), new MacroF1(Math.Max(2, task.OutputShape[0])), new MeanIoU(Math.Max(2, task.OutputShape[0]))],
            Loss.CrossEntropy => [new Accuracy(), new MacroF1(Math.Max(2, task.OutputShape[0]))],
            Loss.BinaryCrossEntropyWithLogits => [new BinaryAccuracy(), new AreaUnderCurve(), new LogLoss()],
            _ => [new MeanAbsoluteError(), new RootMeanSquaredError()],
        };
    }
}
