using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>Each diagnostic: its ID, that it is an error, and the exact source text it underlines.</summary>
public class DiagnosticTests
{
    private const string Usings = "using MtlDsl;\nusing TorchSharp.Modules;\n";

    private static string Model(string input, string members, string declaration = "public partial class M") =>
        $"{Usings}[MultiTaskModel]\n{input}\n{declaration}\n{{\n{members}\n}}\n";

    private const string Trunk = "    [Trunk, Linear(8)] public partial Sequential Shared { get; }\n";
    private const string TwoTasks = "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }\n" +
                                    "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n";

    /// <summary>Asserts one error with this ID, underlining exactly <paramref name="underlined"/>; returns its message.</summary>
    private static string AssertSingle(string source, string id, string underlined, DiagnosticSeverity severity = DiagnosticSeverity.Error)
    {
        var diagnostics = GeneratorHarness.Diagnostics(source);
        Diagnostic diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(severity, diagnostic.Severity);
        // Generators report locations by file and span (a Location may not travel through the pipeline).
        Assert.Equal("Model0.cs", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(underlined, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        return diagnostic.GetMessage();
    }

    [Fact]
    public void ValidModelHasNoDiagnostic() =>
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", Trunk + TwoTasks)));

    [Fact]
    public void ClassNotPartial() =>
        Assert.Contains("partial class M", AssertSingle(Model("[Input(4)]", Trunk + TwoTasks, "public class M"), "MTL001", "M"));

    [Fact]
    public void MissingInputShape() =>
        AssertSingle(Model("", Trunk + TwoTasks), "MTL002", "M");

    [Fact]
    public void NonPositiveInputShape() =>
        Assert.Contains("[3, 0]", AssertSingle(Model("[Input(3, 0)]", Trunk + TwoTasks), "MTL002", "Input(3, 0)"));

    [Fact]
    public void NoTaskHead() =>
        AssertSingle(Model("[Input(4)]", Trunk), "MTL003", "M");

    [Fact]
    public void NoTrunk() =>
        AssertSingle(Model("[Input(4)]", TwoTasks), "MTL004", "M");

    [Fact]
    public void LinearOnAnImageWithoutFlatten()
    {
        string message = AssertSingle(Model("[Input(3, 8, 8)]",
            "    [Trunk, Conv2d(4, kernelSize: 3)] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.CrossEntropy), Linear(10)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Flatten, Linear(1)] public partial Sequential B { get; }\n"), "MTL005", "Linear(10)");
        Assert.Contains("[4, 6, 6]", message);
        Assert.Contains("insert [Flatten]", message);
    }

    [Fact]
    public void KernelLargerThanInput()
    {
        string message = AssertSingle(Model("[Input(1, 5, 5)]",
            "    [Trunk, Conv2d(8, kernelSize: 7)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL006", "Conv2d(8, kernelSize: 7)");
        Assert.Contains("[1, 5, 5]", message);
    }

    [Fact]
    public void NonSquareKernelLargerThanInputNamesTheAxis()
    {
        string message = AssertSingle(Model("[Input(1, 8, 3)]",
            "    [Trunk, Conv2d(8, 3, 5)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL006", "Conv2d(8, 3, 5)");
        Assert.Contains("width", message);
        Assert.Contains("the kernel spans 5 but the input is 3", message);
    }

    [Fact]
    public void TransposedConvolutionPaddedAway() =>
        Assert.Contains("takes away", AssertSingle(Model("[Input(1, 1, 4)]",
            "    [Trunk, ConvTranspose2d(4, 1, Padding = 1)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL006", "ConvTranspose2d(4, 1, Padding = 1)"));

    [Fact]
    public void GroupNormWhoseGroupsDoNotDivideTheChannels() =>
        Assert.Contains("a divisor of the input's 8 channels ([8, 6, 6]): 1, 2, 4 or 8", AssertSingle(Model("[Input(3, 8, 8)]",
            "    [Trunk, Conv2d(8, kernelSize: 3), GroupNorm(3)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL010", "3"));

    [Fact]
    public void GroupNormOfOneValuePerGroup() =>
        Assert.Contains("more than one value in each of its 6 groups", AssertSingle(Model("[Input(3, 4, 4)]",
            "    [Trunk, Conv2d(6, kernelSize: 3), AdaptiveAvgPool2d(1), GroupNorm(6)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL005", "GroupNorm(6)"));

    [Fact]
    public void GroupNormOfNoGroups() =>
        Assert.Contains("at least 1", AssertSingle(Model("[Input(4, 6)]",
            "    [Trunk, Conv1d(8, 3), GroupNorm(0)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")), "MTL010", "0"));

    [Fact]
    public void GroupNormOfAVectorPointsToLayerNorm() =>
        Assert.Contains("use LayerNorm", AssertSingle(Model("[Input(4)]",
            "    [Trunk, Linear(8), GroupNorm(2)] public partial Sequential Shared { get; }\n" + TwoTasks), "MTL005", "GroupNorm(2)"));

    [Fact]
    public void InstanceNormOfOnePositionPerChannel() =>
        Assert.Contains("more than one position per channel", AssertSingle(Model("[Input(3, 4, 4)]",
            "    [Trunk, Conv2d(8, kernelSize: 3), AdaptiveAvgPool2d(1), InstanceNorm2d] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL005", "InstanceNorm2d"));

    [Fact]
    public void InstanceNormOfAVectorPointsToLayerNorm() =>
        Assert.Contains("use LayerNorm", AssertSingle(Model("[Input(4)]",
            "    [Trunk, Linear(8), InstanceNorm2d] public partial Sequential Shared { get; }\n" + TwoTasks), "MTL005", "InstanceNorm2d"));

    [Fact]
    public void UpsampleOfAVector() =>
        Assert.Contains("no spatial dimension", AssertSingle(Model("[Input(4)]",
            "    [Trunk, Upsample(2)] public partial Sequential Shared { get; }\n" + TwoTasks), "MTL005", "Upsample(2)"));

    [Theory]
    [InlineData("Unflatten(3, 5)", "MTL005", "Unflatten(3, 5)", "receives [12] but expects a first dimension of 3 × 5 = 15; the sizes split the first dimension, so their product must be 12")]
    [InlineData("Unflatten(5)", "MTL005", "Unflatten(5)", "expects a first dimension of 5; the sizes split")]
    [InlineData("Unflatten", "MTL010", "Unflatten", "UnflattenedSize is [], but must be at least one size")]
    [InlineData("Unflatten(4, 0, 3)", "MTL010", "4", "UnflattenedSize is [4, 0, 3], but must be made of positive sizes")]
    public void UnflattenSplitsTheFirstDimensionIntoSizesOfItsProduct(string layer, string id, string underlined, string message) =>
        Assert.Contains(message, AssertSingle(Model("[Input(12)]",
            $"    [Trunk, {layer}, Flatten] public partial Sequential Shared {{ get; }}\n" + TwoTasks), id, underlined));

    [Theory]
    [InlineData("[Input(16)]", "FactorizationMachine", "receives [16] but expects field embeddings [F, K] (F ≥ 2 fields of K values); to read [16] as F fields of K values, insert [Unflatten(F, K)] before it (F·K = 16)")]
    [InlineData("[Input(1, 4)]", "FactorizationMachine(ReduceSum = false)", "receives [1, 4] but expects field embeddings [F, K] (F ≥ 2 fields of K values); one field has no other to interact with")]
    [InlineData("[Input(2, 3, 4)]", "InnerProduct", "receives [2, 3, 4] but expects field embeddings [F, K] (F ≥ 2 fields of K values)")]
    public void FieldInteractionsReadTwoFieldsOrMore(string input, string layer, string message) =>
        Assert.Contains(message, AssertSingle(Model(input, $"    [Trunk, {layer}] public partial Sequential Shared {{ get; }}\n" + TwoTasks), "MTL005", layer));

    [Fact]
    public void FieldInteractionsGiveOneValueOrOnePerPairOrPerDimension() =>
        // [3, 4]: one FM value, K = 4 bi-interactions, 3 pairs; the Linears' declared in-sizes are checked against them.
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(3, 4)]",
            "    [Trunk, Flatten, Unflatten(3, 4)] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.MeanSquaredError), FactorizationMachine, Linear(1, InFeatures = 1)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError), FactorizationMachine(ReduceSum = false), Linear(1, InFeatures = 4)] public partial Sequential B { get; }\n" +
            "    [Task(Loss.MeanSquaredError), InnerProduct, Linear(1, InFeatures = 3)] public partial Sequential C { get; }\n")));

    [Fact]
    public void FieldsOfIdsOfShapeOneConcatenateAndABagJoinsThemUnflattened() =>
        // Ids [1] give [1, 4] from their Embedding; a bag's [4] becomes [1, 4] with Unflatten(1, 4): [3, 4], 3 pairs.
        // (The fields' block needs a layer of its own, as every trunk block, or it is MTL021: dropout on the fields.)
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(\"User\", 1, Kind = InputKind.Ids)]\n[Input(\"Item\", 1, Kind = InputKind.Ids)]\n[Input(\"Tags\", 5, Kind = InputKind.Ids)]",
            "    [Trunk(Reads = \"User\"), Embedding(10, 4)] public partial Sequential U { get; }\n" +
            "    [Trunk(Reads = \"Item\"), Embedding(10, 4)] public partial Sequential I { get; }\n" +
            "    [Trunk(Reads = \"Tags\"), EmbeddingBag(10, 4), Unflatten(1, 4)] public partial Sequential T { get; }\n" +
            "    [Trunk, Concat(nameof(U), nameof(I), nameof(T)), Dropout(0.1)] public partial Sequential Fields { get; }\n" +
            "    [Task(Loss.MeanSquaredError), FactorizationMachine] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError), InnerProduct, Linear(1, InFeatures = 3)] public partial Sequential B { get; }\n")));

    [Fact]
    public void CrossReadsAVectorAndOffersFlatten()
    {
        var diagnostic = Assert.Single(GeneratorHarness.Diagnostics(Model("[Input(4, 4)]", "    [Trunk, Cross(2)] public partial Sequential Shared { get; }\n" + TwoTasks)));
        Assert.Equal("MTL005", diagnostic.Id);
        Assert.Contains("receives [4, 4] but expects a vector [features]; insert [Flatten] before it", diagnostic.GetMessage());
        Assert.Equal(Generators.Model.Fixes.InsertFlatten, diagnostic.Properties[Generators.Model.Fixes.Key]);
        Assert.Contains("Layers is 0, but must be at least 1", AssertSingle(Model("[Input(8)]",
            "    [Trunk, Cross(0, Matrix = true)] public partial Sequential Shared { get; }\n" + TwoTasks), "MTL010", "0"));
        // Its output is its input's size: [8] → [8].
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(8)]", "    [Trunk, Cross(3), Cross(1, Matrix = true), Linear(2, InFeatures = 8)] public partial Sequential Shared { get; }\n" + TwoTasks)));
    }

