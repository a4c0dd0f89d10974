using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// TorchSharp's BatchNorm1d/BatchNorm2d (same parameters, buffers, state-dict names and results), whose training
/// pass counts batches with a Scalar kept alive through the native call: TorchSharp's own adds 1 to
/// <c>num_batches_tracked</c> with an implicit Scalar that a collection on another thread can free while in use.
/// </summary>
public sealed class ScalarSafeBatchNorm : TorchSharp.Modules.BatchNorm
{
    private readonly int _dimensions;

    private ScalarSafeBatchNorm(int dimensions, long features)
        : base(features, eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true, device: null, dtype: null, name: $"BatchNorm{dimensions}d") =>
        _dimensions = dimensions;

    /// <summary>Batch normalisation over <c>[N, C]</c> or <c>[N, C, L]</c>, as <c>nn.BatchNorm1d(features)</c>.</summary>
    public static ScalarSafeBatchNorm BatchNorm1d(long features) => new(1, features);

    /// <summary>Batch normalisation over <c>[N, C, H, W]</c>, as <c>nn.BatchNorm2d(features)</c>.</summary>
    public static ScalarSafeBatchNorm BatchNorm2d(long features) => new(2, features);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        double factor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is Tensor tracked)
        {
            using Scalar one = 1L.ToScalar();
            tracked.add_(one, one);
            factor = momentum ?? 1.0 / tracked.item<long>();
        }
        bool useBatchStatistics = training || (running_mean is null && running_var is null);
        bool useRunning = !training || track_running_stats;
        return nn.functional.batch_norm(input, useRunning ? running_mean : null, useRunning ? running_var : null, weight, bias, useBatchStatistics, factor, eps);
    }

    /// <inheritdoc />
    protected override void ValidateInputDimensions(Tensor input)
    {
        bool fits = _dimensions == 1 ? input.ndim is 2 or 3 : input.ndim == 4;
        if (!fits)
            throw new ArgumentException($"BatchNorm{_dimensions}d expected {(_dimensions == 1 ? "2D or 3D" : "4D")} input, but got {input.ndim}D input.");
    }
}

/// <summary>
/// TorchSharp's LeakyReLU, whose slope reaches the native call as a Scalar kept alive through it (TorchSharp's own
/// converts it to an implicit Scalar that a collection on another thread can free while in use).
/// </summary>
public sealed class ScalarSafeLeakyReLU : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the activation: x for x ≥ 0, <paramref name="negativeSlope"/>·x below.</summary>
    public ScalarSafeLeakyReLU(double negativeSlope = 0.01) : base("LeakyReLU") => NegativeSlope = negativeSlope;

    /// <summary>The slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using Scalar slope = NegativeSlope.ToScalar();
        return input.leaky_relu(slope);
    }
}
