using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The examples of docs/diagnostics.md are true: each ```csharp block in a diagnostic's section (from its
/// <c>&lt;a id="mtlnnn"&gt;&lt;/a&gt;</c> anchor to the next) is a whole file that is compiled with the generator, after the
/// page's stated usings (<c>using MtlDsl; using TorchSharp.Modules;</c>, on one line before the block) and beside a
/// declaration of MtlDsl.Onnx's ExportOnnx extension (this project does not reference MtlDsl.Onnx), so that a block may
/// call it. Blocks of another language (```xml, ``` for messages) are not compiled. The rules:
/// <list type="bullet">
/// <item>A line that ends in a comment starting with diagnostic ids, <c>// MTL013</c> or <c>// MTL013, MTL017: why</c>,
/// is a marked line: each id it names is reported by the generator at a location that starts on that line.</item>
/// <item>Every diagnostic the generator reports starts on a line marked with its id; a block without a marker
/// gets no diagnostic.</item>
/// <item>The compiler reports no error in a generated file (.g.cs).</item>
/// <item>The compiler reports no error in the block except one whose id (<c>CS0751</c>) is written in a marker comment
/// of the block: where the section says the compiler reports an error of its own (MTL001's missing partial), the
/// example names it. Compiler warnings of a wrong example are not checked.</item>
/// <item>A block whose paragraph before it is <c>Fixed:</c> is the section's example corrected as its "Fix:" says: it
/// has no marker and compiles clean, with no diagnostic of the generator and no compiler error or warning at all
/// (in the block or in the generated code).</item>
/// </list>
/// Each block is one test case, named by its section's id (and its number within the section when there are several).
/// Beside them: every section but the <see cref="WithoutExamples"/> has a wrong example (a marker with its id) and,
/// after it, a fixed one; and the page's anchors are the generator's descriptors and MTLDSL001, the build's warning.
/// </summary>
public class DocumentationExampleTests
{
    private const string Page = "docs/diagnostics.md";
    private const string Usings = "using MtlDsl; using TorchSharp.Modules;\n";

    // MtlDsl.Onnx's extension as it is declared there.
    internal const string OnnxExtensions =
        "namespace MtlDsl\n{\n    public static class OnnxExtensions\n    {\n" +
        "        public static object ExportOnnx<TOutputs, TTargets>(this MultiTaskModule<TOutputs, TTargets> model, string path, System.Collections.Generic.IReadOnlyDictionary<string, string>? metadata = null)\n" +
        "            where TOutputs : ITaskTensors<TOutputs> where TTargets : ITaskTensors<TTargets> => path;\n    }\n}\n";

    /// <summary>
    /// The sections that have no wrong and no fixed example, and why none can exist. Every other section has both.
    /// </summary>
    private static readonly Dictionary<string, string> WithoutExamples = new(StringComparer.Ordinal)
    {
        // The generator reports it when it throws on a declaration (a bug); no valid or invalid declaration should reach
        // it, so no source can show it (DiagnosticTests exempts it from its tests for the same reason).
        ["MTL999"] = "a generator crash, which no declaration should cause",
        // Not the generator's: MtlDsl's buildTransitive/MtlDsl.targets warns when the build's compiler is too old to load
        // the generator. It depends on the SDK that builds the project, not on any C# source.
        ["MTLDSL001"] = "a build warning of MtlDsl.targets about the compiler version, not about source",
    };

    // <a id="mtl001"></a>: a section starts at its anchor, and its heading follows it.
    private static readonly Regex Anchor = new(@"^<a id=""([a-z0-9]+)""></a>\s*$", RegexOptions.Compiled);
    // A trailing line comment that starts with one or more ids: "// MTL006", "// MTL010, MTL029: …".
    private static readonly Regex Marker = new(@"//\s*(MTL\d{3}(?:\s*,\s*MTL\d{3})*)\b", RegexOptions.Compiled);
    private static readonly Regex CompilerId = new(@"\bCS\d{4}\b", RegexOptions.Compiled);

    /// <param name="Section">The section's id, its anchor in upper case.</param>
    /// <param name="Fixed">Whether the paragraph before the block is "Fixed:".</param>
    private sealed record Example(string Section, int Number, string Code, bool Fixed)
    {
        /// <summary>The ids named by the block's markers.</summary>
        public IEnumerable<string> MarkedIds => Code.Split('\n').Select(line => Marker.Match(line)).Where(m => m.Success)
            .SelectMany(m => m.Groups[1].Value.Split(',').Select(id => id.Trim()));
    }

    private static string[] PageLines() => GeneratorHarness.RepositoryFile(Page).Replace("\r\n", "\n").Split('\n');

    /// <summary>The page's anchors, upper case, in page order.</summary>
    private static List<string> Anchors() =>
        PageLines().Select(line => Anchor.Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value.ToUpperInvariant()).ToList();

    /// <summary>The page's ```csharp blocks in the diagnostics' sections, in page order.</summary>
    private static List<Example> Examples()
    {
        var examples = new List<Example>();
        string? section = null;
        string previous = "";   // the last non-blank line before a block
        List<string>? block = null;
        bool isFixed = false;
        foreach (string line in PageLines())
        {
            if (block is not null)
            {
                if (line.TrimEnd() == "```")
                {
                    if (section is not null)
                        examples.Add(new Example(section, examples.Count(e => e.Section == section) + 1, string.Join("\n", block) + "\n", isFixed));
                    block = null;
                    previous = "```";
                }
                else
                {
                    block.Add(line);
                }
                continue;
            }
            if (line.TrimEnd() == "```csharp")
            {
                block = [];
                isFixed = previous == "Fixed:";
                continue;
            }
            Match anchor = Anchor.Match(line);
            if (anchor.Success) section = anchor.Groups[1].Value.ToUpperInvariant();
            else if (line.StartsWith("# ", StringComparison.Ordinal)) section = null;
            if (line.Trim().Length > 0) previous = line.Trim();
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
        static bool InGenerated(Diagnostic d) => d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true;
        string At(int line) => line >= 1 && line <= lines.Length ? $"line {line} of the block, \"{lines[line - 1].Trim()}\"" : "the usings' line";
        string Where(Diagnostic d) => InBlock(d) ? "on " + At(LineOf(d)) : InGenerated(d) ? "in generated code" : "outside the block";

        if (example.Fixed && marked.Count > 0)
            problems.Add("a fixed example has markers: it reports nothing");
        foreach (var (line, ids) in marked)
            foreach (string id in ids)
                if (!run.Diagnostics.Any(d => d.Id == id && InBlock(d) && LineOf(d) == line))
                    problems.Add($"{id} is not reported on {At(line)}");
        foreach (Diagnostic d in run.Diagnostics)
            if (!InBlock(d) || !marked.TryGetValue(LineOf(d), out var ids) || !ids.Contains(d.Id))
                problems.Add($"unmarked {Where(d)}: {d}");

        foreach (Diagnostic d in output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            if (InGenerated(d))
                problems.Add($"compiler error in generated code: {d}");
            else if (!allowedCompilerErrors.Contains(d.Id))
                problems.Add($"compiler error {Where(d)} not named by a marker: {d}");
        }
        // A fixed example compiles clean: the warnings a wrong one may cause (CS9248 beside MTL001, say) are gone too.
        if (example.Fixed)
            foreach (Diagnostic d in output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Warning))
                problems.Add($"compiler warning in a fixed example, {Where(d)}: {d}");

        Assert.True(problems.Count == 0, $"{section} example {number}{(example.Fixed ? " (fixed)" : "")} in {Page}:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void EverySectionHasAWrongExampleAndThenAFixedOne()
    {
        var examples = Examples();
        var problems = new List<string>();
        foreach (string section in Anchors())
        {
            var own = examples.Where(e => e.Section == section).ToList();
            if (WithoutExamples.ContainsKey(section))
            {
                // The list stays true: a section that gains an example leaves it.
                if (own.Count > 0) problems.Add($"{section} is listed as having no example ({WithoutExamples[section]}) but has {own.Count}");
                continue;
            }
            int wrong = own.FindIndex(e => !e.Fixed && e.MarkedIds.Contains(section));
            if (wrong < 0) problems.Add($"{section} has no example marked with {section}");
            if (!own.Any(e => e.Fixed)) problems.Add($"{section} has no fixed example (a ```csharp block after a paragraph \"Fixed:\")");
            else if (own.FindIndex(e => e.Fixed) < wrong) problems.Add($"{section}'s first fixed example comes before its wrong one");
        }
        foreach (string section in WithoutExamples.Keys)
            if (!Anchors().Contains(section)) problems.Add($"{section} is listed as having no example but has no section");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void DocumentationAnchorsAreTheDescriptors()
    {
        // (DiagnosticTests checks that each descriptor has its anchor and help link; this checks the anchors both ways.)
        string[] lines = PageLines();
        var anchors = Anchors();
        Assert.Equal(anchors.Distinct().Count(), anchors.Count);

        // Each anchor is followed by its section's heading, "## MTL001 — …".
        for (int i = 0; i < lines.Length; i++)
        {
            Match anchor = Anchor.Match(lines[i]);
            if (!anchor.Success) continue;
            string id = anchor.Groups[1].Value.ToUpperInvariant();
            Assert.True(i + 1 < lines.Length && lines[i + 1].StartsWith($"## {id} — ", StringComparison.Ordinal),
                $"the anchor of {id} is not followed by its heading \"## {id} — …\"");
        }
        // Every "## " heading has its anchor.
        foreach (string heading in lines.Where(line => line.StartsWith("## ", StringComparison.Ordinal)))
            Assert.Contains(heading.Substring(3).Split(' ')[0], anchors);

        // MTLDSL001 is the one anchor without a descriptor: MtlDsl.targets reports it, not the generator.
        const string BuildWarning = "MTLDSL001";
        Assert.Contains($"Code=\"{BuildWarning}\"", GeneratorHarness.RepositoryFile("src/MtlDsl/buildTransitive/MtlDsl.targets"));
        Assert.Equal(
            MtlDsl.Generators.Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).Append(BuildWarning).OrderBy(id => id, StringComparer.Ordinal),
            anchors.OrderBy(id => id, StringComparer.Ordinal));
        Assert.NotEmpty(Examples());
    }
}
