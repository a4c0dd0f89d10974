using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// A 1-D or 2-D convolution, or a 2-D transposed convolution, with the parameters, state-dict names (<c>weight</c>,
/// <c>bias</c>), initialisation and results of TorchSharp's <c>Conv1d</c>/<c>Conv2d</c>/<c>ConvTranspose2d</c>, which on
/// the CPU computes with channel counts that libtorch 2.10's oneDNN kernels handle correctly: zero channels are
/// appended to the operands and cut off the result.
/// </summary>
/// <remarks>
/// <para>
/// oneDNN 3.7.1 (libtorch 2.10) computes wrong numbers on some CPUs (measured on an AMD EPYC of the Zen 5 generation)
/// whenever a channel count is padded in its blocked layouts (docs/known-issues): a convolution's forward pass with
/// more than 16 input channels that are not a multiple of 16; its input gradient when the output channels are not a
/// multiple of 16, and, at strides above 1, when the input channels are an odd number of 16-blocks above one (33, 48,
/// 65…); a transposed convolution's forward pass for most channel counts. Every one of those measured wrong was right
/// with both channel counts a multiple of <see cref="ChannelBlock"/> (32): the kernels then have no padded lane and an
/// even number of blocks.
/// </para>
/// <para>
/// The appended channels carry zero weights, zero biases and zero inputs, so the declared channels' outputs and every
/// gradient are those of the plain convolution (the appended channels' gradients are exactly zero and cut off). The
/// cost is the padding of the operands and the extra lanes (measured in docs/known-issues). Padding is applied only
/// where a measured fault needs it (<see cref="PaddedChannels"/>): up to 16 input channels, oneDNN reads the input
/// unblocked and only the output channels of an input gradient are padded, so a network's first layer and inference
/// of such a layer take the plain path; so do float64 and non-CPU tensors.
/// </para>
/// </remarks>
public sealed class BlockAlignedConv : nn.Module<Tensor, Tensor>
{
    /// <summary>The channel multiple the CPU path computes with: two of oneDNN's AVX-512 blocks, a multiple of AVX2's.</summary>
    public const int ChannelBlock = 32;

    // Up to this many input channels, oneDNN's forward convolution reads the input unblocked (measured right at every
    // count from 1 to 16): a first layer of 1 or 3 channels is not padded to 32.
    private const int UnblockedInputChannels = 16;

    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long[] _stride;
    private readonly long[] _padding;
    private readonly long[] _outputPadding;
    private readonly long[] _dilation;

    private BlockAlignedConv(string name, int dimensions, bool transposed, long inChannels, long outChannels, long[] kernelSize, long[] stride,
        long[] padding, long[] outputPadding, long[] dilation, bool hasBias)
        : base(name)
    {
        foreach (var (values, what) in new[] { (kernelSize, "kernel size"), (stride, "stride"), (padding, "padding"), (outputPadding, "output padding"), (dilation, "dilation") })
            if (values.Length != dimensions) throw new ArgumentException($"A {dimensions}-D convolution takes one {what} per axis ({dimensions}); got {values.Length}.", what);
        foreach (var (value, what) in new[] { (inChannels, "in-channel count"), (outChannels, "out-channel count") }
                     .Concat(kernelSize.Select(k => (k, "kernel size"))).Concat(stride.Select(v => (v, "stride"))).Concat(dilation.Select(v => (v, "dilation"))))
            if (value <= 0) throw new ArgumentOutOfRangeException(what, value, $"The {what} of a convolution must be positive.");
        if (padding.Any(p => p < 0)) throw new ArgumentOutOfRangeException(nameof(padding), string.Join(", ", padding), "The padding of a convolution cannot be negative.");
        for (int d = 0; d < dimensions; d++)
            if (outputPadding[d] < 0 || outputPadding[d] >= Math.Max(stride[d], dilation[d]))
                throw new ArgumentOutOfRangeException(nameof(outputPadding), string.Join(", ", outputPadding),
                    "The output padding of a transposed convolution must be smaller than its stride or its dilation (and 0 for a convolution).");

        Dimensions = dimensions;
        Transposed = transposed;
        InChannels = inChannels;
        OutChannels = outChannels;
        _stride = [.. stride];
        _padding = [.. padding];
        _outputPadding = [.. outputPadding];
        _dilation = [.. dilation];

        // PyTorch's reset_parameters, in its order, so a seed gives the same weights as nn.Conv1d/Conv2d/ConvTranspose2d.
        long[] shape = [transposed ? inChannels : outChannels, transposed ? outChannels : inChannels, .. kernelSize];
        weight = new Parameter(torch.empty(shape));
        nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (hasBias)
        {
            var (fanIn, _) = nn.init.CalculateFanInAndFanOut(weight);
            double bound = 1 / Math.Sqrt(fanIn);
            bias = new Parameter(torch.empty(outChannels));
            nn.init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
    }

    /// <summary>A 1-D convolution over <c>[batch, channels, length]</c>.</summary>
    public static BlockAlignedConv Conv1d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, bool bias = true) =>
        new("Conv1d", 1, false, inChannels, outChannels, [kernelSize], [stride], [padding], [0], [dilation], bias);

