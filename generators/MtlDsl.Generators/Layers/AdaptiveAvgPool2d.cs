using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[AdaptiveAvgPool2d(size)] or [AdaptiveAvgPool2d(height, width)]: average pooling to a fixed output size.</summary>
internal sealed class AdaptiveAvgPool2d : LayerDefinition
{
    public override string Name => "AdaptiveAvgPool2d";

    public override LayerFamily Family => LayerFamily.Pooling;

    public override LayerDoc Doc => new("AdaptiveAvgPool2d(size)` or `(height, width)", "`[C, H, W]`", "`[C, height, width]`", "", "sizes ≥ 1");

    public override IReadOnlyList<string> Arguments { get; } = ["Size", "Height", "Width"];

    private static (int Height, int Width) Output(LayerSpec layer) =>
        (layer.Int("Size") ?? layer.Int("Height")!.Value, layer.Int("Size") ?? layer.Int("Width")!.Value);

    public override bool Check(LayerContext layer)
    {
        var (height, width) = Output(layer.Spec);
        return layer.AtLeast("Height", height, 1, "Size") && layer.AtLeast("Width", width, 1, "Size");
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        if (!layer.Rank(3, "[channels, height, width]")) return null;
        var (height, width) = Output(layer.Spec);
        return layer.Done([layer.Input[0], height, width], layer.Input[0], 0);
    }

    public override string Factory(ShapedLayer layer, string block)
    {
        var (height, width) = Output(layer.Spec);
        return $"{Nn}.AdaptiveAvgPool2d({LongArray([height, width])})";
    }

    public override string Describe(ShapedLayer layer)
    {
        var (height, width) = Output(layer.Spec);
        return $"AdaptiveAvgPool2d({I(height)}×{I(width)})";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Pair("output_size", Output(layer.Spec))];
}
