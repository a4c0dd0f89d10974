using System.Collections.Generic;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>What BatchNorm1d and BatchNorm2d share: per-channel statistics, a weight and a bias per channel.</summary>
internal abstract class BatchNorm : LayerDefinition
{
    public override IReadOnlyList<string> Arguments { get; } = ["NumFeatures"];

    public override bool Check(LayerContext layer) => layer.AtLeast("NumFeatures", 1);

    /// <summary>Whether the input has a rank this kind normalises; else reported.</summary>
    protected abstract bool Takes(LayerContext layer);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        if (!Takes(layer)) return null;
        layer.ExplicitInSize("NumFeatures", layer.Input[0]);
        return layer.Same(2L * layer.Input[0]);
    }

    // MtlDsl.Layers' factories: batch normalisation computed the same on every CPU.
    public override string Factory(ShapedLayer layer, string block) => $"{Factories}.{Name}({I(layer.InSize)})";

    public override string Describe(ShapedLayer layer) => $"{Name}({I(layer.InSize)})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Int("num_features", layer.InSize)];
}
