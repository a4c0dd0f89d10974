namespace MtlDsl;

/// <summary>
/// The layer constructors that generated models call where TorchSharp's own do not fit: its convolution overloads
/// are ambiguous for constant arguments (a constant 0 converts to both <c>long</c> and the <c>Padding</c> enum),
/// every declared convolution must avoid libtorch 2.10's oneDNN faults
/// (<see cref="BlockAlignedConv"/>), batch normalisation and leaky ReLU must not hand native code a Scalar
/// that the finalizer may free (docs/known-issues), group normalisation must start from PyTorch's parameters, and the
/// feature interactions are MtlDsl's own (<see cref="FactorizationMachineLayer"/>, <see cref="InnerProductLayer"/>,
/// <see cref="CrossNetwork"/>).
/// </summary>
public static partial class Layers
{
    /// <summary>A 1-D convolution with zero padding.</summary>
    public static BlockAlignedConv Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv1d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);

    /// <summary>Batch normalisation over <c>[N, C]</c> or <c>[N, C, L]</c> (<see cref="ScalarSafeBatchNorm"/>).</summary>
    public static ScalarSafeBatchNorm BatchNorm1d(long features) => ScalarSafeBatchNorm.BatchNorm1d(features);

    /// <summary>Batch normalisation over <c>[N, C, H, W]</c> (<see cref="ScalarSafeBatchNorm"/>).</summary>
    public static ScalarSafeBatchNorm BatchNorm2d(long features) => ScalarSafeBatchNorm.BatchNorm2d(features);

    /// <summary>
    /// Group normalisation (TorchSharp's <c>GroupNorm</c>, state-dict names <c>weight</c> and <c>bias</c>), with its weight
    /// set to ones and its bias to zeros as PyTorch's <c>reset_parameters</c> does: TorchSharp 0.107 leaves both as the
    /// uninitialised memory they were allocated in (values like 1e34, 1e-43 and NaN), which would train from garbage.
    /// </summary>
    public static TorchSharp.Modules.GroupNorm GroupNorm(long groups, long channels)
    {
        TorchSharp.Modules.GroupNorm layer = TorchSharp.torch.nn.GroupNorm(groups, channels);
        TorchSharp.torch.nn.init.ones_(layer.weight!);
        TorchSharp.torch.nn.init.zeros_(layer.bias!);
        return layer;
    }

    /// <summary>A leaky ReLU (<see cref="ScalarSafeLeakyReLU"/>).</summary>
    public static ScalarSafeLeakyReLU LeakyReLU(double negativeSlope) => new(negativeSlope);

    /// <summary>A 2-D convolution with a kernel, stride, padding and dilation per axis (height, width) and zero padding.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, (long, long) kernelSize, (long, long) stride, (long, long) padding, (long, long) dilation, bool bias) =>
        BlockAlignedConv.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);

    /// <summary>
    /// A 2-D transposed convolution (TorchSharp's <c>ConvTranspose2d</c> in state-dict names, <c>weight</c>
    /// <c>[in, out, kH, kW]</c> and <c>bias</c>, as PyTorch's; <see cref="BlockAlignedConv"/>), with every size per
    /// axis (height, width).
    /// </summary>
    public static BlockAlignedConv ConvTranspose2d(long inChannels, long outChannels, (long, long) kernelSize, (long, long) stride,
        (long, long) padding, (long, long) outputPadding, (long, long) dilation, bool bias) =>
        BlockAlignedConv.ConvTranspose2d(inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, bias);

    /// <summary>Upsampling of <c>[N, C, H, W]</c> by an integer factor on both axes.</summary>
    public static TorchSharp.Modules.Upsample Upsample(long scaleFactor, UpsampleMode mode, bool alignCorners) =>
        TorchSharp.torch.nn.Upsample(scale_factor: [scaleFactor, scaleFactor], mode: TorchMode(mode), align_corners: mode == UpsampleMode.Bilinear ? alignCorners : null);

    /// <summary>Upsampling of <c>[N, C, H, W]</c> to <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static TorchSharp.Modules.Upsample Upsample(long height, long width, UpsampleMode mode, bool alignCorners) =>
        TorchSharp.torch.nn.Upsample(size: [height, width], mode: TorchMode(mode), align_corners: mode == UpsampleMode.Bilinear ? alignCorners : null);

    private static TorchSharp.torch.UpsampleMode TorchMode(UpsampleMode mode) => mode switch
    {
        UpsampleMode.Nearest => TorchSharp.torch.UpsampleMode.Nearest,
        UpsampleMode.Bilinear => TorchSharp.torch.UpsampleMode.Bilinear,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Upsampling is nearest or bilinear."),
    };

    /// <summary>A 2-D convolution with a square kernel and zero padding.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);

    /// <summary>An embedding table (TorchSharp's <c>Embedding</c>, PyTorch's: state-dict name <c>weight</c>).</summary>
    public static TorchSharp.Modules.Embedding Embedding(long vocabulary, long dimension, long? paddingIndex) =>
        TorchSharp.torch.nn.Embedding(vocabulary, dimension, padding_idx: paddingIndex);

    /// <summary>A pooled embedding bag (<see cref="PooledEmbedding"/>).</summary>
    public static PooledEmbedding EmbeddingBag(long vocabulary, long dimension, BagMode mode, long? paddingIndex) =>
        new(vocabulary, dimension, mode, paddingIndex);

    /// <summary>A factorization machine's pairwise interactions (<see cref="FactorizationMachineLayer"/>).</summary>
    public static FactorizationMachineLayer FactorizationMachine(bool reduceSum) => new(reduceSum);

    /// <summary>The inner products of every pair of fields (<see cref="InnerProductLayer"/>).</summary>
    public static InnerProductLayer InnerProduct() => new();

    /// <summary>A cross network of <paramref name="layers"/> layers on <paramref name="features"/> features (<see cref="CrossNetwork"/>).</summary>
    public static CrossNetwork Cross(long features, int layers, bool matrix) => new(features, layers, matrix);

    /// <summary>A transfer point of <paramref name="features"/> features that reads task <paramref name="source"/>'s, or none (<see cref="TransferUnit"/>).</summary>
    public static TransferUnit Transfer(long features, string? source) => new(features, source);
}
