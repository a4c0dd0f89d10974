using MtlDsl;
using TorchSharp.Modules;

namespace MtlDslApp;

/// <summary>
/// A multi-task network, declared: one shared trunk and a head per task. The source generator completes this class
/// at compile time (the TorchSharp module, typed outputs and targets, the joint loss, PointModel.Summary) and
/// reports a declaration that cannot work as a compile error on the attribute at fault.
/// </summary>
[MultiTaskModel]
[Input(PointData.Features)]
public partial class PointModel
{
    // Shared by both tasks.
    [Trunk]
    [Linear(64), ReLU, Linear(64), ReLU]
    public partial Sequential Shared { get; }

    // Which quadrant of the plane the point's first two coordinates lie in: 4 classes.
    [Task(Loss.CrossEntropy, Classes = 4)]
    [Linear(4)]
    public partial Sequential Quadrant { get; }

    // The point's distance from the origin: one number. Half the weight of the classification loss.
    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Distance { get; }
}
