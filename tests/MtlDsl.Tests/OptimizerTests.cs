using MtlDsl.Native;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// MtlDsl's optimizers are TorchSharp's, bit for bit, with every Scalar kept alive through its native call; settings
/// that are NaN, infinite or out of range are refused when an optimizer or a trainer is made.
/// </summary>
public class OptimizerTests
{
    public OptimizerTests() => TorchNative.EnsureLoaded();

    public static TheoryData<string> Configurations => new()
    {
        "adam", "adam-decay", "adam-amsgrad", "adam-maximize", "adamw", "adamw-amsgrad",
        "sgd", "sgd-momentum", "sgd-nesterov-decay", "sgd-dampening-maximize",
    };

    private static optim.Optimizer Create(string configuration, IEnumerable<Parameter> p, bool mtl) => (configuration, mtl) switch
    {
        ("adam", false) => optim.Adam(p, 0.01),
        ("adam", true) => new Optimizers.Adam(p, 0.01),
        ("adam-decay", false) => optim.Adam(p, 0.01, weight_decay: 0.1),
        ("adam-decay", true) => new Optimizers.Adam(p, 0.01, weight_decay: 0.1),
        ("adam-amsgrad", false) => optim.Adam(p, 0.01, amsgrad: true),
        ("adam-amsgrad", true) => new Optimizers.Adam(p, 0.01, amsgrad: true),
        ("adam-maximize", false) => optim.Adam(p, 0.01, maximize: true),
        ("adam-maximize", true) => new Optimizers.Adam(p, 0.01, maximize: true),
        ("adamw", false) => optim.AdamW(p, 0.01),
        ("adamw", true) => new Optimizers.AdamW(p, 0.01),
        ("adamw-amsgrad", false) => optim.AdamW(p, 0.01, weight_decay: 0.2, amsgrad: true),
        ("adamw-amsgrad", true) => new Optimizers.AdamW(p, 0.01, weight_decay: 0.2, amsgrad: true),
        ("sgd", false) => optim.SGD(p, 0.05),
        ("sgd", true) => new Optimizers.SGD(p, 0.05),
        ("sgd-momentum", false) => optim.SGD(p, 0.05, momentum: 0.9),
        ("sgd-momentum", true) => new Optimizers.SGD(p, 0.05, momentum: 0.9),
        ("sgd-nesterov-decay", false) => optim.SGD(p, 0.05, momentum: 0.9, weight_decay: 0.01, nesterov: true),
        ("sgd-nesterov-decay", true) => new Optimizers.SGD(p, 0.05, momentum: 0.9, weight_decay: 0.01, nesterov: true),
        ("sgd-dampening-maximize", false) => optim.SGD(p, 0.05, momentum: 0.5, dampening: 0.3, maximize: true),
        ("sgd-dampening-maximize", true) => new Optimizers.SGD(p, 0.05, momentum: 0.5, dampening: 0.3, maximize: true),
        _ => throw new ArgumentOutOfRangeException(nameof(configuration)),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void StepsAreTorchSharpsBitForBitAndTheStateRoundTrips(string configuration)
    {
        Tensor[] Run(bool mtl, out byte[] state)
        {
            using var scope = torch.NewDisposeScope();
            var parameters = new[] { new Parameter(torch.randn([5, 3], generator: new Generator(1))), new Parameter(torch.randn([7], generator: new Generator(2))) };
            var optimizer = Create(configuration, parameters, mtl);
            var target = torch.randn([5, 3], generator: new Generator(3));
            for (int step = 0; step < 25; step++)
            {
                optimizer.zero_grad();
                ((parameters[0] - target).pow(2).sum() + parameters[1].sin().sum()).backward();
                optimizer.step();
            }
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
                ((OptimizerHelper)optimizer).save_state_dict(writer);
            state = stream.ToArray();
            return parameters.Select(p => p.detach().clone().MoveToOuterDisposeScope()).ToArray();
        }

        Tensor[] expected = Run(mtl: false, out byte[] expectedState);
        Tensor[] actual = Run(mtl: true, out byte[] actualState);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i].equal(actual[i]).all().item<bool>(), $"parameter {i} differs from TorchSharp's {configuration}");
        Assert.Equal(expectedState, actualState);
    }

    public static TheoryData<string, string, double> BadSettings => new()
    {
        { "adam", "lr", double.NaN }, { "adam", "lr", double.PositiveInfinity }, { "adam", "lr", -1e-3 },
        { "adam", "beta1", double.NaN }, { "adam", "beta1", 1 }, { "adam", "beta2", -0.1 }, { "adam", "beta2", double.NaN },
        { "adam", "eps", 0 }, { "adam", "eps", double.NaN }, { "adam", "eps", double.PositiveInfinity },
        { "adam", "weight_decay", -0.1 }, { "adam", "weight_decay", double.NaN }, { "adam", "weight_decay", double.PositiveInfinity },
        { "adamw", "lr", double.NaN }, { "adamw", "lr", double.NegativeInfinity }, { "adamw", "beta1", -0.5 }, { "adamw", "eps", -1e-8 },
        { "adamw", "weight_decay", double.NaN },
        { "sgd", "lr", double.NaN }, { "sgd", "lr", double.PositiveInfinity }, { "sgd", "lr", -0.1 },
        { "sgd", "momentum", double.NaN }, { "sgd", "momentum", -0.9 }, { "sgd", "dampening", double.PositiveInfinity },
        { "sgd", "dampening", -0.1 }, { "sgd", "weight_decay", double.NaN }, { "sgd", "weight_decay", -1 },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void ASettingThatIsNaNInfiniteOrOutOfRangeIsRefusedNamingItAndItsValue(string optimizer, string setting, double value)
    {
        using var parameter = new Parameter(torch.zeros(3));
        Parameter[] p = [parameter];
        double Get(string name, double otherwise) => name == setting ? value : otherwise;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => optimizer switch
        {
            "adam" => (optim.Optimizer)new Optimizers.Adam(p, Get("lr", 1e-3), Get("beta1", 0.9), Get("beta2", 0.999), Get("eps", 1e-8), Get("weight_decay", 0)),
            "adamw" => new Optimizers.AdamW(p, Get("lr", 1e-3), Get("beta1", 0.9), Get("beta2", 0.999), Get("eps", 1e-8), Get("weight_decay", 0)),
            _ => new Optimizers.SGD(p, Get("lr", 0.1), Get("momentum", 0), Get("dampening", 0), Get("weight_decay", 0)),
        });
        Assert.Equal(setting, error.ParamName);
        Assert.Equal(value, (double)error.ActualValue!);
        Assert.Contains($"{setting} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}", error.Message);

        // The refused optimizer is finalised without a fault: an exception before TorchSharp's base constructor ran
        // made its finalizer throw, which ended the test process.
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void ZeroAndTheUsualSettingsAreAccepted()
    {
        using var parameter = new Parameter(torch.zeros(3));
        Parameter[] p = [parameter];
        _ = new Optimizers.Adam(p, lr: 0, beta1: 0, beta2: 0, weight_decay: 0);
        _ = new Optimizers.AdamW(p, lr: 1e-3, beta1: 0.999999, weight_decay: 0.01);
        _ = new Optimizers.SGD(p, lr: 0, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: true);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-0.01)]
    public void TheTrainerRefusesATorchSharpOptimizerWhoseLearningRateIsNotAFiniteNumberAtLeastZero(double lr)
    {
        // TorchSharp's own Adam accepts a NaN or infinite rate; the parameters then became NaN behind a finite loss.
        torch.manual_seed(1);
        using var model = new TabularModel();
        var adam = optim.Adam(model.parameters(), lr: 1e-3);
        adam.ParamGroups.First().LearningRate = lr; // TorchSharp's constructor refuses a negative rate (not NaN or ∞); a group's rate it never checks
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateTrainer(adam));
        Assert.Equal("optimizer", error.ParamName);
        Assert.StartsWith($"The optimizer's parameter group 0 (Adam) has the learning rate {lr.ToString(System.Globalization.CultureInfo.InvariantCulture)}", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateTrainer(parameters => optim.Adam(parameters, lr: double.IsNegative(lr) ? double.NaN : lr)));
    }

    [Fact]
    public void TheTrainerNamesTheParameterGroupAndTheSettingThatIsNotFinite()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateTrainer(parameters =>
        {
            Parameter[] all = [.. parameters];
            return optim.Adam([new Adam.ParamGroup(all[..4]), new Adam.ParamGroup(all[4..], lr: double.PositiveInfinity)]);
        }));
        Assert.StartsWith("The optimizer's parameter group 1 (Adam) has the learning rate Infinity", error.Message);

        var beta = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateTrainer(optim.Adam(model.parameters(), lr: 1e-3, beta1: double.NaN)));
        Assert.StartsWith("The optimizer's parameter group 0 (Adam) has beta1 = NaN", beta.Message);
    }

    [Fact]
    public void AFitRefusesALearningRateMadeNaNAfterTheTrainerBeforeItsFirstStep()
    {
        torch.manual_seed(1);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        trainer.Optimizer.ParamGroups.First().LearningRate = double.NaN;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions { Epochs = 1, BatchSize = 32 }));
        Assert.StartsWith("The optimizer's parameter group 0 has the learning rate NaN when the fit starts", error.Message);
        Assert.Equal(0, trainer.StepCount);
    }
}
