using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A step that is skipped or refused leaves no trace: BatchNorm's running statistics (and every other buffer a forward
/// pass writes), the strategy's state and the trainer's statistics are as they were before it.
/// </summary>
public class StepRollbackTests
{
    private static MultiTaskData<TabularModel.Targets> WithNaNFeature(int count, int seed, int row)
    {
        var (x, targets) = TabularProblem.Generate(count, seed);
        x[row, 3] = tensor(float.NaN);
        return MultiTaskData<TabularModel.Targets>.Shared(x, targets);
    }

    [Fact]
    public void ABatchWithNaNFeaturesLeavesTheRunningStatisticsBitForBitAndALaterFitPredictsFiniteValues()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05));
        trainer.Fit(TabularProblem.Data(128, seed: 1), new FitOptions { Epochs = 1, BatchSize = 32 });
        var before = Buffers(model);
        long steps = trainer.StepCount;

        // The first batch of the fit holds the NaN: its loss is NaN, so the step is refused even in skip mode.
        var error = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(WithNaNFeature(128, seed: 2, row: 5),
            new FitOptions { Epochs = 1, BatchSize = 32, Shuffle = false, NonFiniteGradients = NonFiniteGradientAction.SkipStep }));

        Assert.Equal(steps + 1, error.Step);
        AssertBitForBit(before, model);
        Assert.Equal(steps, trainer.StepCount);

        trainer.Fit(TabularProblem.Data(128, seed: 3), new FitOptions { Epochs = 1, BatchSize = 32 });
        model.eval();
        using (torch.no_grad())
        {
            var outputs = model.forward(TabularProblem.Generate(16, seed: 4).Features);
            Assert.True(outputs.BodyMass.isfinite().all().item<bool>(), "the model predicts NaN in eval mode after a refused NaN batch");
        }
    }

    [Fact]
    public void ABadTargetLeavesTheRunningStatisticsAndTheStepCount()
    {
        torch.manual_seed(2);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        trainer.Step(x, targets);
        var before = Buffers(model);

        var error = Assert.Throws<TaskTensorException>(() => trainer.Step(x, targets with { Species = full(32, 7L, dtype: ScalarType.Int64) }));

        Assert.Equal(2, error.Step);
        AssertBitForBit(before, model);
        Assert.Equal(1, trainer.StepCount);
        trainer.Step(x, targets); // and a good step does move them: the comparison above can fail
        Assert.Contains(model.named_buffers(), b => !b.buffer.equal(before[b.name]).all().item<bool>());
    }

    [Fact]
    public void SkippedStepsLeaveTheBuffersTheStrategyAndTheEpochLossesAsTheyWere()
    {
        torch.manual_seed(3);
        using var model = new TabularModel();
        var weighting = new CountingInfiniteGradient(model, "species.0.weight");
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05), weighting);
        var before = Buffers(model);
        var parameters = model.parameters().Select(p => p.detach().clone()).ToList();

        // Every step's gradient is infinite: 4 steps, all skipped.
        var history = trainer.Fit(TabularProblem.Data(128, seed: 1),
            new FitOptions { Epochs = 1, BatchSize = 32, NonFiniteGradients = NonFiniteGradientAction.SkipStep, MaxSkippedSteps = 4 });

        Assert.Equal(4, history.Epochs[0].SkippedSteps);
        AssertBitForBit(before, model);
        Assert.All(model.parameters().Zip(parameters), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
        Assert.Equal(0, weighting.GetState()["calls"][0]);
        Assert.Equal(4, weighting.Calls); // it ran, and was rolled back
        Assert.All(trainer.EpochLosses[0], loss => Assert.True(double.IsNaN(loss), "a skipped step's loss joined the epoch's mean"));
        Assert.Empty(trainer.LastWeights);
    }

    [Fact]
    public void ARefusedNonFiniteGradientLeavesTheBuffers()
    {
        torch.manual_seed(4);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05), new GradientGuardTests.InfiniteGradient(model, "encoder.0.weight"));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        var before = Buffers(model);
        Assert.Throws<NonFiniteGradientException>(() => trainer.Step(x, targets));
        AssertBitForBit(before, model);
        Assert.Equal(0, trainer.StepCount);
    }

    private static Dictionary<string, Tensor> Buffers(nn.Module model)
    {
        var buffers = model.named_buffers().ToDictionary(b => b.name, b => b.buffer.detach().clone());
        Assert.Contains(buffers.Keys, name => name.EndsWith("running_mean", StringComparison.Ordinal));
        Assert.Contains(buffers.Keys, name => name.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        return buffers;
    }

    private static void AssertBitForBit(Dictionary<string, Tensor> before, nn.Module model)
    {
        foreach (var (name, buffer) in model.named_buffers())
            Assert.True(before[name].bytes.SequenceEqual(buffer.bytes), $"{name} changed: {before[name].to(ScalarType.Float64).sum().item<double>()} → {buffer.to(ScalarType.Float64).sum().item<double>()}");
    }

    // Equal weights plus a term of value 0 whose gradient is infinite, and a count of its calls kept as its state.
    private sealed class CountingInfiniteGradient(nn.Module model, string parameter) : LossWeighting
    {
        public int Calls { get; private set; }
        private int _state;

        public override string Name => "test-counting-infinite-gradient";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            Calls++;
            _state++;
            double[] weights = [.. Enumerable.Repeat(1.0, losses.Count)];
            var p = model.named_parameters().Single(n => n.name == parameter).parameter;
            Tensor first = p.flatten()[0];
            return (WeightedSum(losses, weights) + (first - first.detach()).sqrt(), weights);
        }

        public override IReadOnlyDictionary<string, double[]> GetState() => new Dictionary<string, double[]> { ["calls"] = [_state] };

        public override void LoadState(IReadOnlyDictionary<string, double[]> state) => _state = (int)state["calls"][0];
    }
}
