using System.Collections.Generic;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[InstanceNorm2d] on <c>[C, H, W]</c>: each channel of each sample normalised over its positions; no parameters.</summary>
internal sealed class InstanceNorm2d : LayerDefinition
{
    public override string Name => "InstanceNorm2d";

    public override LayerFamily Family => LayerFamily.Normalization;

    public override LayerDoc Doc => new("InstanceNorm2d", "`[C, H, W]`", "the same", "none: no affine weight and bias, no running statistics (PyTorch's defaults)", "H·W > 1 (MTL005)");

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(3, "[channels, height, width]", input.Count < 3 ? (input.Count == 2 ? "; use GroupNorm(C) for [channels, length]" : "; over a vector's features use LayerNorm") : "")) return null;
        if ((long)input[1] * input[2] < 2)
        {
            layer.Mismatch("[channels, height, width] with more than one position per channel",
                "; a channel of one value has no variance to divide by (PyTorch refuses it), so normalise before the pooling that leaves 1×1");
            return null;
        }
        return layer.Same();
    }

    // TorchSharp's defaults are PyTorch's: no affine parameters, no running statistics.
    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.InstanceNorm2d({I(layer.InSize)})";

    public override string Describe(ShapedLayer layer) => $"InstanceNorm2d({I(layer.InSize)})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Int("num_features", layer.InSize)];
}
