using MtlDsl;
using TorchSharp.Modules;

namespace Funnel;

// The four declarations of the sample. Every one reads the same four inputs: the dense context, the user, the item and
// the item's bag of tags; every embedding has 8 dimensions, every task tower is Linear(32), ReLU, Linear(1).

/// <summary>
/// The shared-bottom model: the embeddings and one shared layer over them and the dense context, a click tower and a
/// conversion tower. Trained with the conversion labels the log has (after a click), or on the conversion alone over the
/// clicked impressions (the conversion model as it is usually trained: the ESMM paper's baseline).
/// </summary>
[MultiTaskModel]
[Input("Dense", Vocabulary.Dense)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", Vocabulary.TagsPerItem, Kind = InputKind.Ids)]
public partial class FunnelSharedBottom
{
    [Trunk(Reads = "User"), Embedding(Vocabulary.Users, 8)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Item"), Embedding(Vocabulary.Items, 8)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Reads = "Tags"), EmbeddingBag(Vocabulary.Tags, 8, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(64), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }
}

/// <summary>
/// ESMM: the same network, whose conversion tower is trained only through the product pCTR × pCVR, the probability of
/// a click followed by a conversion, whose label every impression has. Conversion (weight 0) has no loss of its own; it
/// is still scored against the conversions the log has.
/// </summary>
[MultiTaskModel]
[Input("Dense", Vocabulary.Dense)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", Vocabulary.TagsPerItem, Kind = InputKind.Ids)]
public partial class FunnelEsmm
{
    [Trunk(Reads = "User"), Embedding(Vocabulary.Users, 8)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Item"), Embedding(Vocabulary.Items, 8)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Reads = "Tags"), EmbeddingBag(Vocabulary.Tags, 8, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(64), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0), Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Click), nameof(Conversion))]
    public partial Sequential ClickAndConversion { get; }
}

/// <summary>
/// MMoE over a shared bottom (YouTube's ranking model, Zhao et al. 2019, as MMoE's paper defines it): the embeddings
/// run once; four experts, each Linear(64), ReLU over the embeddings and the dense context; one gate per task.
/// </summary>
[MultiTaskModel]
[Input("Dense", Vocabulary.Dense)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", Vocabulary.TagsPerItem, Kind = InputKind.Ids)]
[MMoE(4)]
public partial class FunnelMmoe
{
    [Trunk(Bottom = true, Reads = "User"), Embedding(Vocabulary.Users, 8)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Item"), Embedding(Vocabulary.Items, 8)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Tags"), EmbeddingBag(Vocabulary.Tags, 8, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(64), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }
}

/// <summary>
/// PLE over the same bottom (Tang et al., RecSys 2020): two levels, each with two shared experts and one expert per
/// task, and a gate per task and level.
/// </summary>
[MultiTaskModel]
[Input("Dense", Vocabulary.Dense)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", Vocabulary.TagsPerItem, Kind = InputKind.Ids)]
[PLE(2, 1)]
public partial class FunnelPle
{
    [Trunk(Bottom = true, Reads = "User"), Embedding(Vocabulary.Users, 8)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Item"), Embedding(Vocabulary.Items, 8)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Tags"), EmbeddingBag(Vocabulary.Tags, 8, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(64), ReLU]
    public partial Sequential Level1 { get; }

    [Trunk, Linear(64), ReLU]
    public partial Sequential Level2 { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }
}

/// <summary>
/// AITM (Xi et al., KDD 2021): the funnel's steps as the paper models them, each over every impression: the click,
/// and the click followed by a conversion. The conversion tower reads what passes from the click tower's point of 32
/// ([Transfer]), weighed by attention against its own.
/// </summary>
[MultiTaskModel]
[Input("Dense", Vocabulary.Dense)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", Vocabulary.TagsPerItem, Kind = InputKind.Ids)]
public partial class FunnelAitm
{
    [Trunk(Reads = "User"), Embedding(Vocabulary.Users, 8)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Item"), Embedding(Vocabulary.Items, 8)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Reads = "Tags"), EmbeddingBag(Vocabulary.Tags, 8, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(64), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Transfer, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(32), ReLU, Transfer(nameof(Click)), Linear(1)]
    public partial Sequential ClickAndConversion { get; }
}
