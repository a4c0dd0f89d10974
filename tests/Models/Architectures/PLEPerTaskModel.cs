using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels.Architectures;

/// <summary>
/// The architecture test network as PLE with a count of task experts per task: two levels of two shared experts,
/// none of its own for Digit (its gates span the shared experts only) and one for Position (gates over 3; the shared
/// gate of the first level over 3).
/// </summary>
[MultiTaskModel]
[Input(1, 12, 12)]
[PLE(2, 0, 1)]
public partial class PLEPerTaskModel
{
    [Trunk]
    [Conv2d(4, kernelSize: 3, Padding = 1), BatchNorm2d, ReLU]
    public partial Sequential Stem { get; }

    [Trunk]
    [MaxPool2d(2), Conv2d(8, kernelSize: 3, Padding = 1), ReLU]
    public partial Sequential Stage { get; }

    [Task(Loss.CrossEntropy)]
    [Flatten, Linear(5)]
    public partial Sequential Digit { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Flatten, Linear(16), Tanh, Linear(2)]
    public partial Sequential Position { get; }
}
