using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// Layer constructors that generated models call where TorchSharp's own overloads are ambiguous for constant
/// arguments (a constant 0 converts to both <c>long</c> and the <c>Padding</c> enum).
/// </summary>
public static class Layers
{
    /// <summary>A 1-D convolution with zero padding.</summary>
    public static Conv1d Conv1d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        nn.Conv1d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, dilation: dilation, bias: bias);

    /// <summary>A 2-D convolution with a square kernel and zero padding.</summary>
    public static Conv2d Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, long dilation, bool bias) =>
        nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, dilation: dilation, bias: bias);
}
