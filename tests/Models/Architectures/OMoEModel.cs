using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels.Architectures;

/// <summary>The architecture test network as a one-gate mixture of three experts (the MMoE paper's OMoE): the declarations in this folder differ in that line only.</summary>
[MultiTaskModel]
[Input(1, 12, 12)]
[MMoE(3, OneGate = true)]
public partial class OMoEModel
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
