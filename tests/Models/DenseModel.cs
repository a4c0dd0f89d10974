using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// A dense-prediction model: a strided trunk with non-square kernels and pooling, a segmentation head that upsamples
/// back to the input (a transposed convolution, then bilinear upsampling) and gives class scores per pixel, and a
/// classification head beside it. The transposed convolution reads and writes 16 channels, a multiple of oneDNN's
/// channel block (docs/known-issues).
/// </summary>
[MultiTaskModel]
[Input(1, 16, 16)]
public partial class DenseModel
{
    [Trunk]
    [Conv2d(8, 3, Padding = 1), BatchNorm2d, ReLU, MaxPool2d(2)]
    [Conv2d(16, 3, 1, PaddingHeight = 1), ReLU, Conv2d(16, 1, 3, PaddingWidth = 1, StrideHeight = 2, StrideWidth = 2), ReLU]
    public partial Sequential Encoder { get; }

    [Task(Loss.CrossEntropy, Classes = 2)]
    [ConvTranspose2d(16, 2, Stride = 2), ReLU, Upsample(2, Mode = UpsampleMode.Bilinear), Conv2d(2, 3, Padding = 1)]
    public partial Sequential Mask { get; }

    [Task(Loss.CrossEntropy, Weight = 0.5)]
    [AvgPool2d(2, 1, StrideWidth = 1), Flatten, Linear(3)]
    public partial Sequential Shape { get; }
}
