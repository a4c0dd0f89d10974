using System.Globalization;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

public class GeneratorSnapshotTests
{
    public static TheoryData<string, string> Models => new()
    {
        { "ArticleModel", "samples/SeedExample/VisionModel.cs" },
        { "TabularModel", "tests/Models/TabularModel.cs" },
        { "RecommenderModel", "tests/Models/RecommenderModel.cs" },
        { "InteractionModel", "tests/Models/InteractionModel.cs" },
        { "EsmmModel", "tests/Models/EsmmModel.cs" },
        { "AitmModel", "tests/Models/AitmModel.cs" },
        { "OwnModuleModel", "tests/Models/OwnModuleModel.cs" },
        { "SignalModel", "tests/Models/SignalModel.cs" },
        { "NormalizationModel", "tests/Models/NormalizationModel.cs" },
        { "PooledImageModel", "tests/Models/PooledImageModel.cs" },
        { "AuxiliaryHeadModel", "tests/Models/AuxiliaryHeadModel.cs" },
        { "ImbalanceModel", "tests/Models/ImbalanceModel.cs" },
        { "MMoEModel", "tests/Models/Architectures/MMoEModel.cs" },
        { "OMoEModel", "tests/Models/Architectures/OMoEModel.cs" },
        { "CGCModel", "tests/Models/Architectures/CGCModel.cs" },
        { "PLEModel", "tests/Models/Architectures/PLEModel.cs" },
        { "CGCPerTaskModel", "tests/Models/Architectures/CGCPerTaskModel.cs" },
        { "PLEPerTaskModel", "tests/Models/Architectures/PLEPerTaskModel.cs" },
        { "CrossStitchModel", "tests/Models/Architectures/CrossStitchModel.cs" },
        { "MTANModel", "tests/Models/Architectures/MTANModel.cs" },
        { "MMoEBottomModel", "tests/Models/Architectures/MMoEBottomModel.cs" },
        { "PLEBottomModel", "tests/Models/Architectures/PLEBottomModel.cs" },
    };

    private static bool IsModel(string hint) => hint != "MtlDsl-NativeInitializer.g.cs";

    [Theory]
    [MemberData(nameof(Models))]
    public void GeneratedSourceMatchesSnapshot(string name, string file)
    {
        var (run, _) = GeneratorHarness.Run(GeneratorHarness.RepositoryFile(file));
        Assert.Empty(run.Diagnostics);
        Snapshot.Verify(nameof(GeneratorSnapshotTests), name, run, IsModel);
    }

