using System;
using System.Collections.Generic;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[LayerNorm] over the trailing dimensions written (<c>NormalizedShape</c>), by default the last one.</summary>
internal sealed class LayerNorm : LayerDefinition
{
    public override string Name => "LayerNorm";

    public override LayerFamily Family => LayerFamily.Normalization;

    public override LayerDoc Doc => new("LayerNorm(normalizedShape…)", "`[…, D…]`", "the same", "the trailing dimensions to normalise; default the last one", "positive sizes that equal the input's trailing dimensions (MTL007)");

    public override IReadOnlyList<string> Arguments { get; } = ["NormalizedShape"];

    /// <summary>The normalised shape: as written, else the input's last dimension.</summary>
    private static IReadOnlyList<int> Normalized(LayerSpec layer, IReadOnlyList<int> input)
    {
        var written = layer.Ints("NormalizedShape");
        return written.Count == 0 ? [input[input.Count - 1]] : [.. written];
    }

    public override bool Check(LayerContext layer)
    {
        var written = layer.Spec.Ints("NormalizedShape");
        foreach (int d in written)
            if (d < 1) return layer.OutOfRange("NormalizedShape", Shape(written), "made of positive sizes");
        return true;
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        var normalized = Normalized(layer.Spec, input);
        if (normalized.Count > input.Count || !input.Skip(input.Count - normalized.Count).SequenceEqual(normalized))
        {
            string trailing = Shape(input.Skip(Math.Max(0, input.Count - normalized.Count)).ToList());
            layer.Report(DiagnosticDescriptors.InSizeMismatch, layer.Spec.LocationOf("NormalizedShape"), layer.Label, "NormalizedShape", Shape(normalized), Shape(input), trailing);
            return null;
        }
        long count = 1;
        foreach (int d in normalized) count = checked(count * d);
        return layer.Done(input, normalized[0], checked(2 * count));
    }

    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.LayerNorm({LongArray(Normalized(layer.Spec, layer.InputShape))})";

    public override string Describe(ShapedLayer layer) => $"LayerNorm({Shape(Normalized(layer.Spec, layer.InputShape))})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Ints("normalized_shape", Normalized(layer.Spec, layer.InputShape))];
}
