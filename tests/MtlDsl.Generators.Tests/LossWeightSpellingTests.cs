using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Property-based, over [Task]'s ClassWeights and PositiveWeights: random weights, each written in spellings the
/// compiler binds to the same doubles (collection expressions, <c>new[]</c>, <c>new double[]</c>; elements as
/// integers, doubles, floats, longs, casts, constants of other types in another class; named arguments in another
/// order; the attribute by alias or qualified name), generate the same source as the plain spelling, with no
/// diagnostic; and random lists that cannot be (a bad value anywhere, the wrong count, the wrong loss) get exactly one
/// MTL036 on the argument, never a crash.
/// </summary>
public class LossWeightSpellingTests
{
    private const int Seed = 20260214;
    private const int Cases = 120;

    private static string Model(string classification, string flags, string extra = "") =>
        "using MtlDsl;\nusing TorchSharp.Modules;\n" + extra +
        "[MultiTaskModel]\n[Input(6)]\npublic partial class M\n{\n" +
        "    [Trunk, Linear(8), ReLU] public partial Sequential Shared { get; }\n" +
        $"    [{classification}, Linear(3)] public partial Sequential Kind {{ get; }}\n" +
        $"    [{flags}, Linear(3)] public partial Sequential Tags {{ get; }}\n}}\n";

    private static string Plain(double value) => value.ToString("R", CultureInfo.InvariantCulture) is var text && text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";

    // Weights that every spelling can write exactly: quarters from 0 to 10.
    private static double[] RandomWeights(Random random, int count, bool positive)
    {
        while (true)
        {
            double[] weights = [.. Enumerable.Range(0, count).Select(_ => random.Next(positive ? 1 : 0, 41) / 4.0)];
            if (weights.Any(w => w != 0)) return weights;
        }
    }

    /// <summary>One element as the compiler reads it into the same double.</summary>
    private static string Element(double value, Random random, StringBuilder constants)
    {
        bool integral = value == Math.Floor(value);
        string name = $"C{constants.Length}";
        switch (random.Next(7))
        {
            case 0 when integral: return ((long)value).ToString(CultureInfo.InvariantCulture);
            case 1 when integral: return ((long)value).ToString(CultureInfo.InvariantCulture) + "L";
            case 2: return value.ToString("R", CultureInfo.InvariantCulture) + "f";
            case 3 when integral:
                constants.Append(CultureInfo.InvariantCulture, $"    public const byte {name} = {(long)value};\n");
                return $"K.{name}";
            case 4:
                constants.Append(CultureInfo.InvariantCulture, $"    public const float {name} = {value.ToString("R", CultureInfo.InvariantCulture)}f;\n");
                return $"K.{name}";
            case 5: return $"(double){value.ToString("R", CultureInfo.InvariantCulture)}";
            default: return Plain(value);
        }
    }

    /// <summary>The list in one of the array forms (new[] needs an element typed double: the first is written so).</summary>
    private static string List(double[] weights, Random random, StringBuilder constants)
    {
        var elements = weights.Select(w => Element(w, random, constants)).ToList();
        switch (random.Next(3))
        {
            case 0: return $"[{string.Join(", ", elements)}]";
            case 1:
                elements[0] = Plain(weights[0]);
                return $"new[] {{ {string.Join(", ", elements)} }}";
            default: return $"new double[] {{ {string.Join(", ", elements)} }}";
        }
    }

    private static string Task(string loss, string argument, string list, Random random, int alias)
    {
        var arguments = new List<string> { $"{argument} = {list}" };
        if (random.Next(2) == 0) arguments.Insert(random.Next(2), "Weight = 1.0");
        string name = alias switch { 1 => "Head", 2 => "global::MtlDsl.TaskAttribute", _ => "Task" };
        return $"{name}(Loss.{loss}, {string.Join(", ", arguments)})";
    }

