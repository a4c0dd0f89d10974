using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// Names that PyTorch reserves: blocks and tasks called like nn.Module's members (train, eval, type, double) and
/// a Python keyword (class); their PyTorch twin must still hold them under these state-dict names (generated_twins.py).
/// </summary>
[MultiTaskModel]
[Input(6)]
[CGC(1, 1)]
public partial class ReservedNamesModel
{
    [Trunk]
    [Linear(8), ReLU]
    public partial Sequential Double { get; }

    [Trunk]
    [Linear(8), Tanh]
    public partial Sequential Type { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential Train { get; }

    [Task(Loss.CrossEntropy, Weight = 0.5)]
    [Linear(3)]
    public partial Sequential Eval { get; }

    [Task(Loss.L1)]
    [Linear(2)]
    public partial Sequential @class { get; }
}
