using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[LeakyReLU(NegativeSlope = 0.01)]: x where positive, else slope·x.</summary>
internal sealed class LeakyReLU : Activation
{
    /// <summary>PyTorch's default slope.</summary>
    public const double DefaultSlope = 0.01;

    public override string Name => "LeakyReLU";

    public override LayerFamily Family => LayerFamily.Activation;

    public override LayerDoc Doc => new("LeakyReLU", "any", "the same", $"`NegativeSlope = {Number(DefaultSlope)}`", "a finite slope");

    public override IReadOnlyList<string> Arguments { get; } = ["NegativeSlope"];

    private static double Slope(LayerSpec layer) => layer.Double("NegativeSlope") ?? DefaultSlope;

    public override bool Check(LayerContext layer) =>
        layer.Spec.Double("NegativeSlope") is not double slope || !double.IsNaN(slope) && !double.IsInfinity(slope)
        || layer.OutOfRange("NegativeSlope", slope.ToString("R", CultureInfo.InvariantCulture), "a finite number");

    // MtlDsl.Layers.LeakyReLU (ScalarSafeLeakyReLU in the runtime).
    public override string Factory(ShapedLayer layer, string block) => $"{Factories}.LeakyReLU({Double(Slope(layer.Spec))})";

    public override string Describe(ShapedLayer layer) => $"LeakyReLU({Number(Slope(layer.Spec))})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Real("negative_slope", Slope(layer.Spec))];
}
