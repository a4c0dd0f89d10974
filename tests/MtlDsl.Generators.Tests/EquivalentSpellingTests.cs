using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit.Abstractions;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Property-based: every valid random model, rewritten in spellings the compiler treats as the same declaration
/// (aliases and qualified names for attribute types, integers as casts or as constants of other types declared in
/// another type, explicit arrays, attribute lists split, named arguments), generates the same source as its plain
/// spelling, with no diagnostic from the generator or the compiler.
/// </summary>
public partial class EquivalentSpellingTests(ITestOutputHelper output)
{
    private const int Seed = 20261130;
    private const int Models = 1100;

    // Every layer kind of the registry, and the block attributes that go among the layers.
    private static readonly string[] LayerNames = [.. Layers.LayerRegistry.All.Select(d => d.Name), "Residual", "Concat", "ProductOf"];

    [GeneratedRegex(@"^(\s*)\[(Trunk(?:\((?:[^()]|\([^()]*\))*\))?|Task\((?:[^()]|\([^()]*\))*\))(.*)\]$", RegexOptions.Multiline)]
    private static partial Regex BlockAttributes();

    [GeneratedRegex(@"^\[(MMoE|CGC|PLE|CrossStitch|MTAN)(?:\(([^)]*)\))?\]$", RegexOptions.Multiline)]
    private static partial Regex ArchitectureAttribute();

    // A product's factors, after the attribute's name in any of the spellings (ProductOf, AProductOf, ProductOfAttribute).
    [GeneratedRegex(@"(ProductOf(?:Attribute)?)\(((?:nameof\(\w+\))(?:, nameof\(\w+\))*)\)")]
    private static partial Regex ProductOf();

    [GeneratedRegex(@"Reads = nameof\((\w+)\)")]
    private static partial Regex Reads();

    [GeneratedRegex(@"(?<![\w.])(\d+)(?![\w.])")]
    private static partial Regex Integer();

    [GeneratedRegex(@"\[Input\((""\w+"", ?)?([\d, ]*?)(, Kind = InputKind\.Ids)?\)\]")]
    private static partial Regex Input();

    [GeneratedRegex(@"(Concat(?:Attribute)?)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")]
    private static partial Regex Concat();

    [GeneratedRegex(@"nameof\((\w+)\)")]
    private static partial Regex NameOf();

    [GeneratedRegex(@"^Trunk\(Reads = (""\w+"")\)$")]
    private static partial Regex TrunkReads();

