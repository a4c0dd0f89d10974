using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MtlDsl.Generators;
using MtlDsl.Generators.Tests;

/// <summary>
/// Random valid declarations from the generator tests' fuzzer (no planted defect, no diagnostic, no module of one's
/// own), at least <c>wanted</c> of them and among them three of every form an exporter writes differently and two of
/// every architecture (two of CGC or PLE with one count of task experts per task), compiled with the generator as the compiler would run it and loaded: what tests/RandomTwins
/// exports as PyTorch twins and the ONNX tests run in ONNX Runtime.
/// </summary>
internal static class RandomDeclarations
{
    public static readonly string[] Forms =
        ["Embedding(", "EmbeddingBag(", "Concat(", "Upsample(", "ConvTranspose2d(", "Residual", "Conv1d(", "AvgPool2d(", "AdaptiveAvgPool2d(", "LayerNorm", "Bottom = true, Reads", "FactorizationMachine", "InnerProduct", "Cross(", "ProductOf(", "Transfer(nameof(", "[MMoE", "[CGC", "[PLE", "[CrossStitch", "[MTAN"];

    private static int Needed(string form) => form.StartsWith('[') ? 2 : 3;

    /// <summary>The declarations and, for each, its model type (in the loaded assembly), or an error if they did not compile.</summary>
    public static (List<RandomModel> Models, List<Type> Types, bool Enough) Build(int wanted, int seed = 20261201)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
        paths.Add(typeof(MtlDsl.Loss).Assembly.Location);
        paths.Add(typeof(TorchSharp.torch).Assembly.Location);
        ImmutableArray<MetadataReference> references = [.. paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
        CSharpCompilation Compile(IEnumerable<string> sources) => CSharpCompilation.Create($"RandomDeclarations{seed}",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, parse, path: $"Model{i}.cs")), references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver Driver() => CSharpGeneratorDriver.Create([new MultiTaskModelGenerator().AsSourceGenerator()], parseOptions: parse);

        var random = new Random(seed);
        var models = new List<RandomModel>();
        int Count(string form) => models.Count(m => m.Source.Contains(form, StringComparison.Ordinal));
        // CGC or PLE with one count of task experts per task ([CGC(2, 1, 0)]: more than two arguments).
        static bool PerTask(RandomModel m) => System.Text.RegularExpressions.Regex.IsMatch(m.Source, @"\[(CGC|PLE)\(\d+, \d+, \d+");
        bool Enough() => models.Count >= wanted && Forms.All(f => Count(f) >= Needed(f)) && models.Count(PerTask) >= 2;
        for (int i = 0; !Enough() && i < 20_000; i++)
        {
            RandomModel model = RandomModels.Create(random, i);
            if (model.Defects.Count > 0 || model.Source.Contains("2000000000", StringComparison.Ordinal) || model.Source.Contains("Input(100000)", StringComparison.Ordinal)
                || model.Source.Contains("Module(typeof(", StringComparison.Ordinal))
                continue;
            // Once there are enough models, only those that bring a form still missing.
            if (models.Count >= wanted && !Forms.Any(f => model.Source.Contains(f, StringComparison.Ordinal) && Count(f) < Needed(f))
                && !(PerTask(model) && models.Count(PerTask) < 2))
                continue;
            var run = Driver().RunGenerators(Compile([model.Source])).GetRunResult();
            if (run.Diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning)) continue;
            models.Add(model);
        }

        Driver().RunGeneratorsAndUpdateCompilation(Compile(models.Select(m => m.Source)), out Compilation output, out _);
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        if (!emitted.Success)
            throw new InvalidOperationException("The random declarations did not compile: " +
                string.Join(Environment.NewLine, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)));
        Assembly assembly = AssemblyLoadContext.Default.LoadFromStream(new MemoryStream(image.ToArray()));
        return (models, models.Select(m => assembly.GetType($"Fuzz.{m.ClassName}", throwOnError: true)!).ToList(), Enough());
    }

    /// <summary>The declaration's architecture, as its attribute names it.</summary>
    public static string Architecture(RandomModel model) =>
        new[] { "MMoE", "CGC", "PLE", "CrossStitch", "MTAN" }.FirstOrDefault(a => model.Source.Contains($"[{a}", StringComparison.Ordinal)) ?? "HardSharing";
}
