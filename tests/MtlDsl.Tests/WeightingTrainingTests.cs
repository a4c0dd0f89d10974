using MtlDsl.Training;
using MtlDsl.Weighting;
using SeedExample;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>Every strategy trains the article network through the generated trainer, in each mode it allows.</summary>
public class WeightingTrainingTests
{
    public static TheoryData<string, GradientMode> Strategies
    {
        get
        {
            var data = new TheoryData<string, GradientMode>();
            foreach (string name in WeightingStrategies.Names.Prepend("Static"))
                data.Add(name, GradientMode.Parameters);
            foreach (string name in RepresentationStrategies)
                data.Add(name, GradientMode.Representation);
            return data;
        }
    }

    /// <summary>The strategies that also take gradients with respect to the representation.</summary>
    internal static readonly string[] RepresentationStrategies = ["MGDA", "IMTL", "GradNorm", "Aligned-MTL", "UPGrad", "DualProj", "ConFIG"];

    internal static WeightingStrategy Create(string name) =>
        name == "Static" ? new StaticWeighting([1.0, 0.5]) : WeightingStrategies.Create(name, seed: 3);

    [Fact]
    public void EveryNamedStrategyCanBeCreatedAndUnknownNamesAreRefused()
    {
        foreach (string name in WeightingStrategies.Names) Assert.Equal(name, WeightingStrategies.Create(name).Name);
        var error = Assert.Throws<ArgumentException>(() => WeightingStrategies.Create("MoCo"));
        Assert.Contains("Aligned-MTL", error.Message);
        Assert.Contains("ConFIG", error.Message);
        // The list the representation-mode tests run is every gradient method that allows the mode.
        foreach (string name in WeightingStrategies.Names)
        {
            WeightingStrategy strategy = WeightingStrategies.Create(name);
            Assert.True(RepresentationStrategies.Contains(name) == (strategy.UsesGradients && strategy.SupportsRepresentation), name);
        }
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void TrainsTheArticleNetwork(string name, GradientMode mode)
    {
        torch.manual_seed(11);
        var (images, classes, boxes) = SyntheticVision.Generate(512, seed: 5);
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 1e-3), Create(name), mode);
        var first = new List<VisionModel.LossValues>();
        var last = new List<VisionModel.LossValues>();
        for (int epoch = 0; epoch < 4; epoch++)
        {
            for (int b = 0; b < 8; b++)
            {
                using var scope = NewDisposeScope();
                var batch = arange(b * 64, (b + 1) * 64);
                var step = trainer.Step(images[batch], new VisionModel.Targets(classes[batch], boxes[batch]));
                (epoch == 0 ? first : last).Add(step);
                Assert.Equal(2, trainer.LastWeights.Count);
                Assert.All(trainer.LastWeights, w => Assert.True(double.IsFinite(w), $"{name}: weight {w}"));
            }
            if (epoch == 0) last.Clear();
            trainer.EndEpoch();
        }
        double firstClassification = first.Take(3).Average(s => s.Classification), lastClassification = last.TakeLast(3).Average(s => s.Classification);
        double firstDetection = first.Take(3).Average(s => s.Detection), lastDetection = last.TakeLast(3).Average(s => s.Detection);
        // GLS, IMTL, Aligned-MTL and MGDA (unnormalised, its default) balance the tasks; here the detection loss is
        // ~1,000 times smaller than the classification loss, so they scale the classification gradient down and it
        // learns more slowly in 32 steps. FAMO weights each task by 1/L_k (it balances the rates at which the losses
        // fall), which gives classification about a thousandth of detection's weight here.
        double required = name switch { "GLS" or "IMTL" or "Aligned-MTL" or "MGDA" => 0.97, "FAMO" => 0.98, _ => 0.9 };
        Assert.True(lastClassification < required * firstClassification, $"{name}/{mode}: classification {firstClassification:F4} → {lastClassification:F4}");
        Assert.True(lastDetection < firstDetection, $"{name}/{mode}: detection {firstDetection:F5} → {lastDetection:F5}");
        Assert.Equal(4, trainer.Epoch);
    }

    [Theory]
    [InlineData("PCGrad")]
    [InlineData("CAGrad")]
    public void AStrategyWithoutRepresentationModeIsRefusedWhenTheTrainerIsCreated(string name)
    {
        using var model = new VisionModel();
        var error = Assert.Throws<NotSupportedException>(() => model.CreateTrainer(optim.SGD(model.parameters(), 0.1), Create(name), GradientMode.Representation));
        Assert.Contains(name, error.Message);
        Assert.Contains("GradientMode.Parameters", error.Message);
    }

    [Fact]
    public void LearnableStrategyParametersMustReachTheOptimizer()
    {
        using var model = new VisionModel();
        var error = Assert.Throws<ArgumentException>(() => model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new UncertaintyWeighting()));
        Assert.Contains("CreateTrainer(parameters =>", error.Message);

        var trainer = model.CreateTrainer(parameters => optim.SGD(parameters, 0.1), new UncertaintyWeighting());
        Assert.Contains(((UncertaintyWeighting)trainer.Weighting).Scale, trainer.Optimizer.parameters());
    }

    [Fact]
    public void RepresentationModeGivesTheTrunkTheCombinationOfTheTasksGradients()
    {
        // With the coefficients the strategy chose, the trunk's gradient must equal that of Σ β_k L_k.
        torch.manual_seed(2);
        var (images, classes, boxes) = SyntheticVision.Generate(16, seed: 9);
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.0), new Mgda(), GradientMode.Representation);
        trainer.Step(images, new VisionModel.Targets(classes, boxes));
        double[] beta = [.. trainer.LastWeights];
        var viaRepresentation = model.SharedParameters().Select(p => p.grad!.clone()).ToList();

        model.zero_grad();
        var losses = model.ComputeTaskLosses(model.forward(images), new VisionModel.Targets(classes, boxes));
        (losses[0] * beta[0] + losses[1] * beta[1]).backward();
        var direct = model.SharedParameters().Select(p => p.grad!).ToList();
        for (int i = 0; i < direct.Count; i++)
            Assert.True(viaRepresentation[i].allclose(direct[i], rtol: 1e-4, atol: 1e-7), $"trunk parameter {i} differs");
    }

    [Fact]
    public void TrainerStateRoundTripsTheEpochHistoryAndTheStrategy()
    {
        var (images, classes, boxes) = SyntheticVision.Generate(64, seed: 1);
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), new UncertaintyWeighting());
        trainer.Step(images, new VisionModel.Targets(classes, boxes));
        trainer.EndEpoch();
        trainer.Step(images, new VisionModel.Targets(classes, boxes));
        TrainerState state = trainer.GetState();

        using var other = new VisionModel();
        var restored = other.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), new UncertaintyWeighting());
        restored.LoadState(state);
        Assert.Equal(trainer.StepCount, restored.StepCount);
        Assert.Equal(trainer.EpochLosses, restored.EpochLosses);
        Assert.Equal(state.WeightingState["loss_scale"], restored.GetState().WeightingState["loss_scale"]);
        var imtl = other.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), new Imtl());
        Assert.Throws<ArgumentException>(() => imtl.LoadState(state));
    }
}
