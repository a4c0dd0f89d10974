using System.Reflection;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using MtlDsl.Tests.Oracle;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// Whole declared models in float32 against their float64 twins with the same weights (<see cref="Float64Oracle"/>):
/// every test model and architecture, and the random declarations of the generator tests' fuzzer (the ones the ONNX
/// check runs, compiled here). Every task's output, the input gradients and every parameter's gradient, and the batch
/// statistics a training pass writes, at batch 1 (evaluation), 37 and 64 (training), twice each. It lives beside the
/// ONNX checks because they share the compiled random declarations: a wrong kernel fails here before ONNX Runtime is
/// even asked.
/// </summary>
public sealed class ModelOracleTests(ITestOutputHelper output)
{
    private static readonly long[] s_batches = [1, 37, 64];

    public static TheoryData<string> Models() => [.. Create.Keys];

    private static readonly Dictionary<string, Func<nn.Module>> Create = new()
    {
        [nameof(TabularModel)] = () => new TabularModel(),
        [nameof(SignalModel)] = () => new SignalModel(),
        [nameof(NormalizationModel)] = () => new NormalizationModel(),
        [nameof(PooledImageModel)] = () => new PooledImageModel(),
        [nameof(AuxiliaryHeadModel)] = () => new AuxiliaryHeadModel(),
        [nameof(SameShapeReadsModel)] = () => new SameShapeReadsModel(),
        [nameof(DenseModel)] = () => new DenseModel(),
        [nameof(ResidualModel)] = () => new ResidualModel(),
        [nameof(RecommenderModel)] = () => new RecommenderModel(),
        [nameof(InteractionModel)] = () => new InteractionModel(),
        [nameof(EsmmModel)] = () => new EsmmModel(),
        [nameof(AitmModel)] = () => new AitmModel(),
        [nameof(ReservedNamesModel)] = () => new ReservedNamesModel(),
        [nameof(ImbalanceModel)] = () => new ImbalanceModel(),
        [nameof(HardSharingModel)] = () => new HardSharingModel(),
        [nameof(MMoEModel)] = () => new MMoEModel(),
        [nameof(OMoEModel)] = () => new OMoEModel(),
        [nameof(CGCModel)] = () => new CGCModel(),
        [nameof(PLEModel)] = () => new PLEModel(),
        [nameof(CGCPerTaskModel)] = () => new CGCPerTaskModel(),
        [nameof(PLEPerTaskModel)] = () => new PLEPerTaskModel(),
        [nameof(CrossStitchModel)] = () => new CrossStitchModel(),
        [nameof(MTANModel)] = () => new MTANModel(),
        [nameof(MMoEBottomModel)] = () => new MMoEBottomModel(),
        [nameof(PLEBottomModel)] = () => new PLEBottomModel(),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryTestModelAgreesWithFloat64(string model)
    {
        var failures = Check(Create[model], model);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void EveryRandomDeclarationAgreesWithFloat64()
    {
        var (models, types, enough) = CompiledRandomDeclarations.Forty;
        Assert.True(enough, "The fuzzer did not bring every form and architecture the check needs.");
        var failures = new List<string>();
        foreach (var (model, type) in models.Zip(types))
            failures.AddRange(Check(() => (nn.Module)Activator.CreateInstance(type)!, model.ClassName));
        output.WriteLine($"{models.Count} random declarations ({string.Join(", ", models.GroupBy(RandomDeclarations.Architecture).Select(g => $"{g.Key} {g.Count()}"))})");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20).Prepend($"{failures.Count} runs disagree with float64:")) +
            Environment.NewLine + string.Join(Environment.NewLine + "----" + Environment.NewLine,
                models.Where(m => failures.Any(f => f.StartsWith(m.ClassName + " ", StringComparison.Ordinal))).Take(3).Select(m => m.Source)));
    }

    private static List<string> Check(Func<nn.Module> create, string name)
    {
        var failures = new List<string>();
        int seed = 0;
        foreach (long batch in s_batches)
        for (int repetition = 0; repetition < 2; repetition++, seed++)
        {
            torch.manual_seed(seed);
            using var model32 = create();
            // Batch statistics need more than one sample: a batch of one runs as inference does. Dropout's random mask
            // is not comparable between the two: it runs as in evaluation, the rest of the model trains.
            if (batch == 1) model32.eval(); else model32.train();
            foreach (var dropout in model32.modules().Where(m => m is TorchSharp.Modules.Dropout)) dropout.eval();
            using var model64 = Float64Oracle.Twin(model32, create);
            foreach (var dropout in model64.modules().Where(m => m is TorchSharp.Modules.Dropout)) dropout.eval();
            Type module = model32.GetType();
            while (!module.IsGenericType || module.GetGenericTypeDefinition() != typeof(MultiTaskModule<,>)) module = module.BaseType!;
            var results = (List<(string, double)>)typeof(ModelOracleTests).GetMethod(nameof(Compare), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(module.GetGenericArguments()).Invoke(null, [model32, model64, batch, seed])!;
            if (Float64Oracle.Failures($"{name} batch {batch}{(repetition > 0 ? " (repetition 2)" : "")}", results) is string failure) failures.Add(failure);
        }
        return failures;
    }

    private static List<(string, double)> Compare<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model32, MultiTaskModule<TOutputs, TTargets> model64, long batch, int seed)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        var generator = new Generator((ulong)(seed + 100));
        Tensor[] inputs = model32.DeclaredInputs.Select(d => d.Kind == InputKind.Ids
            ? randint(0, d.Vocabulary, [batch, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Int64, generator: generator)
            : randn([batch, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Float64, generator: generator)).ToArray();
        string[] names = model32.DeclaredInputs.Select(d => d.Name).ToArray();
        return Float64Oracle.Compare(model32, model64, (m, x) =>
        {
            var model = (MultiTaskModule<TOutputs, TTargets>)m;
            TOutputs outputs = x.Length == 1 ? model.forward(x[0]) : model.forward(new Inputs(names, x));
            return Enumerable.Range(0, model.Tasks.Count).Select(k => outputs[k]).ToArray();
        }, inputs, seed);
    }

    private sealed record Inputs(IReadOnlyList<string> InputNames, Tensor[] Tensors) : IModelInputs
    {
        public int Count => Tensors.Length;
        public Tensor this[int input] => Tensors[input];
    }
}
