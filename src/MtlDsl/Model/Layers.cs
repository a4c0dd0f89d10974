namespace MtlDsl;

/// <summary>
/// The layer constructors that generated models call for convolutions: TorchSharp's own overloads are ambiguous
/// for constant arguments (a constant 0 converts to both <c>long</c> and the <c>Padding</c> enum), and every
/// declared convolution must avoid libtorch 2.10's NaN in oneDNN's backward pass (<see cref="BlockAlignedConv"/>).
/// </summary>
public static class Layers
{
    /// <summary>A 1-D convolution with zero padding.</summary>
    public static BlockAlignedConv Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv1d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);

    /// <summary>A 2-D convolution with a square kernel and zero padding.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        BlockAlignedConv.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation, bias);
}
