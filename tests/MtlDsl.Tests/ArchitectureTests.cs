using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// The architectures, each declared by one line on the same network (tests/Models/Architectures): the compile-time
/// summary equals the module TorchSharp builds, they train with every weighting strategy, and each shares what
/// docs/architectures.md says it shares.
/// </summary>
public class ArchitectureTests
{
    // CGCPerTask and PLEPerTask: one count of task experts per task ([CGC(2, 1, 2)], [PLE(2, 0, 1)]).
    public static TheoryData<string> Architectures => new() { "HardSharing", "MMoE", "OMoE", "CGC", "PLE", "CGCPerTask", "PLEPerTask", "CrossStitch", "MTAN" };

    // The same declaration body with a different architecture line: the typed records differ per class, so the
    // generic parts run through these delegates.
    internal sealed record Built(nn.Module Module, ModelSummary Summary, IReadOnlyList<TaskDefinition> Tasks, ModelArchitecture Architecture,
        Func<IReadOnlyList<Parameter>> Shared, Func<Tensor, Tensor[]> Forward, Func<WeightingStrategy, GradientMode, Func<Tensor, Tensor, Tensor, double[]>> Trainer);

    internal static Built Create(string architecture) => architecture switch
    {
        "HardSharing" => Build<HardSharingModel.Outputs, HardSharingModel.Targets, HardSharingModel.LossValues>(new HardSharingModel(), HardSharingModel.Summary),
        "MMoE" => Build<MMoEModel.Outputs, MMoEModel.Targets, MMoEModel.LossValues>(new MMoEModel(), MMoEModel.Summary),
        "OMoE" => Build<OMoEModel.Outputs, OMoEModel.Targets, OMoEModel.LossValues>(new OMoEModel(), OMoEModel.Summary),
        "CGC" => Build<CGCModel.Outputs, CGCModel.Targets, CGCModel.LossValues>(new CGCModel(), CGCModel.Summary),
        "PLE" => Build<PLEModel.Outputs, PLEModel.Targets, PLEModel.LossValues>(new PLEModel(), PLEModel.Summary),
        "CGCPerTask" => Build<CGCPerTaskModel.Outputs, CGCPerTaskModel.Targets, CGCPerTaskModel.LossValues>(new CGCPerTaskModel(), CGCPerTaskModel.Summary),
        "PLEPerTask" => Build<PLEPerTaskModel.Outputs, PLEPerTaskModel.Targets, PLEPerTaskModel.LossValues>(new PLEPerTaskModel(), PLEPerTaskModel.Summary),
        "CrossStitch" => Build<CrossStitchModel.Outputs, CrossStitchModel.Targets, CrossStitchModel.LossValues>(new CrossStitchModel(), CrossStitchModel.Summary),
        "MTAN" => Build<MTANModel.Outputs, MTANModel.Targets, MTANModel.LossValues>(new MTANModel(), MTANModel.Summary),
        _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
    };

    private static Built Build<TOutputs, TTargets, TLossValues>(MultiTaskModule<TOutputs, TTargets> model, ModelSummary summary)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
        where TLossValues : ITaskLossValues<TLossValues> =>
        new(model, summary, model.Tasks, model.Architecture, model.SharedParameters,
            x => { TOutputs o = model.forward(x); return Enumerable.Range(0, model.Tasks.Count).Select(k => o[k]).ToArray(); },
            (weighting, mode) =>
            {
                // MtlDsl's Adam: TorchSharp's creates implicit Scalars in its step (GarbageCollectionStressTests).
                var trainer = new MultiTaskTrainer<TOutputs, TTargets, TLossValues>(model, p => new Optimizers.Adam(p, lr: 3e-3), weighting, mode);
                return (x, classes, positions) => trainer.StepLosses([x], TTargets.Create([classes, positions]));
            });

