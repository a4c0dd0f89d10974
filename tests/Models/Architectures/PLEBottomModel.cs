using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels.Architectures;

/// <summary>
/// A PLE over a shared bottom of three blocks: a user embedding, a bag of tags, and a dense layer over both and the
/// dense features ([Concat]); the two levels read the last bottom block by default. One shared expert and one per
/// task on each level; a click and a conversion (binary).
/// </summary>
[MultiTaskModel]
[Input("Dense", 6)]
[Input("User", Kind = InputKind.Ids)]
[Input("Tags", 5, Kind = InputKind.Ids)]
[PLE(1, 1)]
public partial class PLEBottomModel
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

    [Trunk(Bottom = true), Concat("Dense", nameof(UserEmbedding), nameof(TagBag))]
    [Linear(12), ReLU]
    public partial Sequential SharedBottom { get; }

    [Trunk]
    [Linear(8), ReLU]
    public partial Sequential Level1 { get; }

    [Trunk]
    [Linear(8), ReLU]
    public partial Sequential Level2 { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0.5)]
    [Linear(1)]
    public partial Sequential Conversion { get; }
}
