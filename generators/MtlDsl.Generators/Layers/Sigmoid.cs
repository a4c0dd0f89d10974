namespace MtlDsl.Generators.Layers;

/// <summary>[Sigmoid]: 1 / (1 + e^−x), element-wise.</summary>
internal sealed class Sigmoid : Activation
{
    public override string Name => "Sigmoid";

    public override LayerFamily Family => LayerFamily.Activation;

    public override LayerDoc Doc => new("Sigmoid", "any", "the same", "", "");
}
