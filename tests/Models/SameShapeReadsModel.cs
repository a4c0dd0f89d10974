using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>Hard sharing whose heads read two different trunk blocks of the same shape ([16] each).</summary>
[MultiTaskModel]
[Input(8)]
public partial class SameShapeReadsModel
{
    [Trunk]
    [Linear(16), ReLU]
    public partial Sequential First { get; }

    [Trunk]
    [Linear(16), ReLU]
    public partial Sequential Second { get; }

    [Task(Loss.MeanSquaredError, Reads = nameof(First))]
    [Linear(1)]
    public partial Sequential Early { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential Late { get; }
}