    /// <summary>A 2-D convolution with a square kernel over <c>[batch, channels, height, width]</c>.</summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, bool bias = true) =>
        new("Conv2d", 2, false, inChannels, outChannels, [kernelSize, kernelSize], [stride, stride], [padding, padding], [0, 0], [dilation, dilation], bias);

    /// <summary>
    /// A 2-D convolution over <c>[batch, channels, height, width]</c> with a kernel, stride, padding and dilation per
    /// axis (height, width), as <c>nn.Conv2d</c> takes them as pairs.
    /// </summary>
    public static BlockAlignedConv Conv2d(long inChannels, long outChannels, (long Height, long Width) kernelSize, (long Height, long Width) stride,
        (long Height, long Width) padding, (long Height, long Width) dilation, bool bias = true) =>
        new("Conv2d", 2, false, inChannels, outChannels, [kernelSize.Height, kernelSize.Width], [stride.Height, stride.Width],
            [padding.Height, padding.Width], [0, 0], [dilation.Height, dilation.Width], bias);

    /// <summary>
    /// A 2-D transposed convolution over <c>[batch, channels, height, width]</c> with every size per axis (height, width),
    /// as <c>nn.ConvTranspose2d</c> takes them: its weight is <c>[in, out, kH, kW]</c>.
    /// </summary>
    public static BlockAlignedConv ConvTranspose2d(long inChannels, long outChannels, (long Height, long Width) kernelSize, (long Height, long Width) stride,
        (long Height, long Width) padding, (long Height, long Width) outputPadding, (long Height, long Width) dilation, bool bias = true) =>
        new("ConvTranspose2d", 2, true, inChannels, outChannels, [kernelSize.Height, kernelSize.Width], [stride.Height, stride.Width],
            [padding.Height, padding.Width], [outputPadding.Height, outputPadding.Width], [dilation.Height, dilation.Width], bias);

    /// <summary>1 or 2.</summary>
    public int Dimensions { get; }

    /// <summary>Whether this is a transposed convolution (weight <c>[in, out, kernel…]</c>).</summary>
    public bool Transposed { get; }

    /// <summary>The declared input channels.</summary>
    public long InChannels { get; }

    /// <summary>The declared output channels.</summary>
    public long OutChannels { get; }

