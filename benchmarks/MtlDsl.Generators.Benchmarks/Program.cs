using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MtlDsl.Generators;

// What MtlDsl's generator costs a build and an editor: a project of 200 model declarations (and as many
// ordinary classes) is compiled with and without the generator in one process; then one unrelated line is
// edited, again and again, and the generator's re-run is timed. Usage: [--models N] [--repeats N] [--edits N]
int models = Option("--models", 200), repeats = Option("--repeats", 5), edits = Option("--edits", 50);
var parse = new CSharpParseOptions(LanguageVersion.Preview);
var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
    .Append(typeof(MtlDsl.Loss).Assembly.Location).Append(typeof(TorchSharp.torch).Assembly.Location)
    .Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();

var trees = new List<SyntaxTree>();
for (int i = 0; i < models; i++)
{
    trees.Add(CSharpSyntaxTree.ParseText(ModelSource(i), parse, path: $"Model{i}.cs"));
    trees.Add(CSharpSyntaxTree.ParseText(OrdinarySource(i, 0), parse, path: $"Ordinary{i}.cs"));
}
var compilation = CSharpCompilation.Create("Project", trees, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

double CompileMs(Compilation c)
{
    var watch = Stopwatch.StartNew();
    using var image = new MemoryStream();
    var result = c.Emit(image);
    if (!result.Success) throw new InvalidOperationException(string.Join("\n", result.Diagnostics.Take(5)));
    return watch.Elapsed.TotalMilliseconds;
}

GeneratorDriver NewDriver() => CSharpGeneratorDriver.Create([new MultiTaskModelGenerator().AsSourceGenerator()], parseOptions: parse);

// Warm up both paths (JIT), then measure them alternately.
NewDriver().RunGeneratorsAndUpdateCompilation(compilation, out _, out _);
var withoutGenerator = new List<double>();
var generatorOnly = new List<double>();
var compileGenerated = new List<double>();
for (int r = 0; r < repeats; r++)
{
    // Without the generator the models do not compile (their partial members lack implementations), so
    // the baseline is the ordinary classes plus the generated code's cost is measured separately below.
    var watch = Stopwatch.StartNew();
    var driver = NewDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation generated, out var diagnostics);
    generatorOnly.Add(watch.Elapsed.TotalMilliseconds);
    if (diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)) throw new InvalidOperationException(diagnostics.First().ToString());
    compileGenerated.Add(CompileMs(generated));
}
double generatorMs = Median(generatorOnly), buildMs = Median(compileGenerated);
Console.WriteLine($"{models} models + {models} ordinary classes, median of {repeats} runs:");
Console.WriteLine($"  generator (parse, shapes, validation, emit)  {generatorMs,8:F1} ms");
Console.WriteLine($"  compiling the project with generated code     {buildMs,8:F1} ms");
Console.WriteLine($"  generator share of compile time               {100 * generatorMs / (generatorMs + buildMs),8:F1} %   (goal < 10 %)");

