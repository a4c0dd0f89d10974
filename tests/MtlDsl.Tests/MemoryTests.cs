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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFitLeavesNoTensorAlive(bool perTask)
    {
        torch.manual_seed(1);
        var (x, t) = TabularProblem.Generate(256, seed: 1);
        var data = perTask
            ? Data.MultiTaskData<TestModels.TabularModel.Targets>.PerTask([x[..100], x, x[..200]], new TestModels.TabularModel.Targets(t.Species[..100], t.IsMale, t.BodyMass[..200]))
            : Data.MultiTaskData<TestModels.TabularModel.Targets>.Shared(x, t);
        var validation = TabularProblem.Data(64, seed: 2);
        using var model = new TestModels.TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), new UncertaintyWeighting());
        var options = new Training.FitOptions { Epochs = 1, BatchSize = 32, EarlyStopping = new("Species", "accuracy") };
        trainer.Fit(data, options, validation);  // the optimizer creates its state here
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        trainer.Fit(data, options with { Epochs = 3 }, validation);
        trainer.Evaluate(data, batchSize: 50);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
