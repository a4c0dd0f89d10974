using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>Hard sharing with a head at an early stage: an auxiliary dense task reads the first trunk block.</summary>
[MultiTaskModel]
[Input(1, 16, 16)]
public partial class AuxiliaryHeadModel
{
    [Trunk]
    [Conv2d(8, kernelSize: 3, Padding = 1), ReLU, MaxPool2d(2)]
    public partial Sequential Early { get; }

    [Trunk]
    [Conv2d(16, kernelSize: 3, Padding = 1), BatchNorm2d, ReLU, AdaptiveAvgPool2d(1), Flatten]
    public partial Sequential Late { get; }

    [Task(Loss.CrossEntropy)]
    [Linear(10)]
    public partial Sequential Label { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.25, Reads = nameof(Early))]
    [Conv2d(1, kernelSize: 1)]
    public partial Sequential Edges { get; }
}
