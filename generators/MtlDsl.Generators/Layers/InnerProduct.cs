using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [InnerProduct]: the inner product of every pair of field embeddings (PNN; DLRM's interaction, in another order),
/// <c>[F, K]</c> → <c>[F(F−1)/2]</c>, the pairs f &lt; g in row-major order (<c>torch.triu_indices(F, F, 1)</c>).
/// </summary>
internal sealed class InnerProduct : FieldInteraction
{
    public override string Name => "InnerProduct";

    public override LayerDoc Doc => new("InnerProduct", "`[F, K]`",
        "`[F(F − 1)/2]`: ⟨v_f, v_g⟩ for every pair f < g in row-major order (0,1), (0,2), …, (1,2), … (`torch.triu_indices(F, F, 1)`)",
        "", "F ≥ 2 fields (MTL005, as `FactorizationMachine`); the pair count fits an int (MTL015)");

    public override ShapedLayer? Infer(LayerContext layer)
    {
        if (Fields(layer) is not var (fields, _)) return null;
        long pairs = PairCount(fields);
        if (pairs > int.MaxValue)
        {
            layer.Report(DiagnosticDescriptors.SizeTooLarge, layer.Spec.Location, layer.Label, $"the number of pairs {Count(pairs)}", Count(int.MaxValue));
            return null;
        }
        return layer.Done([(int)pairs], layer.InputSize, 0);
    }

    public override string Factory(ShapedLayer layer, string block) => $"{Factories}.InnerProduct()";

    public override string Describe(ShapedLayer layer) => $"InnerProduct({I(layer.OutputShape[0])} pairs)";
}
