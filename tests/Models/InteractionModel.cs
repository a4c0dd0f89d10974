using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// A click-through-rate model with feature interactions (DeepFM, PNN, DCN style) on hard sharing: a user id, an item
/// id, a bag of up to five tags (0 fills the unused places) and four dense features each become one field of 4
/// values; the fields are concatenated and unflattened into <c>[4, 4]</c>, which every head reads: a factorization
/// machine (FM), NFM's bi-interaction, the inner products of the field pairs (PNN) and two cross networks, vector
/// (DCN) and matrix (DCN-V2).
/// </summary>
[MultiTaskModel]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", 5, Kind = InputKind.Ids)]
[Input("Dense", 4)]
public partial class InteractionModel
{
    /// <summary>The users' vocabulary: ids 0 to 19.</summary>
    public const int Users = 20;

    /// <summary>The items' vocabulary: ids 0 to 29.</summary>
    public const int Items = 30;

    /// <summary>The tags' vocabulary: ids 1 to 14, and 0 for "no tag".</summary>
    public const int Tags = 15;

    [Trunk(Reads = "User"), Embedding(Users, 4)]
    public partial Sequential UserField { get; }                // [4]

    [Trunk(Reads = "Item"), Embedding(Items, 4)]
    public partial Sequential ItemField { get; }                // [4]

    [Trunk(Reads = "Tags"), EmbeddingBag(Tags, 4, PaddingIndex = 0)]
    public partial Sequential TagField { get; }                 // [4]

    [Trunk(Reads = "Dense"), Linear(4)]
    public partial Sequential DenseField { get; }               // [4]

    [Trunk, Concat(nameof(UserField), nameof(ItemField), nameof(TagField), nameof(DenseField)), Unflatten(4, 4)]
    public partial Sequential Fields { get; }                   // [16] → [4, 4]: four fields of 4

    [Task(Loss.BinaryCrossEntropyWithLogits), FactorizationMachine]
    public partial Sequential Click { get; }                    // [1]: Σ_{f<g} ⟨v_f, v_g⟩

    [Task(Loss.MeanSquaredError), FactorizationMachine(ReduceSum = false), Linear(1)]
    public partial Sequential Rating { get; }                   // [4] → [1]

    [Task(Loss.MeanSquaredError), InnerProduct, Linear(8), ReLU, Linear(1)]
    public partial Sequential Dwell { get; }                    // [6] → [8] → [1]

    [Task(Loss.BinaryCrossEntropyWithLogits), Flatten, Cross(2), Cross(1, Matrix = true), Linear(1)]
    public partial Sequential Purchase { get; }                 // [16] → [16] → [16] → [1]
}
