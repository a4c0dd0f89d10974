using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels.Architectures;

/// <summary>
/// The architecture test network as CGC with a count of task experts per task, LibMTL's <c>num_experts = [2, 1, 2]</c>:
/// two shared experts, one of its own for Digit and two for Position (so their gates span 3 and 4 experts).
/// </summary>
[MultiTaskModel]
[Input(1, 12, 12)]
[CGC(2, 1, 2)]
public partial class CGCPerTaskModel
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
