using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>What Embedding and EmbeddingBag share: a table of <c>vocabulary × dimension</c> read by ids, an optional padding id.</summary>
internal abstract class EmbeddingBase : LayerDefinition
{
    public override bool ReadsIds => true;

    protected static int Vocabulary(LayerSpec layer) => layer.Int("Vocabulary")!.Value;

    protected static int Dimension(LayerSpec layer) => layer.Int("Dimension")!.Value;

    protected static string Padding(LayerSpec layer) => layer.Int("PaddingIndex") is int padding ? I(padding) : "null";

    public override bool Check(LayerContext layer)
    {
        LayerSpec spec = layer.Spec;
        if (!(layer.AtLeast("Vocabulary", 1) && layer.AtLeast("Dimension", 1))) return false;
        if (spec.Int("PaddingIndex") is int padding && (padding < 0 || padding >= Vocabulary(spec)))
            return layer.OutOfRange("PaddingIndex", padding.ToString(CultureInfo.InvariantCulture),
                $"an id of the vocabulary, in [0, {Vocabulary(spec).ToString(CultureInfo.InvariantCulture)}) (to have no padding id, do not write it)");
        return true;
    }

    public override (int Vocabulary, string Text)? IdRange(LayerSpec layer) => (Vocabulary(layer), $"{Name}({I(Vocabulary(layer))}→{I(Dimension(layer))})");

    /// <summary>The arguments PyTorch's embeddings share.</summary>
    protected static IEnumerable<PlanValue> Table(LayerSpec layer) =>
        [PlanValue.Int("num_embeddings", Vocabulary(layer)), PlanValue.Int("embedding_dim", Dimension(layer))];

    protected static PlanValue PaddingIndex(LayerSpec layer) =>
        layer.Int("PaddingIndex") is int padding ? PlanValue.Int("padding_idx", padding) : PlanValue.None("padding_idx");
}
