using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Every step checks every gradient before the optimizer step: a NaN or infinite gradient, or task weight, never
/// reaches the parameters, whatever the losses say.
/// </summary>
public class GradientGuardTests
{
    [Fact]
    public void ANonFiniteGradientWithFiniteLossesStopsBeforeTheOptimizerStep()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new InfiniteGradient(model, "body_mass.0.bias"));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        var before = Snapshot(model);

        var error = Assert.Throws<NonFiniteGradientException>(() => trainer.Step(x, targets));

        Assert.Equal("body_mass.0.bias", error.Parameter);
        Assert.Null(error.Task);
        Assert.Equal(1, error.Step);
        Assert.True(error.Message.StartsWith("Training step 1: the gradient of the joint loss is not finite in 'body_mass.0.bias' (0 NaN and 1 infinite of 8 values)", StringComparison.Ordinal), error.Message);
        Assert.Contains("the parameters are unchanged", error.Message);
        AssertUnchanged(model, before);
    }

    [Fact]
    public void LargeFiniteGradientsWhoseSumOverflowsAreNotRefused()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 1e-38), new HugeGradient(model, "body_mass.0.bias"));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        trainer.Step(x, targets); // two values of 3e38: a float32 sum of inf, each value finite
        Assert.True(model.parameters().All(p => p.isfinite().all().item<bool>()));
        Assert.Equal(0, trainer.SkippedSteps);
    }

    [Fact]
    public void ANonFiniteTaskWeightStopsBeforeTheOptimizerStep()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new NaNWeight());
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        var before = Snapshot(model);

        var error = Assert.Throws<NonFiniteGradientException>(() => trainer.Step(x, targets));

        Assert.Equal("task weights", error.Parameter);
        Assert.Equal("IsMale", error.Task);
        Assert.StartsWith("Training step 1: test-nan-weight gave task 'IsMale' the weight NaN", error.Message);
        AssertUnchanged(model, before);
    }

    [Fact]
    public void AFitCanSkipNonFiniteStepsCountsThemAndStopsPastTheLimit()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new InfiniteGradient(model, "species.0.weight", everyOther: true));
        var train = TabularProblem.Data(256, seed: 1);
        var history = trainer.Fit(train, new FitOptions { Epochs = 2, BatchSize = 32, NonFiniteGradients = NonFiniteGradientAction.SkipStep, MaxSkippedSteps = 8 });

        // 8 steps an epoch, every other one poisoned: 4 skipped per epoch, 8 in all, the limit exactly.
        Assert.Equal([4, 4], history.Epochs.Select(e => e.SkippedSteps));
        Assert.Equal(8, trainer.SkippedSteps);
        Assert.Contains("skipped_steps", history.ToCsv().Split('\n')[0]);
        Assert.True(model.parameters().All(p => p.isfinite().all().item<bool>()));

        var error = Assert.Throws<NonFiniteGradientException>(() =>
            trainer.Fit(train, new FitOptions { Epochs = 2, BatchSize = 32, NonFiniteGradients = NonFiniteGradientAction.SkipStep, MaxSkippedSteps = 2 }));
        Assert.Contains("3 steps of this fit had non-finite gradients, more than FitOptions.MaxSkippedSteps = 2", error.Message);
        Assert.Equal("species.0.weight", error.Parameter);
    }

    [Fact]
    public void AFitSkipsAStepWhoseTaskWeightIsNotFiniteAsItSkipsANonFiniteGradient()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new NaNWeight());
        var before = Snapshot(model);
        var history = trainer.Fit(TabularProblem.Data(64, seed: 1),
            new FitOptions { Epochs = 1, BatchSize = 32, NonFiniteGradients = NonFiniteGradientAction.SkipStep });
        Assert.Equal(2, history.Epochs[0].SkippedSteps);
        AssertUnchanged(model, before);
    }

    [Fact]
    public void AStepOutsideAFitThrowsEvenAfterAFitThatSkipped()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new InfiniteGradient(model, "encoder.0.weight"));
        var train = TabularProblem.Data(64, seed: 1);
        trainer.Fit(train, new FitOptions { Epochs = 1, BatchSize = 32, NonFiniteGradients = NonFiniteGradientAction.SkipStep });
        var (x, targets) = TabularProblem.Generate(32, seed: 2);
        Assert.Throws<NonFiniteGradientException>(() => trainer.Step(x, targets));
    }

    // The parameters and the buffers (BatchNorm's running statistics, which the refused step's forward pass wrote and
    // the trainer put back).
    private static Dictionary<string, Tensor> Snapshot(nn.Module model) => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    private static void AssertUnchanged(nn.Module model, Dictionary<string, Tensor> before)
    {
        foreach (var (name, value) in model.state_dict())
            Assert.True(value.equal(before[name]).all().item<bool>(), $"{name} changed although the step was refused");
    }

    // Equal weights, plus a term whose value is 0 and whose gradient is +∞ in one parameter's first value:
    // d√u/du at u = 0. The losses stay finite.
    internal sealed class InfiniteGradient(nn.Module model, string parameter, bool everyOther = false) : LossWeighting
    {
        private int _calls;

        public override string Name => "test-infinite-gradient";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            double[] weights = [.. Enumerable.Repeat(1.0, losses.Count)];
            Tensor objective = WeightedSum(losses, weights);
            if (everyOther && _calls++ % 2 == 1) return (objective, weights);
            var p = model.named_parameters().Single(n => n.name == parameter).parameter;
            Tensor first = p.flatten()[0];
            return (objective + (first - first.detach()).sqrt(), weights);
        }
    }

    private sealed class HugeGradient(nn.Module model, string parameter) : LossWeighting
    {
        public override string Name => "test-huge-gradient";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            double[] weights = [.. Enumerable.Repeat(1.0, losses.Count)];
            var p = model.named_parameters().Single(n => n.name == parameter).parameter;
            return (WeightedSum(losses, weights) + p.flatten()[..2].sum() * 3e38f, weights);
        }
    }

    private sealed class NaNWeight : LossWeighting
    {
        public override string Name => "test-nan-weight";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            double[] weights = [.. Enumerable.Repeat(1.0, losses.Count)];
            weights[1] = double.NaN;
            return (WeightedSum(losses, [.. Enumerable.Repeat(1.0, losses.Count)]), weights);
        }
    }
}
