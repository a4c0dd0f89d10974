using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [Transfer] / [Transfer(nameof(Task))]: a transfer point in a task's tower (AITM), <c>[D]</c> → <c>[D]</c>. Without a
/// source it passes its input on (the point a later task reads); with one, the attention of its input and what passes
/// from the source's point (MtlDsl.TransferUnit). Which task it may read, and where it may stand, is checked across the
/// heads (TransferRules, MTL039).
/// </summary>
internal sealed class Transfer : LayerDefinition
{
    public override string Name => "Transfer";

    public override LayerFamily Family => LayerFamily.Transfer;

    public override PyTorchHome Home => PyTorchHome.MtlDslTorch;

    public override LayerDoc Doc => new("Transfer, Transfer(from)", "`[D]`",
        "`[D]`: the input (the point later tasks read); with `from`, softmax-weighted V·q and V·ReLU(W z + b) of its input q and task `from`'s point z (AITM)",
        "`from`: a task declared before, whose head has a transfer point of size D; 4·D² + D parameters with it, none without",
        "in a task head, at most one a head; `from` names an earlier task with a point of the same size (MTL039)");

    public override IReadOnlyList<string> Arguments { get; } = ["From"];

    /// <summary>Whether a layer is a transfer point.</summary>
    public static bool Is(LayerSpec layer) => layer.Kind == nameof(Transfer);

    /// <summary>The task whose point the layer reads, or null.</summary>
    public static string? Source(LayerSpec layer) => layer.Text("From");

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(1, "a vector [features]", input.Count > 1 ? "; insert [Flatten] before it" : "", input.Count > 1 ? Fixes.InsertFlatten : null)) return null;
        long features = input[0];
        return layer.Done(input, input[0], Source(layer.Spec) is null ? 0 : checked(4 * features * features + features));
    }

    public override string Factory(ShapedLayer layer, string block) =>
        $"{Factories}.Transfer({I(layer.InSize)}, {(Source(layer.Spec) is { } source ? String(source) : "null")})";

    public override string Describe(ShapedLayer layer) =>
        Source(layer.Spec) is { } source ? $"Transfer({I(layer.InSize)}, from {source})" : $"Transfer point ({I(layer.InSize)})";

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer) =>
        [PlanValue.Int("in_features", layer.InSize), Source(layer.Spec) is { } source ? PlanValue.Text("source", source) : PlanValue.None("source")];
}
