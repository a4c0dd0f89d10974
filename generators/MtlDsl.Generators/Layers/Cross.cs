using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [Cross(layers)]: a cross network on a vector, <c>[D]</c> → <c>[D]</c>: DCN's vector form
/// x_{l+1} = x_0 · (x_lᵀ w_l) + b_l + x_l by default, DCN-V2's matrix form x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l with
/// <c>Matrix = true</c>.
/// </summary>
internal sealed class Cross : LayerDefinition
{
    public override string Name => "Cross";

    public override LayerFamily Family => LayerFamily.Interaction;

    public override PyTorchHome Home => PyTorchHome.MtlDslTorch;

    public override LayerDoc Doc => new("Cross(layers)", "`[D]`",
        "`[D]`: each layer x₀ · (x_l · w_l) + b_l + x_l (DCN), or x₀ ⊙ (W_l x_l + b_l) + x_l (DCN-V2)",
        "`Matrix = false`: DCN's vector w_l (2·D parameters a layer); `true`: DCN-V2's D×D matrix (D² + D)",
        "layers ≥ 1; a larger input is MTL005 with a fix that inserts `Flatten`");

    public override IReadOnlyList<string> Arguments { get; } = ["Layers", "Matrix"];

    private static int Layers(LayerSpec layer) => layer.Int("Layers")!.Value;

    private static bool Matrix(LayerSpec layer) => layer.Flag("Matrix") ?? false;

    public override bool Check(LayerContext layer) => layer.AtLeast("Layers", 1);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(1, "a vector [features]", input.Count > 1 ? "; insert [Flatten] before it" : "", input.Count > 1 ? Fixes.InsertFlatten : null)) return null;
        long features = input[0];
        long perLayer = Matrix(layer.Spec) ? checked(features * features + features) : 2 * features;
        return layer.Done(input, input[0], checked(Layers(layer.Spec) * perLayer));
    }

    public override string Factory(ShapedLayer layer, string block) =>
        $"{Factories}.Cross({I(layer.InSize)}, {I(Layers(layer.Spec))}, matrix: {Bool(Matrix(layer.Spec))})";

    public override string Describe(ShapedLayer layer) =>
        $"Cross({I(layer.InSize)}, {I(Layers(layer.Spec))} layer{(Layers(layer.Spec) == 1 ? "" : "s")}{(Matrix(layer.Spec) ? ", matrix" : "")})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) =>
        [PlanValue.Int("in_features", layer.InSize), PlanValue.Int("num_layers", Layers(layer.Spec)), PlanValue.Flag("matrix", Matrix(layer.Spec))];
}
