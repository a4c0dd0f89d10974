using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[EmbeddingBag(vocabulary, dimension)]: a bag of ids <c>[L]</c> pooled into one vector (mean, or sum with <c>Mode = BagMode.Sum</c>).</summary>
internal sealed class EmbeddingBag : EmbeddingBase
{
    public override string Name => "EmbeddingBag";

    public override LayerFamily Family => LayerFamily.Embedding;

    public override LayerDoc Doc => new("EmbeddingBag(vocabulary, dimension)", "ids `[L]`", "`[dimension]`", "`Mode = BagMode.Mean` or `Sum`, `PaddingIndex` (left out of the pooling)", "as `Embedding`; a known mode");

    public override IReadOnlyList<string> Arguments { get; } = ["Vocabulary", "Dimension", "PaddingIndex", "Mode"];

    private static bool Sum(LayerSpec layer) => (layer.Int("Mode") ?? 0) == 1;

    public override bool Check(LayerContext layer)
    {
        if (!base.Check(layer)) return false;
        if (layer.Spec.Int("Mode") is int mode && mode != 0 && mode != 1)
            return layer.OutOfRange("Mode", mode.ToString(CultureInfo.InvariantCulture), "BagMode.Mean or BagMode.Sum");
        return true;
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        if (!layer.Rank(1, "ids [L] (the values of one sample)", layer.Input.Count == 0
                ? "; one id per sample has nothing to pool, so read it with Embedding"
                : "; flatten is not possible on ids, so declare the input as [L]"))
            return null;
        int vocabulary = Vocabulary(layer.Spec), dimension = Dimension(layer.Spec);
        return layer.Done([dimension], vocabulary, checked((long)vocabulary * dimension));
    }

    public override string Factory(ShapedLayer layer, string block) =>
        $"{Factories}.EmbeddingBag({I(Vocabulary(layer.Spec))}, {I(Dimension(layer.Spec))}, global::MtlDsl.BagMode.{(Sum(layer.Spec) ? "Sum" : "Mean")}, paddingIndex: {Padding(layer.Spec)})";

    public override string Describe(ShapedLayer layer) =>
        $"EmbeddingBag({I(Vocabulary(layer.Spec))}→{I(Dimension(layer.Spec))}, {(Sum(layer.Spec) ? "sum" : "mean")}" + (layer.Spec.Int("PaddingIndex") is int pad ? $", pad={I(pad)}" : "") + ")";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) =>
        [.. Table(layer.Spec), PlanValue.Text("mode", Sum(layer.Spec) ? "sum" : "mean"), PaddingIndex(layer.Spec)];
}
