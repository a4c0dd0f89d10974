using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// A pooled embedding bag (<see cref="EmbeddingBagAttribute"/>): each sample's ids <c>[N, L]</c> become the sum or
/// mean of their vectors, <c>[N, dimension]</c>, the padding id left out (a sample of padding only gets zeros), as
/// PyTorch's <c>nn.EmbeddingBag(mode, padding_idx)</c> computes it on a 2-D input. One parameter, <c>weight</c>
/// <c>[vocabulary, dimension]</c>, initialised N(0, 1) with the padding id's row zero. TorchSharp's own
/// <c>EmbeddingBag</c> takes offsets, so it cannot stand in a <c>Sequential</c>.
/// </summary>
public sealed class PooledEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly long _paddingIndex;

    /// <summary>Creates the bag.</summary>
    /// <param name="vocabulary">The number of distinct ids.</param>
    /// <param name="dimension">The size of each vector.</param>
    /// <param name="mode">Sum or mean.</param>
    /// <param name="paddingIndex">The padding id, or null for none.</param>
    public PooledEmbedding(long vocabulary, long dimension, BagMode mode, long? paddingIndex) : base("EmbeddingBag")
    {
        if (vocabulary < 1) throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, "The vocabulary needs at least one id.");
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be at least 1.");
        if (paddingIndex is long p && (p < 0 || p >= vocabulary))
            throw new ArgumentOutOfRangeException(nameof(paddingIndex), paddingIndex, $"The padding id must lie in [0, {vocabulary}).");
        if (mode is not (BagMode.Mean or BagMode.Sum)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "The pooling is BagMode.Mean or BagMode.Sum.");
        Mode = mode;
        _paddingIndex = paddingIndex ?? -1;
        var weight = new Parameter(randn(vocabulary, dimension));
        if (_paddingIndex >= 0)
            using (no_grad())
                weight[_paddingIndex].zero_();
        // Registered by name and never held in a field: TorchSharp would register a field a second time, and
        // converting the module (to(), float64) replaces the registered tensor.
        register_parameter("weight", weight);
    }

    /// <summary>How the vectors are pooled.</summary>
    public BagMode Mode { get; }

    /// <summary>The padding id, or null.</summary>
    public long? PaddingIndex => _paddingIndex >= 0 ? _paddingIndex : null;

    /// <summary>The table <c>[vocabulary, dimension]</c>.</summary>
    public Parameter Weight => get_parameter("weight")!;

    /// <inheritdoc />
    public override Tensor forward(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2)
            throw new ArgumentException($"An embedding bag reads [N, L] ids (L values per sample); got shape [{string.Join(", ", ids.shape)}].", nameof(ids));
        Parameter weight = Weight;
        long n = ids.shape[0], length = ids.shape[1], dimension = weight.shape[1];
        using var scope = NewDisposeScope();
        Tensor vectors = weight.index_select(0, ids.reshape(-1)).view(n, length, dimension);
        Tensor pooled;
        if (_paddingIndex < 0)
        {
            pooled = Mode == BagMode.Sum ? vectors.sum(1) : vectors.mean([1L]);
        }
        else
        {
            // Padding ids count for nothing: their vectors are masked out of the sum (and so get no gradient), and
            // the mean divides by the number of the other ids (at least 1, so a sample of padding only gives zeros).
            using Scalar padding = _paddingIndex.ToScalar(), one = 1.ToScalar();
            Tensor mask = ids.ne(padding).unsqueeze(-1).to(vectors.dtype);
            pooled = (vectors * mask).sum(1);
            if (Mode == BagMode.Mean) pooled = pooled / mask.sum(1).clamp_min(one);
        }
        return pooled.MoveToOuterDisposeScope();
    }
}