    /// <summary>One spelling: the source rewritten (the class and its namespace kept, so the generated text must be equal).</summary>
    private static string Respell(RandomModel model, int spelling, Random random)
    {
        string source = model.Source;
        var constants = new StringBuilder();
        string constantsClass = "K" + model.ClassName;

        // Integers in attributes: casts to a narrower type, or constants of other integral types in another type.
        string Number(Match m)
        {
            long value = long.Parse(m.Value, CultureInfo.InvariantCulture);
            switch (random.Next(4))
            {
                case 0 when value <= byte.MaxValue: return $"(byte){value}";
                case 1 when value <= short.MaxValue: return $"(short){value}";
                case 2:
                    string type = value <= byte.MaxValue ? "byte" : value <= short.MaxValue ? "short" : "int";
                    string name = $"C{constants.Length}";
                    constants.Append(CultureInfo.InvariantCulture, $"    public const {type} {name} = {value};\n");
                    return $"{constantsClass}.{name}";
                default: return m.Value;
            }
        }

        source = BlockAttributes().Replace(source, m =>
        {
            // Not the arguments of an own module: they are passed to its constructor as written, and their types choose
            // the overload as C# does ((byte)2 and 2 may call different constructors), so they are not the same declaration.
            string indent = m.Groups[1].Value, kind = m.Groups[2].Value,
                rest = string.Concat(SplitLayers(m.Groups[3].Value).Select(l => ", " + (l.StartsWith("Module(", StringComparison.Ordinal) ? l : Integer().Replace(l, Number))));
            // A block that reads one input: Reads, or a [Concat] of one.
            if (spelling == 0 && TrunkReads().Match(kind) is { Success: true } reads) (kind, rest) = ("Trunk", $", Concat({reads.Groups[1].Value})" + rest);
            // An embedding bag's mode by its number; the ids' kind likewise below.
            if (spelling == 1) rest = rest.Replace("Mode = BagMode.Sum", "Mode = (BagMode)1", StringComparison.Ordinal);
            return spelling switch
            {
                // Every attribute in a list of its own.
                0 => indent + "[" + kind + "]" + string.Concat(SplitLayers(rest).Select(l => "[" + l + "]")),
                // Layer attributes by alias.
                1 => indent + "[" + kind + string.Concat(SplitLayers(rest).Select(l => ", " + Aliased(l))) + "]",
                // Fully qualified attribute class names.
                _ => indent + "[" + Qualified(kind) + string.Concat(SplitLayers(rest).Select(l => ", " + Qualified(l))) + "]",
            };
        });
        // The architecture: named arguments, numbers of other types, or the qualified class name.
        source = ArchitectureAttribute().Replace(source, m =>
        {
            string name = m.Groups[1].Value;
            string[] values = m.Groups[2].Success ? m.Groups[2].Value.Split(", ") : [];
            string[] parameters = name == "MMoE" ? ["experts"] : ["sharedExperts", "taskExperts"];
            // CGC and PLE with one count of task experts per task: the counts as one explicit array in two spellings.
            bool perTask = name is "CGC" or "PLE" && values.Length != 2;
            string arguments = spelling switch
            {
                0 when perTask => $"sharedExperts: {values[0]}, taskExpertsPerTask: new int[] {{ {string.Join(", ", values.Skip(1))} }}",
                0 => string.Join(", ", values.Select((v, i) => $"{parameters[i]}: {v}")),
                1 => string.Join(", ", values.Select(v => Integer().Replace(v, Number))),
                _ when perTask => $"{values[0]}, new[] {{ {string.Join(", ", values.Skip(1))} }}",
                _ => string.Join(", ", values),
            };
            string attribute = spelling == 2 ? $"global::MtlDsl.{name}Attribute" : name;
            return values.Length == 0 ? $"[{attribute}]" : $"[{attribute}({arguments})]";
        });
        // A block a head reads: nameof(Block), the same name as a string, or nameof through the class.
        source = Reads().Replace(source, m => spelling switch
        {
            1 => $"Reads = \"{m.Groups[1].Value}\"",
            2 => $"Reads = nameof({model.ClassName}.{m.Groups[1].Value})",
            _ => m.Value,
        });
        // What [Concat] names: nameof(Block) or its string; the sources as one explicit array; a name as a constant of another class.
        source = Concat().Replace(source, m =>
        {
            string sources = m.Groups[2].Value;
            if (spelling == 1) sources = NameOf().Replace(sources, n => $"\"{n.Groups[1].Value}\"");
            if (spelling == 2) sources = $"new string[] {{ {sources} }}";
            return $"{m.Groups[1].Value}({sources})";
        });
        // The factors of a product: nameof(Task), the same name as a string, or nameof through the class.
        source = ProductOf().Replace(source, m => spelling switch
        {
            1 => $"{m.Groups[1].Value}({NameOf().Replace(m.Groups[2].Value, n => $"\"{n.Groups[1].Value}\"")})",
            2 => $"{m.Groups[1].Value}({NameOf().Replace(m.Groups[2].Value, n => $"nameof({model.ClassName}.{n.Groups[1].Value})")})",
            _ => m.Value,
        });
        source = Input().Replace(source, m =>
        {
            string name = m.Groups[1].Value, shape = m.Groups[2].Value, kind = m.Groups[3].Value;
            if (name.Length > 0 && spelling == 2)
            {
                // The name as a constant of another class.
                string constant = $"S{constants.Length}";
                constants.Append(CultureInfo.InvariantCulture, $"    public const string {constant} = {name.TrimEnd(',', ' ')};\n");
                name = $"{constantsClass}.{constant}, ";
            }
            if (spelling == 1 && kind.Length > 0) kind = ", Kind = (InputKind)1";
            string array = spelling == 1 ? $"new[] {{ {shape} }}" : $"new int[] {{ {shape} }}";
            if (shape.Trim().Length == 0) array = spelling == 1 ? "" : "new int[0]";
            string arguments = name + array;
            return $"[Input({arguments.TrimEnd(',', ' ')}{kind})]";
        });
        if (spelling == 1)
            source = source.Replace("using MtlDsl;\n", "using MtlDsl;\n" + string.Concat(LayerNames.Select(n => $"using A{n} = MtlDsl.{n}Attribute;\n")), StringComparison.Ordinal);
        if (constants.Length > 0) source += $"\nstatic class {constantsClass}\n{{\n{constants}}}\n";
        return source;
    }

    // The layers after [Trunk or [Task(...): ", Linear(8), ReLU" → ["Linear(8)", "ReLU"] (commas inside parentheses kept).
    private static IEnumerable<string> SplitLayers(string rest)
    {
        int depth = 0, start = -1;
        for (int i = 0; i < rest.Length; i++)
        {
            char c = rest[i];
            if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == ',' && depth == 0)
            {
                if (start >= 0) yield return rest[start..i].Trim();
                start = i + 1;
            }
        }
        if (start >= 0 && start < rest.Length) yield return rest[start..].Trim();
    }

    private static string Aliased(string layer)
    {
        string name = new(layer.TakeWhile(char.IsLetterOrDigit).ToArray());
        return "A" + name + layer[name.Length..];
    }

    private static string Qualified(string attribute)
    {
        string name = new(attribute.TakeWhile(char.IsLetterOrDigit).ToArray());
        return $"global::MtlDsl.{name}Attribute" + attribute[name.Length..];
    }

    [Fact]
    public void EveryValidRandomModelGeneratesTheSameSourceInEquivalentSpellings()
    {
        var random = new Random(Seed);
        var plain = new List<(RandomModel Model, string Generated)>();
        int declarations = 0, rejected = 0;
        for (int i = 0; i < Models; i++)
        {
            RandomModel model = RandomModels.Create(random, i);
            var (run, compiled) = GeneratorHarness.Run(model.Source);   // asserts no generator exception (CS8785)
            declarations++;
            Assert.DoesNotContain(run.Diagnostics, d => d.Id == "MTL999");
            Assert.All(run.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), d => Assert.True(d.Location.SourceSpan.Length > 0, $"{d.Id} has no location"));
            Assert.Empty(compiled.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
            if (model.Defects.Count > 0 || run.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)) { rejected++; continue; }
            plain.Add((model, run.Results.Single().GeneratedSources.Single(s => s.HintName == $"Fuzz.{model.ClassName}.g.cs").SourceText.ToString()));
        }

        int spelled = 0;
        for (int spelling = 0; spelling < 3; spelling++)
        {
            var sources = plain.Select(p => Respell(p.Model, spelling, random)).ToArray();
            Assert.All(sources.Zip(plain), pair => Assert.NotEqual(pair.Second.Model.Source, pair.First)); // every spelling differs in text
            if (spelling == 1) output.WriteLine(sources[0]);
            // The named-input forms are among them, each respelled (a regex that stopped matching would leave them as they were).
            string[] forms = spelling switch { 0 => ["[Concat(\"Ids"], 1 => ["Kind = (InputKind)1", "Concat(\"", "AEmbedding", "AModule(typeof(Gain", "AProductOf(\""], _ => ["new string[] {", $"Input(K", "ProductOfAttribute(nameof(Random"] };
            foreach (string form in forms)
                Assert.True(sources.Count(x => x.Contains(form, StringComparison.Ordinal)) >= 5, $"spelling {spelling}: only {sources.Count(x => x.Contains(form, StringComparison.Ordinal))} models contain {form}");
            var (run, compiled) = GeneratorHarness.Run(sources);     // all of one spelling in one compilation
            declarations += sources.Length;
            spelled += sources.Length;
            Assert.True(run.Diagnostics.IsEmpty, $"spelling {spelling}: {string.Join("\n", run.Diagnostics.Take(5))}");
            var problems = compiled.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            Assert.True(problems.Count == 0, $"spelling {spelling}: {string.Join("\n", problems.Take(5))}\n{sources[0]}");
            var generated = run.Results.Single().GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());
            for (int m = 0; m < plain.Count; m++)
                Assert.True(generated[$"Fuzz.{plain[m].Model.ClassName}.g.cs"] == plain[m].Generated,
                    $"spelling {spelling} of {plain[m].Model.ClassName} generates other code:\n{sources[m]}");
        }

        output.WriteLine($"{declarations} declarations: {Models} random ({plain.Count} valid, {rejected} rejected with located errors), " +
                         $"{spelled} equivalent spellings of the valid ones, all generating the plain spelling's source; 0 generator exceptions (CS8785), 0 MTL999, 0 errors in generated files");
        Assert.True(declarations >= 2000, $"only {declarations} declarations");
    }
}
