using MtlDsl;
using TorchSharp.Modules;

namespace MultiMnist;

// MultiLeNet (MultiLeNet.cs) with its trunk declared as three stages, under each architecture that fits it: the
// declarations differ in the architecture line only, except MTAN, whose stages must be images, so the dense stage
// moves into each head (the network then has a 320→50 layer per task instead of a shared one).

/// <summary>MMoE: three experts, each a copy of the LeNet trunk, one gate per digit.</summary>
[MultiTaskModel]
[Input(1, 28, 28)]
[MMoE(3)]
public partial class MMoELeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Conv1 { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Conv2 { get; }

    [Trunk]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Dense { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}

/// <summary>CGC: one shared expert and one per digit, each a copy of the LeNet trunk.</summary>
[MultiTaskModel]
[Input(1, 28, 28)]
[CGC(1, 1)]
public partial class CGCLeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Conv1 { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Conv2 { get; }

    [Trunk]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Dense { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}

/// <summary>PLE: each stage a level with one shared expert and one per digit.</summary>
[MultiTaskModel]
[Input(1, 28, 28)]
[PLE(1, 1)]
public partial class PLELeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Conv1 { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Conv2 { get; }

    [Trunk]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Dense { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}

/// <summary>Cross-stitch: one LeNet column per digit, mixed after each stage.</summary>
[MultiTaskModel]
[Input(1, 28, 28)]
[CrossStitch]
public partial class CrossStitchLeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Conv1 { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Conv2 { get; }

    [Trunk]
    [Flatten, Linear(50), ReLU]
    public partial Sequential Dense { get; }

    /// <summary>The top-left digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit.</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}

/// <summary>MTAN: the two convolution stages shared, with an attention mask per digit and stage.</summary>
[MultiTaskModel]
[Input(1, 28, 28)]
[MTAN]
public partial class MTANLeNet
{
    [Trunk]
    [Conv2d(10, kernelSize: 5), MaxPool2d(2), ReLU]
    public partial Sequential Conv1 { get; }

    [Trunk]
    [Conv2d(20, kernelSize: 5), Dropout(0.5), MaxPool2d(2), ReLU]
    public partial Sequential Conv2 { get; }

    /// <summary>The top-left digit (the trunk's dense stage moved into the head).</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Flatten, Linear(50), ReLU, Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Left { get; }

    /// <summary>The bottom-right digit (the trunk's dense stage moved into the head).</summary>
    [Task(Loss.CrossEntropy, Classes = 10)]
    [Flatten, Linear(50), ReLU, Linear(50), ReLU, Dropout(0.5), Linear(10)]
    public partial Sequential Right { get; }
}
