using System.Text.RegularExpressions;
using MtlDsl.Metrics;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// What a trainer tells train_ddp.py (TorchrunArguments), checked without Python; CI's tests/PyTorchInterop runs these
/// arguments under torchrun for every strategy and compares the result with Fit's.
/// </summary>
public class TorchrunArgumentsTests
{
    private static Dictionary<string, List<string>> Parse(IReadOnlyList<string> arguments)
    {
        var parsed = new Dictionary<string, List<string>>();
        string? last = null;
        foreach (string argument in arguments)
        {
            if (argument.StartsWith("--", StringComparison.Ordinal))
            {
                last = argument;
                if (!parsed.ContainsKey(last)) parsed[last] = [];
            }
            else
            {
                parsed[last ?? throw new InvalidOperationException($"'{argument}' follows no option")].Add(argument);
            }
        }
        return parsed;
    }

    [Fact]
    public void AFitsOptionsBecomeTrainDdpsArguments()
    {
        torch.manual_seed(1);
        using var model = new RecommenderModel();
        var trainer = model.CreateTrainer(p => new MtlDsl.Optimizers.Adam(p, 2e-3, weight_decay: 1e-4), new PCGrad(seed: 9));
        trainer.MaxGradientNorm = 1.5;
        var options = new FitOptions
        {
            Epochs = 3, BatchSize = 64, Seed = 7, Schedule = LearningRateSchedule.Step(1, 0.5), NonFiniteGradients = NonFiniteGradientAction.SkipStep,
            EarlyStopping = new EarlyStopping("Click", "auc", Patience: 2, MinDelta: 0.001), OutputDirectory = "out", EvaluationBatchSize = 100,
        };
        var a = Parse(trainer.TorchrunArguments(options, "train.safetensors", "valid.safetensors"));
        Assert.Equal(["RecommenderModel"], a["--model"]);
        Assert.Equal(["RecommenderModel.safetensors"], a["--weights"]);
        Assert.Equal(["train.safetensors"], a["--data"]);
        Assert.Equal(["trained.safetensors"], a["--out"]);
        Assert.Equal(["adam"], a["--optimizer"]);
        Assert.Equal(["0.002"], a["--lr"]);
        Assert.Equal(["0.9,0.999"], a["--betas"]);
        Assert.Equal(["0.0001"], a["--weight-decay"]);
        Assert.False(a.ContainsKey("--amsgrad"));
        Assert.Equal(["PCGrad"], a["--weighting"]);
        Assert.Equal(["9"], a["--strategy-seed"]);
        Assert.Equal(["1.5"], a["--max-grad-norm"]);
        Assert.Equal(["3"], a["--epochs"]);
        Assert.Equal(["64"], a["--batch-size"]);
        Assert.Equal(["7"], a["--seed"]);
        Assert.Empty(a["--shuffle"]);
        Assert.Equal(["1,0.5,0.25"], a["--lr-factors"]);
        Assert.Equal(["float32"], a["--dtype"]);
        Assert.Equal(["skip"], a["--non-finite"]);
        Assert.Equal(["valid.safetensors"], a["--validation"]);
        Assert.Equal(["100"], a["--evaluation-batch-size"]);
        Assert.Equal(["Click:auc"], a["--early-stopping"]);
        Assert.Equal(["2"], a["--patience"]);
        Assert.Equal(["0.001"], a["--min-delta"]);
        Assert.Equal(["out"], a["--output-dir"]);
        Assert.False(a.ContainsKey("--resume-from"));
    }