    /// <summary>The weight, <c>[out, in, kernel…]</c> (transposed: <c>[in, out, kernel…]</c>), as in PyTorch.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias, <c>[out]</c>, or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>
    /// The input and output channel counts a convolution of <paramref name="input"/> computes with: the declared ones
    /// for float64 and non-CPU tensors; otherwise more than 16 input channels rounded up to a multiple of
    /// <see cref="ChannelBlock"/> (and then the output channels too), and the output channels rounded up where the input
    /// gradient will be computed; a transposed convolution rounds its input channels up, and its output channels where
    /// there are more than 16.
    /// </summary>
    public (long In, long Out) PaddedChannels(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.device_type != DeviceType.CPU || input.dtype == ScalarType.Float64) return (InChannels, OutChannels);
        // A transposed convolution computes as a convolution's input gradient, whose output channels (its input) always
        // need padding, and writes up to 16 output channels (a convolution's input) unblocked.
        if (Transposed) return (RoundUp(InChannels), OutChannels <= UnblockedInputChannels ? OutChannels : RoundUp(OutChannels));
        // A convolution reads up to 16 input channels unblocked, forward and backward: only the output channels of its
        // input gradient need padding.
        long inChannels = InChannels <= UnblockedInputChannels ? InChannels : RoundUp(InChannels);
        bool inputGradient = input.requires_grad && torch.is_grad_enabled();
        return (inChannels, inputGradient || inChannels != InChannels ? RoundUp(OutChannels) : OutChannels);
    }

    /// <summary>Whether a convolution of <paramref name="input"/> computes with appended channels (<see cref="PaddedChannels"/>).</summary>
    public bool PadsChannels(Tensor input) => PaddedChannels(input) != (InChannels, OutChannels);

    private static long RoundUp(long channels) => (channels + ChannelBlock - 1) / ChannelBlock * ChannelBlock;

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Forward(input, weight, bias);

    // The convolution of input with the given weight and bias, with the channels PaddedChannels gives (the backend
    // check runs it on tensors of its own).
    internal Tensor Forward(Tensor input, Tensor w, Tensor? b)
    {
        var (inChannels, outChannels) = PaddedChannels(input);
        if (inChannels == InChannels && outChannels == OutChannels) return Convolve(input, w, b);
        using var scope = torch.NewDisposeScope();
        long extraIn = inChannels - InChannels, extraOut = outChannels - OutChannels;
        // F.pad lists (before, after) pairs from the last dimension back: the channel dimension is the second.
        var inputPadding = new long[2 * (Dimensions + 1)];
        inputPadding[^1] = extraIn;
        var weightPadding = new long[2 * (Dimensions + 2)];
        weightPadding[^1] = Transposed ? extraIn : extraOut;
        weightPadding[^3] = Transposed ? extraOut : extraIn;
        Tensor paddedInput = extraIn == 0 ? input : nn.functional.pad(input, inputPadding);
        Tensor paddedWeight = nn.functional.pad(w, weightPadding);
        Tensor? paddedBias = b is null ? null : nn.functional.pad(b, [0, extraOut]);
        Tensor output = Convolve(paddedInput, paddedWeight, paddedBias);
        return (extraOut == 0 ? output : output.narrow(1, 0, OutChannels)).MoveToOuterDisposeScope();
    }

    /// <summary>What the convolution is, for a report: <c>Conv2d 10→20 k5×5 s1×1</c>.</summary>
    public string Describe() =>
        $"{GetName()} {InChannels}→{OutChannels} k{string.Join("×", weight.shape.Skip(2))} s{string.Join("×", _stride)}" +
        (_padding.Any(p => p != 0) ? $" p{string.Join("×", _padding)}" : "") + (_dilation.Any(d => d != 1) ? $" d{string.Join("×", _dilation)}" : "") +
        (_outputPadding.Any(p => p != 0) ? $" op{string.Join("×", _outputPadding)}" : "");

    // TorchSharp's convolution as it is, with no padded channels: what the backend check compares MtlDsl's path with.
    internal Tensor Plain(Tensor input, Tensor w, Tensor? b) => Convolve(input, w, b);

    private Tensor Convolve(Tensor input, Tensor w, Tensor? b) => (Transposed, Dimensions) switch
    {
        (true, _) => nn.functional.conv_transpose2d(input, w, b, _stride, _padding, _outputPadding, dilation: _dilation),
        (false, 1) => nn.functional.conv1d(input, w, b, _stride[0], _padding[0], _dilation[0]),
        _ => nn.functional.conv2d(input, w, b, _stride, _padding, _dilation),
    };
}
