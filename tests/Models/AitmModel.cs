using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// AITM (Xi et al., KDD 2021) in hard parameter sharing: a user and an item id through embeddings, concatenated with
/// six dense features into a shared layer; three task towers for the steps of a funnel, click → conversion → purchase.
/// Each tower's vector of 16 is a transfer point: the click's passes to the conversion's, whose attention of its own
/// and the click's passes on to the purchase's.
/// </summary>
[MultiTaskModel]
[Input("Dense", 6)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
public partial class AitmModel
{
    /// <summary>The users' vocabulary: ids 0 to 19.</summary>
    public const int Users = 20;

    /// <summary>The items' vocabulary: ids 0 to 29.</summary>
    public const int Items = 30;

    [Trunk(Reads = "User"), Embedding(Users, 4)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Item"), Embedding(Items, 4)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding))]
    [Linear(32), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(16), ReLU, Transfer, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(16), ReLU, Transfer(nameof(Click)), Linear(1)]
    public partial Sequential Conversion { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(16), ReLU, Transfer(nameof(Conversion)), Linear(1)]
    public partial Sequential Purchase { get; }
}
