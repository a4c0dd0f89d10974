namespace MtlDsl;

/// <summary>
/// Marks a partial class as a multi-task network. MtlDsl's source generator completes the class at compile
/// time: a TorchSharp module with the declared trunk and task heads, a typed <c>forward</c>, typed targets,
/// the weighted joint loss, a trainer and a compile-time summary.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MultiTaskModelAttribute : Attribute
{
}

/// <summary>
/// Declares an input of the model: the shape of one sample without the batch dimension, <c>[Input(3, 28, 28)]</c> for
/// 3×28×28 images. A model that reads several inputs names each, <c>[Input("Measurements", 4)]</c>,
/// <c>[Input("Island", Kind = InputKind.Ids)]</c>, and its blocks say which they read (<see cref="TrunkAttribute.Reads"/>,
/// <see cref="ConcatAttribute"/>); the generator then emits a typed <c>Inputs</c> record with one tensor per input.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Declares the model's one input by its shape.</summary>
    /// <param name="shape">The sizes of the sample's dimensions: <c>(features)</c>, <c>(channels, length)</c> or <c>(channels, height, width)</c>.</param>
    public InputAttribute(params int[] shape) => Shape = shape;

    /// <summary>Declares a named input.</summary>
    /// <param name="name">The input's name: a C# identifier, the property of the generated <c>Inputs</c> record.</param>
    /// <param name="shape">The sizes of the sample's dimensions; none for one id per sample (<see cref="InputKind.Ids"/>).</param>
    public InputAttribute(string name, params int[] shape)
    {
        Name = name;
        Shape = shape;
    }

    /// <summary>The input's name; null for a model's one unnamed input.</summary>
    public string? Name { get; }

    /// <summary>The sizes of the sample's dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>What the input holds: features (floating point, the default) or categorical ids (int64) that an embedding reads.</summary>
    public InputKind Kind { get; set; } = InputKind.Features;
}

/// <summary>What an input holds.</summary>
public enum InputKind
{
    /// <summary>Numbers in the model's floating-point type (float32 unless the model was converted).</summary>
    Features,

    /// <summary>
    /// Categorical ids (int64): read by an <see cref="EmbeddingAttribute"/> or <see cref="EmbeddingBagAttribute"/>, the
    /// first layer of the block that reads the input. An id outside the embedding's vocabulary is an error at run time
    /// naming the input.
    /// </summary>
    Ids,
}

/// <summary>
/// Makes a block read several inputs or earlier trunk blocks at once, concatenated along their first dimension
/// (features of vectors, channels of images and sequences; the other dimensions must be equal, checked at compile
/// time): <c>[Trunk, Concat("Measurements", nameof(IslandEmbedding))]</c>. Name an input by its declared name, a
/// block with <c>nameof</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ConcatAttribute : Attribute
{
    /// <summary>Declares what the block reads.</summary>
    /// <param name="sources">Two or more inputs or earlier trunk blocks, in the order they are concatenated.</param>
    public ConcatAttribute(params string[] sources) => Sources = sources;

    /// <summary>The inputs and blocks concatenated, in order.</summary>
    public string[] Sources { get; }
}

/// <summary>
/// Makes a task head the product of other tasks' probabilities (ESMM, Ma et al. 2018: pCTCVR = pCTR·pCVR): its output
/// is the logit of σ(a)·σ(b)·… where a, b, … are the named tasks' logits, computed stably as
/// −logsumexp over every non-empty subset S of the factors of −Σ_{i∈S} aᵢ (exact and finite where σ rounds to 1):
/// <c>[Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Click), nameof(Conversion))]</c>. The task has no
/// layers and reads no trunk block; its loss is <see cref="Loss.BinaryCrossEntropyWithLogits"/>; its factors are two or
/// more distinct other tasks of that loss and one output shape, none a product itself (checked at compile time,
/// MTL038). A factor may have <c>Weight = 0</c>: it is then scored but trained only through the product. Hard
/// parameter sharing only, for now.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ProductOfAttribute : Attribute
{
    /// <summary>Declares the tasks whose probabilities the task multiplies.</summary>
    /// <param name="tasks">Two or more other tasks, by <c>nameof</c>.</param>
    public ProductOfAttribute(params string[] tasks) => Tasks = tasks;

    /// <summary>The tasks multiplied, in order.</summary>
    public string[] Tasks { get; }
}

/// <summary>
/// Marks a partial <c>Sequential</c> property as a block of the shared trunk. Trunk blocks run in declaration
/// order; the last one's output is the representation the task heads read (unless a head names another with
/// <see cref="TaskAttribute.Reads"/>). An architecture attribute on the class (<see cref="MMoEAttribute"/>,
/// <see cref="CGCAttribute"/>, <see cref="PLEAttribute"/>, <see cref="CrossStitchAttribute"/>,
/// <see cref="MTANAttribute"/>) makes the blocks experts, levels, columns or stages instead.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class TrunkAttribute : Attribute
{
    /// <summary>
    /// Optional, in hard parameter sharing and in the shared bottom (<see cref="Bottom"/>): the input (by its declared
    /// name) or earlier block (<c>nameof(Stem)</c>) the block reads. Default: the previous block, and for the first one
    /// the model's input (a model with several inputs says what its first block reads). In an architecture with
    /// experts, columns or stages, the first trunk block may name what the architecture reads: an input or a bottom
    /// block (default: the last bottom block, else the input).
    /// </summary>
    public string? Reads { get; set; }

    /// <summary>
    /// In an architecture with experts, columns or stages (MMoE, CGC, PLE, Cross-stitch, MTAN): the block belongs to
    /// the shared bottom, which runs once before the architecture, is shared by every task, and reads inputs and
    /// earlier bottom blocks by name (<see cref="Reads"/>, <see cref="ConcatAttribute"/>) as hard sharing's trunk does:
    /// embeddings of ids and bags, dense features, a first dense layer. The architecture's first trunk block (the
    /// first expert layer) and its gates read the last bottom block, or what that trunk block names. Not for hard
    /// sharing, whose trunk is all shared bottom.
    /// </summary>
    public bool Bottom { get; set; }
}

