using MtlDsl.Native;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// The check of this CPU's kernels (<see cref="BackendCheck"/>): every convolution and linear layer of a model, as
/// MtlDsl runs it, agrees with float64 here; a fit reports it before its first step.
/// </summary>
public class BackendCheckTests
{
    public BackendCheckTests() => TorchNative.EnsureLoaded();

    [Fact]
    public void EveryKernelOfAModelIsRightAsMtlDslRunsIt()
    {
        torch.manual_seed(1);
        using var model = new DenseModel();
        BackendReport report = BackendCheck.Run(model);
        // Conv2d 1→8, 8→16 (3×1), 16→16 (1×3, stride 2), ConvTranspose2d 16→16 (2×2), Conv2d 16→2, Linear: six configurations.
        Assert.Equal(6, report.Kernels.Count);
        Assert.All(report.Kernels, k => Assert.True(k.MtlDslRight, $"{k.Kernel}: MtlDsl's path differs from float64 by {k.MtlDslError:G3}"));
        Assert.Contains(report.Kernels, k => k.Kernel == "ConvTranspose2d 16→16 k2×2 s2×2");
        Assert.Matches(@"^backend check: 6 kernels right as MtlDsl runs them \(.*\); \d+ ms$", report.Summary);
    }

    [Theory]
    [InlineData(10, 20, 5, 1)]
    [InlineData(20, 20, 3, 1)]
    [InlineData(33, 48, 3, 2)]
    [InlineData(5, 10, 3, 1)]
    public void ItSaysWhetherTorchSharpsOwnKernelIsRightAsTheFloat64OracleDoes(int inChannels, int outChannels, int kernel, int stride)
    {
        // The check's verdict on TorchSharp's own kernel must be the test oracle's: a wrong plain kernel reported right
        // (or the reverse) would make the one-line report lie about this CPU.
        using var model = nn.Sequential(Layers.Conv2d(inChannels, outChannels, kernel, stride, kernel / 2, 1, true));
        KernelCheck check = BackendCheck.Run(model).Kernels.Single();
        Assert.True(check.MtlDslRight);

        using var scope = NewDisposeScope();
        var generator = new Generator(20261206);
        Tensor x = randn([16, inChannels, 15, 15], dtype: ScalarType.Float64, generator: generator);
        Tensor w = randn([outChannels, inChannels, kernel, kernel], dtype: ScalarType.Float64, generator: generator);
        Tensor y64 = nn.functional.conv2d(x, w, strides: [stride, stride], padding: [kernel / 2, kernel / 2]);
        Tensor y32 = nn.functional.conv2d(x.to(ScalarType.Float32), w.to(ScalarType.Float32), strides: [stride, stride], padding: [kernel / 2, kernel / 2]);
        double forward = Oracle.Float64Oracle.Ratio(y32, y64) * Oracle.Float64Oracle.Tolerance;
        // A forward pass wrong by more than the tolerance must make the kernel wrong in the report (the report also sees gradients).
        if (forward > KernelCheck.Tolerance) Assert.False(check.TorchSharpRight, $"{check.Kernel}: the oracle finds its forward pass wrong by {forward:G3}");
    }

    [Fact]
    public void AFitReportsTheCheckBeforeItsFirstStep()
    {
        torch.manual_seed(3);
        using var model = new TabularModel();
        var observer = new Recorder();
        var trainer = model.CreateTrainer(new MtlDsl.Optimizers.Adam(model.parameters(), lr: 1e-3));
        trainer.Fit(TabularProblem.Data(64, seed: 5), new FitOptions { Epochs = 1, BatchSize = 32, Observers = [observer] });
        Assert.NotNull(observer.Start?.Backend);
        Assert.All(observer.Start!.Backend!.Kernels, k => Assert.True(k.MtlDslRight));
        Assert.Contains(observer.Start.Backend.Kernels, k => k.Kernel.StartsWith("Linear 12→", StringComparison.Ordinal));
    }

    private sealed class Recorder : ITrainingObserver
    {
        public FitStart? Start { get; private set; }
        public void FitStarted(FitStart start) => Start = start;
    }
}
