using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// The trainer keeps every gradient as a slice of one buffer, so that zeroing and checking them are one operation
/// each. Whatever takes a gradient out of the buffer (a strategy that sets a new tensor, Module.zero_grad() between
/// steps, a parameter frozen or unfrozen) must neither let a NaN through nor change what is trained.
/// </summary>
public class GradientBufferTests
{
    [Fact]
    public void AStepLeavesEveryGradientInTheBuffer()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-3));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        trainer.Step(x, targets);
        trainer.Step(x, targets);
        Assert.True(trainer.GradientsInBuffer);
    }

    [Fact]
    public void AGradientReplacedByTheStrategyIsStillChecked()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new ReplacingStrategy(model, "species.2.bias", poison: true));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var error = Assert.Throws<NonFiniteGradientException>(() => trainer.Step(x, targets));

        Assert.Equal("species.2.bias", error.Parameter); // found although the buffer's sum was finite
        foreach (var (name, value) in model.named_parameters())
            Assert.True(value.equal(before[name]).all().item<bool>(), $"{name} changed although the step was refused");
    }

    [Fact]
    public void AGradientReplacedByTheStrategyIsTheOneTheOptimizerUses()
    {
        // The strategy sets species.2.bias's gradient to a new tensor of ones: SGD with rate 0.1 moves it by -0.1.
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new ReplacingStrategy(model, "species.2.bias", poison: false));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        Parameter bias = model.named_parameters().Single(p => p.name == "species.2.bias").parameter;
        for (int step = 0; step < 3; step++)
        {
            Tensor before = bias.detach().clone();
            trainer.Step(x, targets);
            Assert.True((before - bias).sub(0.1).abs().max().item<float>() < 1e-6f, "the replaced gradient was not the one applied");
        }
    }

    [Fact]
    public void ModuleZeroGradBetweenStepsKeepsTheGuardAndTheResults()
    {
        // Module.zero_grad() sets every gradient to none; the next step puts the buffer back, and trains as if it had not happened.
        var (x, targets) = TabularProblem.Generate(64, seed: 3);
        double[] Run(bool clear)
        {
            torch.manual_seed(5);
            using var model = new TabularModel();
            var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-2));
            var losses = new List<double>();
            for (int step = 0; step < 6; step++)
            {
                if (clear) model.zero_grad();
                losses.Add(trainer.Step(x, targets).Total);
                Assert.True(trainer.GradientsInBuffer);
            }
            return [.. losses];
        }
        Assert.Equal(Run(clear: false), Run(clear: true));
    }

    [Fact]
    public void AFrozenParameterGetsNoGradientAndDoesNotMove()
    {
        // With weight decay, a zero gradient would still move a parameter; a frozen one must keep its values, and
        // take part again once unfrozen.
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-2, weight_decay: 0.1));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        Parameter frozen = model.named_parameters().Single(p => p.name == "species.0.weight").parameter;
        trainer.Step(x, targets);
        frozen.requires_grad = false;
        Tensor before = frozen.detach().clone();
        for (int step = 0; step < 3; step++) trainer.Step(x, targets);
        Assert.True(frozen.detach().equal(before).all().item<bool>(), "a frozen parameter moved");
        Assert.Null(frozen.grad);
        Assert.True(trainer.GradientsInBuffer);

        frozen.requires_grad = true;
        trainer.Step(x, targets);
        Assert.False(frozen.detach().equal(before).all().item<bool>(), "an unfrozen parameter did not train");
        Assert.True(trainer.GradientsInBuffer);
    }

    [Fact]
    public void AParameterTheOptimizerHoldsBeyondTheModelIsZeroedEveryStep()
    {
        // An optimizer built by hand over the model and an extra parameter: the extra one's gradient must not
        // accumulate over steps (SGD moves it by the same amount every step).
        torch.manual_seed(1);
        using var model = new TabularModel();
        var extra = new Parameter(zeros(3));
        var trainer = model.CreateTrainer(optim.SGD([.. model.parameters(), extra], 0.1), new ExtraTerm(extra));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        for (int step = 1; step <= 3; step++)
        {
            trainer.Step(x, targets);
            Assert.True((extra.detach() + 0.1 * step).abs().max().item<float>() < 1e-6f, $"step {step}: the extra parameter is not at -0.1 per step");
        }
    }

    [Fact]
    public void Float64ModelsUseTheBufferToo()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        model.to(ScalarType.Float64);
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-3));
        var (x, targets) = TabularProblem.Generate(32, seed: 1);
        var doubles = new TabularModel.Targets(targets.Species, targets.IsMale.to(ScalarType.Float64), targets.BodyMass.to(ScalarType.Float64));
        double first = trainer.Step(x.to(ScalarType.Float64), doubles).Total;
        for (int step = 0; step < 20; step++) trainer.Step(x.to(ScalarType.Float64), doubles);
        Assert.True(trainer.GradientsInBuffer);
        Assert.True(trainer.Step(x.to(ScalarType.Float64), doubles).Total < first);
    }

    // Equal weights; after the backward, one parameter's gradient becomes a new tensor (ones, or one infinity).
    private sealed class ReplacingStrategy(nn.Module model, string parameter, bool poison) : WeightingStrategy
    {
        public override string Name => "test-replacing";

        public override double[] Backward(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            CheckLosses(losses);
            Tensor total = losses[0];
            for (int k = 1; k < losses.Count; k++) total = total + losses[k];
            total.backward();
            Parameter p = model.named_parameters().Single(n => n.name == parameter).parameter;
            Tensor replacement = ones_like(p);
            if (poison) replacement[0] = float.PositiveInfinity;
            p.grad = replacement.MoveToOuterDisposeScope();
            return [.. Enumerable.Repeat(1.0, losses.Count)];
        }
    }

    // Equal weights plus sum(extra): the extra parameter's gradient is ones every step.
    private sealed class ExtraTerm(Parameter extra) : LossWeighting
    {
        public override string Name => "test-extra-term";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            double[] weights = [.. Enumerable.Repeat(1.0, losses.Count)];
            return (WeightedSum(losses, weights) + extra.sum(), weights);
        }
    }
}
