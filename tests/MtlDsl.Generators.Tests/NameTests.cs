using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Valid names the generator must carry through: models whose names differ only in case, keywords as
/// namespaces and class names. Each compiles with the generated code and no diagnostic at all.
/// </summary>
public class NameTests
{
    private const string Members =
        "    [Trunk, Linear(8)] public partial Sequential Shared { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n";

    private static string Model(string name) => $"[MultiTaskModel, Input(4)]\npublic partial class {name}\n{{\n{Members}}}\n";

    private static (GeneratorDriverRunResult Run, Compilation Output) AssertCompilesClean(params string[] sources)
    {
        var (run, output) = GeneratorHarness.Run(sources);
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        return (run, output);
    }

    [Fact]
    public void TwoModelsWhoseNamesDifferOnlyInCaseBothGetTheirCode()
    {
        var (run, output) = AssertCompilesClean($"using MtlDsl;\nusing TorchSharp.Modules;\nnamespace Shop;\n{Model("Net")}\n{Model("NET")}");
        string[] hints = run.Results.Single().GeneratedSources.Select(s => s.HintName).Where(h => h.StartsWith("Shop.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, hints.Length);
        Assert.Equal(2, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.NotNull(output.GetTypeByMetadataName("Shop.Net+Outputs"));
        Assert.NotNull(output.GetTypeByMetadataName("Shop.NET+Outputs"));
    }

    [Fact]
    public void AModelWithoutACaseTwinKeepsItsPlainHintName()
    {
        var (run, _) = AssertCompilesClean($"using MtlDsl;\nusing TorchSharp.Modules;\nnamespace Shop;\n{Model("Net")}");
        Assert.Contains("Shop.Net.g.cs", run.Results.Single().GeneratedSources.Select(s => s.HintName));
    }

    [Theory]
    [InlineData("namespace A.@event;", "M")]
    [InlineData("namespace @class.@namespace;", "M")]
    [InlineData("namespace Shop;", "@class")]
    [InlineData("namespace Shop;", "@event")]
    public void KeywordsAsNamespacesAndClassNamesAreWrittenWithAt(string namespaceLine, string className)
    {
        var (run, _) = AssertCompilesClean($"using MtlDsl;\nusing TorchSharp.Modules;\n{namespaceLine}\n{Model(className)}");
        Assert.All(run.Results.Single().GeneratedSources, s => Assert.DoesNotContain("@", s.HintName));
    }

    [Fact]
    public void ModelsInNestedContainersWithKeywordNamesCompile() =>
        AssertCompilesClean($"using MtlDsl;\nusing TorchSharp.Modules;\nnamespace Shop;\npublic partial class @struct\n{{\n{Model("Inner")}}}\n");
}

/// <summary>Block names against the names the generator adds: one located MTL013, never errors inside generated code.</summary>
public class GeneratedNameTests
{
    private static string Model(string trunkName, string taskName, string otherTask = "B") =>
        "using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\npublic partial class M\n{\n" +
        $"    [Trunk, Linear(8)] public partial Sequential {trunkName} {{ get; }}\n" +
        $"    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential {taskName} {{ get; }}\n" +
        $"    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential {otherTask} {{ get; }}\n}}\n";

    [Theory]
    [InlineData("Summary", "A", "Summary", "that the generator declares (property Summary)")]
    [InlineData("Outputs", "A", "Outputs", "that the generator declares (record Outputs)")]
    [InlineData("ParameterCount", "A", "ParameterCount", "that the generator declares (constant ParameterCount)")]
    [InlineData("ForwardDepth", "Depth", "ForwardDepth", "that the generator declares (method ForwardDepth of task 'Depth')")]
    [InlineData("Shared", "Representations", "Representations", "that every model inherits from MultiTaskModule (the generated method ForwardRepresentations of task 'Representations' would hide it)")]
    public void ABlockNameTheGeneratorNeedsIsOneLocatedError(string trunk, string task, string underlined, string reason)
    {
        string source = Model(trunk, task);
        var (run, output) = GeneratorHarness.Run(source);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("MTL013", diagnostic.Id);
        Assert.Contains(reason, diagnostic.GetMessage());
        Assert.Equal(underlined, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
    }

    [Fact]
    public void BlocksWhosePreferredFieldsWouldCoincideEachGetTheirOwn()
    {
        // UV and uV would both be held in _uV: the second block's field takes another name (GeneratedNames).
        var (run, output) = GeneratorHarness.Run(Model("Shared", "UV", "uV"));
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
    }

    [Fact]
    public void ATaskNamedWithAKeywordCompiles()
    {
        var (run, output) = GeneratorHarness.Run(Model("Shared", "@default", "@class"));
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
    }
}
