using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Linear(outFeatures)]: <c>y = x Wᵀ + b</c> on a vector.</summary>
internal sealed class Linear : LayerDefinition
{
    public override string Name => "Linear";

    public override LayerFamily Family => LayerFamily.Dense;

    public override LayerDoc Doc => new("Linear(outFeatures)", "`[F]`", "`[outFeatures]`", "`InFeatures` (checked against F), `Bias = true`", "sizes ≥ 1; a larger input is MTL005 with a fix that inserts `Flatten`");

    public override IReadOnlyList<string> Arguments { get; } = ["OutFeatures", "InFeatures", "Bias"];

    private static int Out(LayerSpec layer) => layer.Int("OutFeatures")!.Value;

    private static bool Bias(LayerSpec layer) => layer.Flag("Bias") ?? true;

    public override bool Check(LayerContext layer) => layer.AtLeast("OutFeatures", 1) && layer.AtLeast("InFeatures", 1);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(1, "a vector [features]", input.Count > 1 ? "; insert [Flatten] before it" : "", input.Count > 1 ? Fixes.InsertFlatten : null)) return null;
        int inFeatures = input[0], outFeatures = Out(layer.Spec);
        layer.ExplicitInSize("InFeatures", inFeatures);
        return layer.Done([outFeatures], inFeatures, checked((long)inFeatures * outFeatures + (Bias(layer.Spec) ? outFeatures : 0)));
    }

    public override string Factory(ShapedLayer layer, string block) =>
        $"{Nn}.Linear({I(layer.InSize)}, {I(Out(layer.Spec))}{(Bias(layer.Spec) ? "" : ", hasBias: false")})";

    public override string Describe(ShapedLayer layer) => $"Linear({I(layer.InSize)}→{I(Out(layer.Spec))}{(Bias(layer.Spec) ? "" : ", no bias")})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) =>
        [PlanValue.Int("in_features", layer.InSize), PlanValue.Int("out_features", Out(layer.Spec)), PlanValue.Flag("bias", Bias(layer.Spec))];
}
