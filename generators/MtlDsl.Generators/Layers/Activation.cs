using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>An element-wise function without arguments or parameters: <c>torch.nn.{Name}()</c>, the shape kept.</summary>
internal abstract class Activation : LayerDefinition
{
    public override ShapedLayer? Infer(LayerContext layer) => layer.Same();

    public override string Factory(ShapedLayer layer, string block) => $"{Nn}.{Name}()";
}
