using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// Class imbalance in every form a loss takes it: class weights for a classifier and for a class per step (a map),
/// one positive weight for a rare flag, and one per label for three flags per step (a map of labels).
/// </summary>
[MultiTaskModel]
[Input(2, 8)]                                              // two channels of 8 steps
public partial class ImbalanceModel
{
    [Trunk]
    [Conv1d(8, 3, Padding = 1), ReLU]
    public partial Sequential Encoder { get; }             // [8, 8]

    [Task(Loss.CrossEntropy, ClassWeights = [1, 4, 12])]
    [Flatten, Linear(3)]
    public partial Sequential Kind { get; }                // classes 1 and 2 rare

    [Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [9])]
    [Flatten, Linear(1)]
    public partial Sequential Alarm { get; }               // about one positive in ten

    [Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [2, 6, 0.5])]
    [Conv1d(3, 1)]
    public partial Sequential Events { get; }              // three labels per step, [3, 8]

    [Task(Loss.CrossEntropy, ClassWeights = [0.5, 3])]
    [Conv1d(2, 1)]
    public partial Sequential Segments { get; }            // a class per step, [2, 8]
}
