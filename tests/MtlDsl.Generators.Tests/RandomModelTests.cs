using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The generator never throws, reports every defect with a location, and what it accepts compiles and runs in
/// TorchSharp with exactly the shapes and parameter counts it inferred. Seeds are fixed; a seed that ever
/// finds a bug is kept as a regular test.
/// </summary>
public partial class RandomModelTests(ITestOutputHelper output)
{
    private const int Seed = 20261128;

    private static readonly string[] ShapeDiagnostics = ["MTL005", "MTL006", "MTL007", "MTL015", "MTL019", "MTL026", "MTL029", "MTL032", "MTL034"];

    private sealed record Outcome(RandomModel Model, IReadOnlyList<Diagnostic> Diagnostics, IReadOnlyList<SyntaxTree> Generated)
    {
        public bool Accepted => !Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
    }

    private static Outcome Generate(RandomModel model)
    {
        var (run, _) = GeneratorHarness.Run(model.Source);
        return new Outcome(model, run.Diagnostics, run.GeneratedTrees.Where(t => !t.FilePath.EndsWith("NativeInitializer.g.cs", StringComparison.Ordinal)).ToList());
    }

    [Fact]
    public void AThousandRandomDeclarations()
    {
        var random = new Random(Seed);
        var outcomes = Enumerable.Range(0, 1000).Select(i => Generate(RandomModels.Create(random, i))).ToList();

        foreach (Outcome outcome in outcomes)
        {
            foreach (Diagnostic error in outcome.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
            {
                Assert.True(error.Location.GetLineSpan().Path == "Model0.cs" && error.Location.SourceSpan.Length > 0,
                    $"{outcome.Model.ClassName}: {error.Id} has no location in the source\n{outcome.Model.Source}");
                Assert.NotEqual("MTL999", error.Id);
            }
            if (outcome.Model.Defects.Count > 0)
                Assert.False(outcome.Accepted, $"{outcome.Model.ClassName} has defects ({string.Join(", ", outcome.Model.Defects)}) but no error was reported\n{outcome.Model.Source}");
            else if (!outcome.Accepted)
                Assert.All(outcome.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), d => Assert.Contains(d.Id, ShapeDiagnostics));
        }

        // Everything accepted compiles together, warning-free.
        var accepted = outcomes.Where(o => o.Accepted).ToList();
        var (_, compiled) = GeneratorHarness.Run(accepted.Select(o => o.Model.Source).ToArray());
        var problems = compiled.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(10)));
        Assert.Empty(accepted.SelectMany(o => o.Diagnostics));

        int withDefects = outcomes.Count(o => o.Model.Defects.Count > 0), shapeRejected = outcomes.Count(o => o.Model.Defects.Count == 0 && !o.Accepted);
        output.WriteLine($"1000 declarations: {accepted.Count} accepted, {withDefects} with planted defects (all reported), {shapeRejected} rejected for shapes");
        foreach (var group in outcomes.GroupBy(o => ArchitectureOf(o.Model.Source)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {group.Key}: {group.Count()} declarations, {group.Count(o => o.Accepted)} accepted");
            Assert.True(group.Count(o => o.Accepted) >= 10, $"{group.Key}: only {group.Count(o => o.Accepted)} accepted");
        }
        Assert.True(accepted.Count >= 300, $"only {accepted.Count} of 1000 random models were valid: the fuzzer needs tuning");
        Assert.True(withDefects >= 50 && shapeRejected >= 50, "the fuzzer should exercise both planted defects and shape errors");
    }

    private static string ArchitectureOf(string source)
    {
        foreach (string name in new[] { "MMoE", "CGC", "PLE", "CrossStitch", "MTAN" })
            if (source.Contains($"[{name}", StringComparison.Ordinal)) return name;
        return "HardSharing";
    }

    [Fact]
    public void AHundredAcceptedRandomModelsRunInTorchSharpWithTheInferredShapes()
    {
        var random = new Random(Seed + 1);
        var accepted = new List<Outcome>();
        // At least ten of every architecture among them, five of every 2-D layer form that dense heads use, and five of
        // every other form the fuzzer writes now and then (ids, modules of one's own, feature interactions).
        string[] forms = ["ConvTranspose2d(", "Upsample(", "Mode = UpsampleMode.Bilinear", "StrideHeight", "PaddingWidth", "Residual", "ReLUAfterSum",
            "Embedding(", "EmbeddingBag(", "Mode = BagMode.Sum", "PaddingIndex", "Concat(", "Kind = InputKind.Ids)]", "Bottom = true, Reads", "Module(typeof(Gain", "Module(typeof(Pool",
            "FactorizationMachine", "ReduceSum = false", "InnerProduct", "Cross("];
        bool Enough() => accepted.Count >= 100 && accepted.GroupBy(o => ArchitectureOf(o.Model.Source)).Count(g => g.Count() >= 10) == 6
            && forms.All(f => accepted.Count(o => o.Model.Source.Contains(f, StringComparison.Ordinal)) >= 5)
            && accepted.Count(o => NonSquareKernel().IsMatch(o.Model.Source)) >= 5;
        for (int i = 0; !Enough(); i++)
        {
            Outcome outcome = Generate(RandomModels.Create(random, i));
            if (outcome.Accepted && outcome.Model.Defects.Count == 0 && !outcome.Model.Source.Contains("2000000000", StringComparison.Ordinal)
                && !outcome.Model.Source.Contains("Input(100000)", StringComparison.Ordinal))
                accepted.Add(outcome);
        }

        output.WriteLine($"{accepted.Count} accepted models run; with " +
            string.Join(", ", forms.Select(f => $"{f.TrimEnd('(')}: {accepted.Count(o => o.Model.Source.Contains(f, StringComparison.Ordinal))}")) +
            $", a non-square window or kernel: {accepted.Count(o => NonSquareKernel().IsMatch(o.Model.Source))}");
        Assembly assembly = Compile(accepted);
        torch.manual_seed(Seed);
        foreach (Outcome outcome in accepted)
        {
            Type type = assembly.GetType($"Fuzz.{outcome.Model.ClassName}", throwOnError: true)!;
            using var module = (nn.Module)Activator.CreateInstance(type)!;
            module.eval();
            var tasks = (IReadOnlyList<TaskDefinition>)type.GetProperty("TaskDefinitions")!.GetValue(null)!;
            var inputShape = (IReadOnlyList<int>)type.GetProperty("InputShape")!.GetValue(module)!;
            long parameterCount = (long)type.GetField("ParameterCount")!.GetValue(null)!;
            var summary = (ModelSummary)type.GetProperty("Summary")!.GetValue(null)!;
            var named = module.named_parameters().ToList();
            long own = 0; // the parameters of the user's own modules, which only the run time counts (-1 in their rows)
            foreach (LayerSummary row in summary.Layers)
            {
                long runtime = named.Where(p => row.StateNames.Any(n => p.name == n || p.name.StartsWith(n + ".", StringComparison.Ordinal))).Sum(p => p.parameter.numel());
                if (row.Parameters < 0) { own += runtime; continue; }
                Assert.True(runtime == row.Parameters, $"{outcome.Model.ClassName} {row.Block}.{row.Index}: summary {row.Parameters}, TorchSharp {runtime}\n{outcome.Model.Source}");
            }
            Assert.True(parameterCount + own == module.parameters().Sum(p => p.numel()), $"{outcome.Model.ClassName}: parameter count\n{outcome.Model.Source}");

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // One tensor per declared input: features at random, ids at random within the vocabulary the model checks.
            var declared = (IReadOnlyList<InputDefinition>)type.GetProperty("InputDefinitions")!.GetValue(null)!;
            Assert.Equal(inputShape, declared[0].Shape);
            Tensor[] inputs = declared.Select(d => d.Kind == InputKind.Ids
                ? randint(0, d.Vocabulary, [2, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Int64)
                : randn([2, .. d.Shape.Select(s => (long)s)])).ToArray();
            object outputs = declared.Count == 1
                ? type.GetMethod("forward", [typeof(Tensor)])!.Invoke(module, [inputs[0]])!
                : type.GetMethod("forward", [typeof(IModelInputs)])!.Invoke(module, [Activator.CreateInstance(type.GetNestedType("Inputs")!, inputs.Cast<object>().ToArray())])!;
            var indexer = outputs.GetType().GetProperty("Item")!;
            for (int task = 0; task < tasks.Count; task++)
            {
                var tensor = (Tensor)indexer.GetValue(outputs, [task])!;
                Assert.True(tensor.shape.SequenceEqual([2, .. tasks[task].OutputShape.Select(d => (long)d)]),
                    $"{outcome.Model.ClassName}.{tasks[task].Name}: inferred {string.Join("x", tasks[task].OutputShape)}, TorchSharp gives {string.Join("x", tensor.shape.Skip(1))}\n{outcome.Model.Source}");
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Conv2d\(\d+, \d+, \d+|Pool2d\(\d+, \d+[,)]")]
    private static partial System.Text.RegularExpressions.Regex NonSquareKernel();

    private static Assembly Compile(List<Outcome> models)
    {
        var (_, compilation) = GeneratorHarness.Run(models.Select(o => o.Model.Source).ToArray());
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Take(10)));
        return AssemblyLoadContext.Default.LoadFromStream(new MemoryStream(image.ToArray()));
    }
}
