namespace MtlDsl.Generators.Layers;

/// <summary>[Tanh]: tanh(x), element-wise.</summary>
internal sealed class Tanh : Activation
{
    public override string Name => "Tanh";

    public override LayerFamily Family => LayerFamily.Activation;

    public override LayerDoc Doc => new("Tanh", "any", "the same", "", "");
}
