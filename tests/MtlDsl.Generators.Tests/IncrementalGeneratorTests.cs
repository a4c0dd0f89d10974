using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Tests;

/// <summary>The generator does no work on edits that do not touch a model, and only the edited model's work on edits that do.</summary>
public class IncrementalGeneratorTests
{
    private const string Usings = "using MtlDsl;\nusing TorchSharp.Modules;\n";

    private static string Model(string name, int hidden) => Usings +
        $"[MultiTaskModel, Input(6)]\npublic partial class {name}\n{{\n" +
        $"    [Trunk, Linear({hidden}), ReLU] public partial Sequential Shared {{ get; }}\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.CrossEntropy), Linear(3)] public partial Sequential B { get; }\n}\n";

    private const string Unrelated = "public static class Helpers\n{\n    public static int Twice(int x) => 2 * x;\n}\n";

    private static readonly string[] ModelSteps =
    [
        MultiTaskModelGenerator.TrackingNames.Parse,
        MultiTaskModelGenerator.TrackingNames.Analyze,
        MultiTaskModelGenerator.TrackingNames.Diagnostics,
        MultiTaskModelGenerator.TrackingNames.Source,
    ];

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun()
    {
        Compilation compilation = GeneratorHarness.Compilation(Model("First", 8), Model("Second", 8), Unrelated);
        return (GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation), compilation);
    }

    private static Compilation Replace(Compilation compilation, int tree, string text) =>
        compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.ElementAt(tree),
            CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path: compilation.SyntaxTrees.ElementAt(tree).FilePath));

    private static IEnumerable<(string Step, IncrementalStepRunReason Reason, object Value)> Outputs(GeneratorDriver driver, string step) =>
        driver.GetRunResult().Results.Single().TrackedSteps.TryGetValue(step, out var runs)
            ? runs.SelectMany(r => r.Outputs.Select(o => (step, o.Reason, o.Value)))
            : [];

    [Fact]
    public void AnUnrelatedEditLeavesEveryStepCachedOrUnchanged()
    {
        var (driver, compilation) = FirstRun();
        driver = driver.RunGenerators(Replace(compilation, 2, Unrelated.Replace("2 * x", "x + x")));
        var outputs = ModelSteps.SelectMany(step => Outputs(driver, step)).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{o.Step}: {o.Reason}"));
    }

    [Fact]
    public void EditingOneModelRegeneratesOnlyThatModel()
    {
        var (driver, compilation) = FirstRun();
        driver = driver.RunGenerators(Replace(compilation, 0, Model("First", 16)));
        var source = Outputs(driver, MultiTaskModelGenerator.TrackingNames.Source).ToList();
        Assert.Equal(2, source.Count);
        var first = Assert.Single(source, o => ((EmitInput)o.Value).Spec.ClassName == "First");
        var second = Assert.Single(source, o => ((EmitInput)o.Value).Spec.ClassName == "Second");
        Assert.Equal(IncrementalStepRunReason.Modified, first.Reason);
        Assert.True(second.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"Second: {second.Reason}");
        Assert.Contains("Linear(6, 16)", driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("First.g.cs", StringComparison.Ordinal)).ToString());
    }

    [Fact]
    public void AConstantDeclaredInAnotherFileReachesTheModelWhenItChanges()
    {
        static string Sizes(int hidden) => $"public static class Sizes\n{{\n    public const int Hidden = {hidden};\n}}\n";
        string model = Usings + "[MultiTaskModel, Input(6)]\npublic partial class Uses\n{\n" +
            "    [Trunk, Linear(Sizes.Hidden), ReLU, Linear(2 * Sizes.Hidden)] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.L1, Weight = -(-0.5)), Linear(1)] public partial Sequential B { get; }\n}\n";
        Compilation compilation = GeneratorHarness.Compilation(model, Sizes(8));
        GeneratorDriver driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        string first = driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Uses.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("Linear(6, 8)", first);
        Assert.Contains("Linear(8, 16)", first);
        Assert.Contains("global::MtlDsl.Loss.L1, 0.5,", first);

        driver = driver.RunGenerators(Replace(compilation, 1, Sizes(12)));
        string second = driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Uses.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("Linear(6, 12)", second);
        Assert.Contains("Linear(12, 24)", second);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(Outputs(driver, MultiTaskModelGenerator.TrackingNames.Source)).Reason);
    }

    [Fact]
    public void AnAliasChangedInAnotherFileReachesTheModel()
    {
        // The model's file is unchanged; what its attribute names bind to changes elsewhere (a global using).
        string model = "using TorchSharp.Modules;\n[MtlDsl.MultiTaskModel, MtlDsl.Input(6)]\npublic partial class Aliased\n{\n" +
            "    [MtlDsl.Trunk, MtlDsl.Linear(8), Activation] public partial Sequential Shared { get; }\n" +
            "    [MtlDsl.Task(MtlDsl.Loss.MeanSquaredError), MtlDsl.Linear(1)] public partial Sequential A { get; }\n" +
            "    [MtlDsl.Task(MtlDsl.Loss.L1), MtlDsl.Linear(1)] public partial Sequential B { get; }\n}\n";
        Compilation compilation = GeneratorHarness.Compilation(model, "global using Activation = MtlDsl.ReLUAttribute;\n");
        GeneratorDriver driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        Assert.Contains("ReLU()", driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Aliased.g.cs", StringComparison.Ordinal)).ToString());

        driver = driver.RunGenerators(Replace(compilation, 1, "global using Activation = MtlDsl.TanhAttribute;\n"));
        string second = driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Aliased.g.cs", StringComparison.Ordinal)).ToString();
        Assert.DoesNotContain("ReLU()", second);
        Assert.Contains("Tanh()", second);
    }

    [Fact]
    public void AnEditOfAnOwnModulesShapeMethodInAnotherFileReachesTheModel()
    {
        // The one method body the parse reads: the static OutputShape of a module of the user's own.
        static string Module(string shape) => "public sealed class Widen : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>\n{\n" +
            "    public Widen(int factor) : base(\"Widen\") { }\n" +
            "    public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => TorchSharp.torch.cat(new[] { x, x }, 1);\n" +
            $"    public static int[] OutputShape(int[] input, int factor) => {shape};\n}}\n";
        string model = Usings + "[MultiTaskModel, Input(6)]\npublic partial class Owns\n{\n" +
            "    [Trunk, Module(typeof(Widen), 2), Linear(4)] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.L1), Linear(1)] public partial Sequential B { get; }\n}\n";
        Compilation compilation = GeneratorHarness.Compilation(model, Module("[input[0] * factor]"));
        GeneratorDriver driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        Assert.Contains("Linear(12, 4)", driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Owns.g.cs", StringComparison.Ordinal)).ToString());

        driver = driver.RunGenerators(Replace(compilation, 1, Module("[input[0] + factor]")));
        Assert.Contains("Linear(8, 4)", driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith("Owns.g.cs", StringComparison.Ordinal)).ToString());
    }

    [Fact]
    public void AnEditInsideABodyReusesTheParseAndADeclarationEditParsesAgainWithTheSameResult()
    {
        var (driver, compilation) = FirstRun();
        ulong before = MultiTaskModelGenerator.ParseCache.DeclarationVersion(compilation, default);
        Compilation bodyEdit = Replace(compilation, 2, Unrelated.Replace("2 * x", "x + x"));
        Assert.Equal(before, MultiTaskModelGenerator.ParseCache.DeclarationVersion(bodyEdit, default));
        Compilation declarationEdit = Replace(compilation, 2, Unrelated.Replace("Twice(int x)", "Twice(long x)"));
        Assert.NotEqual(before, MultiTaskModelGenerator.ParseCache.DeclarationVersion(declarationEdit, default));

        // After a declaration edit elsewhere every model is parsed again, and comes out equal: nothing downstream reruns.
        driver = driver.RunGenerators(declarationEdit);
        Assert.All(Outputs(driver, MultiTaskModelGenerator.TrackingNames.Parse), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(Outputs(driver, MultiTaskModelGenerator.TrackingNames.Source), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
    }

    /// <summary>Types that must never be held by a pipeline value: they pin a compilation and defeat the cache.</summary>
    private static readonly Type[] Forbidden = [typeof(ISymbol), typeof(SyntaxNode), typeof(Location), typeof(Compilation), typeof(SemanticModel), typeof(SyntaxTree)];

    [Fact]
    public void PipelineValuesHoldOnlyPlainEquatableData()
    {
        var seen = new HashSet<Type>();
        Walk(typeof(ParseResult), seen, "ParseResult");
        Walk(typeof(AnalysisResult), seen, "AnalysisResult");
        Assert.Contains(typeof(Model.LayerSpec), seen);
    }

    private static void Walk(Type type, HashSet<Type> seen, string path)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying) type = underlying;
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || !seen.Add(type)) return;
        Assert.False(Forbidden.Any(f => f.IsAssignableFrom(type)), $"{path} is a {type.Name}");
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Model.EquatableArray<>))
        {
            Walk(type.GetGenericArguments()[0], seen, path + "[]");
            return;
        }
        Assert.False(typeof(IEnumerable).IsAssignableFrom(type), $"{path} is a {type.Name}: use EquatableArray so the value compares by content");
        Assert.True(type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEquatable<>)), $"{path} ({type.Name}) is not equatable");
        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            Walk(field.FieldType, seen, $"{path}.{field.Name}");
    }
}
