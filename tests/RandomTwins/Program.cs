using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MtlDsl.Generators;
using MtlDsl.Generators.Tests;

// random <folder> [count]: writes the generated PyTorch twins of `count` random valid declarations (the fuzzer of
// the generator's tests: every layer, 2-D form, input kind, residual block and architecture) with their weights and
// a batch (TwinExport), and models.txt, for generated_twins.py to check in PyTorch.
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: dotnet run --project tests/RandomTwins -- <folder> [count]");
    return 2;
}
string folder = args[0];
int wanted = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 60;
Directory.CreateDirectory(folder);

var parse = new CSharpParseOptions(LanguageVersion.Preview);
var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
paths.Add(typeof(MtlDsl.Loss).Assembly.Location);
paths.Add(typeof(TorchSharp.torch).Assembly.Location);
ImmutableArray<MetadataReference> references = [.. paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
CSharpCompilation Compile(IEnumerable<string> sources) => CSharpCompilation.Create("RandomTwins.Models",
    sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"Model{i}.cs")), references,
    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
GeneratorDriver Driver() => CSharpGeneratorDriver.Create([new MultiTaskModelGenerator().AsSourceGenerator()], parseOptions: parse);

// Valid declarations only (no planted defect, no diagnostic), without modules of their own (which have no twin).
var random = new Random(20261201);
var models = new List<RandomModel>();
// At least `wanted` models, and among them three of every form the twin writes differently and two of every architecture.
string[] forms = ["Embedding(", "EmbeddingBag(", "Concat(", "Upsample(", "ConvTranspose2d(", "Residual", "Conv1d(", "AvgPool2d(", "LayerNorm", "[MMoE", "[CGC", "[PLE", "[CrossStitch", "[MTAN"];
bool Enough() => models.Count >= wanted && forms.All(f => models.Count(m => m.Source.Contains(f, StringComparison.Ordinal)) >= (f.StartsWith('[') ? 2 : 3));
for (int i = 0; !Enough() && i < 20_000; i++)
{
    RandomModel model = RandomModels.Create(random, i);
    if (model.Defects.Count > 0 || model.Source.Contains("2000000000", StringComparison.Ordinal) || model.Source.Contains("Input(100000)", StringComparison.Ordinal)
        || model.Source.Contains("Module(typeof(", StringComparison.Ordinal))
        continue;
    var run = Driver().RunGenerators(Compile([model.Source])).GetRunResult();
    if (run.Diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning)) continue;
    // Once there are enough models, only those that bring a form still missing.
    if (models.Count >= wanted && !forms.Any(f => model.Source.Contains(f, StringComparison.Ordinal) && models.Count(m => m.Source.Contains(f, StringComparison.Ordinal)) < (f.StartsWith('[') ? 2 : 3)))
        continue;
    models.Add(model);
}

Driver().RunGeneratorsAndUpdateCompilation(Compile(models.Select(m => m.Source)), out Compilation output, out _);
using var image = new MemoryStream();
var emitted = output.Emit(image);
if (!emitted.Success)
{
    foreach (Diagnostic d in emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)) Console.Error.WriteLine(d);
    return 1;
}
Assembly assembly = AssemblyLoadContext.Default.LoadFromStream(new MemoryStream(image.ToArray()));
MethodInfo export = typeof(TwinExport).GetMethod(nameof(TwinExport.Export))!;
var names = new List<string>();
var architectures = new SortedDictionary<string, int>(StringComparer.Ordinal);
foreach (RandomModel model in models)
{
    Type type = assembly.GetType($"Fuzz.{model.ClassName}", throwOnError: true)!;
    Type module = type.BaseType!; // MultiTaskModule<Outputs, Targets>
    object instance = Activator.CreateInstance(type)!;
    export.MakeGenericMethod(module.GetGenericArguments()).Invoke(null, [folder, instance]);
    names.Add(model.ClassName);
    string architecture = new[] { "MMoE", "CGC", "PLE", "CrossStitch", "MTAN" }.FirstOrDefault(a => model.Source.Contains($"[{a}", StringComparison.Ordinal)) ?? "HardSharing";
    architectures[architecture] = architectures.GetValueOrDefault(architecture) + 1;
}
File.WriteAllLines(Path.Combine(folder, "models.txt"), names);
Console.WriteLine($"exported the generated twins of {names.Count} random declarations ({string.Join(", ", architectures.Select(a => $"{a.Key} {a.Value}"))}; " +
                  string.Join(", ", forms.Where(f => !f.StartsWith('[')).Select(f => $"{f.TrimEnd('(')} {models.Count(m => m.Source.Contains(f, StringComparison.Ordinal))}")) + ")");
return Enough() ? 0 : 1;
