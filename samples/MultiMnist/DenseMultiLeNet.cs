using MtlDsl;
using TorchSharp.Modules;

namespace MultiMnist;

/// <summary>
/// The MultiMNIST LeNet with a dense task beside the two digits: for every pixel, whether it shows the left digit,
/// the right digit or the background. The trunk is the LeNet's, in three blocks so that the pixel head can read the
/// first convolution's features (<c>Features</c>, 10×12×12) while the digit heads read the code at the end; the pixel
/// head upsamples back to 28×28 (a transposed convolution, then bilinear upsampling) and gives three class scores per
/// pixel. Its transposed convolution keeps 16 channels, a multiple of oneDNN's channel block (docs/known-issues).
/// </summary>
[MultiTaskModel]
[Input(1, 28, 28)]
public partial class DenseMultiLeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Features { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Deep { get; }

    [Trunk]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Code { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }

    /// <summary>Per pixel: background (0), left digit (1), right digit (2).</summary>
    [Task(Loss.CrossEntropy, Classes = 3, Reads = nameof(Features))]
    [Conv2d(16, 3, Padding = 1), ReLU, ConvTranspose2d(16, 2, Stride = 2), ReLU,
     Upsample(28, 28, Mode = UpsampleMode.Bilinear), Conv2d(3, 5, Padding = 2)]
    public partial Sequential Pixels { get; }
}
