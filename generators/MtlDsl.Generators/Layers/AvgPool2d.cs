namespace MtlDsl.Generators.Layers;

/// <summary>[AvgPool2d(kernelSize)] on <c>[channels, height, width]</c>: the window's mean (padding counted, as PyTorch's default).</summary>
internal sealed class AvgPool2d : Pool2d
{
    public override string Name => "AvgPool2d";

    public override LayerFamily Family => LayerFamily.Pooling;

    public override LayerDoc Doc => new("AvgPool2d(kernelSize)` or `(kernelHeight, kernelWidth)", "`[C, H, W]`", "`[C, H′, W′]`", "as `MaxPool2d` (padding counted in the mean)", "as `MaxPool2d`");
}
