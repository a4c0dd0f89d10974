namespace MtlDsl.Generators.Tests;

/// <summary>
/// Equivalent spellings of one declaration generate the same network: the compiler converts a constant of another
/// numeric type to the parameter's type, and so must the generator (a short stride is a stride, not a default).
/// </summary>
public class SpellingTests
{
    private const string Usings = "using MtlDsl;\nusing TorchSharp.Modules;\n";

    private static string Model(string trunk, string weight, string extra = "") =>
        $"{Usings}{extra}[MultiTaskModel]\n[Input(1, 12, 12)]\npublic partial class M\n{{\n" +
        $"    [Trunk, {trunk}] public partial Sequential Shared {{ get; }}\n" +
        $"    [Task(Loss.MeanSquaredError, Weight = {weight}), Linear(1)] public partial Sequential A {{ get; }}\n" +
        $"    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B {{ get; }}\n}}\n";

    private static string Generated(string source)
    {
        var (run, output) = GeneratorHarness.Run(source);
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
        return run.Results.Single().GeneratedSources.Single(s => s.HintName == "M.g.cs").SourceText.ToString();
    }

    private const string Plain = "Conv2d(4, 3, Stride = 2, Padding = 1), LeakyReLU(NegativeSlope = 2.0), Dropout(0.0), Flatten, Linear(8)";

    [Theory]
    [InlineData("Conv2d(4, 3, Stride = (short)2, Padding = (byte)1), LeakyReLU(NegativeSlope = 2.0), Dropout(0.0), Flatten, Linear(8)", "2.0", "")]
    [InlineData("Conv2d(4, 3, Stride = 2, Padding = 1), LeakyReLU(NegativeSlope = 2L), Dropout(0L), Flatten, Linear(8)", "2u", "")]
    [InlineData("Conv2d(4, 3, Stride = 2, Padding = 1), LeakyReLU(NegativeSlope = 2f), Dropout(0f), Flatten, Linear(Sizes.Hidden)", "(byte)2", "static class Sizes { public const byte Hidden = 8; }\n")]
    [InlineData("Conv2d(kernelSize: 3, outChannels: 4, Padding = 1, Stride = 2), LeakyReLU(NegativeSlope = 2.0), Dropout(p: 0.0), Flatten, Linear(outFeatures: 8)", "2.0", "")]
    [InlineData("Conv2d(4, 3, Stride = Sizes.Two, Padding = Sizes.Two - 1), LeakyReLU(NegativeSlope = Sizes.Two), Dropout(0.0), Flatten, Linear(Sizes.Two * 4)", "Sizes.Two", "static class Sizes { public const int Two = 2; }\n")]
    public void OtherNumericSpellingsGenerateTheSameNetwork(string trunk, string weight, string extra) =>
        Assert.Equal(Generated(Model(Plain, "2.0")), Generated(Model(trunk, weight, extra)));

    // A square kernel, or one size for both axes, however written, is the same layer (and the same generated call).
    [Theory]
    [InlineData("Conv2d(4, 3, Stride = 2, Padding = 1)", "Conv2d(4, 3, 3, StrideHeight = 2, StrideWidth = 2, PaddingHeight = 1, PaddingWidth = 1)")]
    [InlineData("Conv2d(4, 3, Stride = 2, Padding = 1)", "Conv2d(4, kernelWidth: 3, kernelHeight: 3, Stride = 1, StrideHeight = 2, StrideWidth = 2, Padding = 1)")]
    [InlineData("Conv2d(4, 3, 1, StrideHeight = 2)", "Conv2d(4, kernelHeight: 3, kernelWidth: 1, StrideHeight = 2, StrideWidth = 1)")]
    [InlineData("MaxPool2d(2), AvgPool2d(3, Stride = 1, Padding = 1)", "MaxPool2d(2, 2, Stride = 2), AvgPool2d(3, 3, StrideHeight = 1, StrideWidth = 1, PaddingHeight = 1, Padding = 1)")]
    [InlineData("ConvTranspose2d(4, 2, Stride = 2), Upsample(2)", "ConvTranspose2d(4, 2, 2, StrideHeight = 2, StrideWidth = 2, OutputPadding = 0), Upsample(2, Mode = UpsampleMode.Nearest)")]
    [InlineData("Upsample(2, Mode = UpsampleMode.Bilinear)", "Upsample(scaleFactor: (byte)2, Mode = (UpsampleMode)1, AlignCorners = false)")]
    public void TwoDimensionalSizesSpelledPerAxisGenerateTheSameNetwork(string plain, string perAxis)
    {
        static string Trunk(string layers) => layers + ", Flatten, Linear(8)";
        Assert.Equal(Generated(Model(Trunk(plain), "2.0")), Generated(Model(Trunk(perAxis), "2.0")));
    }
}

