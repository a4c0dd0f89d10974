namespace MtlDsl.Generators.Layers;

/// <summary>[BatchNorm1d] on <c>[features]</c> or <c>[channels, length]</c>.</summary>
internal sealed class BatchNorm1d : BatchNorm
{
    public override string Name => "BatchNorm1d";

    public override LayerFamily Family => LayerFamily.Normalization;

    public override LayerDoc Doc => new("BatchNorm1d", "`[C]` or `[C, L]`", "the same", "`NumFeatures` (checked)", "the input rank");

    protected override bool Takes(LayerContext layer)
    {
        if (layer.Input.Count is 1 or 2) return true;
        layer.Mismatch("[features] or [channels, length]", layer.Input.Count == 3 ? "; use BatchNorm2d for [channels, height, width]" : "");
        return false;
    }
}
