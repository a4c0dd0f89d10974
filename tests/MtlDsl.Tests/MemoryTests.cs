using MtlDsl.Weighting;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>A training step leaves no tensor alive: native memory stays flat over any number of steps.</summary>
public class MemoryTests
{
    [Theory]
    [InlineData(null, GradientMode.Parameters)]
    [InlineData("PCGrad", GradientMode.Parameters)]
    [InlineData("MGDA", GradientMode.Representation)]
    [InlineData("UW", GradientMode.Parameters)]
    public void TrainingStepsLeaveNoTensorAlive(string? strategy, GradientMode mode)
    {
        torch.manual_seed(1);
        var (images, classes, boxes) = SyntheticVision.Generate(32, seed: 2);
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), strategy is null ? null : WeightingStrategies.Create(strategy, seed: 1), mode);
        var targets = new VisionModel.Targets(classes, boxes);
        for (int i = 0; i < 3; i++) trainer.Step(images, targets); // the optimizer creates its state here
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 10; i++) trainer.Step(images, targets);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