/// <summary>
/// Marks a partial <c>Sequential</c> property as a task head: its layers read the trunk's representation, and
/// its output is scored with the task's <see cref="Loss"/>. The property's name is the task's name.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class TaskAttribute : Attribute
{
    /// <summary>Declares a task.</summary>
    /// <param name="loss">The task's loss.</param>
    public TaskAttribute(Loss loss) => Loss = loss;

    /// <summary>The task's loss.</summary>
    public Loss Loss { get; }

    /// <summary>
    /// The task's weight λ in the joint loss Σ λ·L; a positive, finite number. Default 1. 0 only on a factor of a
    /// <see cref="ProductOfAttribute"/> task: the task is then scored (outputs, validation loss, metrics) but never trained
    /// by its own loss, which every training step treats as having no labels.
    /// </summary>
    public double Weight { get; set; } = 1.0;

    /// <summary>
    /// Optional, for <see cref="Loss.CrossEntropy"/> and <see cref="Loss.BinaryCrossEntropyWithLogits"/>: the
    /// number of classes (or labels), checked at compile time against the size of the head's output.
    /// </summary>
    public int Classes { get; set; }

    /// <summary>
    /// Optional, for <see cref="Loss.BinaryCrossEntropyWithLogits"/> only: how much a positive label counts against a
    /// negative one, PyTorch's <c>pos_weight</c>. One value for every label (<c>PositiveWeights = [9]</c>: a task with
    /// about one positive in ten), or one per label, along the head's first output dimension
    /// (<c>PositiveWeights = [9, 1, 3]</c> for a head of three labels, <c>[3]</c> or <c>[3, H, W]</c>). Each is a positive,
    /// finite number; 1 leaves the positives as they are, above 1 counts them more (recall), below 1 less
    /// (precision). Default: none, every weight 1.
    /// </summary>
    /// <remarks>
    /// With logit x, label y in [0, 1] and the weight p of its label, an element's loss is
    /// <c>−[p·y·log σ(x) + (1 − y)·log(1 − σ(x))]</c>, and the task's loss is the mean over the elements present (a
    /// NaN target is missing, as without weights): the weights are not divided out. Checked at compile time (MTL036).
    /// </remarks>
    public double[]? PositiveWeights { get; set; }

    /// <summary>
    /// Optional, for <see cref="Loss.CrossEntropy"/> only: one weight per class, PyTorch's <c>weight</c>, in class
    /// order, as many as the head's first output dimension (<c>ClassWeights = [1, 5, 20]</c> for a head of three
    /// classes). Each is a finite number ≥ 0 (0 leaves a class out of the loss), not all 0. Default: none, every
    /// weight 1.
    /// </summary>
    /// <remarks>
    /// With class indices (label −100 missing), a sample of class y and loss lᵢ = −log softmax(x)_y weighs w_y, and
    /// the task's loss is the weighted mean over the labels present, <c>Σ w_yᵢ·lᵢ / Σ w_yᵢ</c>; a batch whose
    /// present labels all weigh 0 has no loss, as a batch without labels. With class probabilities as targets, a
    /// row's loss is <c>−Σ_c w_c·y_c·log softmax(x)_c</c> and the task's loss is the plain mean over the rows present
    /// (a row with a NaN is missing), not divided by the weights, as in PyTorch. Checked at compile time (MTL036).
    /// </remarks>
    public double[]? ClassWeights { get; set; }

    /// <summary>
    /// Optional, in hard parameter sharing: the trunk block whose output the head reads, written
    /// <c>Reads = nameof(Stage1)</c> (an auxiliary task on an early stage). Default: the last trunk block.
    /// </summary>
    public string? Reads { get; set; }
}

/// <summary>
/// Makes a trunk block or task head residual: its output is its layers' output plus its input,
/// <c>y = layers(x) + x</c>, as in a ResNet block. Where the layers change the shape, the input goes through a
/// projection first, inferred and checked at compile time: a 1×1 convolution with the stride that matches the
/// layers' downsampling and batch normalisation for images (<c>[C, H, W]</c>, torchvision's <c>downsample</c>) and
/// sequences (<c>[C, L]</c>), a linear layer for vectors (state-dict names <c>{block}.shortcut.…</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ResidualAttribute : Attribute
{
    /// <summary>Applies a ReLU to the sum, as the original ResNet block does (<c>relu(layers(x) + x)</c>). Default false.</summary>
    public bool ReLUAfterSum { get; set; }
}