    [Fact]
    public void UnflattenKeepsTheOtherDimensions() =>
        // [12, 5] → [2, 2, 3, 5]: the Linear's declared in-size is checked against it.
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(12, 5)]",
            "    [Trunk, Unflatten(2, 2, 3), Flatten, Linear(8, InFeatures = 60)] public partial Sequential Shared { get; }\n" + TwoTasks)));

    [Theory]
    [InlineData("[Trunk, Residual, Conv2d(8, 3, Padding = 1), Flatten]", "[3, 12, 12] into [1152]", "change the rank")]
    [InlineData("[Trunk, Residual, Conv2d(8, 3)]", "[3, 12, 12] into [8, 10, 10]", "not a whole multiple")]
    [InlineData("[Trunk, Residual, Conv2d(8, 3, 1, Stride = 2, PaddingHeight = 1)]", "[3, 12, 12] into [8, 6, 6]", null)]
    [InlineData("[Trunk, Residual, ConvTranspose2d(8, 2, Stride = 2)]", "[3, 12, 12] into [8, 24, 24]", "not a whole multiple")]
    public void ResidualBlockThatCannotAddItsInput(string trunk, string shapes, string? reason)
    {
        string source = Model("[Input(3, 12, 12)]", $"    {trunk} public partial Sequential Shared {{ get; }}\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)"));
        if (reason is null)
        {
            Assert.Empty(GeneratorHarness.Diagnostics(source)); // a whole stride and new channels: the 1×1 projection fits
            return;
        }
        string message = AssertSingle(source, "MTL029", "Residual");
        Assert.Contains(shapes, message);
        Assert.Contains(reason, message);
    }

    [Fact]
    public void ResidualStageInMtan() =>
        Assert.Contains("is [Residual]", AssertSingle(Model("[Input(3, 12, 12)]\n[MTAN]",
            "    [Trunk, Conv2d(8, 3, Padding = 1), ReLU] public partial Sequential A { get; }\n" +
            "    [Trunk, Residual(ReLUAfterSum = true), Conv2d(8, 3, Padding = 1), BatchNorm2d, ReLU] public partial Sequential B { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Flatten, Linear(1)] public partial Sequential X { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Flatten, Linear(1)] public partial Sequential Y { get; }\n"), "MTL026", "Residual(ReLUAfterSum = true)"));

    [Fact]
    public void PoolingToSizeZero() =>
        AssertSingle(Model("[Input(2, 3, 3)]",
            "    [Trunk, MaxPool2d(4)] public partial Sequential Shared { get; }\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL006", "MaxPool2d(4)");

    [Fact]
    public void ExplicitInSizeDisagrees()
    {
        string message = AssertSingle(Model("[Input(4)]",
            "    [Trunk, Linear(8), Linear(5, InFeatures = 7)] public partial Sequential Shared { get; }\n" + TwoTasks),
            "MTL007", "InFeatures = 7");
        Assert.Contains("change it to 8", message);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("double.NaN")]
    [InlineData("double.PositiveInfinity")]
    public void WeightNotPositiveAndFinite(string weight) =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks.Replace("Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A",
            $"Task(Loss.MeanSquaredError, Weight = {weight}), Linear(1)] public partial Sequential A")), "MTL008", $"Weight = {weight}");

    [Fact]
    public void TwoTasksWithOneStateName() =>
        Assert.Contains("'depth'", AssertSingle(Model("[Input(4)]", Trunk +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential Depth { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential depth { get; }\n"), "MTL009", "depth"));

    [Theory]
    [InlineData("Conv2d(8, kernelSize: 0)", "kernelSize: 0")]
    [InlineData("Conv2d(8, 3, Stride = 0)", "Stride = 0")]
    [InlineData("Conv2d(-2, 3)", "-2")]
    [InlineData("Dropout(1.0)", "1.0")]
    [InlineData("MaxPool2d(2, Padding = 2)", "Padding = 2")]
    [InlineData("Conv2d(8, 3, 0)", "0")]
    [InlineData("Conv2d(8, kernelHeight: 3, kernelWidth: -1)", "kernelWidth: -1")]
    [InlineData("Conv2d(8, 3, StrideWidth = 0)", "StrideWidth = 0")]
    [InlineData("Conv2d(8, 3, Stride = 2, PaddingHeight = -1)", "PaddingHeight = -1")]
    [InlineData("Conv2d(8, 3, 1, DilationHeight = 0)", "DilationHeight = 0")]
    [InlineData("MaxPool2d(4, 2, PaddingWidth = 2)", "PaddingWidth = 2")]
    [InlineData("AvgPool2d(2, 4, Padding = 2)", "Padding = 2")]
    [InlineData("ConvTranspose2d(8, 2, Stride = 2, OutputPadding = 2)", "OutputPadding = 2")]
    [InlineData("ConvTranspose2d(8, 3, Stride = 2, OutputPaddingWidth = 3)", "OutputPaddingWidth = 3")]
    [InlineData("ConvTranspose2d(0, 2)", "0")]
    [InlineData("Upsample(0)", "0")]
    [InlineData("Upsample(width: 8, height: -8)", "height: -8")]
    [InlineData("Upsample(2, AlignCorners = true)", "AlignCorners = true")]
    [InlineData("Upsample(2, Mode = (UpsampleMode)5)", "Mode = (UpsampleMode)5")]
    public void LayerArgumentOutOfRange(string layer, string underlined) =>
        AssertSingle(Model("[Input(3, 16, 16)]",
            $"    [Trunk, {layer}] public partial Sequential Shared {{ get; }}\n" + TwoTasks.Replace("Linear(1)", "Flatten, Linear(1)")),
            "MTL010", underlined);

    [Theory]
    [InlineData("[Trunk, Linear(8)] public Sequential Shared { get; } = null!;", "is not partial")]
    [InlineData("[Trunk, Linear(8)] public partial TorchSharp.Modules.Linear Shared { get; }", "not Sequential")]
    public void BlockMemberThatCannotBeImplemented(string member, string problem) =>
        Assert.Contains(problem, AssertSingle(Model("[Input(4)]", "    " + member + "\n" + TwoTasks), "MTL011", "Shared"));

    [Fact]
    public void GenericModel() =>
        Assert.Contains("generic", AssertSingle(Model("[Input(4)]", Trunk + TwoTasks, "public partial class M<T>"), "MTL012", "M"));

    [Fact]
    public void TaskNamedLikeAGeneratedMember() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks.Replace("Sequential A", "Sequential Total")), "MTL013", "Total");

    [Fact]
    public void MemberBothTrunkAndTask() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks +
            "    [Trunk, Task(Loss.L1), Linear(1)] public partial Sequential C { get; }\n"), "MTL014", "Task(Loss.L1)");

    [Fact]
    public void SizeTooLarge() =>
        AssertSingle(Model("[Input(100000, 100000, 100000)]",
            "    [Trunk, Flatten] public partial Sequential Shared { get; }\n" + TwoTasks), "MTL015", "Flatten");

    [Fact]
    public void LayersOnAMemberThatIsNoBlock() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks + "    [Linear(3)] public Sequential? Extra { get; }\n"), "MTL016", "Linear(3)", DiagnosticSeverity.Warning);

    [Theory]
    [InlineData("    public int Summary => 0;\n", "Summary")]
    [InlineData("    public sealed record Outputs;\n", "Outputs")]
    [InlineData("    public void ForwardA() { }\n", "ForwardA")]
    [InlineData("    public M() { }\n", "M")]
    public void MemberThatClashesWithAGeneratedOne(string member, string underlined) =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks + member), "MTL017", underlined);

    [Fact]
    public void BlockNamedLikeAnInheritedMember() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks.Replace("Sequential A", "Sequential ForwardHeads")), "MTL013", "ForwardHeads");

    [Fact]
    public void PragmaAndSuppressMessageSilenceAWarningWhereTheyApply()
    {
        string model = Model("[Input(4)]", Trunk + "    [Task(Loss.L1), Linear(1)] public partial Sequential A { get; }\n");
        Diagnostic Reported(string source)
        {
            var (run, output) = GeneratorHarness.Run(source);
            Diagnostic diagnostic = Assert.Single(run.Diagnostics, d => d.Id == "MTL018");
            Assert.Equal(LocationKind.SourceFile, diagnostic.Location.Kind);  // in the syntax tree, where suppressions are looked up
            // The compiler's own filter (pragmas, [SuppressMessage], options), as csc applies it; not public API.
            var filter = typeof(CompilationOptions).GetMethod("FilterDiagnostic", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)!;
            return (Diagnostic)filter.Invoke(output.Options, [diagnostic, CancellationToken.None])!;
        }
        Assert.False(Reported(model).IsSuppressed);
        Assert.True(Reported("#pragma warning disable MTL018\n" + model).IsSuppressed);
        Assert.False(Reported("#pragma warning disable MTL018\n#pragma warning restore MTL018\n" + model).IsSuppressed);
    }

    [Fact]
    public void SingleTaskIsAWarningAndStillGenerates()
    {
        string source = Model("[Input(4)]", Trunk + "    [Task(Loss.L1), Linear(1)] public partial Sequential A { get; }\n");
        AssertSingle(source, "MTL018", "Task(Loss.L1)", DiagnosticSeverity.Warning);
        var (run, output) = GeneratorHarness.Run(source);
        Assert.Contains(run.GeneratedTrees, t => t.FilePath.EndsWith("M.g.cs", StringComparison.Ordinal));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Theory]
    [InlineData("[Task(Loss.CrossEntropy), Linear(1)]", "Task(Loss.CrossEntropy)", "at least 2 classes")]
    [InlineData("[Task(Loss.CrossEntropy, Classes = 10), Linear(5)]", "Classes = 10", "gives 5")]
    [InlineData("[Task(Loss.MeanSquaredError, Classes = 1), Linear(1)]", "Classes = 1", "remove it")]
    public void LossThatDoesNotFitTheHead(string head, string underlined, string hint) =>
        Assert.Contains(hint, AssertSingle(Model("[Input(4)]", Trunk + TwoTasks + $"    {head} public partial Sequential C {{ get; }}\n"), "MTL019", underlined));

    // MTL036: a task's PositiveWeights and ClassWeights, on the argument at fault.
    [Theory]
    [InlineData("[Task(Loss.CrossEntropy, PositiveWeights = [2]), Linear(3)]", "PositiveWeights = [2]", "but its loss is Loss.CrossEntropy: weigh its classes with ClassWeights")]
    [InlineData("[Task(Loss.MeanSquaredError, PositiveWeights = [2]), Linear(1)]", "PositiveWeights = [2]", "but its loss is Loss.MeanSquaredError: remove them")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, ClassWeights = new[] { 1.0, 3 }), Linear(2)]", "ClassWeights = new[] { 1.0, 3 }", "weigh its positive labels with PositiveWeights")]
    [InlineData("[Task(Loss.L1, ClassWeights = [1, 3]), Linear(2)]", "ClassWeights = [1, 3]", "but its loss is Loss.L1: remove them")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = []), Linear(2)]", "PositiveWeights = []", "has no PositiveWeights in its list")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = new double[0]), Linear(2)]", "ClassWeights = new double[0]", "has no ClassWeights in its list")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [1, 0]), Linear(2)]", "PositiveWeights = [1, 0]", "PositiveWeights[1] = 0: a positive weight is a positive, finite number")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [-2]), Linear(2)]", "PositiveWeights = [-2]", "PositiveWeights[0] = -2:")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [double.NaN]), Linear(2)]", "PositiveWeights = [double.NaN]", "PositiveWeights[0] = NaN:")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [1, double.PositiveInfinity]), Linear(2)]", "PositiveWeights = [1, double.PositiveInfinity]", "PositiveWeights[1] = Infinity:")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [1e-50]), Linear(2)]", "PositiveWeights = [1e-50]", "PositiveWeights[0] = 1E-50, which is 0 in float32")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, 1e39, 1]), Linear(3)]", "ClassWeights = [1, 1e39, 1]", "ClassWeights[1] = 1E+39, which is infinite in float32")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, -1, 1]), Linear(3)]", "ClassWeights = [1, -1, 1]", "ClassWeights[1] = -1: a class weight is a finite number, 0 or more")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, double.NegativeInfinity]), Linear(2)]", "ClassWeights = [1, double.NegativeInfinity]", "ClassWeights[1] = -Infinity:")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [0, 0, 0]), Linear(3)]", "ClassWeights = [0, 0, 0]", "has ClassWeights that are all 0: the loss would weigh no label")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1e-50, 0]), Linear(2)]", "ClassWeights = [1e-50, 0]", "all 0 in float32")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, 2]), Linear(3)]", "ClassWeights = [1, 2]", "has 2 ClassWeights but its head gives 3 classes ([3]): give one weight per class")]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, 2, 3, 4], Classes = 4), Linear(3)]", "ClassWeights = [1, 2, 3, 4]", "4 ClassWeights but its head gives 3 classes")]
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [1, 2]), Linear(3)]", "PositiveWeights = [1, 2]", "has 2 PositiveWeights but its head gives 3 labels ([3]): give one weight for every label, or one per label")]
    public void LossWeightsThatDoNotFitTheTask(string head, string underlined, string hint)
    {
        string source = Model("[Input(4)]", Trunk + TwoTasks + $"    {head} public partial Sequential C {{ get; }}\n");
        if (head.Contains("Classes = 4", StringComparison.Ordinal))
        {
            // Classes disagrees with the head too: MTL019 on Classes, and MTL036 on the weights.
            var diagnostics = GeneratorHarness.Diagnostics(source);
            Assert.Equal(["MTL019", "MTL036"], diagnostics.Select(d => d.Id).Order());
            Diagnostic weights = diagnostics.Single(d => d.Id == "MTL036");
            Assert.Equal(underlined, source.Substring(weights.Location.SourceSpan.Start, weights.Location.SourceSpan.Length));
            Assert.Contains(hint, weights.GetMessage());
            return;
        }
        string message = AssertSingle(source, "MTL036", underlined);
        Assert.StartsWith("Task 'C' has ", message);
        Assert.Contains(hint, message);
    }

    [Fact]
    public void ClassWeightsOfAClassMapCountItsChannels()
    {
        const string Images = "[Input(1, 6, 6)]";
        const string Members =
            "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1), ReLU] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.CrossEntropy, ClassWeights = [1, 5]), Conv2d(3, kernelSize: 1)] public partial Sequential Mask { get; }\n" +
            "    [Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [2, 3]), Conv2d(2, kernelSize: 1)] public partial Sequential Edges { get; }\n";
        Assert.Contains("has 2 ClassWeights but its head gives 3 classes ([3, 6, 6])", AssertSingle(Model(Images, Members), "MTL036", "ClassWeights = [1, 5]"));
        Assert.Empty(GeneratorHarness.Diagnostics(Model(Images, Members.Replace("ClassWeights = [1, 5]", "ClassWeights = [1, 5, 0.5]", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = [1, 0, 2.5]), Linear(3)]")]                       // a class left out
    [InlineData("[Task(Loss.CrossEntropy, ClassWeights = null), Linear(3)]")]                               // none, as not written
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [9]), Linear(3)]")]            // one for every label
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [9, 0.5, 1]), Linear(3)]")]    // one per label
    [InlineData("[Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = null), Linear(3)]")]
    public void LossWeightsThatFitHaveNoDiagnostic(string head) =>
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", Trunk + TwoTasks + $"    {head} public partial Sequential C {{ get; }}\n")));

    [Fact]
    public void LossWeightsOfAnUnknownLossAreLeftToMtl022() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks + "    [Task((Loss)42, ClassWeights = [1, 2]), Linear(2)] public partial Sequential C { get; }\n"), "MTL022", "Task((Loss)42, ClassWeights = [1, 2])");

    [Fact]
    public void BlockOutsideAModel() =>
        AssertSingle($"{Usings}public class NotAModel\n{{\n    [Trunk, Linear(4)] public TorchSharp.Modules.Sequential? Shared {{ get; }}\n}}\n", "MTL020", "Trunk", DiagnosticSeverity.Warning);

    [Fact]
    public void EmptyTrunkBlock() =>
        AssertSingle(Model("[Input(4)]", Trunk + "    [Trunk] public partial Sequential Nothing { get; }\n" + TwoTasks), "MTL021", "Nothing", DiagnosticSeverity.Warning);

    [Fact]
    public void UnknownLossValue() =>
        AssertSingle(Model("[Input(4)]", Trunk + TwoTasks + "    [Task((Loss)42), Linear(1)] public partial Sequential C { get; }\n"), "MTL022", "Task((Loss)42)");

    private const string Images = "[Input(1, 8, 8)]";
    private const string Stages =
        "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1), ReLU] public partial Sequential Stem { get; }\n" +
        "    [Trunk, MaxPool2d(2), Conv2d(8, kernelSize: 3, Padding = 1), ReLU] public partial Sequential Stage { get; }\n";
    private const string ImageTasks =
        "    [Task(Loss.CrossEntropy), Flatten, Linear(3)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Flatten, Linear(1)] public partial Sequential B { get; }\n";

    [Theory]
    [InlineData("[MMoE(2)]")]
    [InlineData("[CGC(1, 0)]")]
    [InlineData("[CGC(2, 3)]")]
    [InlineData("[PLE(1, 1)]")]
    [InlineData("[CGC(2, 1, 2)]")]
    [InlineData("[CGC(2, new[] { 0, 3 })]")]
    [InlineData("[CGC(sharedExperts: 1, taskExpertsPerTask: new[] { 1, 2 })]")]
    [InlineData("[PLE(2, 0, 1)]")]
    [InlineData("[PLE(1, new int[] { 2, 2 })]")]
    [InlineData("[CrossStitch]")]
    [InlineData("[MTAN]")]
    public void EveryArchitectureAcceptsTheSameStages(string architecture) =>
        Assert.Empty(GeneratorHarness.Diagnostics(Model(Images + "\n" + architecture, Stages + ImageTasks)));

    [Fact]
    public void TwoArchitectures() =>
        Assert.Contains("both [MMoE] and [CrossStitch]", AssertSingle(Model(Images + "\n[MMoE(2)]\n[CrossStitch]", Stages + ImageTasks), "MTL023", "CrossStitch"));

    [Theory]
    [InlineData("[MMoE(0)]", "0", "Experts is 0, but it must be at least 1")]
    [InlineData("[CGC(0, 2)]", "0", "SharedExperts is 0")]
    [InlineData("[PLE(2, -1)]", "-1", "TaskExperts is -1, but it must be zero or more")]
    [InlineData("[MMoE(experts: -3)]", "experts: -3", "Experts is -3")]
    // One count of task experts per task (A, B), each zero or more, located on the count that is wrong.
    [InlineData("[CGC(2, 1, -1)]", "-1", "TaskExpertsPerTask[1] (task B's own experts) is -1, but it must be zero or more")]
    [InlineData("[PLE(2, new[] { -2, 1 })]", "-2", "TaskExpertsPerTask[0] (task A's own experts) is -2, but it must be zero or more")]
    [InlineData("[CGC(2, 1, 2, 1)]", "1", "TaskExpertsPerTask is [1, 2, 1] (3 counts), but it must be one count per task, in declaration order: 2 counts, for A, B")]
    [InlineData("[PLE(1, new[] { 3 })]", "new[] { 3 }", "TaskExpertsPerTask is [3] (1 count), but it must be one count per task, in declaration order: 2 counts, for A, B")]
    [InlineData("[CGC(1)]", "CGC(1)", "TaskExpertsPerTask is [] (0 counts), but it must be one count per task")]
    [InlineData("[CGC(2, (int[])null)]", "(int[])null", "TaskExpertsPerTask is [] (0 counts)")]
    public void ExpertCountsOutOfRange(string architecture, string underlined, string message) =>
        Assert.Contains(message, AssertSingle(Model(Images + "\n" + architecture, Stages + ImageTasks), "MTL024", underlined));

    [Fact]
    public void ReadsNamesATaskHead() =>
        Assert.Contains("which is a task head, not a trunk block: name one of its trunk blocks, nameof(Stem), nameof(Stage)", AssertSingle(Model(Images, Stages + ImageTasks.Replace(
            "[Task(Loss.MeanSquaredError)", "[Task(Loss.MeanSquaredError, Reads = nameof(A))")), "MTL025", "Reads = nameof(A)"));

    [Fact]
    public void ReadsNamesNothing() =>
        Assert.Contains("which is not a block of model 'M'", AssertSingle(Model(Images, Stages + ImageTasks.Replace(
            "[Task(Loss.MeanSquaredError)", "[Task(Loss.MeanSquaredError, Reads = \"stem\")")), "MTL025", "Reads = \"stem\""));

    [Fact]
    public void ReadsOutsideHardSharing() =>
        Assert.Contains("applies to hard parameter sharing only", AssertSingle(Model(Images + "\n[MMoE(2)]", Stages + ImageTasks.Replace(
            "[Task(Loss.MeanSquaredError), Flatten", "[Task(Loss.MeanSquaredError, Reads = nameof(Stem)), Flatten")), "MTL025", "Reads = nameof(Stem)"));

    [Fact]
    public void AHeadReadingAnEarlyBlockIsCheckedAgainstThatBlocksShape()
    {
        // Stem gives [4, 8, 8]: Linear without Flatten is MTL005 on the head that reads it.
        string message = AssertSingle(Model(Images, Stages +
            "    [Task(Loss.CrossEntropy), Flatten, Linear(3)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError, Reads = nameof(Stem)), Linear(1)] public partial Sequential B { get; }\n"), "MTL005", "Linear(1)");
        Assert.Contains("[4, 8, 8]", message);
    }

    [Fact]
    public void MtanStageWithOneLayer() =>
        Assert.Contains("needs at least two", AssertSingle(Model(Images + "\n[MTAN]",
            "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1)] public partial Sequential Stem { get; }\n" + ImageTasks), "MTL026", "Stem"));

    [Fact]
    public void MtanStageThatPoolsAtItsEnd() =>
        Assert.Contains("their height and width must be equal", AssertSingle(Model(Images + "\n[MTAN]",
            "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1), MaxPool2d(2)] public partial Sequential Stem { get; }\n" + ImageTasks), "MTL026", "MaxPool2d(2)"));

    [Fact]
    public void MtanStageOnVectors() =>
        Assert.Contains("images [channels, height, width]", AssertSingle(Model(Images + "\n[MTAN]",
            "    [Trunk, Flatten, Linear(8), ReLU] public partial Sequential Stem { get; }\n" + TwoTasks), "MTL026", "Stem"));

    [Fact]
    public void MtanStagesWhoseSizesDoNotDivide() =>
        Assert.Contains("by one whole factor", AssertSingle(Model("[Input(1, 9, 9)]\n[MTAN]",
            "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1), ReLU] public partial Sequential Stem { get; }\n" +
            "    [Trunk, Conv2d(8, kernelSize: 3), ReLU] public partial Sequential Stage { get; }\n" + ImageTasks), "MTL026", "Stage"));

    [Fact]
    public void CrossStitchWithOneStage() =>
        AssertSingle(Model(Images + "\n[CrossStitch]", "    [Trunk, Conv2d(4, kernelSize: 3, Padding = 1), ReLU] public partial Sequential Stem { get; }\n" + ImageTasks),
            "MTL027", "CrossStitch", DiagnosticSeverity.Warning);

    [Fact]
    public void TrunkBlockAfterEveryBlockAHeadReads() =>
        AssertSingle(Model(Images, Stages + ImageTasks.Replace("[Task(Loss.CrossEntropy)", "[Task(Loss.CrossEntropy, Reads = nameof(Stem))")
            .Replace("[Task(Loss.MeanSquaredError)", "[Task(Loss.MeanSquaredError, Reads = nameof(Stem))")), "MTL028", "Stage", DiagnosticSeverity.Warning);

    [Fact]
    public void ABlockTakingAnArchitecturesStateName() =>
        Assert.Contains("'gates'", AssertSingle(Model(Images + "\n[MMoE(2)]", Stages.Replace("Sequential Stage", "Sequential Gates") + ImageTasks), "MTL009", "Gates"));

    // Named inputs, ids, embeddings and concatenation.
    private const string TwoInputs = "[Input(\"Dense\", 4)]\n[Input(\"Ids\", 3, Kind = InputKind.Ids)]";
    private const string Embedded = "    [Trunk(Reads = \"Ids\"), EmbeddingBag(10, 4)] public partial Sequential Bag { get; }\n";
    private const string Body = "    [Trunk, Concat(\"Dense\", nameof(Bag)), Linear(8)] public partial Sequential Body { get; }\n";

    [Fact]
    public void ValidModelOfTwoNamedInputsHasNoDiagnostic() =>
        Assert.Empty(GeneratorHarness.Diagnostics(Model(TwoInputs, Embedded + Body + TwoTasks)));

    [Fact]
    public void ASingleTensorForAModelOfSeveralInputsDoesNotCompile()
    {
        string source = Model(TwoInputs, Embedded + Body + TwoTasks) + "static class Use\n{\n    static void Run(M model, TorchSharp.torch.Tensor x) => model.forward(x);\n}\n";
        var (run, compiled) = GeneratorHarness.Run(source);
        Assert.Empty(run.Diagnostics);
        Diagnostic error = Assert.Single(compiled.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("CS0619", error.Id);
        Assert.Contains("M reads 2 inputs (Dense, Ids): pass them together as a M.Inputs record, forward(new M.Inputs(…))", error.GetMessage());
        Assert.Equal("model.forward(x)", source.Substring(error.Location.SourceSpan.Start, error.Location.SourceSpan.Length));
    }

    [Fact]
    public void TheHintForAFirstBlockOfSeveralInputsConcatenatesOnlyFeatures() =>
        Assert.Contains("an input of ids is read by a block of its own that begins with Embedding or EmbeddingBag", AssertSingle(Model(TwoInputs,
            "    [Trunk, Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks), "MTL030", "Trunk"));

    [Fact]
    public void AnOwnModulesShapeMethodOfTheWrongParametersSaysWhichItNeeds()
    {
        string source = WithModules(Model("[Input(8)]", "    [Trunk, Module(typeof(Halve), 2)] public partial Sequential Shared { get; }\n" + TwoTasks))
            .Replace("public static int[] OutputShape(int[] input, int divisor)", "public static int[] OutputShape(int[] input)");
        Assert.Contains("has a static OutputShape(int[] input), but the generator passes it the input's shape and then the constructor's arguments (1 of them): declare it public static int[] OutputShape(int[] input, int divisor)",
            AssertSingle(source, "MTL034", "Module(typeof(Halve), 2)"));
    }

    [Fact]
    public void SeveralInputsNeedNames() =>
        Assert.Contains("so each needs a name", AssertSingle(Model("[Input(4)]\n[Input(\"Ids\", 3, Kind = InputKind.Ids)]", Embedded +
            "    [Trunk, Concat(\"input\", nameof(Bag)), Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks), "MTL031", "Input(4)"));

    [Theory]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Dense\", 3, Kind = InputKind.Ids)]", "\"Dense\"", "two inputs are named 'Dense'")]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"two words\", 3, Kind = InputKind.Ids)]", "\"two words\"", "is not a C# identifier")]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Count\", 3, Kind = InputKind.Ids)]", "\"Count\"", "taken by the generated Inputs record")]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Body\", 3, Kind = InputKind.Ids)]", "\"Body\"", "has the name of block 'Body'")]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Ids\", 3, Kind = (InputKind)7)]", "Kind = (InputKind)7", "Kind 7, which is not an InputKind")]
    public void InvalidInputDeclarations(string inputs, string underlined, string message)
    {
        string members = (inputs.Contains("\"Ids\"", StringComparison.Ordinal) ? Embedded : "    [Trunk(Reads = \"Dense\"), Linear(4)] public partial Sequential Bag { get; }\n") +
            "    [Trunk, Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks;
        var diagnostics = GeneratorHarness.Diagnostics(Model(inputs, members));
        Diagnostic diagnostic = Assert.Single(diagnostics, d => d.Id == "MTL031");
        string source = Model(inputs, members);
        Assert.Equal(underlined, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Contains(message, diagnostic.GetMessage());
    }

    [Fact]
    public void ANullArrayIsAnEmptyOneNotACrash()
    {
        AssertSingle(Model("[Input((int[])null)]", Trunk + TwoTasks), "MTL002", "Input((int[])null)");
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", "    [Trunk, Linear(8), LayerNorm((int[])null)] public partial Sequential Shared { get; }\n" + TwoTasks)));
    }

    [Fact]
    public void AFeaturesInputNeedsAShape() =>
        Assert.Contains("declares input 'Dense' with an empty shape", AssertSingle(Model("[Input(\"Dense\")]", Trunk + TwoTasks), "MTL002", "Input(\"Dense\")"));

    [Fact]
    public void ArchitecturesReadOneInputOfFeatures() =>
        Assert.Contains("the MMoE architecture reads one input of features", AssertSingle(Model("[Input(\"Ids\", 3, Kind = InputKind.Ids), MMoE(2)]",
            "    [Trunk, EmbeddingBag(10, 4)] public partial Sequential Bag { get; }\n" + TwoTasks), "MTL031", "MMoE(2)"));

    [Fact]
    public void TheFirstBlockOfSeveralInputsSaysWhatItReads() =>
        Assert.Contains("reads nothing: model 'M' has 2 inputs (Dense, Ids)", AssertSingle(Model(TwoInputs,
            "    [Trunk, Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks), "MTL030", "Trunk"));

    [Theory]
    [InlineData("Concat(\"Dense\", \"Missing\")", "reads 'Missing', which is neither an input nor a trunk block of model 'M': name one of \"Dense\", \"Ids\", nameof(Bag)")]
    [InlineData("Concat(\"Dense\", nameof(Later))", "reads 'Later', which is declared after it")]
    [InlineData("Concat(\"Dense\", nameof(A))", "reads 'A', which is a task head")]
    [InlineData("Concat(\"Dense\", nameof(Body))", "reads 'Body', which is the block itself")]
    [InlineData("Concat(\"Dense\", null)", "reads an empty or null name")]
    [InlineData("Concat((string[])null)", "has a [Concat] that names nothing")]
    public void ATrunkBlockReadsInputsAndEarlierBlocks(string concat, string message)
    {
        string source = Model(TwoInputs, Embedded + $"    [Trunk, {concat}, Linear(8)] public partial Sequential Body {{ get; }}\n" +
            "    [Trunk, Linear(8)] public partial Sequential Later { get; }\n" + TwoTasks);
        Diagnostic diagnostic = Assert.Single(GeneratorHarness.Diagnostics(source));
        Assert.Equal("MTL030", diagnostic.Id);
        Assert.Equal(concat, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Contains(message, diagnostic.GetMessage());
    }

    [Fact]
    public void ReadsAndConcatAreNotBothWritten() =>
        Assert.Contains("has both Reads and [Concat]", AssertSingle(Model(TwoInputs, Embedded +
            "    [Trunk(Reads = \"Dense\"), Concat(\"Dense\", nameof(Bag)), Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks), "MTL030", "Concat(\"Dense\", nameof(Bag))"));

    [Fact]
    public void ArchitecturesRunTheirBlocksInOrder() =>
        Assert.Contains("runs its trunk blocks in order; only the first ('Body') may name what the architecture reads", AssertSingle(Model("[Input(4), MMoE(2)]",
            "    [Trunk, Linear(8)] public partial Sequential Body { get; }\n" +
            "    [Trunk(Reads = \"input\"), Linear(8)] public partial Sequential Next { get; }\n" + TwoTasks), "MTL030", "Reads = \"input\""));

    // ---- A shared bottom before the experts, columns or stages ([Trunk(Bottom = true)]) ----

    private const string Bottom = "    [Trunk(Bottom = true, Reads = \"Ids\"), EmbeddingBag(10, 4)] public partial Sequential Bag { get; }\n";

    [Theory]
    [InlineData("[MMoE(2)]")]
    [InlineData("[MMoE(2, OneGate = true)]")]
    [InlineData("[CGC(1, 1)]")]
    [InlineData("[PLE(1, 1)]")]
    [InlineData("[CrossStitch]")]
    public void EveryArchitectureReadsASharedBottomOfIdsAndFeatures(string architecture)
    {
        // Cross-stitch needs two stages to mix; the others take one or more.
        string experts = "    [Trunk, Concat(\"Dense\", nameof(Bag)), Linear(8), ReLU] public partial Sequential Expert { get; }\n" +
                         "    [Trunk, Linear(8)] public partial Sequential Second { get; }\n";
        Assert.Empty(GeneratorHarness.Diagnostics(Model(TwoInputs + "\n" + architecture, Bottom + experts + TwoTasks)));
    }

    [Theory]
    [InlineData("Bottom = true")]
    [InlineData("Bottom = Yes")]
    [InlineData("Bottom = !No")]
    [InlineData("Bottom = 1 > 0")]
    public void TheBottomIsReadAsTheCompilerBindsIt(string bottom)
    {
        // The last bottom block is what the experts read by default; its spellings are constants of any form.
        string source = Model(TwoInputs + "\n[CGC(1, 1)]",
            "    private const bool Yes = true, No = false;\n" + Bottom +
            $"    [Trunk({bottom}), Concat(\"Dense\", nameof(Bag)), Linear(6)] public partial Sequential Joined {{ get; }}\n" +
            "    [Trunk, Linear(8)] public partial Sequential Expert { get; }\n" + TwoTasks);
        Assert.Empty(GeneratorHarness.Diagnostics(source));
    }

    [Fact]
    public void ABottomInHardSharingIsRefusedWhereItIsWritten() =>
        Assert.Contains("has hard parameter sharing (no architecture attribute), whose trunk blocks are all shared", AssertSingle(Model(TwoInputs,
            "    [Trunk(Reads = \"Ids\", Bottom = true), EmbeddingBag(10, 4)] public partial Sequential Bag { get; }\n" + Body + TwoTasks), "MTL030", "Bottom = true"));

    [Fact]
    public void ABottomBlockDoesNotReadTheArchitecturesBlocks() =>
        Assert.Contains("which is a trunk block of the MMoE architecture: the shared bottom runs before the architecture", AssertSingle(Model("[Input(4), MMoE(2)]",
            "    [Trunk, Linear(8)] public partial Sequential Expert { get; }\n" +
            "    [Trunk(Bottom = true, Reads = nameof(Expert)), Linear(8)] public partial Sequential Late { get; }\n" + TwoTasks), "MTL030", "Reads = nameof(Expert)"));

    [Theory]
    [InlineData("Concat(\"Dense\", nameof(A))", "'A', a task head")]
    [InlineData("Concat(\"Dense\", \"Nothing\")", "'Nothing', which is neither an input nor a bottom block")]
    [InlineData("Concat(\"Dense\", nameof(Second))", "'Second', a trunk block of the MMoE architecture")]
    public void TheFirstTrunkBlockReadsInputsAndBottomBlocks(string concat, string message) =>
        Assert.Contains(message, AssertSingle(Model(TwoInputs + "\n[MMoE(2)]", Bottom +
            $"    [Trunk, {concat}, Linear(8)] public partial Sequential Expert {{ get; }}\n" +
            "    [Trunk, Linear(8)] public partial Sequential Second { get; }\n" + TwoTasks), "MTL030", concat));

    [Fact]
    public void ABottomBlockTheArchitectureDoesNotReadIsAWarning() =>
        AssertSingle(Model(TwoInputs + "\n[MMoE(2)]", Bottom +
            "    [Trunk(Bottom = true, Reads = \"Dense\"), Linear(4)] public partial Sequential Unused { get; }\n" +
            "    [Trunk, Concat(\"Dense\", nameof(Bag)), Linear(8)] public partial Sequential Expert { get; }\n" + TwoTasks),
            "MTL028", "Unused", DiagnosticSeverity.Warning);

    [Fact]
    public void SeveralInputsWithoutABottomNameTheWayOut() =>
        Assert.Contains("declare a shared bottom before it: [Trunk(Bottom = true, Reads = \"…\")]", AssertSingle(Model(TwoInputs + "\n[MMoE(2)]",
            "    [Trunk, Linear(8)] public partial Sequential Expert { get; }\n" + TwoTasks), "MTL031", "MMoE(2)"));

    [Fact]
    public void TheFirstTrunkBlockMayConcatenateFeatureInputsWithoutABottom() =>
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(\"Left\", 4)]\n[Input(\"Right\", 3)]\n[PLE(1, 1)]",
            "    [Trunk, Concat(\"Left\", \"Right\"), Linear(8)] public partial Sequential Level { get; }\n" + TwoTasks)));

    [Fact]
    public void AHeadDoesNotConcatenate() =>
        Assert.Contains("[Concat] applies to trunk blocks", AssertSingle(Model(TwoInputs, Embedded + Body +
            "    [Task(Loss.MeanSquaredError), Concat(nameof(Bag), nameof(Body)), Linear(1)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n"), "MTL025", "Concat(nameof(Bag), nameof(Body))"));

    [Fact]
    public void AHeadDoesNotReadAnInput() =>
        Assert.Contains("which is an input", AssertSingle(Model(TwoInputs, Embedded + Body +
            "    [Task(Loss.MeanSquaredError, Reads = \"Dense\"), Linear(1)] public partial Sequential A { get; }\n" +
            "    [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }\n"), "MTL025", "Reads = \"Dense\""));

    [Theory]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Image\", 1, 4, 4)]", "Concat(\"Dense\", \"Image\")", "the sources differ in rank")]
    [InlineData("[Input(\"Left\", 2, 4, 4)]\n[Input(\"Image\", 1, 4, 5)]", "Concat(\"Left\", \"Image\")", "dimension 2 differs")]
    [InlineData("[Input(\"Dense\", 4)]\n[Input(\"Image\", 4, Kind = InputKind.Ids)]", "Concat(\"Dense\", \"Image\")", "mixes categorical ids with features")]
    [InlineData("[Input(\"Dense\", Kind = InputKind.Ids)]\n[Input(\"Image\", Kind = InputKind.Ids)]", "Concat(\"Dense\", \"Image\")", "one id per sample (shape []) has no dimension to concatenate along")]
    public void ConcatenatedSourcesAgreeBeyondTheirFirstDimension(string inputs, string concat, string message)
    {
        string source = Model(inputs, $"    [Trunk, {concat}, Flatten, Linear(8)] public partial Sequential Body {{ get; }}\n" + TwoTasks);
        Assert.Contains(message, AssertSingle(source, "MTL032", concat));
    }

    [Fact]
    public void AnInputThatNoBlockReadsIsAWarning() =>
        AssertSingle(Model(TwoInputs + "\n[Input(\"Unused\", 2)]", Embedded + Body + TwoTasks), "MTL033", "Input(\"Unused\", 2)", DiagnosticSeverity.Warning);

    [Fact]
    public void ABlockThatNothingReadsIsAWarningAlsoBesideTheChain() =>
        AssertSingle(Model(TwoInputs, Embedded + "    [Trunk(Reads = \"Dense\"), Linear(4)] public partial Sequential Side { get; }\n" + Body + TwoTasks),
            "MTL028", "Side", DiagnosticSeverity.Warning);

    [Theory]
    [InlineData("Linear(8)", "Linear(8)", "receives [3] but expects features: its input is categorical ids [3]")]
    [InlineData("Embedding(10, 4)", "Embedding(10, 4)", "receives [4] but expects categorical ids")]
    public void IdsAndFeaturesGoToTheirOwnLayers(string first, string underlined, string message)
    {
        string reads = first.StartsWith("Embedding", StringComparison.Ordinal) ? "Dense" : "Ids";
        string source = Model(TwoInputs, $"    [Trunk(Reads = \"{reads}\"), {first}, Flatten] public partial Sequential Bag {{ get; }}\n" +
            "    [Trunk, Concat(\"Dense\", nameof(Bag)), Linear(8)] public partial Sequential Body { get; }\n" + TwoTasks);
        if (reads == "Dense") source = source.Replace("Concat(\"Dense\", nameof(Bag))", "Concat(\"Ids\", nameof(Bag))").Replace("[Input(\"Ids\", 3, Kind = InputKind.Ids)]", "[Input(\"Ids\", 3)]");
        Assert.Contains(message, AssertSingle(source, "MTL005", underlined));
    }

    [Theory]
    [InlineData("EmbeddingBag(10, 4, PaddingIndex = 10)", "PaddingIndex = 10", "an id of the vocabulary, in [0, 10)")]
    [InlineData("EmbeddingBag(10, 4, PaddingIndex = -1)", "PaddingIndex = -1", "do not write it")]
    [InlineData("EmbeddingBag(0, 4)", "0", "Vocabulary")]
    [InlineData("EmbeddingBag(10, 0)", "0", "Dimension")]
    [InlineData("EmbeddingBag(10, 4, Mode = (BagMode)2)", "Mode = (BagMode)2", "BagMode.Mean or BagMode.Sum")]
    public void EmbeddingArgumentsAreInRange(string layer, string underlined, string message)
    {
        string source = Model(TwoInputs, $"    [Trunk(Reads = \"Ids\"), {layer}] public partial Sequential Bag {{ get; }}\n" + Body + TwoTasks);
        Assert.Contains(message, AssertSingle(source, "MTL010", underlined));
    }

    [Fact]
    public void ABagPoolsAListOfIdsPerSample() =>
        Assert.Contains("one id per sample has nothing to pool, so read it with Embedding", AssertSingle(Model("[Input(\"Dense\", 4)]\n[Input(\"Ids\", Kind = InputKind.Ids)]",
            Embedded + Body + TwoTasks), "MTL005", "EmbeddingBag(10, 4)"));

    [Fact]
    public void IdsNeedAnEmbeddingBeforeAnyOtherBlock()
    {
        var empty = GeneratorHarness.Diagnostics(Model(TwoInputs, "    [Trunk(Reads = \"Ids\")] public partial Sequential Bag { get; }\n" + Body + TwoTasks));
        Assert.Contains("reads categorical ids and has no layers", Assert.Single(empty, d => d.Id == "MTL030").GetMessage());
        Assert.Contains(empty, d => d.Id == "MTL021"); // the block without layers, as any
        Assert.Contains("is [Residual] but reads categorical ids", AssertSingle(Model(TwoInputs,
            "    [Trunk(Reads = \"Ids\"), Residual, EmbeddingBag(10, 3)] public partial Sequential Bag { get; }\n" + Body + TwoTasks), "MTL030", "Residual"));
    }

    // Your own modules.
    private const string OwnModules = """
        public class Halve : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            public Halve(int divisor) : base("Halve") { }
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;
            public static int[] OutputShape(int[] input, int divisor) => [input[0] / divisor];
        }
        public class Opaque : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            public Opaque() : base("Opaque") { }
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;
            public static int[] OutputShape(int[] input) { var copy = (int[])input.Clone(); return copy; }
        }
        public class Deep : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            public Deep() : base("Deep") { }
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;
            public static int[] OutputShape(int[] input) => [input[0], input[3]];
        }
        public abstract class Unfinished : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            protected Unfinished() : base("Unfinished") { }
        }
        """;

    // A model, with the module types above it.
    private static string WithModules(string model) => Usings + OwnModules + model.Substring(Usings.Length);

    // Exports: MTL035 on the call of an export the model cannot take, through any spelling of the receiver.
    private static string WithExport(string model, string calls) =>
        model + "public static class Use\n{\n    public static void Run(M m, M? maybe, System.Func<M> make)\n    {\n" + calls + "\n    }\n}\n" + OnnxExtensions;

    // MtlDsl.Onnx's extension as it is declared there (this test project does not reference MtlDsl.Onnx).
    private const string OnnxExtensions =
        "namespace MtlDsl\n{\n    public static class OnnxExtensions\n    {\n" +
        "        public static object ExportOnnx<TOutputs, TTargets>(this MultiTaskModule<TOutputs, TTargets> model, string path, System.Collections.Generic.IReadOnlyDictionary<string, string>? metadata = null)\n" +
        "            where TOutputs : ITaskTensors<TOutputs> where TTargets : ITaskTensors<TTargets> => path;\n    }\n}\n";

    [Theory]
    [InlineData("m.ExportOnnx(\"m.onnx\");", "ExportOnnx")]
    [InlineData("m.ExportPyTorch(\"twin\");", "ExportPyTorch")]
    [InlineData("maybe!.ExportOnnx(\"m.onnx\");", "ExportOnnx")]
    [InlineData("make().ExportOnnx(path: \"m.onnx\");", "ExportOnnx")]
    [InlineData("((M)m).ExportOnnx(\"m.onnx\");", "ExportOnnx")]
    [InlineData("maybe?.ExportPyTorch(\"twin\");", "ExportPyTorch")]
    [InlineData("MtlDsl.OnnxExtensions.ExportOnnx(m, \"m.onnx\");", "ExportOnnx")]
    [InlineData("global::MtlDsl.OnnxExtensions.ExportOnnx(model: m, path: \"m.onnx\");", "ExportOnnx")]
    public void ExportingAModelWithAModuleOfItsOwnIsAWarningOnTheCall(string call, string method)
    {
        string source = WithExport(WithModules(Model("[Input(8)]", "    [Trunk, Module(typeof(Halve), 2)] public partial Sequential Shared { get; }\n" + TwoTasks)), call);
        string message = AssertSingle(source, "MTL035", method, DiagnosticSeverity.Warning);
        Assert.Contains($"{method} cannot export model 'M': Halve (layer 0 of 'Shared') is a TorchSharp module of your own", message);
    }

    [Fact]
    public void AnExportCalledInsideTheModelIsAWarningToo()
    {
        string model = WithModules(Model("[Input(8)]", "    [Trunk, Module(typeof(Halve), 2)] public partial Sequential Shared { get; }\n" + TwoTasks +
            "    public void Save() => ExportPyTorch(\"twin\");\n    public void SaveToo() => this.ExportPyTorch(\"twin\");\n"));
        var reported = GeneratorHarness.Diagnostics(model).Where(d => d.Id == "MTL035").ToList();
        Assert.Equal(2, reported.Count);
    }

    [Fact]
    public void ATaskNamedAsAnInputCannotBeAnOnnxOutput()
    {
        // A model's one unnamed input is 'input' in the graph; named inputs and blocks already have distinct names (MTL031).
        string source = WithExport(Model("[Input(4)]", Trunk + TwoTasks.Replace("Sequential A", "Sequential input")),
            "m.ExportOnnx(\"m.onnx\");\n        m.ExportPyTorch(\"twin\");");
        Assert.Contains("task 'input' and input 'input' share a name", AssertSingle(source, "MTL035", "ExportOnnx", DiagnosticSeverity.Warning));
    }

    [Fact]
    public void ExportingAModelOfMtlDslsLayersIsNoDiagnosticAndAPragmaSilencesTheWarning()
    {
        Assert.Empty(GeneratorHarness.Diagnostics(WithExport(Model("[Input(4)]", Trunk + TwoTasks), "m.ExportOnnx(\"m.onnx\"); m.ExportPyTorch(\"twin\");")));
        string own = WithExport(WithModules(Model("[Input(8)]", "    [Trunk, Module(typeof(Halve), 2)] public partial Sequential Shared { get; }\n" + TwoTasks)),
            "#pragma warning disable MTL035\n        m.ExportOnnx(\"m.onnx\");\n#pragma warning restore MTL035");
        var (run, output) = GeneratorHarness.Run(own);
        Diagnostic reported = Assert.Single(run.Diagnostics);
        Assert.Equal(LocationKind.SourceFile, reported.Location.Kind);  // in the syntax tree, where suppressions are looked up
        // The compiler's own filter (pragmas, [SuppressMessage], options), as csc applies it; not public API.
        var filter = typeof(CompilationOptions).GetMethod("FilterDiagnostic", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)!;
        Assert.True(((Diagnostic)filter.Invoke(output.Options, [reported, CancellationToken.None])!).IsSuppressed);
    }

    [Fact]
    public void OwnModulesWithAShapeMethodOrADeclaredShapeHaveNoDiagnostic() =>
        Assert.Empty(GeneratorHarness.Diagnostics(WithModules(Model("[Input(8)]",
            "    [Trunk, Module(typeof(Halve), 2), Linear(3), Module(typeof(Halve), 3, OutputShape = new[] { 1 })] public partial Sequential Shared { get; }\n" + TwoTasks))));

    [Theory]
    [InlineData("Module(typeof(string), OutputShape = new[] { 8 })", "typeof(string)", "is not a TorchSharp module of one tensor")]
    [InlineData("Module(typeof(Unfinished), OutputShape = new[] { 8 })", "typeof(Unfinished)", "is abstract")]
    [InlineData("Module(typeof(Halve), \"two\")", "Module(typeof(Halve), \"two\")", "has no public constructor that takes (string)")]
    [InlineData("Module(typeof(Halve))", "Module(typeof(Halve))", "has no public constructor without parameters")]
    [InlineData("Module(typeof(Halve), 0)", "Module(typeof(Halve), 0)", "it divides by zero for this input")]
    [InlineData("Module(typeof(Halve), 16)", "Module(typeof(Halve), 16)", "it computes 0 for dimension 0")]
    [InlineData("Module(typeof(Opaque))", "Module(typeof(Opaque))", "cannot evaluate at compile time: it declares 'copy' of type int[]")]
    [InlineData("Module(typeof(Deep))", "Module(typeof(Deep))", "it reads input[3], but the input [8] has 1 dimensions")]
    [InlineData("Module(typeof(Halve), 2, OutputShape = new[] { 5 })", "OutputShape = new[] { 5 }", "declares OutputShape = [5], but Halve.OutputShape computes [4]")]
    [InlineData("Module(typeof(TorchSharp.Modules.Identity), OutputShape = new[] { 8 })", "Module(typeof(TorchSharp.Modules.Identity), OutputShape = new[] { 8 })", "has no public constructor without parameters")]
    [InlineData("Module(typeof(Opaque), OutputShape = new[] { 0 })", "Module(typeof(Opaque), OutputShape = new[] { 0 })", "cannot evaluate")]
    public void OwnModulesAreCheckedThroughTheirDeclaration(string layer, string underlined, string message)
    {
        string source = WithModules(Model("[Input(8)]", $"    [Trunk, {layer}] public partial Sequential Shared {{ get; }}\n" + TwoTasks));
        Assert.Contains(message, AssertSingle(source, "MTL034", underlined));
    }

    // A module of the user's own with these members (constructors call base("Own")), used as the model's trunk.
    private static string WithOwn(string members, string layer) =>
        Usings + "using System;\npublic struct Size { public int V; public static Size operator +(Size a, Size b) => a; public static implicit operator int(Size s) => s.V; }\n" +
        "public class Own : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>\n{\n" +
        "    public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;\n" + members + "\n}\n" +
        Model("[Input(8)]", $"    [Trunk, {layer}] public partial Sequential Shared {{ get; }}\n" + TwoTasks).Substring(Usings.Length);

    [Theory]
    [InlineData("public Own(ref int n) : base(\"Own\") { }", "Module(typeof(Own), 8, OutputShape = new[] { 8 })", "Own(ref int n), which takes 'n' by ref, and the generated code passes values")]
    [InlineData("public Own(out int n) : base(\"Own\") { n = 0; }", "Module(typeof(Own), 8, OutputShape = new[] { 8 })", "Own(out int n), which takes 'n' as out")]
    [InlineData("public Own(in int n) : base(\"Own\") { }", "Module(typeof(Own), 8, OutputShape = new[] { 8 })", "is created by C# with Own(in int n) for new Own(8), which takes 'n' as in; the generated code passes the attribute's arguments as values")]
    [InlineData("public Own(long a, int b) : base(\"Own\") { } public Own(int a, long b) : base(\"Own\") { }", "Module(typeof(Own), 1, 1, OutputShape = new[] { 8 })",
        "has several constructors C# could call for new Own(1, 1), none better than the others: Own(long a, int b) and Own(int a, long b) (the call is ambiguous, CS0121)")]
    [InlineData("public Own(byte n) : base(\"Own\") { }", "Module(typeof(Own), 300, OutputShape = new[] { 8 })", "Own(byte n): argument 1, 300 of type int, does not convert to byte implicitly")]
    public void AnOwnModuleTheCompilerCannotCallAsWrittenIsRefusedInItsTerms(string constructors, string layer, string message) =>
        Assert.Contains(message, AssertSingle(WithOwn(constructors, layer), "MTL034", layer));

    [Theory]
    [InlineData("[(int)(decimal)input[0]]", "cannot evaluate at compile time: '(decimal)input[0]' converts int to decimal, and the generator converts only between numbers")]
    [InlineData("[Twice(input[0])]", "cannot evaluate at compile time: 'Twice(input[0])' calls Own.Twice, and the generator evaluates no method but Math")]
    [InlineData("[default(Size) + default(Size)]", "uses the user-defined conversion")]
    [InlineData("[(int)((int?)input[0] + 1)]", "converts to or from a nullable type")]
    [InlineData("[input.Clone() is int[] copy ? copy[0] : 1]", "is not something the generator evaluates")]
    [InlineData("[unchecked((int)(input[0] * 1e10))]", "it converts 80000000000 to int in an unchecked context, and that value is outside int's range, where C# leaves the result unspecified")]
    [InlineData("[checked(input[0] * 1000000000)]", "it overflows for this input where C# throws OverflowException")]
    [InlineData("[input[0] / (input[0] - 8)]", "it divides by zero for this input (an integer division or remainder, where C# throws DivideByZeroException)")]
    [InlineData("[input[0] - 8, input[0] / (input[0] - 8)]", "DivideByZeroException")] // C# computes every size before it returns
    public void AnOwnModulesShapeThatCSharpWouldNotGiveIsRefused(string returned, string message) =>
        Assert.Contains(message, AssertSingle(WithOwn($"    public Own() : base(\"Own\") {{ }}\n    static int Twice(int x) => 2 * x;\n    public static int[] OutputShape(int[] input) => {returned};", "Module(typeof(Own))"),
            "MTL034", "Module(typeof(Own))"));

    [Fact]
    public void AnOwnModuleWithoutAShapeSaysHowToGiveOne()
    {
        string source = Usings + "public class Plain : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> { public Plain() : base(\"Plain\") { } public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x; }\n" +
            Model("[Input(8)]", "    [Trunk, Module(typeof(Plain))] public partial Sequential Shared { get; }\n" + TwoTasks).Substring(Usings.Length);
        Assert.Contains("has no declared output shape: write OutputShape = new[] { … } on the attribute, or give Plain a method public static int[] OutputShape(int[] input) that computes it",
            AssertSingle(source, "MTL034", "Module(typeof(Plain))"));
        string declared = source.Replace("Module(typeof(Plain))", "Module(typeof(Plain), OutputShape = new[] { 0 })");
        Assert.Contains("declares OutputShape = [0]", AssertSingle(declared, "MTL034", "OutputShape = new[] { 0 }"));
    }

    [Fact]
    public void AnOwnModuleTheModelCannotReachIsRefused()
    {
        string source = Usings + """
        public partial class Outer
        {
            private class Hidden : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
            {
                public Hidden() : base("Hidden") { }
                public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;
            }
            [MultiTaskModel, Input(8)]
            public partial class Inner
            {
                [Trunk, Module(typeof(Hidden), OutputShape = new[] { 8 })] public partial Sequential Shared { get; }
                [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential A { get; }
                [Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B { get; }
            }
        }
        """;
        Diagnostic diagnostic = Assert.Single(GeneratorHarness.Diagnostics(source));
        Assert.Equal("MTL034", diagnostic.Id);
        Assert.Contains("is not accessible to the model", diagnostic.GetMessage());
    }

    // ESMM's shape: two binary towers and the product of their probabilities.
    private const string Towers =
        "    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(1)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(1)] public partial Sequential B { get; }\n";

    private static string Product(string product = "ProductOf(nameof(A), nameof(B))", string task = "Task(Loss.BinaryCrossEntropyWithLogits)", string layers = "") =>
        $"    [{task}, {product}{layers}] public partial Sequential P {{ get; }}\n";

    [Theory]
    [InlineData("ProductOf(nameof(A), nameof(B))")]
    [InlineData("ProductOf(\"B\", \"A\")")]
    [InlineData("ProductOf(new[] { nameof(A), nameof(B) })")]
    [InlineData("ProductOf(tasks: new[] { nameof(A), nameof(B) })")]
    public void ProductOfTwoTowersIsValid(string product)
    {
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", Trunk + Towers + Product(product))));
        // A factor of a product may have weight 0: trained through the product only.
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", Trunk + Towers.Replace("WithLogits), Linear(1)] public partial Sequential B",
            "WithLogits, Weight = 0), Linear(1)] public partial Sequential B") + Product(product))));
    }

    [Fact]
    public void WeightZeroOnATaskNoProductReads() =>
        Assert.Contains("0 only on a task that a [ProductOf] task multiplies", AssertSingle(Model("[Input(4)]", Trunk + Towers.Replace(
            "WithLogits), Linear(1)] public partial Sequential B", "WithLogits, Weight = 0), Linear(1)] public partial Sequential B")), "MTL008", "Weight = 0"));

    [Fact]
    public void AProductOfMoreThanSixteenTasksIsRefusedAtCompileTimeNotAtRunTime()
    {
        // Sixteen factors is the most (2¹⁶ − 1 terms); seventeen would compile and then throw where the runtime builds the definitions.
        string Towers(int count) => string.Concat(Enumerable.Range(0, count).Select(k =>
            $"    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(1)] public partial Sequential T{k} {{ get; }}\n"));
        string Of(int count) => $"ProductOf({string.Join(", ", Enumerable.Range(0, count).Select(k => $"nameof(T{k})"))})";
        Assert.Empty(GeneratorHarness.Diagnostics(Model("[Input(4)]", Trunk + Towers(16) + Product(Of(16)))));
        Assert.Contains("has [ProductOf] of 17 tasks, but a product takes at most 16 factors",
            AssertSingle(Model("[Input(4)]", Trunk + Towers(17) + Product(Of(17))), "MTL038", Of(17)));
    }

    [Fact]
    public void ProductOfOnATrunkBlock() =>
        Assert.Contains("makes a task head", AssertSingle(Model("[Input(4)]",
            "    [Trunk, Linear(8), ProductOf(nameof(A), nameof(B))] public partial Sequential Shared { get; }\n" + Towers), "MTL038", "ProductOf(nameof(A), nameof(B))"));

    [Theory]
    [InlineData("[MMoE(2)]", "MMoE")]
    [InlineData("[PLE(1, 1)]", "PLE")]
    public void ProductOfInAnotherArchitecture(string architecture, string name) =>
        Assert.Contains($"is declared {name}: tasks built from tasks work in hard parameter sharing only", AssertSingle(Model("[Input(4)]\n" + architecture, Trunk + Towers + Product()),
            "MTL038", "ProductOf(nameof(A), nameof(B))"));

    [Fact]
    public void ProductOfWithLayers() =>
        Assert.Contains("has no layers of its own", AssertSingle(Model("[Input(4)]", Trunk + Towers + Product(layers: ", Linear(1)")), "MTL038", "Linear(1)"));

    [Fact]
    public void ProductOfWithReads() =>
        Assert.Contains("no trunk block; remove Reads", AssertSingle(Model("[Input(4)]", Trunk + Towers +
            Product(task: "Task(Loss.BinaryCrossEntropyWithLogits, Reads = nameof(Shared))")), "MTL038", "Reads = nameof(Shared)"));

    [Fact]
    public void ProductOfWithAnotherLoss() =>
        Assert.Contains("its loss is Loss.BinaryCrossEntropyWithLogits", AssertSingle(Model("[Input(4)]", Trunk + Towers +
            Product(task: "Task(Loss.MeanSquaredError)")), "MTL038", "Task(Loss.MeanSquaredError)"));

    [Theory]
    [InlineData("ProductOf(nameof(A))")]
    [InlineData("ProductOf(nameof(A), nameof(A))")]
    [InlineData("ProductOf()")]
    public void ProductOfFewerThanTwoTasks(string product) =>
        Assert.Contains("name two or more distinct other tasks", AssertSingle(Model("[Input(4)]", Trunk + Towers + Product(product)), "MTL038", product));

    [Theory]
    [InlineData("ProductOf(nameof(A), nameof(B), nameof(A))", "nameof(A)", "twice")]
    [InlineData("ProductOf(nameof(A), nameof(P))", "nameof(P)", "is a factor of itself")]
    [InlineData("ProductOf(nameof(A), \"C\")", "\"C\"", "which is no block of model 'M'")]
    [InlineData("ProductOf(nameof(Shared), nameof(B))", "nameof(Shared)", "a trunk block, not a task")]
    public void ProductOfNamesWhatItCannot(string product, string underlined, string message)
    {
        string source = Model("[Input(4)]", Trunk + Towers + Product(product));
        string text = AssertSingle(source, "MTL038", underlined);
        Assert.Contains(message, text);
        // The argument at fault: the last one written so.
        Assert.Equal(source.LastIndexOf(underlined, StringComparison.Ordinal), GeneratorHarness.Diagnostics(source)[0].Location.SourceSpan.Start);
    }

    // AITM's transfer points (MTL039): a click tower whose point the conversion tower reads.
    private static string Funnel(string click = "Linear(8), ReLU, Transfer, Linear(1)", string conversion = "Linear(8), ReLU, Transfer(nameof(Click)), Linear(1)", string more = "") =>
        Model("[Input(4)]", Trunk +
            $"    [Task(Loss.BinaryCrossEntropyWithLogits), {click}] public partial Sequential Click {{ get; }}\n" +
            $"    [Task(Loss.BinaryCrossEntropyWithLogits), {conversion}] public partial Sequential Conversion {{ get; }}\n" + more);

    [Theory]
    [InlineData("Transfer(nameof(Click))")]
    [InlineData("Transfer(\"Click\")")]
    [InlineData("Transfer(from: nameof(M.Click))")]
    [InlineData("TransferAttribute(nameof(Click))")]
    public void ATransferFromAnEarlierTaskOfOneSizeIsAccepted(string transfer) =>
        Assert.Empty(GeneratorHarness.Diagnostics(Funnel(conversion: $"Linear(8), ReLU, {transfer}, Linear(1)")));

    [Fact]
    public void TransferInATrunkBlock() =>
        Assert.Contains("put it in a task head", AssertSingle(Model("[Input(4)]", "    [Trunk, Linear(8), Transfer] public partial Sequential Shared { get; }\n" + Towers), "MTL039", "Transfer"));

    [Fact]
    public void TwoTransfersInAHead() =>
        Assert.Contains("has a second [Transfer]", AssertSingle(Funnel(click: "Linear(8), Transfer, ReLU, Transfer, Linear(1)"), "MTL039", "Transfer"));

    [Fact]
    public void TransferInAResidualHead() =>
        Assert.Contains("shortcut would pass around the point", AssertSingle(Model("[Input(4)]", Trunk +
            "    [Task(Loss.BinaryCrossEntropyWithLogits), Residual, Linear(8), Transfer] public partial Sequential Click { get; }\n" + Towers), "MTL039", "Transfer"));

    [Theory]
    [InlineData("Transfer(nameof(Conversion))", "nameof(Conversion)", "from itself")]
    [InlineData("Transfer(\"Nope\")", "\"Nope\"", "which is no block of model 'M'")]
    [InlineData("Transfer(nameof(Shared))", "nameof(Shared)", "a trunk block, not a task")]
    [InlineData("Transfer(nameof(Later))", "nameof(Later)", "declared after it")]
    [InlineData("Transfer(nameof(Both))", "nameof(Both)", "a [ProductOf] task")]
    public void TransferFromWhatItCannotRead(string transfer, string underlined, string message)
    {
        string source = Funnel(conversion: $"Linear(8), ReLU, {transfer}, Linear(1)", more:
            "    [Task(Loss.BinaryCrossEntropyWithLogits), Linear(8), ReLU, Transfer, Linear(1)] public partial Sequential Later { get; }\n" +
            "    [Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Click), nameof(Later))] public partial Sequential Both { get; }\n");
        Assert.Contains(message, AssertSingle(source, "MTL039", underlined));
    }

    [Fact]
    public void TransferFromATaskWithoutAPoint() =>
        Assert.Contains("whose head has no transfer point: add [Transfer] to 'Click''s layers",
            AssertSingle(Funnel(click: "Linear(8), ReLU, Linear(1)"), "MTL039", "nameof(Click)"));

    [Fact]
    public void TransferFromAPointOfAnotherSize() =>
        Assert.Contains("whose transfer point is a vector of 6, but its own tower gives 8 here",
            AssertSingle(Funnel(click: "Linear(6), ReLU, Transfer, Linear(1)"), "MTL039", "nameof(Click)"));

    [Fact]
    public void TransferOnAnImageIsAShapeError() =>
        Assert.Single(GeneratorHarness.Diagnostics(Model("[Input(1, 8, 8)]", "    [Trunk, Conv2d(2, 3)] public partial Sequential Shared { get; }\n" +
            "    [Task(Loss.BinaryCrossEntropyWithLogits), Transfer, Flatten, Linear(1)] public partial Sequential Click { get; }\n")), d => d.Id == "MTL005");

    [Fact]
    public void ProductOfAProduct() =>
        Assert.Contains("no cycles", AssertSingle(Model("[Input(4)]", Trunk + Towers + Product() +
            "    [Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(A), nameof(P))] public partial Sequential Q { get; }\n"), "MTL038", "nameof(P)"));

    [Fact]
    public void ProductOfATaskOfAnotherLoss() =>
        Assert.Contains("whose loss is Loss.MeanSquaredError", AssertSingle(Model("[Input(4)]", Trunk + Towers.Replace(
            "[Task(Loss.BinaryCrossEntropyWithLogits), Linear(1)] public partial Sequential B", "[Task(Loss.MeanSquaredError), Linear(1)] public partial Sequential B") + Product()),
            "MTL038", "nameof(B)"));

    [Fact]
    public void ProductOfTasksOfTwoShapes() =>
        Assert.Contains("whose output is [1], and 'B', whose output is [2]", AssertSingle(Model("[Input(4)]", Trunk + Towers.Replace(
            "Linear(1)] public partial Sequential B", "Linear(2)] public partial Sequential B") + Product()), "MTL038", "nameof(B)"));

    [Fact]
    public void EveryDescriptorIsTestedTrackedAndDocumented()
    {
        string unshipped = GeneratorHarness.RepositoryFile("generators/MtlDsl.Generators/AnalyzerReleases.Unshipped.md");
        string documentation = GeneratorHarness.RepositoryFile("docs/diagnostics.md");
        string tests = File.ReadAllText(Path.Combine(GeneratorHarness.SourceDirectory(), "DiagnosticTests.cs"));
        foreach (DiagnosticDescriptor descriptor in MtlDsl.Generators.Diagnostics.DiagnosticDescriptors.All)
        {
            Assert.Contains($"{descriptor.Id} | {descriptor.Category} | {descriptor.DefaultSeverity} |", unshipped);
            Assert.Contains($"<a id=\"{descriptor.Id.ToLowerInvariant()}\"></a>", documentation);
            Assert.Equal($"{DocsUrl()}diagnostics.html#{descriptor.Id.ToLowerInvariant()}", descriptor.HelpLinkUri);
            // MTL999 reports a generator bug; no valid or invalid declaration should reach it.
            if (descriptor.Id != "MTL999") Assert.Contains($"\"{descriptor.Id}\"", tests);
        }
    }

    // The one setting (Directory.Build.props' MtlDslDocsUrl): an absolute address ending with '/', the generator's too.
    private static string DocsUrl()
    {
        string props = GeneratorHarness.RepositoryFile("Directory.Build.props");
        var match = System.Text.RegularExpressions.Regex.Match(props, "<MtlDslDocsUrl[^>]*>([^<]+)</MtlDslDocsUrl>");
        Assert.True(match.Success, "Directory.Build.props sets no MtlDslDocsUrl.");
        string url = match.Groups[1].Value;
        Assert.True(Uri.TryCreate(url, UriKind.Absolute, out _) && url.EndsWith('/'), $"MtlDslDocsUrl '{url}' is not an absolute address ending with '/'.");
        Assert.Equal(url, MtlDsl.Generators.Diagnostics.DiagnosticDescriptors.DocsUrl);
        return url;
    }
}
