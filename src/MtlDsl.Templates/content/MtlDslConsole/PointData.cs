using MtlDsl.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDslApp;

/// <summary>
/// Seeded synthetic data for the two tasks: points with <see cref="Features"/> coordinates (the last ones noise),
/// each labelled with its quadrant and its distance from the origin. Replace it with your own tensors: one row per
/// sample, one target tensor per task (class indices as int64, regression targets as float32 [N, 1]).
/// </summary>
public static class PointData
{
    /// <summary>Coordinates per point.</summary>
    public const int Features = 8;

    /// <summary><paramref name="count"/> points and their labels, the same for the same seed.</summary>
    public static MultiTaskData<PointModel.Targets> Create(int count, int seed)
    {
        var generator = new Generator().manual_seed(seed);
        Tensor points = randn([count, Features], generator: generator);
        Tensor x = points[.., 0], y = points[.., 1];
        Tensor quadrant = (x.lt(0).to(int64) + y.lt(0).to(int64) * 2).to(int64);
        Tensor distance = points[.., ..2].pow(2).sum(1, keepdim: true).sqrt();
        return MultiTaskData<PointModel.Targets>.Shared(points, new PointModel.Targets(quadrant, distance));
    }
}
