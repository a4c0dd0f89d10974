namespace MtlDsl;

/// <summary>
/// The layer constructors that generated models call where TorchSharp's own do not fit: its convolution overloads
/// are ambiguous for constant arguments (a constant 0 converts to both <c>long</c> and the <c>Padding</c> enum),
/// every declared convolution must avoid libtorch 2.10's NaN in oneDNN's backward pass
/// (<see cref="BlockAlignedConv"/>), and batch normalisation and leaky ReLU must not hand native code a Scalar
/// that the finalizer may free (docs/known-issues).
/// </summary>
public static class Layers
{
    /// <summary>A 1-D convolution with zero padding.</summary>
    public static BlockAlignedConv Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv1d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);

    /// <summary>Batch normalisation over <c>[N, C]</c> or <c>[N, C, L]</c> (<see cref="ScalarSafeBatchNorm"/>).</summary>
    public static ScalarSafeBatchNorm BatchNorm1d(long features) => ScalarSafeBatchNorm.BatchNorm1d(features);

    /// <summary>Batch normalisation over <c>[N, C, H, W]</c> (<see cref="ScalarSafeBatchNorm"/>).</summary>
    public static ScalarSafeBatchNorm BatchNorm2d(long features) => ScalarSafeBatchNorm.BatchNorm2d(features);

    /// <summary>A leaky ReLU (<see cref="ScalarSafeLeakyReLU"/>).</summary>
    public static ScalarSafeLeakyReLU LeakyReLU(double negativeSlope) => new(negativeSlope);

    /// <summary>A 2-D convolution with a square kernel and zero padding.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);
}