// An editor session: the generator has run; one line of an ordinary file changes, again and again. The same
// edits are timed, interleaved, for a generator that only finds the [MultiTaskModel] classes: the floor
// that Roslyn's attribute lookup itself sets. Each generator gets its own compilation for every edit (same
// text): a compilation binds its declarations lazily, once, for whoever asks first, so on a shared one the
// second generator would find every model's symbol and attributes already bound and look nearly free.
GeneratorDriver session = NewDriver().RunGenerators(compilation);
GeneratorDriver floor = CSharpGeneratorDriver.Create([new FindModelsOnly().AsSourceGenerator()], parseOptions: parse).RunGenerators(compilation);
Compilation current = compilation;
foreach (bool declarationEdit in new[] { false, true })
{
    Compilation mine = current, theirs = current;
    var rerun = new List<double>();
    var floorRerun = new List<double>();
    for (int e = 1; e <= edits; e++)
    {
        int edit = (declarationEdit ? 10_000 : 0) + e;
        mine = Edit(mine, edit, declarationEdit);
        theirs = Edit(theirs, edit, declarationEdit);
        for (int turn = 0; turn < 2; turn++)
        {
            // Alternate which goes first, so neither always finds the processor's caches warmed by the other.
            var watch = Stopwatch.StartNew();
            if ((turn + e) % 2 == 0)
            {
                session = session.RunGenerators(mine);
                rerun.Add(watch.Elapsed.TotalMilliseconds);
            }
            else
            {
                floor = floor.RunGenerators(theirs);
                floorRerun.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
    }
    current = mine;
    Console.WriteLine(declarationEdit
        ? "  re-run after an edit of a declaration elsewhere (a member's signature: every model is bound again)"
        : "  re-run after a one-line edit elsewhere (inside a member's body)");
    Console.WriteLine($"    MtlDsl's generator                          {Median(rerun),8:F2} ms   (median of {edits} edits)");
    Console.WriteLine($"    a generator that only finds the models      {Median(floorRerun),8:F2} ms   (ratio {Median(rerun) / Median(floorRerun):F2}{(declarationEdit ? "" : "; goal <= 1.5")})");
}

// --steps: where one re-run's time goes, by pipeline step (Roslyn's own step timing, summed over each step's items).
if (args.Contains("--steps"))
{
    GeneratorDriver tracked = CSharpGeneratorDriver.Create([new MultiTaskModelGenerator().AsSourceGenerator()], parseOptions: parse,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true)).RunGenerators(current);
    var totals = new Dictionary<string, List<double>>();
    for (int e = 1; e <= edits; e++)
    {
        current = Edit(current, 1000 + e);
        tracked = tracked.RunGenerators(current);
        foreach (var (name, runs) in tracked.GetRunResult().Results[0].TrackedSteps)
            (totals.TryGetValue(name, out var list) ? list : totals[name] = []).Add(runs.Sum(r => r.ElapsedTime.TotalMilliseconds));
    }
    Console.WriteLine("  by step (median over the edits):");
    foreach (var (name, list) in totals.OrderByDescending(p => Median(p.Value)))
        Console.WriteLine($"    {name,-40} {Median(list),8:F3} ms");
}

// The edit: the first ordinary file's one line (a body, or a member's signature), as typing it gives a new tree.
Compilation Edit(Compilation before, int edit, bool declaration = false)
{
    SyntaxTree old = before.SyntaxTrees.ElementAt(1);
    return before.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(OrdinarySource(0, edit, declaration), parse, path: old.FilePath));
}

static string ModelSource(int i) => $$"""
    using MtlDsl;
    using TorchSharp.Modules;

    namespace Project.Models;

    [MultiTaskModel]
    [Input(3, {{24 + i % 8}}, {{24 + i % 8}})]
    public partial class Model{{i}}
    {
        [Trunk]
        [Conv2d({{8 + i % 16}}, kernelSize: 3, Padding = 1), BatchNorm2d, ReLU, MaxPool2d(2)]
        [Conv2d({{16 + i % 16}}, kernelSize: 3, Padding = 1), ReLU, MaxPool2d(2)]
        public partial Sequential Features { get; }

        [Trunk]
        [Flatten, Linear({{64 + i}}), ReLU, Dropout(0.25)]
        public partial Sequential Embedding { get; }

        [Task(Loss.CrossEntropy, Weight = 1.0)]
        [Linear(32), ReLU, Linear({{2 + i % 10}})]
        public partial Sequential Category { get; }

        [Task(Loss.MeanSquaredError, Weight = 0.5)]
        [Linear(16), Tanh, Linear(4)]
        public partial Sequential Box { get; }

        [Task(Loss.BinaryCrossEntropyWithLogits)]
        [Linear(1)]
        public partial Sequential Present { get; }
    }
    """;

static string OrdinarySource(int i, int edit, bool declaration = false) => $$"""
    namespace Project.Code;

    public static class Helper{{i}}
    {
        public static int {{(declaration ? $"Value{edit}" : "Value")}} => {{i + edit}};
        public static string Describe(int x) => $"helper {{i}}: {x}";
    }
    """;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

int Option(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out int value) ? value : fallback;
}

/// <summary>The least a generator keyed on [MultiTaskModel] can do: find the classes and read their names.</summary>
internal sealed class FindModelsOnly : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var names = context.SyntaxProvider.ForAttributeWithMetadataName("MtlDsl.MultiTaskModelAttribute", (node, _) => true, (c, _) => c.TargetSymbol.Name);
        context.RegisterSourceOutput(names, (_, _) => { });
    }
}
