using MtlDsl;
using TorchSharp.Modules;

namespace Penguins;

/// <summary>
/// One network for three tasks from a penguin's beak length and depth, flipper length and island: its species
/// (3 classes), its sex (binary, a missing label masked) and its body mass (regression on the standardised mass).
/// </summary>
[MultiTaskModel]
[Input(PenguinData.FeatureCount)]
public partial class PenguinModel
{
    [Trunk]
    [Linear(32), ReLU, Linear(32), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.CrossEntropy, Classes = 3)]
    [Linear(3)]
    public partial Sequential Species { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(1)]
    public partial Sequential Sex { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential BodyMass { get; }
}