    // A small real problem: a bright 3×3 square somewhere on a noisy 12×12 image; the class is its column band (5
    // bands), the regression target its centre (row, column) scaled to [0, 1].
    internal static (Tensor Images, Tensor Classes, Tensor Positions) Squares(int count, int seed)
    {
        var random = new Random(seed);
        var images = new float[count * 144];
        var classes = new long[count];
        var positions = new float[count * 2];
        for (int n = 0; n < count; n++)
        {
            int row = random.Next(0, 10), column = random.Next(0, 10);
            for (int i = 0; i < 144; i++) images[n * 144 + i] = (float)(random.NextDouble() * 0.3);
            for (int r = row; r < row + 3; r++)
                for (int c = column; c < column + 3; c++) images[n * 144 + r * 12 + c] = 1f;
            classes[n] = column * 5 / 10;
            positions[2 * n] = (row + 1) / 11f;
            positions[2 * n + 1] = (column + 1) / 11f;
        }
        return (tensor(images).reshape(count, 1, 12, 12), tensor(classes), tensor(positions).reshape(count, 2));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void TheCompileTimeSummaryIsTheModuleTorchSharpBuilds(string architecture)
    {
        torch.manual_seed(1);
        Built built = Create(architecture);
        using var _ = built.Module;
        Assert.Equal(architecture == "OMoE" ? "MMoE" : architecture.Replace("PerTask", "", StringComparison.Ordinal), built.Architecture.ToString());
        Assert.Equal(built.Architecture, built.Summary.Architecture);
        var parameters = built.Module.named_parameters().ToList();
        foreach (LayerSummary row in built.Summary.Layers)
        {
            long runtime = parameters.Where(p => row.StateNames.Any(n => p.name == n || p.name.StartsWith(n + ".", StringComparison.Ordinal))).Sum(p => p.parameter.numel());
            Assert.True(runtime == row.Parameters, $"{row.Block}.{row.Index} {row.Layer}: summary {row.Parameters}, TorchSharp {runtime}");
        }
        Assert.Equal(built.Summary.ParameterCount, parameters.Sum(p => p.parameter.numel()));
        // Every parameter belongs to some row.
        var named = built.Summary.Layers.SelectMany(r => r.StateNames).ToList();
        Assert.All(parameters, p => Assert.Contains(named, n => p.name == n || p.name.StartsWith(n + ".", StringComparison.Ordinal)));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        built.Module.eval();
        Tensor[] outputs = built.Forward(randn(3, 1, 12, 12));
        for (int k = 0; k < built.Tasks.Count; k++)
            Assert.Equal([3, .. built.Tasks[k].OutputShape.Select(d => (long)d)], outputs[k].shape);
    }

    [Fact]
    public void PerTaskExpertCountsGiveEachTaskItsOwnExpertsAndGateSizes()
    {
        // [CGC(2, 1, 2)]: five copies of the trunk (stem 48 + stage 296 parameters each), Digit's gate over 2 + 1
        // experts, Position's over 2 + 2 (Linear(144→3), Linear(144→4)), and the heads (1445 + 4624 + 34).
        Assert.Equal(5 * (48 + 296) + (144 * 3 + 3) + (144 * 4 + 4) + 1445 + 4624 + 34, CGCPerTaskModel.ParameterCount);
        using (var cgc = new CGCPerTaskModel())
        {
            Assert.Equal(CGCPerTaskModel.ParameterCount, cgc.parameters().Sum(p => p.numel()));
            var shapes = cgc.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
            Assert.Equal([3L, 144], shapes["gates.digit.0.weight"]);
            Assert.Equal([4L, 144], shapes["gates.position.0.weight"]);
            foreach (string block in new[] { "stem", "stage" })
            {
                Assert.Equal(2, Copies(shapes.Keys, $"{block}.shared."));
                Assert.Equal(1, Copies(shapes.Keys, $"{block}.tasks.digit."));
                Assert.Equal(2, Copies(shapes.Keys, $"{block}.tasks.position."));
            }
        }

        // [PLE(2, 0, 1)]: per level two shared experts, none for Digit, one for Position; Digit's gates span the two
        // shared experts, Position's three, the first level's shared gate all three.
        Assert.Equal(3 * (48 + 296) + (144 * 2 + 2) + (144 * 3 + 3) + (144 * 3 + 3) + (576 * 2 + 2) + (576 * 3 + 3) + 1445 + 4624 + 34, PLEPerTaskModel.ParameterCount);
        using (var ple = new PLEPerTaskModel())
        {
            Assert.Equal(PLEPerTaskModel.ParameterCount, ple.parameters().Sum(p => p.numel()));
            var shapes = ple.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
            Assert.Equal([2L, 144], shapes["stem.gates.digit.0.weight"]);
            Assert.Equal([3L, 144], shapes["stem.gates.position.0.weight"]);
            Assert.Equal([3L, 144], shapes["stem.shared_gate.0.weight"]);
            Assert.Equal([2L, 576], shapes["stage.gates.digit.0.weight"]);
            Assert.Equal([3L, 576], shapes["stage.gates.position.0.weight"]);
            Assert.DoesNotContain("stage.shared_gate.0.weight", shapes.Keys);
            foreach (string block in new[] { "stem", "stage" })
            {
                Assert.Equal(0, Copies(shapes.Keys, $"{block}.tasks.digit."));
                Assert.Equal(1, Copies(shapes.Keys, $"{block}.tasks.position."));
            }
        }

        // The number of expert copies under a prefix: the distinct first components after it.
        static int Copies(IEnumerable<string> names, string prefix) =>
            names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Select(n => n[prefix.Length..].Split('.')[0]).Distinct().Count();
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void MovesToAnotherTypeLikeAnyModule(string architecture)
    {
        // TorchSharp's ModuleDict breaks Module.to (two public indexers); the architectures' containers must not.
        Built built = Create(architecture);
        using var _ = built.Module;
        built.Module.to(ScalarType.Float64);
        Assert.All(built.Module.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        using var scope = NewDisposeScope();
        Assert.All(built.Forward(randn(2, 1, 12, 12, dtype: ScalarType.Float64)), o => Assert.Equal(ScalarType.Float64, o.dtype));
    }

    [Theory]
    [InlineData("HardSharing", "stem.", "stage.")]
    [InlineData("MMoE", "stem.shared.", "stage.shared.")]
    [InlineData("OMoE", "stem.shared.", "stage.shared.", "gate.")]
    [InlineData("CGC", "stem.shared.", "stage.shared.")]
    [InlineData("PLE", "stem.shared.", "stem.shared_gate.", "stage.shared.")]
    [InlineData("CGCPerTask", "stem.shared.", "stage.shared.")]
    [InlineData("PLEPerTask", "stem.shared.", "stem.shared_gate.", "stage.shared.")]
    [InlineData("CrossStitch", "stem.", "stage.", "cross_stitch.")]
    [InlineData("MTAN", "stem.", "stage.")]
    public void EachArchitectureSharesWhatItsDocumentationSays(string architecture, params string[] prefixes)
    {
        Built built = Create(architecture);
        using var _ = built.Module;
        var shared = new HashSet<Parameter>(built.Shared(), ReferenceEqualityComparer.Instance);
        foreach (var (name, parameter) in built.Module.named_parameters())
            Assert.True(shared.Contains(parameter) == prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)), $"{architecture}: {name}");
    }

    public static TheoryData<string, string, GradientMode> EveryStrategy
    {
        get
        {
            var data = new TheoryData<string, string, GradientMode>();
            foreach (string architecture in new[] { "HardSharing", "MMoE", "OMoE", "CGC", "PLE", "CrossStitch", "MTAN" })
            {
                foreach (string name in WeightingStrategies.Names.Prepend("Static"))
                    data.Add(architecture, name, GradientMode.Parameters);
                foreach (string name in WeightingTrainingTests.RepresentationStrategies)
                    data.Add(architecture, name, GradientMode.Representation);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EveryStrategy))]
    public void TrainsWithEveryStrategy(string architecture, string strategy, GradientMode mode)
    {
        torch.manual_seed(7);
        var (images, classes, positions) = Squares(256, seed: 3);
        Built built = Create(architecture);
        using var _ = built.Module;
        var step = built.Trainer(WeightingTrainingTests.Create(strategy), mode);
        double[] first = [], last = [];
        for (int epoch = 0; epoch < 3; epoch++)
            for (int b = 0; b < 4; b++)
            {
                using var scope = NewDisposeScope();
                var batch = arange(b * 64, (b + 1) * 64);
                double[] losses = step(images[batch], classes[batch], positions[batch]);
                Assert.All(losses, l => Assert.True(double.IsFinite(l), $"{architecture} {strategy} {mode}: loss {l}"));
                if (epoch == 0 && b == 0) first = losses;
                last = losses;
            }
        Assert.True(last[0] < first[0], $"{architecture} {strategy} {mode}: the class loss went from {first[0]:F4} to {last[0]:F4}");
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void LearnsTheSquaresProblem(string architecture)
    {
        torch.manual_seed(5);
        var (images, classes, positions) = Squares(1024, seed: 9);
        var (testImages, testClasses, _) = Squares(512, seed: 10);
        Built built = Create(architecture);
        using var _ = built.Module;
        var step = built.Trainer(new EqualWeighting(), GradientMode.Parameters);
        for (int epoch = 0; epoch < 6; epoch++)
            for (int b = 0; b < 16; b++)
            {
                using var scope = NewDisposeScope();
                var batch = arange(b * 64, (b + 1) * 64);
                step(images[batch], classes[batch], positions[batch]);
            }
        built.Module.eval();
        using var noGrad = no_grad();
        double accuracy = built.Forward(testImages)[0].argmax(1).eq(testClasses).to(ScalarType.Float64).mean().item<double>();
        Assert.True(accuracy > 0.8, $"{architecture}: test accuracy {accuracy:P1} of the column band");
    }

    [Fact]
    public void AHeadReadsAnEarlyTrunkBlock()
    {
        torch.manual_seed(2);
        using var model = new AuxiliaryHeadModel();
        Assert.Equal("early", model.Tasks[1].Representation);
        Assert.Equal([8, 8, 8], model.Tasks[1].RepresentationShape);
        Assert.Equal([1, 8, 8], model.Tasks[1].OutputShape);
        using var scope = NewDisposeScope();
        Tensor input = randn(4, 1, 16, 16);
        var outputs = model.forward(input);
        Assert.Equal([4L, 1, 8, 8], outputs.Edges.shape);
        Tensor[] representations = model.ForwardRepresentations(input);
        Assert.Equal([4L, 8, 8, 8], representations[1].shape);
        // Only the early block's gradient reaches the auxiliary task.
        model.zero_grad();
        model.forward(input).Edges.sum().backward();
        Assert.All(model.named_parameters().Where(p => p.name.StartsWith("late.", StringComparison.Ordinal)), p => Assert.True(p.parameter.grad is null || p.parameter.grad.abs().sum().item<float>() == 0));
        Assert.Contains(model.named_parameters(), p => p.name.StartsWith("early.", StringComparison.Ordinal) && p.parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void RepresentationModeNeedsOneRepresentationOrOneOfEqualShapePerTask()
    {
        using var model = new AuxiliaryHeadModel();
        var error = Assert.Throws<NotSupportedException>(() => model.CreateTrainer(p => optim.SGD(p, 0.1), new Mgda(), GradientMode.Representation));
        Assert.Contains("'Label' reads late [16]", error.Message);
        Assert.Contains("'Edges' reads early [8, 8, 8]", error.Message);
        Assert.Contains("GradientMode.Parameters", error.Message);

        // Blocks of one shape are still different blocks: their gradients are not comparable.
        using var sameShape = new SameShapeReadsModel();
        error = Assert.Throws<NotSupportedException>(() => sameShape.CreateTrainer(p => optim.SGD(p, 0.1), new Mgda(), GradientMode.Representation));
        Assert.Contains("'Early' reads first [16], 'Late' reads second [16]", error.Message);
        // The architectures that give every task its own representation take each task's gradient of its own.
        using var mixture = new MMoEModel();
        Assert.NotNull(mixture.CreateTrainer(p => optim.SGD(p, 0.1), new Mgda(), GradientMode.Representation));
    }
}