/// <summary>Spellings only the compiler's binding resolves: aliases, explicit arrays, constants in other files.</summary>
public class BoundSpellingTests
{
    private const string Plain =
        "using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel]\n[Input(1, 12, 12)]\npublic partial class M\n{\n" +
        "    [Trunk, Conv2d(4, 3), ReLU, Flatten, Linear(32)] public partial Sequential Shared { get; }\n" +
        "    [Task(Loss.CrossEntropy, Weight = 0.5), Linear(3)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n}\n";

    private static string Generated(params string[] sources)
    {
        var (run, output) = GeneratorHarness.Run(sources);
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
        return run.Results.Single().GeneratedSources.Single(s => s.HintName == "M.g.cs").SourceText.ToString();
    }

    public static TheoryData<string[]> Spellings => new()
    {
        // aliases for layer, task and block types
        new[] { Plain.Replace("using MtlDsl;\n", "using MtlDsl;\nusing L = MtlDsl.LinearAttribute;\nusing C = MtlDsl.Conv2dAttribute;\n", StringComparison.Ordinal)
            .Replace("Conv2d(4, 3)", "C(4, 3)", StringComparison.Ordinal).Replace("Linear(32)", "L(32)", StringComparison.Ordinal) },
        new[] { Plain.Replace("using TorchSharp.Modules;\n", "using Seq = TorchSharp.Modules.Sequential;\n", StringComparison.Ordinal).Replace("partial Sequential", "partial Seq", StringComparison.Ordinal) },
        new[] { Plain.Replace("using MtlDsl;\n", "using MtlDsl;\nusing Head = MtlDsl.TaskAttribute;\nusing Shared = MtlDsl.TrunkAttribute;\n", StringComparison.Ordinal)
            .Replace("[Trunk,", "[Shared,", StringComparison.Ordinal).Replace("[Task(", "[Head(", StringComparison.Ordinal) },
        new[] { Plain.Replace("[Trunk, Conv2d(4, 3)", "[MtlDsl.TrunkAttribute, global::MtlDsl.Conv2dAttribute(4, 3)", StringComparison.Ordinal) },
        // explicit arrays for params
        new[] { Plain.Replace("[Input(1, 12, 12)]", "[Input(new[] { 1, 12, 12 })]", StringComparison.Ordinal) },
        new[] { Plain.Replace("[Input(1, 12, 12)]", "[Input(new int[] { 1, 12, 12 })]", StringComparison.Ordinal) },
        // named arguments in another order, constants from another file and type
        new[] { Plain.Replace("Conv2d(4, 3)", "Conv2d(kernelSize: Sizes.Kernel, outChannels: Sizes.Channels)", StringComparison.Ordinal)
            .Replace("Weight = 0.5", "Weight = Sizes.Half", StringComparison.Ordinal).Replace("Loss.CrossEntropy", "Sizes.Classification", StringComparison.Ordinal),
            "static class Sizes { public const byte Kernel = 3; public const short Channels = 4; public const float Half = 0.5f; public const MtlDsl.Loss Classification = MtlDsl.Loss.CrossEntropy; }" },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public void ASpellingTheCompilerResolvesGeneratesTheSameNetwork(string[] sources) =>
        Assert.Equal(Generated(Plain), Generated(sources));
}
