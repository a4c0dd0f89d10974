using System.Collections.Generic;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// One layer kind, whole: the attribute arguments it reads, their range checks (MTL010), its shape inference and
/// parameter count, the TorchSharp factory and summary text of the generated code, and its entry in the network plan
/// (its PyTorch class's home and constructor arguments, from which the runtime writes the PyTorch twin and the ONNX
/// graph). One file per
/// kind in this folder, listed in <see cref="LayerRegistry"/>; the kind's attribute lives in the runtime
/// (<c>src/MtlDsl/Declaration/LayerAttributes.cs</c>) and its ONNX lowering in <c>src/MtlDsl.Onnx/OnnxLayers.cs</c>.
/// Tests over the registry keep the three in step.
/// </summary>
internal abstract class LayerDefinition
{
    /// <summary>
    /// The kind's name: its attribute is <c>MtlDsl.{Name}Attribute</c>; in the network plan it is the layer's kind and,
    /// for every kind but <c>Module</c>, the name of its PyTorch class in <see cref="Home"/>: <c>torch.nn.{Name}</c>
    /// or <c>mtldsl_torch.{Name}</c>.
    /// </summary>
    public abstract string Name { get; }

    /// <summary>
    /// Where the kind's PyTorch class lives: <c>torch.nn</c> (the default), or MtlDsl's PyTorch support file
    /// <c>src/MtlDsl/PyTorch/mtldsl_torch.py</c> for a kind PyTorch has no class for (its class is written there, and
    /// its TorchSharp module in <c>src/MtlDsl/Model</c>, under the same state-dict names). The plan carries it
    /// (<c>PlanLayer.Home</c>), from which the PyTorch twin writes <c>nn.{Name}(…)</c> or <c>mtl.{Name}(…)</c>.
    /// </summary>
    public virtual PyTorchHome Home => PyTorchHome.TorchNn;

    /// <summary>The kind's PyTorch class, qualified: <c>torch.nn.Linear</c>, <c>mtldsl_torch.Cross</c>.</summary>
    public string PyTorchClass => (Home == PyTorchHome.MtlDslTorch ? "mtldsl_torch." : "torch.nn.") + Name;

    /// <summary>Where the kind is listed among the others (the docs' layer table is ordered by family, then name).</summary>
    public abstract LayerFamily Family { get; }

    /// <summary>The kind's row in the docs' layer table (docs/declaring-models.md), which a test writes from the registry.</summary>
    public abstract LayerDoc Doc { get; }

    /// <summary>
    /// The attribute's arguments this definition reads, by PascalCase constructor-parameter or property name. Reading
    /// another is a bug (it throws); a test keeps the list equal to the runtime attribute's parameters and properties.
    /// </summary>
    public virtual IReadOnlyList<string> Arguments => [];

    /// <summary>Whether the layer reads categorical ids (the first layer of a block that reads an ids input must).</summary>
    public virtual bool ReadsIds => false;

    /// <summary>The arguments' ranges, before inference: false when one is out of range (reported as MTL010).</summary>
    public virtual bool Check(LayerContext layer) => true;

    /// <summary>The layer's output shape, input size and parameter count for its input, or null (reported).</summary>
    public abstract ShapedLayer? Infer(LayerContext layer);

    /// <summary>The C# expression that builds the layer in the generated module.</summary>
    public abstract string Factory(ShapedLayer layer, string block);

    /// <summary>The layer in the model's summary: its name and the arguments that differ from the defaults.</summary>
    public virtual string Describe(ShapedLayer layer) => Name;

    /// <summary>
    /// The plan entry's arguments: the constructor keyword arguments of the kind's PyTorch class
    /// (<see cref="PyTorchClass"/>), in its names and order, complete (every value the layer's numbers depend on).
    /// </summary>
    public virtual IEnumerable<PlanValue> Plan(ShapedLayer layer) => [];

    /// <summary>For a layer that reads ids: the vocabulary the runtime checks the ids against, and how to name the layer.</summary>
    public virtual (int Vocabulary, string Text)? IdRange(Model.LayerSpec layer) => null;
}

/// <summary>
/// A layer kind in the docs: how it is written (<see cref="Written"/>, code), what it takes and gives per sample, its
/// optional arguments with their defaults, and what the generator checks beyond the input's form (MTL005).
/// </summary>
internal sealed record LayerDoc(string Written, string Takes, string Gives, string Options, string Checks);

/// <summary>The groups of layer kinds, in the order the docs list them.</summary>
internal enum LayerFamily
{
    Dense,
    Convolution,
    Pooling,
    Resizing,
    Normalization,
    Activation,
    Regularization,
    Reshaping,
    Embedding,
    Interaction,
    Transfer,
    Own,
}
