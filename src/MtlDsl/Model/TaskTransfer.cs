using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// A point of a task's tower where information passes between tasks (<see cref="TransferAttribute"/>): AITM's
/// adaptive information transfer (Xi et al., KDD 2021, "Modeling the Sequential Dependence among Audience Multi-step
/// Conversions with Multi-task Learning"). Without a source it is the point a later task reads, and passes its input on
/// unchanged. With a source task, it reads that task's point z (a vector of the same size D) as well as its own input
/// q, and gives the attention of the two: p = ReLU(W_info z + b_info) is what passes; with Q, K, V bias-free D×D maps,
/// the weights a = softmax over {q, p} of ⟨Q u, K u⟩ / √D, and the output Σ a_u · V u. Its output is in turn the point a
/// task after it reads. Parameters <c>info.weight</c>, <c>info.bias</c>, <c>query.weight</c>, <c>key.weight</c>,
/// <c>value.weight</c> (4·D² + D), initialised as <c>nn.Linear</c>'s. In PyTorch <c>mtldsl_torch.Transfer</c>.
/// </summary>
public sealed class TransferUnit : nn.Module<Tensor, Tensor>
{
    private readonly Linear? info;
    private readonly Linear? query;
    private readonly Linear? key;
    private readonly Linear? value;

    /// <summary>Creates the point.</summary>
    /// <param name="features">D, the size of the tower's vector here.</param>
    /// <param name="source">The task whose point this one reads, or null for a point that only others read.</param>
    public TransferUnit(long features, string? source) : base("Transfer")
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "A transfer point needs at least one feature.");
        Features = features;
        Source = source;
        if (source is not null)
        {
            info = nn.Linear(features, features);
            query = nn.Linear(features, features, hasBias: false);
            key = nn.Linear(features, features, hasBias: false);
            value = nn.Linear(features, features, hasBias: false);
        }
        RegisterComponents();
    }

    /// <summary>D, the size of the vectors.</summary>
    public long Features { get; }

    /// <summary>The task whose point this one reads, or null.</summary>
    public string? Source { get; }

    /// <summary>
    /// A point without a source passes its input on (as an alias, as <c>nn.Identity</c> does: TorchSharp's
    /// <c>Sequential</c> disposes what a layer gives once the next has run); one with a source needs it
    /// (<see cref="Forward(Tensor, Tensor)"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The point reads another task's: the model's forward runs it with that.</exception>
    public override Tensor forward(Tensor input) => Source is null ? input.alias()
        : throw new InvalidOperationException($"This transfer point reads task '{Source}''s point too: the model's forward (or ForwardTask) runs it with that task's, not the head alone.");

    /// <summary>The attention of the tower's vector <paramref name="input"/> <c>[N, D]</c> and what passes from the source's point <paramref name="source"/> <c>[N, D]</c>.</summary>
    /// <exception cref="InvalidOperationException">The point has no source.</exception>
    /// <exception cref="ArgumentException">The shapes are not <c>[N, D]</c> both.</exception>
    public Tensor Forward(Tensor input, Tensor source)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(source);
        if (info is null || query is null || key is null || value is null) throw new InvalidOperationException("This transfer point has no source to read.");
        if (input.dim() != 2 || input.shape[1] != Features || source.dim() != 2 || source.shape[1] != Features || source.shape[0] != input.shape[0])
            throw new ArgumentException($"A transfer point of {Features} features reads [N, {Features}] from its tower and from '{Source}''s; got [{string.Join(", ", input.shape)}] and [{string.Join(", ", source.shape)}].");
        using var scope = NewDisposeScope();
        Tensor passed = nn.functional.relu(info.forward(source));
        Tensor both = stack([input, passed], 1);                          // [N, 2, D]: the tower's own, then what passes
        Tensor scores = (query.forward(both) * key.forward(both)).sum(-1); // [N, 2]
        Tensor weights = TensorMath.Scaled(scores, 1.0 / Math.Sqrt(Features)).softmax(1);
        return (weights.unsqueeze(-1) * value.forward(both)).sum(1).MoveToOuterDisposeScope();
    }
}

/// <summary>Where a task's tower has its transfer point (<see cref="TransferUnit"/>): the layer's index and the task it reads, if any.</summary>
public sealed record TaskTransfer(int Layer, int? Source);
