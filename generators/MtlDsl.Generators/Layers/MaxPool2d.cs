namespace MtlDsl.Generators.Layers;

/// <summary>[MaxPool2d(kernelSize)] on <c>[channels, height, width]</c>: the window's maximum.</summary>
internal sealed class MaxPool2d : Pool2d
{
    public override string Name => "MaxPool2d";
}
