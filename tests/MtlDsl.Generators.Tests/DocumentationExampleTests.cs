using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The examples of docs/diagnostics.md are true: each ```csharp block under a "## MTLnnn" heading is a whole file
/// that is compiled with the generator, after the page's stated usings (<c>using MtlDsl; using TorchSharp.Modules;</c>,
/// on one line before the block) and beside a declaration of MtlDsl.Onnx's ExportOnnx extension (this project does not
/// reference MtlDsl.Onnx), so that a block may call it. The rules:
/// <list type="bullet">
/// <item>A line that ends in a comment starting with diagnostic ids, <c>// MTL013</c> or <c>// MTL013, MTL017: why</c>,
/// is a marked line: each id it names is reported by the generator at a location that starts on that line.</item>
/// <item>Every diagnostic the generator reports starts on a line marked with its id; a block without a marker
/// gets no diagnostic.</item>
/// <item>The compiler reports no error in a generated file (.g.cs).</item>
/// <item>The compiler reports no error in the block except one whose id (<c>CS0751</c>) is written in a marker comment
/// of the block: where the section says the compiler reports an error of its own (MTL001's missing partial), the
/// example names it. Compiler warnings are not checked.</item>
/// </list>
/// Each block is one test case, named by its section's id (and its number within the section when there are several).
/// </summary>
public class DocumentationExampleTests
{
    private const string Page = "docs/diagnostics.md";
    private const string Usings = "using MtlDsl; using TorchSharp.Modules;\n";

    // MtlDsl.Onnx's extension as it is declared there.
    private const string OnnxExtensions =
        "namespace MtlDsl\n{\n    public static class OnnxExtensions\n    {\n" +
        "        public static object ExportOnnx<TOutputs, TTargets>(this MultiTaskModule<TOutputs, TTargets> model, string path, System.Collections.Generic.IReadOnlyDictionary<string, string>? metadata = null)\n" +
        "            where TOutputs : ITaskTensors<TOutputs> where TTargets : ITaskTensors<TTargets> => path;\n    }\n}\n";

    private static readonly Regex SectionHeading = new(@"^## (MTL\d{3})\b", RegexOptions.Compiled);
    // A trailing line comment that starts with one or more ids: "// MTL006", "// MTL010, MTL029: …".
    private static readonly Regex Marker = new(@"//\s*(MTL\d{3}(?:\s*,\s*MTL\d{3})*)\b", RegexOptions.Compiled);
    private static readonly Regex CompilerId = new(@"\bCS\d{4}\b", RegexOptions.Compiled);

    private sealed record Example(string Section, int Number, string Code);

    /// <summary>The page's ```csharp blocks under the "## MTLnnn" headings, in page order.</summary>
    private static List<Example> Examples()
    {
        var examples = new List<Example>();
        string? section = null;
        List<string>? block = null;
        foreach (string line in GeneratorHarness.RepositoryFile(Page).Replace("\r\n", "\n").Split('\n'))
        {
            if (block is not null)
            {
                if (line.TrimEnd() == "```")
                {
                    if (section is not null)
                        examples.Add(new Example(section, examples.Count(e => e.Section == section) + 1, string.Join("\n", block) + "\n"));
                    block = null;
                }
                else
                {
                    block.Add(line);
                }
            }
            else if (line.TrimEnd() == "```csharp")
            {
                block = [];
            }
            else if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Match heading = SectionHeading.Match(line);
                section = heading.Success ? heading.Groups[1].Value : null;
            }
        }
        return examples;
    }

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (Example example in Examples()) data.Add(example.Section, example.Number);
        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void DocumentationExampleIsTrue(string section, int number)
    {
        Example example = Examples().Single(e => e.Section == section && e.Number == number);
        string source = Usings + example.Code;
        var (run, output) = GeneratorHarness.Run(source, OnnxExtensions);

        // Line numbers (0-based) of the block within the compiled file, which starts with the usings' line.
        string[] lines = example.Code.Split('\n');
        var marked = new Dictionary<int, HashSet<string>>();
        var allowedCompilerErrors = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            Match marker = Marker.Match(lines[i]);
            if (!marker.Success) continue;
            marked[i + 1] = marker.Groups[1].Value.Split(',').Select(id => id.Trim()).ToHashSet(StringComparer.Ordinal);
            string comment = lines[i].Substring(marker.Index);
            foreach (Match id in CompilerId.Matches(comment)) allowedCompilerErrors.Add(id.Value);
        }

        var problems = new List<string>();
        static int LineOf(Diagnostic d) => d.Location.GetLineSpan().StartLinePosition.Line;
        static bool InBlock(Diagnostic d) => d.Location.SourceTree?.FilePath == "Model0.cs";
        string At(int line) => line >= 1 && line <= lines.Length ? $"line {line} of the block, \"{lines[line - 1].Trim()}\"" : "the usings' line";

        foreach (var (line, ids) in marked)
            foreach (string id in ids)
                if (!run.Diagnostics.Any(d => d.Id == id && InBlock(d) && LineOf(d) == line))
                    problems.Add($"{id} is not reported on {At(line)}");
        foreach (Diagnostic d in run.Diagnostics)
            if (!InBlock(d) || !marked.TryGetValue(LineOf(d), out var ids) || !ids.Contains(d.Id))
                problems.Add($"unmarked {(InBlock(d) ? "on " + At(LineOf(d)) : "outside the block")}: {d}");

        foreach (Diagnostic d in output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            if (d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true)
                problems.Add($"compiler error in generated code: {d}");
            else if (!allowedCompilerErrors.Contains(d.Id))
                problems.Add($"compiler error {(InBlock(d) ? "on " + At(LineOf(d)) : "outside the block")} not named by a marker: {d}");
        }

        Assert.True(problems.Count == 0, $"{section} example {number} in {Page}:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void DocumentationExampleSectionsAreTheDescriptors()
    {
        // (DiagnosticTests checks that each descriptor has its anchor and help link; this checks the headings both ways.)
        var headings = GeneratorHarness.RepositoryFile(Page).Replace("\r\n", "\n").Split('\n')
            .Select(line => SectionHeading.Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(headings.Distinct().Count(), headings.Count);
        Assert.Equal(
            MtlDsl.Generators.Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).OrderBy(id => id, StringComparer.Ordinal),
            headings.OrderBy(id => id, StringComparer.Ordinal));
        Assert.NotEmpty(Examples());
    }
}
