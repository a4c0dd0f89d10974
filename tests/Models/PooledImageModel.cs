using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>Images through strided convolution, batch norm and the three pooling layers.</summary>
[MultiTaskModel]
[Input(1, 20, 18)]
public partial class PooledImageModel
{
    [Trunk]
    [Conv2d(8, kernelSize: 3, Stride = 2, InChannels = 1), BatchNorm2d, ReLU, AvgPool2d(2, Stride = 1)]
    [Conv2d(8, kernelSize: 3, Padding = 1, Bias = false), MaxPool2d(3, Stride = 2, Padding = 1)]
    public partial Sequential Features { get; }

    [Task(Loss.CrossEntropy)]
    [AdaptiveAvgPool2d(1), Flatten, Linear(5)]
    public partial Sequential Kind { get; }

    [Task(Loss.MeanSquaredError)]
    [AdaptiveAvgPool2d(2, 3), Flatten, Dropout, Linear(2)]
    public partial Sequential Position { get; }
}
