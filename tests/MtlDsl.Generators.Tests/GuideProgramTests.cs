using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The programs a newcomer copies are true: the README's example and the first model of docs/getting-started.md
/// compile with the generator, with no diagnostic and no compiler error or warning. Each page's ```csharp blocks are
/// taken as they are written (the declaration, then the program that uses it); the README's program names data it
/// does not build (<c>train</c>, <c>validation</c>), so it becomes the body of a method that is handed them.
/// MtlDsl.Onnx's <c>ExportOnnx</c> is declared beside them as DocumentationExampleTests declares it.
/// </summary>
public class GuideProgramTests
{
    private static readonly Regex Block = new(@"^```csharp\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.Compiled);

    private static List<string> Blocks(string page) =>
        Block.Matches(GeneratorHarness.RepositoryFile(page).Replace("\r\n", "\n")).Select(m => m.Groups[1].Value).ToList();

    [Fact]
    public void TheReadmeExampleCompiles()
    {
        List<string> blocks = Blocks("README.md");
        Assert.Equal(2, blocks.Count);
        string[] lines = blocks[1].Split('\n');
        string usings = string.Join('\n', lines.Where(l => l.StartsWith("using ", StringComparison.Ordinal) && !l.StartsWith("using var", StringComparison.Ordinal)));
        string body = string.Join('\n', lines.Where(l => !l.StartsWith("using ", StringComparison.Ordinal) || l.StartsWith("using var", StringComparison.Ordinal)));
        string program = usings + "\nusing MtlDsl.Data;\n\npublic static class Program\n{\n" +
            "    public static void Run(MultiTaskData<PointModel.Targets> train, MultiTaskData<PointModel.Targets> validation)\n    {\n" +
            body + "\n    }\n}\n";
        AssertCompilesClean(OutputKind.DynamicallyLinkedLibrary, blocks[0], program);
    }

    [Fact]
    public void TheGettingStartedProgramCompiles()
    {
        List<string> blocks = Blocks("docs/getting-started.md");
        int declaration = blocks.FindIndex(b => b.Contains("public partial class PointModel", StringComparison.Ordinal));
        Assert.True(declaration >= 0, "docs/getting-started.md declares no PointModel.");
        AssertCompilesClean(OutputKind.ConsoleApplication, blocks[declaration], blocks[declaration + 1]);
    }

    // What a new console project of the .NET SDK imports by itself (ImplicitUsings), as the reader's project does.
    private const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
        "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;\n";

    private static void AssertCompilesClean(OutputKind kind, string declaration, string program)
    {
        var compilation = GeneratorHarness.Compilation(program, declaration, DocumentationExampleTests.OnnxExtensions, ImplicitUsings)
            .WithOptions(new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        Assert.Empty(driver.GetRunResult().Diagnostics);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
