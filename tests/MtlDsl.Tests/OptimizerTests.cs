using MtlDsl.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>MtlDsl's optimizers are TorchSharp's, bit for bit, with every Scalar kept alive through its native call.</summary>
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
}
