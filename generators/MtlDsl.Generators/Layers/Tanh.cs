namespace MtlDsl.Generators.Layers;

/// <summary>[Tanh]: tanh(x), element-wise.</summary>
internal sealed class Tanh : Activation
{
    public override string Name => "Tanh";
}