    private static string Generated(string source)
    {
        var (run, output) = GeneratorHarness.Run(source);
        Assert.Empty(run.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        return run.Results.Single().GeneratedSources.Single(s => s.HintName == "M.g.cs").SourceText.ToString();
    }

    [Fact]
    public void EverySpellingOfTheSameWeightsGeneratesTheSameModel()
    {
        var random = new Random(Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Cases; i++)
        {
            double[] perClass = RandomWeights(random, 3, positive: false);
            double[] positive = RandomWeights(random, random.Next(2) == 0 ? 1 : 3, positive: true);
            string plain = Model($"Task(Loss.CrossEntropy, ClassWeights = [{string.Join(", ", perClass.Select(Plain))}])",
                $"Task(Loss.BinaryCrossEntropyWithLogits, PositiveWeights = [{string.Join(", ", positive.Select(Plain))}])");
            string expected = Generated(plain);
            Assert.Contains($"ClassWeights = new double[] {{ {string.Join(", ", perClass.Select(Plain))} }}", expected);
            Assert.Contains($"PositiveWeights = new double[] {{ {string.Join(", ", positive.Select(Plain))} }}", expected);

            var constants = new StringBuilder();
            int alias = random.Next(3);
            string classification = Task("CrossEntropy", "ClassWeights", List(perClass, random, constants), random, alias);
            string flags = Task("BinaryCrossEntropyWithLogits", "PositiveWeights", List(positive, random, constants), random, alias);
            string extra = (alias == 1 ? "using Head = MtlDsl.TaskAttribute;\n" : "") + (constants.Length > 0 ? $"static class K\n{{\n{constants}}}\n" : "");
            string spelled = Model(classification, flags, extra);
            Assert.True(expected == Generated(spelled), $"the spelling\n{spelled}\ngenerates another model than\n{plain}");
            foreach (string form in (string[])["Weights = [", "Weights = new[]", "Weights = new double[]", "K.C", "f,", "L,", "(double)", "Head(", "global::MtlDsl.TaskAttribute(", "Weight = 1.0"])
                if (spelled.Contains(form, StringComparison.Ordinal)) seen.Add(form);
        }
        Assert.Equal(10, seen.Count);   // every form was written somewhere
    }

    [Fact]
    public void EveryListThatCannotBeGetsOneMtl036OnItsArgument()
    {
        var random = new Random(Seed + 1);
        double[] bad = [0, -1, -0.25, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e39, 1e-50];
        string Literal(double v) => double.IsNaN(v) ? "double.NaN" : double.IsPositiveInfinity(v) ? "double.PositiveInfinity"
            : double.IsNegativeInfinity(v) ? "double.NegativeInfinity" : v.ToString("R", CultureInfo.InvariantCulture);
        for (int i = 0; i < Cases; i++)
        {
            bool classWeights = random.Next(2) == 0;
            int count = classWeights ? 3 : random.Next(2) == 0 ? 1 : 3;
            double[] weights = RandomWeights(random, count, positive: !classWeights);
            string fault;
            switch (random.Next(4))
            {
                case 0:   // a value the loss cannot use (0 is fine for a class, unless all are, and so is 1e-50, 0 in float32)
                    double value = bad[random.Next(bad.Length)];
                    if (classWeights && (float)value == 0) value = -2;
                    weights[random.Next(count)] = value;
                    fault = "] = ";
                    break;
                case 1:   // another count than the head's 3
                    weights = [.. weights, 1.0];
                    fault = "but its head gives 3";
                    break;
                case 2 when classWeights:
                    weights = [0, 0, 0];
                    fault = "all 0";
                    break;
                default:  // the other loss
                    classWeights = !classWeights;
                    weights = RandomWeights(random, 3, positive: true);
                    fault = "but its loss is";
                    break;
            }
            string list = "[" + string.Join(", ", weights.Select(Literal)) + "]";
            bool onClassification = fault == "but its loss is" ? !classWeights : classWeights;   // the head it sits on
            string argument = (classWeights ? "ClassWeights" : "PositiveWeights") + " = " + list;
            string kind = onClassification ? $"Task(Loss.CrossEntropy, {argument})" : "Task(Loss.CrossEntropy)";
            string flags = onClassification ? "Task(Loss.BinaryCrossEntropyWithLogits)" : $"Task(Loss.BinaryCrossEntropyWithLogits, {argument})";
            string source = Model(kind, flags);

            var (run, output) = GeneratorHarness.Run(source);   // asserts no generator exception
            Diagnostic diagnostic = Assert.Single(run.Diagnostics);
            Assert.Equal("MTL036", diagnostic.Id);
            Assert.Equal(argument, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
            Assert.Contains(fault, diagnostic.GetMessage());
            Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
        }
    }

    [Theory]
    [InlineData("ClassWeights = new[] { 1, 2, 3 }", "CS0029")]    // int[] is no double[]
    [InlineData("ClassWeights = 2.0", "CS0029")]                  // one number is no list
    [InlineData("ClassWeights = [1, \"2\", 3]", "CS0029")]
    [InlineData("PositiveWeights = Weights.All", "CS0182")]       // a static readonly array is no constant
    public void AListTheCompilerRejectsIsTheCompilersErrorAlone(string argument, string compilerError)
    {
        string source = Model($"Task(Loss.CrossEntropy{(argument.StartsWith("Class", StringComparison.Ordinal) ? ", " + argument : "")})",
            $"Task(Loss.BinaryCrossEntropyWithLogits{(argument.StartsWith("Positive", StringComparison.Ordinal) ? ", " + argument : "")})",
            "static class Weights { public static readonly double[] All = [1, 2, 3]; }\n");
        var (run, output) = GeneratorHarness.Run(source);
        Assert.Empty(run.Diagnostics);
        string[] errors = [.. output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).Distinct()];
        Assert.Contains(compilerError, errors);
        Assert.DoesNotContain("CS9248", errors);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
    }
}
