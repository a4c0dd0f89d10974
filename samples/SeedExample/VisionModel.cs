using MtlDsl;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace SeedExample;

/// <summary>
/// The reference article's network: a shared convolutional feature extractor (the trunk), a classification
/// head scored with cross-entropy and a detection head scored with mean squared error, weighted 1 and 0.5.
/// </summary>
[MultiTaskModel]
[Input(3, 28, 28)]
public partial class VisionModel
{
    [Trunk]
    [Conv2d(32, kernelSize: 3, Padding = 1), ReLU, MaxPool2d(2)]
    [Conv2d(64, kernelSize: 3, Padding = 1), ReLU, MaxPool2d(2)]
    public partial Sequential Features { get; }

    [Task(Loss.CrossEntropy, Weight = 1.0)]
    [Flatten, Linear(128), ReLU, Linear(10)]
    public partial Sequential Classification { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Conv2d(128, kernelSize: 3, Padding = 1), ReLU, Conv2d(35, kernelSize: 1)]
    public partial Sequential Detection { get; }
}
