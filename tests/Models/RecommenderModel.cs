using MtlDsl;
using TorchSharp.Modules;

namespace MtlDsl.TestModels;

/// <summary>
/// A recommendation-style model of three named inputs: six dense features, one user id per sample, and a bag of up to
/// five tag ids (0 fills the unused places). The ids go through an embedding and a mean-pooled bag, which the body
/// concatenates with the dense features; two heads score a click (binary) and a rating (regression).
/// </summary>
[MultiTaskModel]
[Input("Dense", 6)]
[Input("User", Kind = InputKind.Ids)]
[Input("Tags", 5, Kind = InputKind.Ids)]
public partial class RecommenderModel
{
    /// <summary>The users' vocabulary: ids 0 to 19.</summary>
    public const int Users = 20;

    /// <summary>The tags' vocabulary: ids 1 to 29, and 0 for "no tag".</summary>
    public const int Tags = 30;

    [Trunk(Reads = "User")]
    [Embedding(Users, 4)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Reads = "Tags")]
    [EmbeddingBag(Tags, 4, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(TagBag))]
    [Linear(32), ReLU]
    public partial Sequential Body { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(8), ReLU, Linear(1)]
    public partial Sequential Rating { get; }
}
