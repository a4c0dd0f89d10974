namespace MtlDsl.Generators.Layers;

/// <summary>[BatchNorm2d] on <c>[channels, height, width]</c>.</summary>
internal sealed class BatchNorm2d : BatchNorm
{
    public override string Name => "BatchNorm2d";

    public override LayerFamily Family => LayerFamily.Normalization;

    public override LayerDoc Doc => new("BatchNorm2d", "`[C, H, W]`", "the same", "`NumFeatures` (checked)", "the input rank");

    protected override bool Takes(LayerContext layer) =>
        layer.Rank(3, "[channels, height, width]", layer.Input.Count < 3 ? "; use BatchNorm1d for [features] or [channels, length]" : "");
}
