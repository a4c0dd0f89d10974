namespace MtlDsl.Generators.Layers;

/// <summary>[MaxPool2d(kernelSize)] on <c>[channels, height, width]</c>: the window's maximum.</summary>
internal sealed class MaxPool2d : Pool2d
{
    public override string Name => "MaxPool2d";

    public override LayerFamily Family => LayerFamily.Pooling;

    public override LayerDoc Doc => new("MaxPool2d(kernelSize)` or `(kernelHeight, kernelWidth)", "`[C, H, W]`", "`[C, H′, W′]`", "`Stride` = the window, `Padding = 0` (each also per axis)", "window, stride ≥ 1; padding at most half the window; H′, W′ ≥ 1");
}
