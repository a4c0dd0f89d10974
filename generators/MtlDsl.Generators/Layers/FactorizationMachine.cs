using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [FactorizationMachine]: a factorization machine's pairwise interactions (Rendle 2010), <c>[F, K]</c> → <c>[1]</c>,
/// ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²) = Σ_{f&lt;g} ⟨v_f, v_g⟩; with <c>ReduceSum = false</c> NFM's bi-interaction <c>[K]</c>.
/// </summary>
internal sealed class FactorizationMachine : FieldInteraction
{
    public override string Name => "FactorizationMachine";

    public override LayerDoc Doc => new("FactorizationMachine", "`[F, K]`",
        "`[1]`: the sum of ⟨v_f, v_g⟩ over the pairs f < g, as ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²) (FM)",
        "`ReduceSum = true`; `false` gives `[K]`, not summed over k: NFM's bi-interaction",
        "F ≥ 2 fields (MTL005, which says how to `Unflatten` a vector into fields)");

    public override IReadOnlyList<string> Arguments { get; } = ["ReduceSum"];

    private static bool ReduceSum(LayerSpec layer) => layer.Flag("ReduceSum") ?? true;

    public override ShapedLayer? Infer(LayerContext layer) =>
        Fields(layer) is var (_, dimension) ? layer.Done([ReduceSum(layer.Spec) ? 1 : dimension], layer.InputSize, 0) : null;

    public override string Factory(ShapedLayer layer, string block) => $"{Factories}.FactorizationMachine(reduceSum: {Bool(ReduceSum(layer.Spec))})";

    public override string Describe(ShapedLayer layer) => ReduceSum(layer.Spec) ? "FactorizationMachine" : "FactorizationMachine(bi-interaction)";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) => [PlanValue.Flag("reduce_sum", ReduceSum(layer.Spec))];
}
