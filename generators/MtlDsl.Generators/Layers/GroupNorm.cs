using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[GroupNorm(groups)] on <c>[C, L]</c> or <c>[C, H, W]</c>: each group of C / groups channels normalised alone, a weight and a bias per channel.</summary>
internal sealed class GroupNorm : LayerDefinition
{
    public override string Name => "GroupNorm";

    public override LayerFamily Family => LayerFamily.Normalization;

    public override LayerDoc Doc => new("GroupNorm(groups)", "`[C, L]`, `[C, H, W]`", "the same", "none (a weight and a bias per channel, ε = 1e-5, as PyTorch's)", "groups ≥ 1, a divisor of C (MTL010); more than one value per group (MTL005)");

    public override IReadOnlyList<string> Arguments { get; } = ["Groups"];

    private static int Groups(Model.LayerSpec layer) => layer.Int("Groups")!.Value;

    public override bool Check(LayerContext layer) => layer.AtLeast("Groups", 1);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        // TorchSharp's GroupNorm takes [N, C, …] with at least one position (PyTorch would take [N, C] too).
        if (layer.Input.Count < 2)
        {
            layer.Mismatch("[channels, positions…] ([C, L] or [C, H, W])", layer.Input.Count == 1
                ? "; over a vector's features use LayerNorm (which GroupNorm(1) would be on [F])"
                : "; one value per sample has no channels to group");
            return null;
        }
        int channels = layer.Input[0], groups = Groups(layer.Spec);
        if (channels % groups != 0)
        {
            var divisors = Enumerable.Range(1, channels).Where(d => channels % d == 0).Select(d => I(d)).ToList();
            string choices = divisors.Count > 8 ? string.Join(", ", divisors.Take(7)) + ", …, " + divisors[divisors.Count - 1]
                : divisors.Count == 1 ? divisors[0] : string.Join(", ", divisors.Take(divisors.Count - 1)) + " or " + divisors[divisors.Count - 1];
            layer.OutOfRange("Groups", groups.ToString(CultureInfo.InvariantCulture), $"a divisor of the input's {I(channels)} channels ({Shape(layer.Input)}): {choices}");
            return null;
        }
        long perGroup = (long)(channels / groups) * layer.Input.Skip(1).Aggregate(1L, (n, d) => n * d);
        if (perGroup < 2)
        {
            layer.Mismatch($"[channels, positions…] with more than one value in each of its {I(groups)} groups",
                "; a group of one value normalises to 0, so the layer would output its bias alone; use fewer groups, or normalise before the pooling that leaves 1×1");
            return null;
        }
        return layer.Same(checked(2L * channels));
    }

    // MtlDsl.Layers.GroupNorm: TorchSharp's, with the weight and bias PyTorch starts from (TorchSharp leaves them uninitialised).
    public override string Factory(ShapedLayer layer, string block) => $"{Factories}.GroupNorm({I(Groups(layer.Spec))}, {I(layer.InSize)})";

    public override string Describe(ShapedLayer layer) => $"GroupNorm({I(layer.InSize)}, groups={I(Groups(layer.Spec))})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) =>
        [PlanValue.Int("num_groups", Groups(layer.Spec)), PlanValue.Int("num_channels", layer.InSize)];
}
