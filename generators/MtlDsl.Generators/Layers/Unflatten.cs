using System.Collections.Generic;
using System.Linq;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [Unflatten(sizes…)]: the first per-sample dimension split into the sizes written, whose product must be it
/// (<c>[F·K]</c> → <c>[F, K]</c>); PyTorch's <c>nn.Unflatten(1, sizes)</c>.
/// </summary>
internal sealed class Unflatten : LayerDefinition
{
    public override string Name => "Unflatten";

    public override LayerFamily Family => LayerFamily.Reshaping;

    public override LayerDoc Doc => new("Unflatten(sizes…)", "`[d, …]`", "`[sizes…, …]`", "",
        "sizes ≥ 1 whose product is d (MTL005); `[Concat]` of F vectors `[K]` then `Unflatten(F, K)` gives fields `[F, K]`");

    public override IReadOnlyList<string> Arguments { get; } = ["UnflattenedSize"];

    private static EquatableArray<int> Sizes(LayerSpec layer) => layer.Ints("UnflattenedSize");

    public override bool Check(LayerContext layer)
    {
        var sizes = Sizes(layer.Spec);
        if (sizes.Count == 0) return layer.OutOfRange("UnflattenedSize", "[]", "at least one size");
        return sizes.All(d => d >= 1) || layer.OutOfRange("UnflattenedSize", Shape(sizes), "made of positive sizes");
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        var sizes = Sizes(layer.Spec);
        long product = 1;
        foreach (int d in sizes) product = checked(product * d);
        string written = string.Join(" × ", sizes.Select(d => I(d)));
        if (input.Count == 0)
        {
            layer.Mismatch("an input with a dimension to split", "; it has none");
            return null;
        }
        if (product != input[0])
        {
            layer.Mismatch($"a first dimension of {written}{(sizes.Count > 1 ? " = " + I(product) : "")}",
                $"; the sizes split the first dimension, so their product must be {I(input[0])}");
            return null;
        }
        return layer.Done(sizes.Concat(input.Skip(1)), layer.InputSize, 0);
    }

    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.Unflatten(1, {LongArray(Sizes(layer.Spec))})";

    public override string Describe(ShapedLayer layer) => $"Unflatten({string.Join(", ", Sizes(layer.Spec).Select(d => I(d)))})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Int("dim", 1), PlanValue.Ints("unflattened_size", Sizes(layer.Spec))];
}
