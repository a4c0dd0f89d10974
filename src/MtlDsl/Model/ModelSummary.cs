using System.Globalization;
using System.Text;

namespace MtlDsl;

/// <summary>One layer of a model summary.</summary>
/// <param name="Block">
/// The state-dict name of the module the layer belongs to: a trunk block or task head, or the part of an architecture
/// that holds it (<c>features.shared.*</c>: every shared expert's copy of block <c>features</c>, <c>*</c> standing for
/// the copy's index; <c>gates.left</c>: the gate of task <c>left</c>).
/// </param>
/// <param name="Index">The layer's position in its module (its state-dict index).</param>
/// <param name="Layer">The layer with its sizes, for example <c>Conv2d(3→32, k=3, s=1, p=1)</c>.</param>
/// <param name="OutputShape">The layer's output shape for one sample, without the batch dimension.</param>
/// <param name="Parameters">The layer's number of trainable parameters, over all its copies; -1 for your own module (<see cref="ModuleAttribute"/>), which only the run time counts.</param>
/// <param name="Copies">How many copies of the layer the model holds (experts, columns); 1 for a plain layer.</param>
/// <param name="Child">
/// The layer's state-dict name in its module where it is not its index: <c>shortcut</c>, a residual block's projection
/// (the row after the block's layers); empty for a residual block's identity shortcut, which has no state.
/// </param>
public sealed record LayerSummary(string Block, int Index, string Layer, IReadOnlyList<int> OutputShape, long Parameters, int Copies = 1, string? Child = null)
{
    /// <summary>The state-dict prefixes of the layer's copies: <c>features.shared.0.2</c>, <c>features.shared.1.2</c>, …</summary>
    public IEnumerable<string> StateNames
    {
        get
        {
            if (Child == "") return [];
            string child = Segment;
            return Block.Contains('*', StringComparison.Ordinal)
                ? Enumerable.Range(0, Copies).Select(c => $"{Block.Replace("*", c.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)}.{child}")
                : [$"{Block}.{child}"];
        }
    }

    // The layer's name in its module: its child name, else its index.
    internal string Segment => Child ?? Index.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The compile-time summary of a model: every layer with its output shape and parameter count, like Keras'
/// <c>model.summary()</c>. <see cref="ToString"/> gives it as a table.
/// </summary>
public sealed class ModelSummary
{
    /// <summary>Creates a summary.</summary>
    public ModelSummary(string model, IReadOnlyList<int> inputShape, IReadOnlyList<string> trunkBlocks, IReadOnlyList<LayerSummary> layers,
        ModelArchitecture architecture = ModelArchitecture.HardSharing, IReadOnlyList<InputDefinition>? inputs = null)
    {
        Model = model;
        Inputs = inputs ?? [new InputDefinition("input", inputShape)];
        Architecture = architecture;
        InputShape = inputShape;
        TrunkBlocks = trunkBlocks;
        Layers = layers;
        ParameterCount = layers.Where(l => l.Parameters >= 0).Sum(l => l.Parameters);
    }

    /// <summary>The model's name.</summary>
    public string Model { get; }

    /// <summary>The architecture the model was declared with.</summary>
    public ModelArchitecture Architecture { get; }

    /// <summary>The model's inputs, in declaration order.</summary>
    public IReadOnlyList<InputDefinition> Inputs { get; }

    /// <summary>The shape of one sample of the first (or only) input.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>The trunk's blocks in the order they run (in hard sharing a chain, in the other architectures the stages or levels).</summary>
    public IReadOnlyList<string> TrunkBlocks { get; }

    /// <summary>Every layer: the trunk blocks first, then the architecture's own modules (gates, units, masks), then the task heads.</summary>
    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>The total number of trainable parameters of the declared layers (your own modules', -1 in their rows, are counted at run time only).</summary>
    public long ParameterCount { get; }

    /// <summary>Formats a shape as <c>[3, 28, 28]</c>.</summary>
    public static string FormatShape(IReadOnlyList<int> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>The summary as a table.</summary>
    public override string ToString()
    {
        // A residual block's shortcut shows under its state-dict name (block.shortcut), its identity sum as block.+.
        var rows = Layers.Select(l => (Name: $"{l.Block}.{(l.Child == "" ? "+" : l.Segment)}", Layer: l.Copies > 1 ? $"{l.Layer} ×{l.Copies}" : l.Layer, Shape: FormatShape(l.OutputShape),
            Params: l.Parameters < 0 ? "?" : l.Parameters.ToString("N0", CultureInfo.InvariantCulture))).ToList();
        int nameWidth = Math.Max("layer".Length, rows.Select(r => r.Name.Length).DefaultIfEmpty(0).Max());
        int layerWidth = Math.Max("type".Length, rows.Select(r => r.Layer.Length).DefaultIfEmpty(0).Max());
        int shapeWidth = Math.Max("output shape".Length, rows.Select(r => r.Shape.Length).DefaultIfEmpty(0).Max());
        int paramWidth = Math.Max("params".Length, rows.Select(r => r.Params.Length).DefaultIfEmpty(0).Max());
        int width = nameWidth + layerWidth + shapeWidth + paramWidth + 6;

        var text = new StringBuilder();
        text.Append(Model);
        if (Inputs.Count == 1 && Inputs[0] is { Name: "input", Kind: InputKind.Features }) text.Append(" (input ").Append(FormatShape(InputShape));
        else text.Append(" (inputs ").Append(string.Join(", ", Inputs.Select(i => $"{i.Name} {(i.Kind == InputKind.Ids ? "ids " : "")}{FormatShape(i.Shape)}")));
        if (Architecture != ModelArchitecture.HardSharing) text.Append(", ").Append(Architecture);
        text.AppendLine(")");
        text.AppendLine(new string('-', width));
        text.AppendLine($"{"layer".PadRight(nameWidth)}  {"type".PadRight(layerWidth)}  {"output shape".PadRight(shapeWidth)}  {"params".PadLeft(paramWidth)}");
        text.AppendLine(new string('-', width));
        foreach (var row in rows)
            text.AppendLine($"{row.Name.PadRight(nameWidth)}  {row.Layer.PadRight(layerWidth)}  {row.Shape.PadRight(shapeWidth)}  {row.Params.PadLeft(paramWidth)}");
        text.AppendLine(new string('-', width));
        text.Append("Total parameters: ").Append(ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        if (Layers.Any(l => l.Parameters < 0)) text.Append(" and your own modules' (?, counted at run time)");
        return text.ToString();
    }
}
