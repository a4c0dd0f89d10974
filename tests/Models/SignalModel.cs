using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>A 1-D convolutional model on 2-channel signals of length 64: a per-step label map and a summary value.</summary>
[MultiTaskModel]
[Input(2, 64)]
internal partial class SignalModel
{
    [Trunk]
    [Conv1d(16, kernelSize: 5, Padding = 2), BatchNorm1d, ReLU]
    [Conv1d(32, kernelSize: 3, Stride = 2, Padding = 1, Dilation = 1), ReLU]
    public partial Sequential Encoder { get; }

    [Task(Loss.CrossEntropy)]
    [Conv1d(4, kernelSize: 1)]
    public partial Sequential Segments { get; }

    [Task(Loss.L1, Weight = 0.25)]
    [Conv1d(8, kernelSize: 3, Dilation = 2), Sigmoid, Flatten, Linear(1)]
    public partial Sequential Level { get; }
}