    [Fact]
    public void NativeInitializerIsGeneratedOnceForAllModels()
    {
        var (run, _) = GeneratorHarness.Run(Models.Select(m => GeneratorHarness.RepositoryFile((string)m[1])).ToArray());
        Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("MtlDsl-NativeInitializer.g.cs", StringComparison.Ordinal));
        Snapshot.Verify(nameof(GeneratorSnapshotTests), nameof(NativeInitializerIsGeneratedOnceForAllModels), run, hint => !IsModel(hint));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GeneratedSourceCompilesWithoutWarnings(string name, string file)
    {
        var (run, output) = GeneratorHarness.Run(GeneratorHarness.RepositoryFile(file));
        Assert.Empty(run.Diagnostics);
        Assert.NotEmpty(run.GeneratedTrees);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, $"{name}:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void AllModelsCompileTogether()
    {
        var (run, output) = GeneratorHarness.Run(Models.Select(m => GeneratorHarness.RepositoryFile((string)m[1])).ToArray());
        Assert.Equal(Models.Count() + 1, run.GeneratedTrees.Length);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Fact]
    public void OutputIsDeterministicAndCultureInvariant()
    {
        string source = GeneratorHarness.RepositoryFile("samples/SeedExample/VisionModel.cs");
        string Generate() => string.Join("\n", GeneratorHarness.Run(source).Run.GeneratedTrees.Select(t => t.ToString()));
        string invariant = Generate();
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            // A culture whose decimal separator is a comma must not turn the weight 0.5 into 0,5.
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.Equal(invariant, Generate());
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
        Assert.Contains("global::MtlDsl.Loss.MeanSquaredError, 0.5,", invariant);
    }

    [Fact]
    public void SharedEnumsAreTheRuntimesCompiledInternal()
    {
        // The generator compiles the runtime's Loss.cs and ModelArchitecture.cs (linked in its project) rather than keeping
        // copies: the same names and values (it reads [Task]'s loss by value and writes the names), and internal there,
        // so that the generator, which the code fixes reference, exports no MtlDsl type of the runtime's name.
        foreach (string name in new[] { "MtlDsl.Loss", "MtlDsl.ModelArchitecture" })
        {
            Type runtime = typeof(MtlDsl.MMoEAttribute).Assembly.GetType(name, throwOnError: true)!;
            Type generator = typeof(MultiTaskModelGenerator).Assembly.GetType(name, throwOnError: true)!;
            Assert.True(runtime.IsPublic, name);
            Assert.False(generator.IsPublic, name);
            Assert.Equal(Enum.GetNames(runtime), Enum.GetNames(generator));
            Assert.Equal(Enum.GetValues(runtime).Cast<object>().Select(Convert.ToInt32), Enum.GetValues(generator).Cast<object>().Select(Convert.ToInt32));
        }
    }

    [Fact]
    public void PlanShortcutsFollowTheGenerators()
    {
        // The plan emitter writes global::MtlDsl.PlanShortcutKind.{kind} by the generator's names (a layer's kind is its
        // attribute's name, which LayerRegistryTests checks).
        Assert.Equal(Enum.GetNames<Shapes.ShortcutKind>(), Enum.GetNames<MtlDsl.PlanShortcutKind>());
    }

    [Fact]
    public void EveryArchitectureHasOneDefinitionAndItsAttribute()
    {
        // One definition per value of the runtime's ModelArchitecture, in its order (the registry indexes by value).
        Type kinds = typeof(MtlDsl.MultiTaskModelAttribute).Assembly.GetType("MtlDsl.ModelArchitecture", throwOnError: true)!;
        Assert.Equal(Enum.GetNames(kinds), Architectures.ArchitectureDefinitions.All.Select(d => d.Name));
        // Every attribute in MtlDsl that goes on a class is the model's, its input, or the attribute of one architecture,
        // which the parser knows by its name; the architecture of a model without one (hard sharing) has none.
        var declared = Architectures.ArchitectureDefinitions.All.Where(d => d.Attribute is not null).Select(d => d.Attribute + "Attribute");
        var onClasses = typeof(MtlDsl.MMoEAttribute).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Attribute)) && t.Namespace == "MtlDsl"
                && t.GetCustomAttributes(typeof(AttributeUsageAttribute), true).Cast<AttributeUsageAttribute>().FirstOrDefault()?.ValidOn == AttributeTargets.Class)
            .Select(t => t.Name).Order(StringComparer.Ordinal);
        Assert.Equal(declared.Concat(["InputAttribute", "MultiTaskModelAttribute"]).Order(StringComparer.Ordinal), onClasses);
        Assert.All(Architectures.ArchitectureDefinitions.All.Where(d => d.Attribute is not null), d => Assert.Same(d, Architectures.ArchitectureDefinitions.ByAttribute(d.Attribute!)));
    }


    [Fact]
    public void GeneratedCodeCarriesThePackageVersion()
    {
        // The snapshots scrub it; the one place it comes from is the packages' version (Directory.Build.props).
        Version runtime = typeof(MtlDsl.MultiTaskModelAttribute).Assembly.GetName().Version!;
        Assert.Equal($"{runtime.Major}.{runtime.Minor}.{runtime.Build}", MultiTaskModelGenerator.GeneratorVersion);
        var (run, _) = GeneratorHarness.Run("using MtlDsl; using TorchSharp.Modules; [MultiTaskModel, Input(4)] public partial class M { [Trunk, Linear(4)] public partial Sequential T { get; } [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; } [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; } }");
        Assert.All(run.Results.Single().GeneratedSources, s => Assert.Contains($"GeneratedCode(\"MtlDsl.Generators\", \"{MultiTaskModelGenerator.GeneratorVersion}\")", s.SourceText.ToString()));
    }
}
