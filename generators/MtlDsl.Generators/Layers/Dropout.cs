using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Dropout(p = 0.5)]: zeroes each value with probability p while training.</summary>
internal sealed class Dropout : LayerDefinition
{
    /// <summary>PyTorch's default probability.</summary>
    public const double DefaultP = 0.5;

    public override string Name => "Dropout";

    public override LayerFamily Family => LayerFamily.Regularization;

    public override LayerDoc Doc => new($"Dropout(p = {Number(DefaultP)})", "any", "the same", "", "p in [0, 1)");

    public override IReadOnlyList<string> Arguments { get; } = ["P"];

    // A written value the compiler could not convert to a number is NaN, which the check refuses.
    private static double P(LayerSpec layer) => layer.Has("P") ? layer.Double("P") ?? double.NaN : DefaultP;

    public override bool Check(LayerContext layer)
    {
        double p = P(layer.Spec);
        return p >= 0 && p < 1 || layer.OutOfRange("P", p.ToString("R", CultureInfo.InvariantCulture), "in [0, 1)");
    }

    public override ShapedLayer? Infer(LayerContext layer) => layer.Same();

    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.Dropout({Double(P(layer.Spec))})";

    public override string Describe(ShapedLayer layer) => $"Dropout(p={Number(P(layer.Spec))})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Real("p", P(layer.Spec))];
}
