using System.Globalization;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Flatten]: every per-sample dimension into one.</summary>
internal sealed class Flatten : LayerDefinition
{
    public override string Name => "Flatten";

    public override LayerFamily Family => LayerFamily.Reshaping;

    public override LayerDoc Doc => new("Flatten", "any", "`[product]`", "", "the product fits an int (MTL015)");

    public override ShapedLayer? Infer(LayerContext layer)
    {
        long size = 1;
        foreach (int d in layer.Input) size = checked(size * d);
        if (size > int.MaxValue)
        {
            layer.Report(DiagnosticDescriptors.SizeTooLarge, layer.Spec.Location, layer.Label, $"the flattened size {size}", int.MaxValue.ToString(CultureInfo.InvariantCulture));
            return null;
        }
        return layer.Done([(int)size], layer.InputSize, 0);
    }

    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.Flatten()";
}
