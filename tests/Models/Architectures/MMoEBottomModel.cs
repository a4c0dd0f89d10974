using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels.Architectures;

/// <summary>
/// An MMoE over a shared bottom, as recommendation models declare it: a user id through an embedding and a bag of tag
/// ids (0 fills the unused places) through a mean bag run once, shared; the first expert block concatenates them with
/// six dense features, which is what the experts and the gates read. Three experts; a click (binary) and a rating.
/// </summary>
[MultiTaskModel]
[Input("Dense", 6)]
[Input("User", Kind = InputKind.Ids)]
[Input("Tags", 5, Kind = InputKind.Ids)]
[MMoE(3)]
public partial class MMoEBottomModel
{
    /// <summary>The users' vocabulary: ids 0 to 19.</summary>
    public const int Users = 20;

    /// <summary>The tags' vocabulary: ids 1 to 29, and 0 for "no tag".</summary>
    public const int Tags = 30;

    [Trunk(Bottom = true, Reads = "User")]
    [Embedding(Users, 4)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Tags")]
    [EmbeddingBag(Tags, 4, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(TagBag))]
    [Linear(16), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Rating { get; }
}
