using MtlDsl.Data;
using MtlDsl.TestModels;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A small tabular problem with a known answer for <see cref="TabularModel"/>: 12 standard-normal features, a
/// species that is the arg-max of three fixed linear scores, a flag that is the sign of another, and a mass that is
/// a fixed linear function plus noise. A model that learns scores well above chance on all three.
/// </summary>
internal static class TabularProblem
{
    public static (Tensor Features, TabularModel.Targets Targets) Generate(int count, int seed)
    {
        using var generator = new Generator((ulong)seed);
        using var weights = new Generator(12345);
        Tensor x = randn([count, 12], generator: generator);
        Tensor speciesScores = x.matmul(randn([12, 3], generator: weights));
        Tensor species = speciesScores.argmax(1);
        Tensor flag = x.matmul(randn([12, 1], generator: weights)).gt(0).to_type(ScalarType.Float32);
        Tensor mass = x.matmul(randn([12, 1], generator: weights)) * 0.5 + randn([count, 1], generator: generator) * 0.1;
        return (x, new TabularModel.Targets(species, flag, mass));
    }

    public static MultiTaskData<TabularModel.Targets> Data(int count, int seed)
    {
        var (x, targets) = Generate(count, seed);
        return MultiTaskData<TabularModel.Targets>.Shared(x, targets);
    }
}
