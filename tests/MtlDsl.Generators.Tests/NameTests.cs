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
