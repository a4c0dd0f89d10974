using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// ESMM (Ma et al., SIGIR 2018, "Entire Space Multi-Task Model") in hard parameter sharing: a user id and an item id go
/// through embeddings, which the shared block concatenates with four dense features (and a shared Linear(32), ReLU, since a block has layers); two towers give the click logit
/// and the conversion logit, and ClickAndConversion is the logit of pCTR·pCVR. Click and ClickAndConversion are trained
/// on every impression; Conversion (weight 0) has no loss of its own: it is trained only through the product, and
/// scored against the conversions of the clicked impressions.
/// </summary>
[MultiTaskModel]
[Input("Dense", 4)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
public partial class EsmmModel
{
    /// <summary>The users' vocabulary: ids 0 to 15.</summary>
    public const int Users = 16;

    /// <summary>The items' vocabulary: ids 0 to 23.</summary>
    public const int Items = 24;

    [Trunk(Reads = "User")]
    [Embedding(Users, 4)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Item")]
    [Embedding(Items, 4)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding))]
    [Linear(32), ReLU]
    public partial Sequential Shared { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(16), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0)]
    [Linear(16), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Click), nameof(Conversion))]
    public partial Sequential ClickAndConversion { get; }
}
