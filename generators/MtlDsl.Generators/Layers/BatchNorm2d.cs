namespace MtlDsl.Generators.Layers;

/// <summary>[BatchNorm2d] on <c>[channels, height, width]</c>.</summary>
internal sealed class BatchNorm2d : BatchNorm
{
    public override string Name => "BatchNorm2d";

    protected override bool Takes(LayerContext layer) =>
        layer.Rank(3, "[channels, height, width]", layer.Input.Count < 3 ? "; use BatchNorm1d for [features] or [channels, length]" : "");
}
