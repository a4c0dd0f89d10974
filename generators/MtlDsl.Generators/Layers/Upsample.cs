using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [Upsample(scaleFactor)] or [Upsample(height, width)] on <c>[channels, height, width]</c>: nearest (the default) or
/// bilinear interpolation (<c>Mode = UpsampleMode.Bilinear</c>, optionally <c>AlignCorners</c>).
/// </summary>
internal sealed class Upsample : LayerDefinition
{
    public override string Name => "Upsample";

    public override LayerFamily Family => LayerFamily.Resizing;

    public override LayerDoc Doc => new("Upsample(scaleFactor)` or `(height, width)", "`[C, H, W]`", "`[C, H·factor, W·factor]` or `[C, height, width]`", "`Mode = UpsampleMode.Nearest` or `Bilinear`, `AlignCorners = false` (bilinear only)", "factor, sizes ≥ 1; a known mode");

    public override IReadOnlyList<string> Arguments { get; } = ["ScaleFactor", "Height", "Width", "Mode", "AlignCorners"];

    private static bool Bilinear(LayerSpec layer) => (layer.Int("Mode") ?? 0) == 1;

    private static bool AlignCorners(LayerSpec layer) => layer.Flag("AlignCorners") ?? false;

    public override bool Check(LayerContext layer)
    {
        LayerSpec spec = layer.Spec;
        if (spec.Has("ScaleFactor") ? !layer.AtLeast("ScaleFactor", 1) : !(layer.AtLeast("Height", 1) && layer.AtLeast("Width", 1)))
            return false;
        if (spec.Int("Mode") is int mode && mode != 0 && mode != 1)
            return layer.OutOfRange("Mode", mode.ToString(CultureInfo.InvariantCulture), "UpsampleMode.Nearest or UpsampleMode.Bilinear");
        if (AlignCorners(spec) && !Bilinear(spec))
            return layer.OutOfRange("AlignCorners", "true", "false with UpsampleMode.Nearest (only interpolation aligns corners; use Mode = UpsampleMode.Bilinear)");
        return true;
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(3, "[channels, height, width]", input.Count == 1 ? "; a vector has no spatial dimension to upsample" : "")) return null;
        if (layer.Spec.Int("ScaleFactor") is int factor)
            return layer.Done([input[0], checked(input[1] * factor), checked(input[2] * factor)], input[0], 0);
        return layer.Done([input[0], layer.Spec.Int("Height")!.Value, layer.Spec.Int("Width")!.Value], input[0], 0);
    }

    public override string Factory(ShapedLayer layer, string block)
    {
        LayerSpec spec = layer.Spec;
        string mode = $"global::MtlDsl.UpsampleMode.{(Bilinear(spec) ? "Bilinear" : "Nearest")}";
        return spec.Int("ScaleFactor") is int factor
            ? $"{Factories}.Upsample({I(factor)}, {mode}, alignCorners: {Bool(AlignCorners(spec))})"
            : $"{Factories}.Upsample({I(spec.Int("Height")!.Value)}, {I(spec.Int("Width")!.Value)}, {mode}, alignCorners: {Bool(AlignCorners(spec))})";
    }

    public override string Describe(ShapedLayer layer)
    {
        LayerSpec spec = layer.Spec;
        string size = spec.Int("ScaleFactor") is int factor ? "×" + I(factor) : I(spec.Int("Height")!.Value) + "×" + I(spec.Int("Width")!.Value);
        return $"Upsample({size}{(Bilinear(spec) ? ", bilinear" + (AlignCorners(spec) ? ", corners aligned" : "") : "")})";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer)
    {
        LayerSpec spec = layer.Spec;
        PlanValue size = spec.Int("ScaleFactor") is int factor
            ? PlanValue.Reals("scale_factor", [factor, factor])
            : PlanValue.Ints("size", [spec.Int("Height")!.Value, spec.Int("Width")!.Value]);
        return [size, PlanValue.Text("mode", Bilinear(spec) ? "bilinear" : "nearest"),
            Bilinear(spec) ? PlanValue.Flag("align_corners", AlignCorners(spec)) : PlanValue.None("align_corners")];
    }
}
