using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Ordinary mistakes and half-typed code: an attribute the compiler rejects is the compiler's error alone (no
/// MTL999, no MTL diagnostic with made-up values), and no model with errors buries the user under CS9248 or
/// errors inside generated files.
/// </summary>
public class CompilerErrorTests
{
    private const string Usings = "using MtlDsl;\nusing TorchSharp.Modules;\n";
    private const string Tasks =
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n";

    private static string Model(string trunk, string tasks = Tasks, string input = "[Input(1, 12, 12)]") =>
        $"{Usings}[MultiTaskModel]\n{input}\npublic partial class M\n{{\n    {trunk} public partial Sequential Shared {{ get; }}\n{tasks}}}\n";

    /// <summary>The generator's diagnostics and the compiler's errors (by ID) on the sources with the generated code.</summary>
    private static (Diagnostic[] Generator, string[] CompilerErrors, Diagnostic[] InGeneratedFiles) Compile(string source)
    {
        var (run, output) = GeneratorHarness.Run(source);
        Diagnostic[] errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        return ([.. run.Diagnostics], [.. errors.Select(d => d.Id).Distinct().Order()],
            [.. errors.Where(d => d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true)]);
    }

    [Theory]
    [InlineData("[Trunk, Flatten, Linear]", "CS7036")]                 // Linear without its size
    [InlineData("[Trunk, Conv2d(8)]", "CS1729")]                       // Conv2d without its kernel size (no constructor takes one argument)
    [InlineData("[Trunk, Upsample(2, 2, 2)]", "CS1729")]               // no Upsample constructor takes three arguments
    [InlineData("[Trunk, Flatten, Linear(]", "CS1026")]                // typing: ')' expected
    [InlineData("[Trunk, Flatten, Linear(8, Size = 3)]", "CS0246")]    // no such named argument
    [InlineData("[Trunk, Flatten, Linear(\"8\")]", "CS1503")]          // an argument of the wrong type
    public void AnAttributeTheCompilerRejectsGetsNoMtlDiagnosticAndNoNoise(string trunk, string compilerError)
    {
        var (generator, compilerErrors, inGenerated) = Compile(Model(trunk));
        Assert.Empty(generator);
        Assert.Contains(compilerError, compilerErrors);
        Assert.DoesNotContain("CS9248", compilerErrors);
        Assert.Empty(inGenerated);
    }

    [Fact]
    public void ATaskWithoutItsLossIsTheCompilersError()
    {
        var (generator, compilerErrors, inGenerated) = Compile(Model("[Trunk, Flatten, Linear(8)]",
            "    [Task, Linear(1)] public partial Sequential A { get; }\n"));
        Assert.Empty(generator);
        Assert.Equal(["CS7036"], compilerErrors);
        Assert.Empty(inGenerated);
    }

    [Fact]
    public void AModelWithMtlErrorsShowsThemWithoutCs9248()
    {
        // Linear on an image without Flatten: MTL006 on the layer, and nothing else.
        var (generator, compilerErrors, inGenerated) = Compile(Model("[Trunk, Linear(8)]"));
        Assert.NotEmpty(generator);
        Assert.All(generator, d => Assert.StartsWith("MTL", d.Id));
        Assert.DoesNotContain(generator, d => d.Id == "MTL999");
        Assert.Empty(compilerErrors);
        Assert.Empty(inGenerated);
    }
}

/// <summary>Declaration forms the generator cannot complete: one located MTL diagnostic, and nothing else.</summary>
public class DeclarationFormTests
{
    private const string Members =
        "    [Trunk, Linear(8)] public partial Sequential Shared { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n";

    private static Diagnostic Single(string source, string id)
    {
        var (run, _) = GeneratorHarness.Run(source);
        Diagnostic diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.NotEqual(Location.None, diagnostic.Location);
        return diagnostic;
    }

    [Theory]
    [InlineData("public partial record M", "it is a record")]
    [InlineData("public partial struct M", "it is a struct")]
    [InlineData("public partial record struct M", "it is a record struct")]
    [InlineData("file partial class M", "it is a 'file' class")]
    [InlineData("public partial class M(int size)", "it has a primary constructor")]
    public void AModelFormThatCannotBeCompletedIsMtl012(string declaration, string reason)
    {
        string source = $"using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\n{declaration}\n{{\n{Members}}}\n";
        Assert.Contains(reason, Single(source, "MTL012").GetMessage());
    }

    [Theory]
    [InlineData("virtual")]
    [InlineData("abstract")]
    [InlineData("new")]
    [InlineData("sealed")]
    [InlineData("extern")]
    public void ABlockWithAModifierTheGeneratorCannotImplementIsMtl011(string modifier)
    {
        string members = Members.Replace("public partial Sequential A", $"public {modifier} partial Sequential A", StringComparison.Ordinal);
        string source = $"using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\npublic partial class M\n{{\n{members}}}\n";
        var (run, _) = GeneratorHarness.Run(source);
        Diagnostic diagnostic = Assert.Single(run.Diagnostics, d => d.Id == "MTL011");
        Assert.Contains($"is {modifier}", diagnostic.GetMessage());
    }

    [Fact]
    public void AnIndexerBlockIsMtl011AtItsAttribute()
    {
        string members = Members + "    [Trunk, Linear(8)] public Sequential this[int i] => null!;\n";
        string source = $"using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\npublic partial class M\n{{\n{members}}}\n";
        Diagnostic diagnostic = Single(source, "MTL011");
        Assert.Contains("is an indexer", diagnostic.GetMessage());
        Assert.Equal("Trunk", source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
    }

    [Fact]
    public void ADanglingAttributeListWhileTypingAddsNoMtlDiagnostic()
    {
        string source = $"using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\npublic partial class M\n{{\n{Members}    [Task(Loss.L1, Weight = \n}}\n";
        var (run, _) = GeneratorHarness.Run(source);
        Assert.Empty(run.Diagnostics);
    }

    [Theory]
    [InlineData("1e39", "1E+39, which is infinite in float32")]
    [InlineData("double.MaxValue", "1.7976931348623157E+308, which is infinite in float32")]
    [InlineData("1e-50", "1E-50, which is 0 in float32")]
    public void AWeightThatIsNotAPositiveFiniteFloat32IsMtl008(string weight, string shown)
    {
        string members = Members.Replace("Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A", $"Task(Loss.MeanSquaredError, Weight = {weight}), Linear(1)] public partial Sequential A", StringComparison.Ordinal);
        string source = $"using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(4)]\npublic partial class M\n{{\n{members}}}\n";
        Assert.Contains(shown, Single(source, "MTL008").GetMessage());
    }
}
