using MtlDsl;
using TorchSharp.Modules;

namespace MmoeSynthetic;

// The three models of Ma et al. (KDD 2018) §4: the same two towers (8 ReLU units, then the prediction) on a
// shared bottom of 113 ReLU units, or on a mixture of 8 experts of 16 ReLU units each, mixed by one gate for both
// tasks (OMoE) or one gate per task (MMoE). The experts' declarations differ in the architecture line only.

/// <summary>Shared-Bottom: one hidden layer of 113 units that both towers read.</summary>
[MultiTaskModel]
[Input(SyntheticTasks.Dimension)]
public partial class SharedBottom
{
    [Trunk]
    [Linear(113), ReLU]
    public partial Sequential Bottom { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task1 { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task2 { get; }
}

/// <summary>One-gate mixture of experts (OMoE): 8 experts, one softmax gate that both towers share.</summary>
[MultiTaskModel]
[Input(SyntheticTasks.Dimension)]
[MMoE(8, OneGate = true)]
public partial class OneGateMoE
{
    [Trunk]
    [Linear(16), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task1 { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task2 { get; }
}

/// <summary>Multi-gate mixture of experts (MMoE): 8 experts, one softmax gate per task.</summary>
[MultiTaskModel]
[Input(SyntheticTasks.Dimension)]
[MMoE(8)]
public partial class MultiGateMoE
{
    [Trunk]
    [Linear(16), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task1 { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Task2 { get; }
}
