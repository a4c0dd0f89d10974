using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>An MLP on 12 tabular features: a two-block trunk, a class, a binary flag and a regression target.</summary>
[MultiTaskModel]
[Input(12)]
public partial class TabularModel
{
    [Trunk]
    [Linear(64), BatchNorm1d, ReLU, Dropout(0.1)]
    public partial Sequential Encoder { get; }

    [Trunk]
    [Linear(32, InFeatures = 64), LayerNorm, GELU]
    public partial Sequential Bottleneck { get; }

    [Task(Loss.CrossEntropy)]
    [Linear(16), Tanh, Linear(3)]
    public partial Sequential Species { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0.5)]
    [Linear(1)]
    public partial Sequential IsMale { get; }

    [Task(Loss.SmoothL1, Weight = 2)]
    [Linear(8), LeakyReLU(NegativeSlope = 0.2), Linear(1, Bias = false)]
    public partial Sequential BodyMass { get; }
}
