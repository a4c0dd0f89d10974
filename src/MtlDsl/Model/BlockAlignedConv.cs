using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// A 1-D or 2-D convolution with the parameters, state-dict names (<c>weight</c>, <c>bias</c>), initialisation
/// and results of TorchSharp's <c>Conv1d</c>/<c>Conv2d</c>, which on the CPU computes with a number of output
/// channels that is a multiple of <see cref="ChannelBlock"/> and keeps the declared ones.
/// </summary>
/// <remarks>
/// libtorch 2.10's oneDNN (3.7.1) convolution <c>backward_data</c> kernels pad the output channels to their
/// register block (16 with AVX-512, 8 with AVX2) and, on some machines, sometimes return whole channels of NaN
/// in the input gradient when the channel count is not a multiple of that block (docs/known-issues.md). The
/// extra output channels have zero weights and biases, so the declared channels' outputs and every gradient are
/// those of the plain convolution; the kernel computes padded lanes anyway, so the cost is the padding of the
/// weight and the copy of the output (measured in docs/known-issues.md). Only a pass that will compute the
/// input gradient is padded: float64 and non-CPU tensors, inputs that need no gradient and inference take the
/// plain path.
/// </remarks>
public sealed class BlockAlignedConv : nn.Module<Tensor, Tensor>
{
    /// <summary>The channel multiple the CPU path computes with: oneDNN's AVX-512 block, a multiple of AVX2's.</summary>
    public const int ChannelBlock = 16;

    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long[] _stride;
    private readonly long[] _padding;
    private readonly long[] _dilation;
    private readonly long _outChannels;
    private readonly long[] _weightPadding;

    private BlockAlignedConv(string name, int dimensions, long inChannels, long outChannels, long[] kernelSize, long[] stride, long[] padding, long[] dilation, bool hasBias)
        : base(name)
    {
        foreach (var (values, what) in new[] { (kernelSize, "kernel size"), (stride, "stride"), (padding, "padding"), (dilation, "dilation") })
            if (values.Length != dimensions) throw new ArgumentException($"A {dimensions}-D convolution takes one {what} per axis ({dimensions}); got {values.Length}.", what);
        foreach (var (value, what) in new[] { (inChannels, "in-channel count"), (outChannels, "out-channel count") }
                     .Concat(kernelSize.Select(k => (k, "kernel size"))).Concat(stride.Select(v => (v, "stride"))).Concat(dilation.Select(v => (v, "dilation"))))
            if (value <= 0) throw new ArgumentOutOfRangeException(what, value, $"The {what} of a convolution must be positive.");
        if (padding.Any(p => p < 0)) throw new ArgumentOutOfRangeException(nameof(padding), string.Join(", ", padding), "The padding of a convolution cannot be negative.");

        _outChannels = outChannels;
        _stride = [.. stride];
        _padding = [.. padding];
        _dilation = [.. dilation];
        // F.pad lists (before, after) pairs from the last dimension back: only the first (output-channel) dimension grows.
        _weightPadding = new long[2 * (dimensions + 2)];
        _weightPadding[^1] = (ChannelBlock - outChannels % ChannelBlock) % ChannelBlock;

        // PyTorch's reset_parameters, in its order, so a seed gives the same weights as nn.Conv1d/nn.Conv2d.
        var shape = new long[dimensions + 2];
        shape[0] = outChannels;
        shape[1] = inChannels;
        for (int d = 0; d < dimensions; d++) shape[d + 2] = kernelSize[d];
        weight = new Parameter(torch.empty(shape));
        nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (hasBias)
        {
            double bound = 1 / Math.Sqrt(inChannels * (double)kernelSize.Aggregate(1L, (a, b) => a * b));
            bias = new Parameter(torch.empty(outChannels));
            nn.init.uniform_(bias, -bound, bound);
        }
        Dimensions = dimensions;
        RegisterComponents();
    }

    /// <summary>A 1-D convolution over <c>[batch, channels, length]</c>.</summary>
    public static BlockAlignedConv Conv1d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, bool bias = true) =>
        new("Conv1d", 1, inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], bias);

    /// <summary>A 2-D convolution with a square kernel over <c>[batch, channels, height, width]</c>.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, bool bias = true) =>
        new("Conv2d", 2, inChannels, outChannels, [kernelSize, kernelSize], [stride, stride], [padding, padding], [dilation, dilation], bias);

    /// <summary>
    /// A 2-D convolution over <c>[batch, channels, height, width]</c> with a kernel, stride, padding and dilation per
    /// axis (height, width), as <c>nn.Conv2d</c> takes them as pairs.
    /// </summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, (long Height, long Width) kernelSize, (long Height, long Width) stride,
        (long Height, long Width) padding, (long Height, long Width) dilation, bool bias = true) =>
        new("Conv2d", 2, inChannels, outChannels, [kernelSize.Height, kernelSize.Width], [stride.Height, stride.Width],
            [padding.Height, padding.Width], [dilation.Height, dilation.Width], bias);

    /// <summary>1 or 2.</summary>
    public int Dimensions { get; }

    /// <summary>The weight, <c>[out, in, kernel…]</c>, as in PyTorch.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias, <c>[out]</c>, or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>
    /// Whether a convolution of <paramref name="input"/> computes with padded output channels: only where the faulty
    /// kernel would run, the input gradient of a CPU float convolution. A network's first layer (its input needs no
    /// gradient) and inference take the plain path.
    /// </summary>
    public bool PadsChannels(Tensor input) =>
        _weightPadding[^1] != 0 && input.requires_grad && torch.is_grad_enabled()
        && input.device_type == DeviceType.CPU && input.dtype != ScalarType.Float64;

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (!PadsChannels(input)) return Convolve(input, weight, bias);
        using var scope = torch.NewDisposeScope();
        Tensor paddedWeight = nn.functional.pad(weight, _weightPadding);
        Tensor? paddedBias = bias is null ? null : nn.functional.pad(bias, [0, _weightPadding[^1]]);
        return Convolve(input, paddedWeight, paddedBias).narrow(1, 0, _outChannels).MoveToOuterDisposeScope();
    }

    private Tensor Convolve(Tensor input, Tensor w, Tensor? b) => Dimensions == 1
        ? nn.functional.conv1d(input, w, b, _stride[0], _padding[0], _dilation[0])
        : nn.functional.conv2d(input, w, b, _stride, _padding, _dilation);
}
