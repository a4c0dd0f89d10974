using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// The normalisations without running statistics: GroupNorm on images with several channels per group and with one group per channel,
/// InstanceNorm2d on images. (The layer kinds added to show that a kind is three product files: issue 26.)
/// </summary>
[MultiTaskModel]
[Input(3, 12, 12)]
internal partial class NormalizationModel
{
    [Trunk]
    [Conv2d(8, kernelSize: 3, Padding = 1), GroupNorm(2), ReLU]
    [Conv2d(8, kernelSize: 3, Padding = 1), InstanceNorm2d, ReLU, MaxPool2d(2)]
    public partial Sequential Features { get; }

    [Task(Loss.CrossEntropy)]
    [Conv2d(16, kernelSize: 3), GroupNorm(4), ReLU, Flatten, Linear(5)]
    public partial Sequential Label { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Conv2d(4, kernelSize: 1), GroupNorm(4), Tanh, Conv2d(1, kernelSize: 1)]
    public partial Sequential Map { get; }
}
