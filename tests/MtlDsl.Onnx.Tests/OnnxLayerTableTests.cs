using Xunit;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// Every layer kind a user can declare (every layer attribute of the runtime; the generator's registry has one
/// definition per attribute, LayerRegistryTests) has its ONNX lowering, except a module of one's own, which has none
/// by design (MTL035): a kind added without its lowering fails here, not in a user's export.
/// </summary>
public class OnnxLayerTableTests
{
    [Fact]
    public void EveryDeclarableLayerKindHasItsLowering()
    {
        var kinds = typeof(LayerAttribute).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.IsSubclassOf(typeof(LayerAttribute)))
            .Select(t => t.Name[..^"Attribute".Length])
            .Where(kind => kind != "Module")
            .Order(StringComparer.Ordinal);
        Assert.Equal(kinds, OnnxLayers.Kinds.Order(StringComparer.Ordinal));
    }
}
