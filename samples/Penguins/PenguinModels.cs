using MtlDsl;
using TorchSharp.Modules;

namespace Penguins;

/// <summary>
/// One network for three tasks from a penguin's beak length and depth, flipper length and island: its species
/// (3 classes), its sex (binary, a missing label masked) and its body mass (regression on the standardised mass).
/// The island is a categorical id, read by a learned embedding of two numbers per island, which the shared layers
/// read beside the measurements.
/// </summary>
[MultiTaskModel]
[Input("Measurements", PenguinData.MeasurementCount)]
[Input("Island", Kind = InputKind.Ids)]
public partial class PenguinModel
{
    [Trunk(Reads = "Island")]
    [Embedding(PenguinData.IslandCount, 2)]
    public partial Sequential IslandEmbedding { get; }

    [Trunk, Concat("Measurements", nameof(IslandEmbedding))]
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
