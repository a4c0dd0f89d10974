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
}
