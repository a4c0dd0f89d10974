namespace MtlDsl.Generators.Layers;

/// <summary>[GELU]: x·Φ(x), the exact form (with erf), element-wise.</summary>
internal sealed class GELU : Activation
{
    public override string Name => "GELU";

    public override LayerFamily Family => LayerFamily.Activation;

    public override LayerDoc Doc => new("GELU", "any", "the same (the exact form, with erf)", "", "");
}
