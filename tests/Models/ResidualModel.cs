using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// A small ResNet-style trunk as a declaration: a stem, a residual block that keeps the shape (the input added as
/// it is), one that doubles the channels and halves the size (a 1×1 convolution with stride 2 and batch
/// normalisation on the shortcut), each with the original ResNet's ReLU after the sum; and a residual head on vectors
/// (a linear projection).
/// </summary>
[MultiTaskModel]
[Input(1, 12, 12)]
public partial class ResidualModel
{
    [Trunk]
    [Conv2d(16, 3, Padding = 1), BatchNorm2d, ReLU]
    public partial Sequential Stem { get; }

    [Trunk, Residual(ReLUAfterSum = true)]
    [Conv2d(16, 3, Padding = 1), BatchNorm2d, ReLU, Conv2d(16, 3, Padding = 1), BatchNorm2d]
    public partial Sequential Block1 { get; }

    [Trunk, Residual(ReLUAfterSum = true)]
    [Conv2d(32, 3, Padding = 1, Stride = 2), BatchNorm2d, ReLU, Conv2d(32, 3, Padding = 1), BatchNorm2d]
    public partial Sequential Block2 { get; }

    [Trunk]
    [AdaptiveAvgPool2d(1), Flatten]
    public partial Sequential Pool { get; }

    [Task(Loss.CrossEntropy, Classes = 5)]
    [Linear(5)]
    public partial Sequential Kind { get; }

    [Task(Loss.MeanSquaredError), Residual]
    [Linear(16), ReLU, Linear(2)]
    public partial Sequential Position { get; }
}
