namespace MtlDsl;

// Layers are attributes on a trunk block or task head, applied in source order. Sizes that follow from the
// input shape (in-features, in-channels, normalised sizes) are inferred at compile time; where one is given
// explicitly, the generator checks it against the inference. Optional named arguments that are not given
// take PyTorch's defaults: the generator reads which were written, so the property values below only
// document those defaults.

/// <summary>Base of every layer attribute.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
}

/// <summary>A fully connected layer <c>y = x Wᵀ + b</c> on a vector input <c>[F]</c>; output <c>[outFeatures]</c>.</summary>
public sealed class LinearAttribute(int outFeatures) : LayerAttribute
{
    /// <summary>The output size.</summary>
    public int OutFeatures { get; } = outFeatures;
    /// <summary>Optional: the input size, checked against the inferred one.</summary>
    public int InFeatures { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>A 1-D convolution on <c>[C, L]</c>; output <c>[outChannels, L']</c>.</summary>
public sealed class Conv1dAttribute(int outChannels, int kernelSize) : LayerAttribute
{
    /// <summary>The number of output channels.</summary>
    public int OutChannels { get; } = outChannels;
    /// <summary>The kernel's length.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>The stride. Default 1.</summary>
    public int Stride { get; set; } = 1;
    /// <summary>Zero padding on both sides. Default 0.</summary>
    public int Padding { get; set; }
    /// <summary>The spacing between kernel elements. Default 1.</summary>
    public int Dilation { get; set; } = 1;
    /// <summary>Optional: the number of input channels, checked against the inferred one.</summary>
    public int InChannels { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// Base of the 2-D layers with a window (convolutions and pooling): a square window or <c>kernelHeight × kernelWidth</c>;
/// <see cref="Stride"/> and <see cref="Padding"/> apply to both axes, their <c>…Height</c>/<c>…Width</c> forms to one
/// (where both are written, the one axis's value wins).
/// </summary>
public abstract class Window2dAttribute : LayerAttribute
{
    /// <summary>A <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> window.</summary>
    protected Window2dAttribute(int kernelHeight, int kernelWidth)
    {
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
    }

    /// <summary>The window's height.</summary>
    public int KernelHeight { get; }
    /// <summary>The window's width.</summary>
    public int KernelWidth { get; }
    /// <summary>The stride on both axes. Default 1 for convolutions, the window for pooling.</summary>
    public int Stride { get; set; }
    /// <summary>The stride down the height, where it differs.</summary>
    public int StrideHeight { get; set; }
    /// <summary>The stride along the width, where it differs.</summary>
    public int StrideWidth { get; set; }
    /// <summary>Zero padding on every side (for pooling at most half the window; for a transposed convolution taken off the output). Default 0.</summary>
    public int Padding { get; set; }
    /// <summary>The padding above and below, where it differs.</summary>
    public int PaddingHeight { get; set; }
    /// <summary>The padding left and right, where it differs.</summary>
    public int PaddingWidth { get; set; }
}

/// <summary>Base of the 2-D convolutions: output channels, dilation, an optional checked in-channel count, bias.</summary>
public abstract class Convolution2dAttribute : Window2dAttribute
{
    /// <summary>A convolution to <paramref name="outChannels"/> channels with a <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> kernel.</summary>
    protected Convolution2dAttribute(int outChannels, int kernelHeight, int kernelWidth) : base(kernelHeight, kernelWidth) => OutChannels = outChannels;

    /// <summary>The number of output channels.</summary>
    public int OutChannels { get; }
    /// <summary>The spacing between kernel elements on both axes. Default 1.</summary>
    public int Dilation { get; set; } = 1;
    /// <summary>The spacing down the height, where it differs.</summary>
    public int DilationHeight { get; set; }
    /// <summary>The spacing along the width, where it differs.</summary>
    public int DilationWidth { get; set; }
    /// <summary>Optional: the number of input channels, checked against the inferred one.</summary>
    public int InChannels { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// A 2-D convolution on <c>[C, H, W]</c>; output <c>[outChannels, H', W']</c>. The kernel is square
/// (<c>Conv2d(64, 3)</c>) or <c>kernelHeight × kernelWidth</c> (<c>Conv2d(64, 3, 1)</c>).
/// </summary>
public sealed class Conv2dAttribute : Convolution2dAttribute
{
    /// <summary>A convolution with a square kernel.</summary>
    public Conv2dAttribute(int outChannels, int kernelSize) : base(outChannels, kernelSize, kernelSize) { }

    /// <summary>A convolution with a <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> kernel.</summary>
    public Conv2dAttribute(int outChannels, int kernelHeight, int kernelWidth) : base(outChannels, kernelHeight, kernelWidth) { }
}

/// <summary>
/// A 2-D transposed convolution on <c>[C, H, W]</c> (the upsampling layer of dense-prediction heads); output
/// <c>[outChannels, H', W']</c> with <c>H' = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1</c>.
/// </summary>
public sealed class ConvTranspose2dAttribute : Convolution2dAttribute
{
    /// <summary>A transposed convolution with a square kernel.</summary>
    public ConvTranspose2dAttribute(int outChannels, int kernelSize) : base(outChannels, kernelSize, kernelSize) { }

    /// <summary>A transposed convolution with a <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> kernel.</summary>
    public ConvTranspose2dAttribute(int outChannels, int kernelHeight, int kernelWidth) : base(outChannels, kernelHeight, kernelWidth) { }

    /// <summary>Extra size added to one side of the output, smaller than the stride or the dilation. Default 0.</summary>
    public int OutputPadding { get; set; }
    /// <summary>The output padding of the height, where it differs.</summary>
    public int OutputPaddingHeight { get; set; }
    /// <summary>The output padding of the width, where it differs.</summary>
    public int OutputPaddingWidth { get; set; }
}

/// <summary>How <see cref="UpsampleAttribute"/> fills the new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Each pixel repeated (PyTorch's <c>'nearest'</c>).</summary>
    Nearest,
    /// <summary>Bilinear interpolation (PyTorch's <c>'bilinear'</c>).</summary>
    Bilinear,
}

/// <summary>
/// Upsampling of <c>[C, H, W]</c>, no parameters: by an integer factor (<c>Upsample(2)</c>: <c>[C, 2H, 2W]</c>) or to a
/// size (<c>Upsample(28, 28)</c>: <c>[C, 28, 28]</c>).
/// </summary>
public sealed class UpsampleAttribute : LayerAttribute
{
    /// <summary>Upsamples both axes by <paramref name="scaleFactor"/>.</summary>
    public UpsampleAttribute(int scaleFactor) => ScaleFactor = scaleFactor;

    /// <summary>Upsamples to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public UpsampleAttribute(int height, int width)
    {
        Height = height;
        Width = width;
    }

    /// <summary>The factor, or 0 where a size is given.</summary>
    public int ScaleFactor { get; }
    /// <summary>The output height, or 0 where a factor is given.</summary>
    public int Height { get; }
    /// <summary>The output width, or 0 where a factor is given.</summary>
    public int Width { get; }
    /// <summary>The interpolation. Default <see cref="UpsampleMode.Nearest"/>.</summary>
    public UpsampleMode Mode { get; set; }
    /// <summary>Bilinear only: align the corner pixels of input and output (PyTorch's <c>align_corners</c>). Default false.</summary>
    public bool AlignCorners { get; set; }
}

/// <summary>2-D max pooling on <c>[C, H, W]</c> with a square window (<c>MaxPool2d(2)</c>) or a <c>kernelHeight × kernelWidth</c> one.</summary>
public sealed class MaxPool2dAttribute : Window2dAttribute
{
    /// <summary>Pooling with a square window.</summary>
    public MaxPool2dAttribute(int kernelSize) : base(kernelSize, kernelSize) { }

    /// <summary>Pooling with a <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> window.</summary>
    public MaxPool2dAttribute(int kernelHeight, int kernelWidth) : base(kernelHeight, kernelWidth) { }
}

/// <summary>2-D average pooling on <c>[C, H, W]</c> with a square window (<c>AvgPool2d(2)</c>) or a <c>kernelHeight × kernelWidth</c> one.</summary>
public sealed class AvgPool2dAttribute : Window2dAttribute
{
    /// <summary>Pooling with a square window.</summary>
    public AvgPool2dAttribute(int kernelSize) : base(kernelSize, kernelSize) { }

    /// <summary>Pooling with a <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> window.</summary>
    public AvgPool2dAttribute(int kernelHeight, int kernelWidth) : base(kernelHeight, kernelWidth) { }
}

/// <summary>Adaptive 2-D average pooling of <c>[C, H, W]</c> to <c>[C, height, width]</c>.</summary>
public sealed class AdaptiveAvgPool2dAttribute : LayerAttribute
{
    /// <summary>Pools to a square <c>size × size</c>.</summary>
    public AdaptiveAvgPool2dAttribute(int size) : this(size, size) { }

    /// <summary>Pools to <c>height × width</c>.</summary>
    public AdaptiveAvgPool2dAttribute(int height, int width)
    {
        Height = height;
        Width = width;
    }

    /// <summary>The output height.</summary>
    public int Height { get; }
    /// <summary>The output width.</summary>
    public int Width { get; }
}

/// <summary>Flattens every dimension but the batch: <c>[C, H, W]</c> becomes <c>[C·H·W]</c>.</summary>
public sealed class FlattenAttribute : LayerAttribute
{
}

/// <summary>
/// The inverse of <see cref="FlattenAttribute"/> for one dimension: the first per-sample dimension split into
/// <c>unflattenedSize</c> (<c>[F·K]</c> becomes <c>[F, K]</c>, <c>[F·K, L]</c> becomes <c>[F, K, L]</c>), the sizes'
/// product checked against it at compile time. PyTorch's <c>nn.Unflatten(1, unflattenedSize)</c>. The way to make
/// fields <c>[F, K]</c> for <see cref="FactorizationMachineAttribute"/> and <see cref="InnerProductAttribute"/> from
/// vectors: <c>[Concat]</c> of F blocks of <c>[K]</c> each (embeddings of one id, pooled bags, projected features),
/// then <c>Unflatten(F, K)</c>.
/// </summary>
public sealed class UnflattenAttribute(params int[] unflattenedSize) : LayerAttribute
{
    /// <summary>The sizes the first dimension becomes; their product must equal it.</summary>
    public int[] UnflattenedSize { get; } = unflattenedSize;
}

/// <summary>Dropout: zeroes each element with probability <c>p</c> while training; the identity in eval mode.</summary>
public sealed class DropoutAttribute(double p = 0.5) : LayerAttribute
{
    /// <summary>The probability of zeroing an element, in [0, 1).</summary>
    public double P { get; } = p;
}

/// <summary>Batch normalisation over the features of <c>[F]</c> or the channels of <c>[C, L]</c>.</summary>
public sealed class BatchNorm1dAttribute : LayerAttribute
{
    /// <summary>Optional: the number of features, checked against the inferred one.</summary>
    public int NumFeatures { get; set; }
}

/// <summary>Batch normalisation over the channels of <c>[C, H, W]</c>.</summary>
public sealed class BatchNorm2dAttribute : LayerAttribute
{
    /// <summary>Optional: the number of channels, checked against the inferred one.</summary>
    public int NumFeatures { get; set; }
}

/// <summary>
/// Layer normalisation over the trailing dimensions. Without arguments it normalises the last dimension;
/// with a shape, that shape is checked against the input's trailing dimensions.
/// </summary>
public sealed class LayerNormAttribute(params int[] normalizedShape) : LayerAttribute
{
    /// <summary>The normalised trailing shape; empty means the last dimension.</summary>
    public int[] NormalizedShape { get; } = normalizedShape;
}

/// <summary>The rectified linear unit.</summary>
public sealed class ReLUAttribute : LayerAttribute
{
}

/// <summary>Leaky ReLU.</summary>
public sealed class LeakyReLUAttribute : LayerAttribute
{
    /// <summary>The slope for negative inputs. Default 0.01.</summary>
    public double NegativeSlope { get; set; } = 0.01;
}

/// <summary>The Gaussian error linear unit (exact form).</summary>
public sealed class GELUAttribute : LayerAttribute
{
}

/// <summary>The logistic sigmoid.</summary>
public sealed class SigmoidAttribute : LayerAttribute
{
}

/// <summary>The hyperbolic tangent.</summary>
public sealed class TanhAttribute : LayerAttribute
{
}

/// <summary>
/// Group normalisation on <c>[C, L]</c> or <c>[C, H, W]</c> (Wu and He, 2018): the channels split into <c>groups</c> groups, each
/// normalised over its channels and every position by its own mean and variance (the same in training and evaluation:
/// no running statistics), then a learned weight and bias per channel. <c>groups</c> must divide C; 1 normalises
/// every channel together (like LayerNorm over <c>[C, H, W]</c>), C each alone. PyTorch's <c>nn.GroupNorm</c>
/// (state-dict names <c>weight</c>, <c>bias</c>).
/// </summary>
public sealed class GroupNormAttribute(int groups) : LayerAttribute
{
    /// <summary>The number of groups the channels are split into.</summary>
    public int Groups { get; } = groups;
}

/// <summary>
/// Instance normalisation on <c>[C, H, W]</c>: each channel of each sample normalised over its own positions by its
/// own mean and variance (the same in training and evaluation), without learned parameters or running statistics —
/// PyTorch's <c>nn.InstanceNorm2d</c> with its defaults (<c>affine=False</c>, <c>track_running_stats=False</c>), the
/// normalisation of style transfer. A channel needs more than one position (PyTorch refuses a 1×1 input).
/// </summary>
public sealed class InstanceNorm2dAttribute : LayerAttribute
{
}

/// <summary>
/// A lookup table of <c>vocabulary</c> learned vectors of size <c>dimension</c>, the first layer of a block that reads
/// categorical ids (<see cref="InputKind.Ids"/>): ids <c>[d…]</c> (int64, each in <c>[0, vocabulary)</c>) become
/// <c>[d…, dimension]</c>; one id per sample (an input of shape <c>[]</c>) becomes <c>[dimension]</c>. PyTorch's
/// <c>nn.Embedding</c> (state-dict name <c>weight</c>, <c>[vocabulary, dimension]</c>, initialised N(0, 1)).
/// </summary>
public sealed class EmbeddingAttribute(int vocabulary, int dimension) : LayerAttribute
{
    /// <summary>The number of distinct ids.</summary>
    public int Vocabulary { get; } = vocabulary;
    /// <summary>The size of each id's vector.</summary>
    public int Dimension { get; } = dimension;
    /// <summary>
    /// Optional: an id in <c>[0, vocabulary)</c> that stands for "none" (padding): its vector starts at zero and never
    /// learns. Not written: no padding id.
    /// </summary>
    public int PaddingIndex { get; set; } = -1;
}

/// <summary>How a pooled embedding bag combines the vectors of one sample's ids.</summary>
public enum BagMode
{
    /// <summary>The mean of the vectors (over the ids that are not the padding id).</summary>
    Mean,

    /// <summary>The sum of the vectors.</summary>
    Sum,
}

/// <summary>
/// A pooled embedding for a multi-valued categorical feature: each sample's ids <c>[L]</c> (int64, each in
/// <c>[0, vocabulary)</c>) become the sum or mean of their vectors, <c>[dimension]</c>. Samples with fewer than L
/// values fill the rest with <see cref="PaddingIndex"/>, which the pooling leaves out (a sample of padding only gets
/// zeros). PyTorch's <c>nn.EmbeddingBag</c> on a 2-D input (state-dict name <c>weight</c>).
/// </summary>
public sealed class EmbeddingBagAttribute(int vocabulary, int dimension) : LayerAttribute
{
    /// <summary>The number of distinct ids.</summary>
    public int Vocabulary { get; } = vocabulary;
    /// <summary>The size of each id's vector and of the pooled output.</summary>
    public int Dimension { get; } = dimension;
    /// <summary>How the vectors are pooled. Default <see cref="BagMode.Mean"/>.</summary>
    public BagMode Mode { get; set; } = BagMode.Mean;
    /// <summary>Optional: the id in <c>[0, vocabulary)</c> that fills a sample's unused places; left out of the pooling and never learned.</summary>
    public int PaddingIndex { get; set; } = -1;
}

/// <summary>
/// A factorization machine's pairwise interactions (Rendle, ICDM 2010; the FM part of DeepFM): the embeddings of F
/// fields <c>[F, K]</c> become <c>[1]</c>, Σ_{f&lt;g} ⟨v_f, v_g⟩, computed in O(F·K) as
/// ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²). With <see cref="ReduceSum"/> false, the un-summed bi-interaction
/// ½ ((Σ_f v_f)² − Σ_f v_f²), <c>[K]</c>, of NFM (He and Chua, SIGIR 2017). No parameters. MtlDsl's own layer
/// (<see cref="FactorizationMachineLayer"/>); in PyTorch <c>mtldsl_torch.FactorizationMachine(reduce_sum)</c>, as
/// torch-rechub's <c>FM</c>.
/// </summary>
public sealed class FactorizationMachineAttribute : LayerAttribute
{
    /// <summary>Whether the interactions are summed over the embedding dimension into one number. Default true.</summary>
    public bool ReduceSum { get; set; } = true;
}

/// <summary>
/// The inner products of every pair of field embeddings (PNN's inner-product layer, Qu et al., ICDM 2016; the
/// interaction of DLRM): <c>[F, K]</c> becomes <c>[F(F−1)/2]</c>, ⟨v_f, v_g⟩ for every f &lt; g in row-major order
/// ((0, 1), (0, 2), …, (0, F−1), (1, 2), …: <c>torch.triu_indices(F, F, 1)</c>, DeepCTR's order; DLRM lists the same
/// pairs by their larger index, (1, 0), (2, 0), (2, 1), …). No parameters.
/// MtlDsl's own layer (<see cref="InnerProductLayer"/>); in PyTorch <c>mtldsl_torch.InnerProduct()</c>.
/// </summary>
public sealed class InnerProductAttribute : LayerAttribute
{
}

/// <summary>
/// A cross network of <c>layers</c> cross layers on a vector <c>[D]</c>, output <c>[D]</c>, each crossing its input
/// x_l with the network's input x_0. The vector form of DCN (Wang et al., ADKDD 2017), the default:
/// x_{l+1} = x_0 · (x_lᵀ w_l) + b_l + x_l, 2·D parameters a layer; with <see cref="Matrix"/>, the matrix form of DCN-V2
/// (Wang et al., WWW 2021): x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l, D² + D a layer. Parameters <c>weights.{l}</c>
/// (<c>[D]</c>, or <c>[D, D]</c> as <c>nn.Linear</c>'s weight) and <c>biases.{l}</c> (<c>[D]</c>); the weights start
/// Glorot-normal (the vector as a D×1 kernel) and the biases at zero, as DeepCTR's <c>CrossNet</c>. MtlDsl's own layer
/// (<see cref="CrossNetwork"/>); in PyTorch <c>mtldsl_torch.Cross(in_features, num_layers, matrix)</c>.
/// </summary>
public sealed class CrossAttribute(int layers) : LayerAttribute
{
    /// <summary>The number of cross layers, at least 1.</summary>
    public int Layers { get; } = layers;
    /// <summary>Whether each layer has a full matrix (DCN-V2) rather than a vector (DCN). Default false.</summary>
    public bool Matrix { get; set; }
}

/// <summary>
/// A transfer point in a task's tower (AITM, Xi et al., KDD 2021: information passed from one step of a conversion
/// funnel to the next), on a vector <c>[D]</c>, output <c>[D]</c>. <c>[Transfer]</c> marks the point a later task
/// reads and passes its input on. <c>[Transfer(nameof(Click))]</c> reads task Click's point as well (a task declared
/// before this one, whose head has a transfer point of the same size D): what passes, p = ReLU(W z + b) of Click's
/// point z, and this tower's own vector q are weighed by attention (softmax over the two of ⟨Q u, K u⟩ / √D, with
/// bias-free D×D maps Q, K, V) into Σ a_u · V u, which is also the point a task after this one may read. 4·D² + D
/// parameters (none without a source). At most one a head; only in task heads (MTL039). In PyTorch
/// <c>mtldsl_torch.Transfer(in_features, source)</c>; MtlDsl's module is <see cref="TransferUnit"/>.
/// </summary>
public sealed class TransferAttribute : LayerAttribute
{
    /// <summary>A point that later tasks read; it passes its input on.</summary>
    public TransferAttribute()
    {
    }

    /// <summary>A point that reads task <paramref name="from"/>'s point (use <c>nameof</c>).</summary>
    public TransferAttribute(string from) => From = from;

    /// <summary>The task whose transfer point this one reads, or null.</summary>
    public string? From { get; }
}

/// <summary>
/// Your own TorchSharp module as a layer (or, alone in a block, as the whole block): a class deriving from
/// <c>nn.Module&lt;Tensor, Tensor&gt;</c> with a public constructor that takes the arguments given
/// (constants: numbers, bools, strings, enums). The generator needs its output shape per sample to infer what comes
/// after it: write it with <see cref="OutputShape"/>, or give the type a static method
/// <c>public static int[] OutputShape(int[] input, …)</c> (the input's per-sample shape, then the constructor's
/// parameters) that returns it from sizes, arithmetic and <c>Math.Max</c>/<c>Math.Min</c>, which the generator
/// evaluates at compile time. The module's parameters are the block's, so they are shared in a trunk block and the
/// task's own in a head; their number is counted at run time (the summary shows "?"). Every forward pass checks the
/// module's actual output against the declared shape and names the module where they differ.
/// </summary>
public sealed class ModuleAttribute : LayerAttribute
{
    /// <summary>Declares the layer.</summary>
    /// <param name="type">Your module's class.</param>
    /// <param name="arguments">The constructor's arguments.</param>
    public ModuleAttribute(Type type, params object[] arguments)
    {
        Type = type;
        Arguments = arguments;
    }

    /// <summary>Your module's class.</summary>
    public Type Type { get; }

    /// <summary>The constructor's arguments.</summary>
    public object[] Arguments { get; }

    /// <summary>Optional: the module's output shape for one sample (without the batch dimension).</summary>
    public int[] OutputShape { get; set; } = [];
}
