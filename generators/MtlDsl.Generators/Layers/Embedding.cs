using System.Collections.Generic;
using System.Linq;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Embedding(vocabulary, dimension)]: each id becomes a vector; output <c>[…, dimension]</c>.</summary>
internal sealed class Embedding : EmbeddingBase
{
    public override string Name => "Embedding";

    public override LayerFamily Family => LayerFamily.Embedding;

    public override LayerDoc Doc => new("Embedding(vocabulary, dimension)", "ids `[d…]`", "`[d…, dimension]`", "`PaddingIndex` (none unless written)", "sizes ≥ 1; the padding id in the vocabulary; first layer of a block that reads ids");

    public override IReadOnlyList<string> Arguments { get; } = ["Vocabulary", "Dimension", "PaddingIndex"];

    public override ShapedLayer? Infer(LayerContext layer)
    {
        int vocabulary = Vocabulary(layer.Spec), dimension = Dimension(layer.Spec);
        return layer.Done(layer.Input.Concat([dimension]), vocabulary, checked((long)vocabulary * dimension));
    }

    public override string Factory(ShapedLayer layer, string block) =>
        $"{Factories}.Embedding({I(Vocabulary(layer.Spec))}, {I(Dimension(layer.Spec))}, paddingIndex: {Padding(layer.Spec)})";

    public override string Describe(ShapedLayer layer) =>
        $"Embedding({I(Vocabulary(layer.Spec))}→{I(Dimension(layer.Spec))}" + (layer.Spec.Int("PaddingIndex") is int pad ? $", pad={I(pad)}" : "") + ")";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [.. Table(layer.Spec), PaddingIndex(layer.Spec)];
}
