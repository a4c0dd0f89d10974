namespace MtlDsl.Generators.Layers;

/// <summary>[ReLU]: max(0, x), element-wise.</summary>
internal sealed class ReLU : Activation
{
    public override string Name => "ReLU";

    public override LayerFamily Family => LayerFamily.Activation;

    public override LayerDoc Doc => new("ReLU", "any", "the same", "", "");
}
