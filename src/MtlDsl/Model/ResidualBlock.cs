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
    // Counts only: TorchSharp registers a module held in a field under the field's name, which would put the
    // shortcut in the state dict twice (shortcut.… and _shortcut.…). The children are the Sequential's own.
    private readonly int _layerCount;
    private readonly bool _hasShortcut;

    /// <summary>Creates the block from its layers, in order, and the projection of its input (null: the identity).</summary>
    public ResidualBlock(nn.Module<Tensor, Tensor>[] layers, nn.Module<Tensor, Tensor>? shortcut, bool reluAfterSum)
        : base(Children(layers, shortcut))
    {
        _layerCount = layers.Length;
        _hasShortcut = shortcut is not null;
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
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Layers => [.. Enumerable.Range(0, _layerCount).Select(i => (nn.Module<Tensor, Tensor>)this[i])];

    /// <summary>The projection of the input, or null where the input is added as it is.</summary>
    public nn.Module<Tensor, Tensor>? Shortcut => _hasShortcut ? (nn.Module<Tensor, Tensor>)this[_layerCount] : null;

    /// <summary>Whether a ReLU follows the sum.</summary>
    public bool ReLUAfterSum { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        Tensor x = input;
        for (int i = 0; i < _layerCount; i++) x = this[i].call(x);
        Tensor skip = _hasShortcut ? this[_layerCount].call(input) : input;
        if (!x.shape.SequenceEqual(skip.shape))
            throw new InvalidOperationException(
                $"Residual block: the layers give {TaskLosses.Format(x.shape)}, the shortcut {TaskLosses.Format(skip.shape)}; they must be equal to be added.");
        Tensor sum = TensorMath.Plus(x, skip);
        return ReLUAfterSum ? nn.functional.relu(sum) : sum;
    }
}
