using MtlDsl.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The batch normalisation and leaky ReLU that declarations produce are TorchSharp's, bit for bit.</summary>
public class ScalarSafeLayerTests
{
    public ScalarSafeLayerTests() => TorchNative.EnsureLoaded();

    [Theory]
    [InlineData(1, new long[] { 8, 5 })]
    [InlineData(1, new long[] { 8, 5, 3 })]
    [InlineData(2, new long[] { 4, 5, 3, 3 })]
    public void BatchNormIsTorchSharpsInTrainingAndEvaluation(int dimensions, long[] shape)
    {
        using nn.Module<Tensor, Tensor> plain = dimensions == 1 ? nn.BatchNorm1d(5) : nn.BatchNorm2d(5);
        using var safe = dimensions == 1 ? Layers.BatchNorm1d(5) : Layers.BatchNorm2d(5);
        Assert.Equal(plain.state_dict().Keys.Order(), safe.state_dict().Keys.Order());
        for (int step = 0; step < 4; step++)
        {
            Tensor x = torch.randn(shape, generator: new Generator((ulong)step + 1)) * 3 + 1;
            AssertEqual(plain.forward(x), safe.forward(x), $"training output {step}");
        }
        foreach (var (name, tensor) in plain.state_dict())
            AssertEqual(tensor, safe.state_dict()[name], name);
        Assert.Equal(4, safe.state_dict()["num_batches_tracked"].item<long>());
        plain.eval();
        safe.eval();
        Tensor y = torch.randn(shape, generator: new Generator(9));
        AssertEqual(plain.forward(y), safe.forward(y), "evaluation output");
        Assert.Throws<ArgumentException>(() => safe.forward(torch.zeros(dimensions == 1 ? [2, 5, 3, 3] : [2, 5])));
    }

    [Fact]
    public void LeakyReLUIsTorchSharps()
    {
        Tensor x = torch.randn([100], generator: new Generator(1));
        using var plain = nn.LeakyReLU(0.2);
        using var safe = Layers.LeakyReLU(0.2);
        AssertEqual(plain.forward(x), safe.forward(x), "output");
    }

    private static void AssertEqual(Tensor expected, Tensor actual, string what) =>
        Assert.True(expected.equal(actual).all().item<bool>(), $"{what} differs from TorchSharp's");
}
