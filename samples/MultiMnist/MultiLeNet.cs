using MtlDsl;
using TorchSharp.Modules;

namespace MultiMnist;

/// <summary>
/// Sener &amp; Koltun's MultiMNIST network: a LeNet-style trunk (conv 10@5×5, pool, ReLU, conv 20@5×5, dropout,
/// pool, ReLU, linear 320→50, ReLU) shared by two heads (linear 50→50, ReLU, dropout, linear 50→10).
/// </summary>
[MultiTaskModel]
[Input(1, 28, 28)]
public partial class MultiLeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Shared { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}
