using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Shapes;

/// <summary>A layer with the shapes inferred for it. <see cref="InSize"/> is the inferred input size the layer is built with.</summary>
internal sealed record ShapedLayer(LayerSpec Spec, int Index, EquatableArray<int> InputShape, EquatableArray<int> OutputShape, int InSize, long Parameters);

/// <summary>A block whose every layer has a known output shape.</summary>
internal sealed record ShapedBlock(BlockSpec Spec, EquatableArray<int> InputShape, EquatableArray<ShapedLayer> Layers)
{
    public EquatableArray<int> OutputShape => Layers.Count == 0 ? InputShape : Layers[Layers.Count - 1].OutputShape;
}

/// <summary>A model whose every block has been inferred without error: what the emitter writes.</summary>
internal sealed record ShapedModel(ModelSpec Spec, EquatableArray<ShapedBlock> Blocks, long ParameterCount);
