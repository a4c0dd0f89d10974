using TorchSharp;
using TorchSharp.Modules;
using MtlDsl.Losses;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// A residual block: <c>layers(x) + shortcut(x)</c>, where the shortcut is the identity or a projection, and, if
/// asked, a ReLU of the sum. A <c>Sequential</c> whose children are the layers (<c>0</c>, <c>1</c>, …, as in a plain
/// block) and the projection (<c>shortcut</c>), so that state-dict names read as PyTorch's of the same module.
/// </summary>
public sealed class ResidualBlock : Sequential
{
    private readonly nn.Module<Tensor, Tensor>[] _layers;
    private readonly nn.Module<Tensor, Tensor>? _shortcut;

    /// <summary>Creates the block from its layers, in order, and the projection of its input (null: the identity).</summary>
    public ResidualBlock(nn.Module<Tensor, Tensor>[] layers, nn.Module<Tensor, Tensor>? shortcut, bool reluAfterSum)
        : base(Children(layers, shortcut))
    {
        _layers = layers;
        _shortcut = shortcut;
        ReLUAfterSum = reluAfterSum;
    }

    private static (string, nn.Module<Tensor, Tensor>)[] Children(nn.Module<Tensor, Tensor>[] layers, nn.Module<Tensor, Tensor>? shortcut)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Length == 0) throw new ArgumentException("A residual block needs at least one layer.", nameof(layers));
        var children = layers.Select((layer, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return shortcut is null ? [.. children] : [.. children, ("shortcut", shortcut)];
    }

    /// <summary>The layers, without the shortcut.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Layers => _layers;

    /// <summary>The projection of the input, or null where the input is added as it is.</summary>
    public nn.Module<Tensor, Tensor>? Shortcut => _shortcut;

    /// <summary>Whether a ReLU follows the sum.</summary>
    public bool ReLUAfterSum { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        Tensor x = input;
        foreach (nn.Module<Tensor, Tensor> layer in _layers) x = layer.call(x);
        Tensor skip = _shortcut?.call(input) ?? input;
        if (!x.shape.SequenceEqual(skip.shape))
            throw new InvalidOperationException(
                $"Residual block: the layers give {TaskLosses.Format(x.shape)}, the shortcut {TaskLosses.Format(skip.shape)}; they must be equal to be added.");
        Tensor sum = TensorMath.Plus(x, skip);
        return ReLUAfterSum ? nn.functional.relu(sum) : sum;
    }
}