    [Fact]
    public void TheDeclaredWeightsAndSgdAreWrittenOut()
    {
        using var model = new RecommenderModel();
        model.to(ScalarType.Float64);
        var trainer = model.CreateTrainer(p => new MtlDsl.Optimizers.SGD(p, 0.05, momentum: 0.9, nesterov: true));
        var a = Parse(trainer.TorchrunArguments(new FitOptions { Epochs = 2, Shuffle = false, ResumeFrom = "run/checkpoints/last.ckpt" }, "train.safetensors", output: "x.safetensors"));
        Assert.Equal(["declared"], a["--weighting"]);
        Assert.Equal(["weights=1,1"], a["--weighting-option"]);
        Assert.Equal(["sgd"], a["--optimizer"]);
        Assert.Equal(["0.9"], a["--momentum"]);
        Assert.Empty(a["--nesterov"]);
        Assert.False(a.ContainsKey("--shuffle"));
        Assert.False(a.ContainsKey("--validation"));
        Assert.Equal(["float64"], a["--dtype"]);
        Assert.Equal(["run/checkpoints/last.ckpt"], a["--resume-from"]);
        Assert.Equal(["x.safetensors"], a["--out"]);
    }

    // Every strategy's options name a parameter of its Python class (mtldsl_weighting.py): one definition of what a
    // strategy is created with, and the twin follows it.
    public static TheoryData<string> StrategyNames => [.. WeightingStrategies.Names];

    [Theory]
    [MemberData(nameof(StrategyNames))]
    public void EveryStrategysOptionsAreParametersOfItsPythonClass(string name)
    {
        using var model = new RecommenderModel();
        var trainer = model.CreateTrainer(p => new MtlDsl.Optimizers.SGD(p, 0.05), WeightingStrategies.Create(name, seed: 3));
        var a = Parse(trainer.TorchrunArguments(new FitOptions(), "train.safetensors"));
        Assert.Equal([name], a["--weighting"]);
        string source = PyTorchTwin.WeightingSource;
        string pythonClass = Regex.Match(source, $"\"{Regex.Escape(name)}\": (\\w+)").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(pythonClass), $"mtldsl_weighting.py has no class for {name}");
        string init = Regex.Match(source, $"class {pythonClass}\\(\\w+\\):(?:.|\\n)*?def __init__\\(self, tasks, dtype, device(?<params>[^)]*)\\)").Groups["params"].Value;
        var inherited = Regex.Match(source, $"class {pythonClass}\\((?<base>\\w+)\\)").Groups["base"].Value;
        if (init.Length == 0 && inherited == "DualCone") init = ", norm_epsilon=1e-4, regularization=1e-4";
        foreach (string option in a.GetValueOrDefault("--weighting-option") ?? [])
            Assert.Contains(" " + option[..option.IndexOf('=')] + "=", init);
        if (name is "PCGrad" or "GradVac" or "RLW") Assert.Equal(["3"], a["--strategy-seed"]);
    }

    [Fact]
    public void WhatTrainDdpCannotDoIsRefusedWithTheReason()
    {
        using var model = new RecommenderModel();
        var options = new FitOptions();
        var own = model.CreateTrainer(p => torch.optim.SGD(p, 0.1));
        Assert.Contains("MtlDsl.Optimizers.SGD, Adam or AdamW", Assert.Throws<NotSupportedException>(() => own.TorchrunArguments(options, "d")).Message);

        var metrics = model.CreateTrainer(p => new MtlDsl.Optimizers.SGD(p, 0.1));
        var custom = options with { Metrics = task => [new MeanAbsoluteError()] };
        Assert.Contains("TaskMetrics.Default", Assert.Throws<NotSupportedException>(() => metrics.TorchrunArguments(custom, "d", "v")).Message);
        Assert.Throws<ArgumentException>(() => metrics.TorchrunArguments(options with { EarlyStopping = new EarlyStopping("Click", "auc") }, "d"));

        var (inputs, targets) = CategoricalInputTests.Problem(8, seed: 2);
        metrics.Step(inputs, targets);
        Assert.Contains("--resume-from", Assert.Throws<NotSupportedException>(() => metrics.TorchrunArguments(options, "d")).Message);

        var representation = model.CreateTrainer(p => new MtlDsl.Optimizers.SGD(p, 0.1), new Mgda(), GradientMode.Representation);
        Assert.Contains("GradientMode.Parameters", Assert.Throws<NotSupportedException>(() => representation.TorchrunArguments(options, "d")).Message);
    }
}
