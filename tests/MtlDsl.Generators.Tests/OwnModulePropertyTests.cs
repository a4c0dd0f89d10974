using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit.Abstractions;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Property-based: for random modules of a user's own (constructor overloads over the integral and floating types,
/// OutputShape overloads, on the class or inherited, with random bodies of casts, checked/unchecked, mixed
/// int/long/uint/float/double arithmetic, shifts, ?:, Math.Max/Min/Abs and locals) and random arguments written as
/// C# literals of many types, the generator agrees with C# itself: (a) the output shape it infers is what the
/// compiled OutputShape returns, called as <c>T.OutputShape(input, arguments as written)</c>, and it reports MTL034
/// exactly when that call does not bind, throws, or returns a size below 1; (b) the generated <c>new T(…)</c> binds to
/// the constructor C# binds for <c>new T(arguments as written)</c>, and MTL034 exactly when that does not bind.
/// </summary>
public class OwnModulePropertyTests(ITestOutputHelper output)
{
    private const int Seed = 20261201;
    private const int Cases = 300;

    private static readonly string[] ParameterTypes = ["byte", "sbyte", "short", "ushort", "int", "uint", "long", "ulong", "float", "double", "char"];

    // The heads: a module that takes any input, its output shape declared.
    private const string AnyHead = "public sealed class AnyHead : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>\n{\n" +
        "    public AnyHead() : base(\"AnyHead\") { }\n    public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x;\n}\n";

    [Fact]
    public void TheGeneratorInfersWhatCSharpComputesAndCallsTheConstructorCSharpCalls()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, Cases).Select(i => new Case(random, i)).ToList();
        var trees = new Dictionary<string, SyntaxTree> { ["AnyHead.cs"] = CSharpSyntaxTree.ParseText(AnyHead, GeneratorHarness.ParseOptions, path: "AnyHead.cs") };
        foreach (Case c in cases)
            foreach (var (name, text) in c.Files())
                trees[name] = CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path: name);
        CSharpCompilation compilation = GeneratorHarness.Compilation().AddSyntaxTrees(trees.Values);

        // What C# says before the generator runs: a module whose own source does not compile (a constant that
        // overflows, a division by a constant zero) is left out; a probe that does not compile is a call C# refuses.
        var broken = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is not null)
            .Select(d => d.Location.SourceTree!.FilePath).ToHashSet();
        var kept = cases.Where(c => !broken.Contains(c.ModuleFile)).ToList();
        foreach (Case c in cases)
        {
            c.ConstructorBinds = !broken.Contains(c.MakeFile);
            c.ShapeBinds = !broken.Contains(c.ShapeFile);
        }
        compilation = compilation.RemoveSyntaxTrees(trees.Where(t => cases.Any(c => c.Owns(t.Key) && (broken.Contains(c.ModuleFile) || t.Key != c.ModelFile && broken.Contains(t.Key)))).Select(t => t.Value));
        Assert.True(kept.Count >= Cases * 3 / 4, $"only {kept.Count} of {Cases} random modules compile: the generator of cases needs tuning");

        GeneratorDriver driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation generated, out _);
        GeneratorDriverRunResult run = driver.GetRunResult();
        Assert.All(run.Results, r => Assert.Null(r.Exception));

        // The modules and the probes that call OutputShape, compiled and loaded to ask C# what it returns.
        using var stream = new MemoryStream();
        var emitted = compilation.RemoveSyntaxTrees(compilation.SyntaxTrees.Where(t => t.FilePath.StartsWith("Uses", StringComparison.Ordinal) || t.FilePath.EndsWith(".Make.cs", StringComparison.Ordinal))).Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Take(10)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("OwnModulePropertyTests", isCollectible: true);
        try
        {
            Assembly assembly = context.LoadFromStream(stream);
            var counts = new Dictionary<string, int>();
            foreach (Case c in kept)
            {
                string outcome = Check(c, run, generated, assembly);
                counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            }
            output.WriteLine($"{Cases} random own modules, {kept.Count} compile: " + string.Join(", ", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Value} {p.Key}")) +
                $" ({clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s)");
            // Every outcome is exercised.
            foreach (string outcome in new[] { "shapes inferred", "throw in C# and MTL034", "sizes below 1 and MTL034", "constructor calls C# refuses and MTL034" })
                Assert.True(counts.GetValueOrDefault(outcome) >= 5, $"only {counts.GetValueOrDefault(outcome)} cases of '{outcome}': the generator of cases needs tuning");
        }
        finally
        {
            context.Unload();
        }
    }

    private static string Check(Case c, GeneratorDriverRunResult run, Compilation generated, Assembly assembly)
    {
        var reported = run.Diagnostics.Where(d => d.Location.GetLineSpan().Path == c.ModelFile).ToList();
        Assert.All(reported, d => Assert.Equal("MTL034", d.Id));
        string? problem = reported.Count == 0 ? null : Assert.Single(reported).GetMessage(CultureInfo.InvariantCulture);
        string Describe() => $"{c.Name}: {problem ?? "no diagnostic"}\n{c.Source}";

        if (!c.ConstructorBinds)
        {
            Assert.True(problem is not null && problem.Contains("constructor", StringComparison.Ordinal), "C# cannot call the constructor, and the generator says " + Describe());
            return "constructor calls C# refuses and MTL034";
        }
        if (!c.ShapeBinds)
        {
            Assert.True(problem is not null && problem.Contains("OutputShape", StringComparison.Ordinal), "C# cannot call OutputShape, and the generator says " + Describe());
            return "OutputShape calls C# refuses and MTL034";
        }
        int[] expected;
        try
        {
            expected = (int[])assembly.GetType(c.ShapeClass)!.GetMethod("Shape")!.Invoke(null, [c.Input])!;
        }
        catch (TargetInvocationException e)
        {
            string thrown = e.InnerException!.GetType().Name;
            Assert.True(problem is not null && problem.Contains(thrown, StringComparison.Ordinal), $"C# throws {thrown}, and the generator says " + Describe());
            return "throw in C# and MTL034";
        }
        int bad = Array.FindIndex(expected, d => d < 1);
        if (bad >= 0)
        {
            string computes = $"it computes {expected[bad].ToString(CultureInfo.InvariantCulture)} for dimension {bad.ToString(CultureInfo.InvariantCulture)}";
            Assert.True(problem is not null && problem.Contains(computes, StringComparison.Ordinal), $"C# returns [{string.Join(", ", expected)}], and the generator says " + Describe());
            return "sizes below 1 and MTL034";
        }
        Assert.True(problem is null, $"C# returns [{string.Join(", ", expected)}], and the generator says " + Describe());

        // (a) The shape the generated code declares for the module is C#'s.
        SyntaxTree tree = generated.SyntaxTrees.Single(t => Path.GetFileName(t.FilePath) == $"{c.Model}.g.cs");
        InvocationExpressionSyntax own = tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>()
            .Single(i => i.Expression.ToString() == "global::MtlDsl.Layers.Own" && i.ArgumentList.Arguments[0].Expression is ObjectCreationExpressionSyntax { Type: var type } && type.ToString() == "global::" + c.Name);
        int[] inferred = ((ArrayCreationExpressionSyntax)own.ArgumentList.Arguments[2].Expression).Initializer!.Expressions
            .Select(e => int.Parse(e.ToString(), CultureInfo.InvariantCulture)).ToArray();
        Assert.True(expected.SequenceEqual(inferred), $"C# returns [{string.Join(", ", expected)}], the generator infers [{string.Join(", ", inferred)}]: {Describe()}");

        // (b) The generated new T(…) binds to the constructor C# binds for new T(the arguments as written).
        var creation = (ObjectCreationExpressionSyntax)own.ArgumentList.Arguments[0].Expression;
        SemanticModel model = generated.GetSemanticModel(tree);
        var errors = model.GetDiagnostics(own.Span).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"the generated {own} does not compile: {string.Join("; ", errors)}");
        ISymbol? called = model.GetSymbolInfo(creation).Symbol;
        SyntaxTree make = generated.SyntaxTrees.Single(t => t.FilePath == c.MakeFile);
        ISymbol? written = generated.GetSemanticModel(make).GetSymbolInfo(make.GetRoot().DescendantNodes().OfType<ObjectCreationExpressionSyntax>().Single()).Symbol;
        Assert.NotNull(written);
        Assert.True(SymbolEqualityComparer.Default.Equals(called, written), $"the generated {creation} calls {called}, C# calls {written} for new {c.Name}({c.Arguments}): {Describe()}");
        return "shapes inferred";
    }

    /// <summary>One random module of a user's own, the model that uses it, and the probes that ask C# about it.</summary>
    private sealed class Case
    {
        private readonly Random _random;
        private readonly int _rank;
        private readonly List<(string Name, string Type)> _scope = [];

        public Case(Random random, int index)
        {
            _random = random;
            Name = $"Own{index}";
            Model = $"Uses{index}";
            _rank = random.Next(1, 4);
            Input = Enumerable.Range(0, _rank).Select(_ => random.Next(1, 40)).ToArray();
            int arity = random.Next(1, 3);
            var signatures = new List<string[]>();
            for (int n = random.Next(1, 4); signatures.Count < n;)
            {
                string[] signature = Enumerable.Range(0, arity).Select(_ => ParameterTypes[random.Next(ParameterTypes.Length)]).ToArray();
                if (!signatures.Any(s => s.SequenceEqual(signature))) signatures.Add(signature);
            }
            // Mostly of a type some overload takes at that position, else of any type: some calls bind, some do not.
            Arguments = string.Join(", ", Enumerable.Range(0, arity).Select(p => Literal(random.Next(3) > 0 ? signatures[random.Next(signatures.Count)][p] : ParameterTypes[random.Next(ParameterTypes.Length)])));
            bool inherited = random.Next(4) == 0;

            var module = new StringBuilder("using System;\nusing TorchSharp;\nusing static TorchSharp.torch;\n\n");
            var shapes = new StringBuilder();
            foreach (string[] signature in signatures)
            {
                string parameters = string.Join(", ", signature.Select((t, p) => $"{t} p{p.ToString(CultureInfo.InvariantCulture)}"));
                shapes.Append(CultureInfo.InvariantCulture, $"    public static int[] OutputShape(int[] input, {parameters}){Body(signature)}\n");
            }
            module.Append(CultureInfo.InvariantCulture, $"public class {Name}Base : nn.Module<Tensor, Tensor>\n{{\n    protected {Name}Base() : base(\"{Name}\") {{ }}\n    public override Tensor forward(Tensor x) => x;\n{(inherited ? shapes : "")}}}\n\n");
            module.Append(CultureInfo.InvariantCulture, $"public sealed class {Name} : {Name}Base\n{{\n");
            foreach (string[] signature in signatures)
                module.Append(CultureInfo.InvariantCulture, $"    public {Name}({string.Join(", ", signature.Select((t, p) => $"{t} p{p.ToString(CultureInfo.InvariantCulture)}"))}) {{ }}\n");
            module.Append(inherited ? "" : shapes.ToString()).Append("}\n");
            ModuleSource = module.ToString();
        }

        public string Name { get; }
        public string Model { get; }
        public int[] Input { get; }
        public string Arguments { get; }
        public string ModuleSource { get; }
        public bool ConstructorBinds { get; set; }
        public bool ShapeBinds { get; set; }

        public string ModuleFile => Name + ".cs";
        public string ModelFile => Model + ".cs";
        public string MakeFile => Name + ".Make.cs";
        public string ShapeFile => Name + ".Shape.cs";
        public string ShapeClass => Name + "Shape";

        public bool Owns(string file) => file == ModuleFile || file == ModelFile || file == MakeFile || file == ShapeFile;

        public string Source => ModuleSource + $"\n[Module(typeof({Name}), {Arguments})] on the input [{string.Join(", ", Input)}]\n";

        public IEnumerable<(string Name, string Text)> Files()
        {
            yield return (ModuleFile, ModuleSource);
            yield return (ModelFile, "using MtlDsl;\nusing TorchSharp.Modules;\n\n" +
                $"[MultiTaskModel, Input({string.Join(", ", Input)})]\npublic partial class {Model}\n{{\n" +
                $"    [Trunk, Module(typeof({Name}), {Arguments})] public partial Sequential Shared {{ get; }}\n" +
                "    [Task(Loss.MeanSquaredError), Module(typeof(AnyHead), OutputShape = new[] { 1 })] public partial Sequential A { get; }\n" +
                "    [Task(Loss.MeanSquaredError), Module(typeof(AnyHead), OutputShape = new[] { 1 })] public partial Sequential B { get; }\n}\n");
            yield return (MakeFile, $"public static class {Name}Make\n{{\n    public static object Make() => new {Name}({Arguments});\n}}\n");
            yield return (ShapeFile, $"public static class {ShapeClass}\n{{\n    public static int[] Shape(int[] input) => {Name}.OutputShape(input, {Arguments});\n}}\n");
        }

        // An argument written as C# writes a constant of the type: 8, -3, 8L, 8U, (byte)8, 2.5, 4.0, 1.5F, (char)65.
        private string Literal(string type)
        {
            int[] values = [0, 1, 2, 3, 5, 8, 16, 100, 200, 300, 70000, -1, -7, -200];
            long v = values[_random.Next(values.Length)];
            string s = v.ToString(CultureInfo.InvariantCulture);
            (long min, long max) = type switch
            {
                "byte" => (0, 255), "sbyte" => (-128, 127), "short" => (short.MinValue, short.MaxValue), "ushort" or "char" => (0, ushort.MaxValue),
                "uint" or "ulong" => (0, long.MaxValue), _ => (long.MinValue, long.MaxValue),
            };
            if (v < min || v > max) return Literal("int");
            return type switch
            {
                "int" => s,
                "long" => s + "L",
                "uint" => s + "U",
                "ulong" => s + "UL",
                "float" => s + (_random.Next(2) == 0 ? ".5F" : "F"),
                "double" => s + (_random.Next(3) switch { 0 => ".5", 1 => ".0", _ => "D" }),
                "char" => $"(char){s}",
                _ => $"({type}){s}",
            };
        }

        // An OutputShape body: one expression, or locals and then a return.
        private string Body(string[] signature)
        {
            _scope.Clear();
            for (int p = 0; p < signature.Length; p++) _scope.Add(($"p{p.ToString(CultureInfo.InvariantCulture)}", signature[p]));
            int rank = _random.Next(1, 4);
            if (_random.Next(3) > 0)
                return " => [" + string.Join(", ", Enumerable.Range(0, rank).Select(_ => Expression("int", 3))) + "];";
            var body = new StringBuilder("\n    {\n");
            int locals = _random.Next(1, 3);
            for (int l = 0; l < locals; l++)
            {
                string type = new[] { "int", "long", "double", "uint" }[_random.Next(4)];
                string name = $"v{l.ToString(CultureInfo.InvariantCulture)}";
                body.Append(CultureInfo.InvariantCulture, $"        {(_random.Next(2) == 0 ? "var" : type)} {name} = ({type})({Expression(type, 2)});\n");
                _scope.Add((name, type));
            }
            body.Append(CultureInfo.InvariantCulture, $"        return new int[] {{ {string.Join(", ", Enumerable.Range(0, rank).Select(_ => Expression("int", 2)))} }};\n    }}");
            return body.ToString();
        }

        private static bool Widens(string from, string to) => from == to || (from, to) switch
        {
            ("byte" or "sbyte" or "short" or "ushort" or "char", "int") => true,
            ("byte" or "sbyte" or "short" or "ushort" or "char" or "int" or "uint", "long") => true,
            ("byte" or "ushort" or "char", "uint") => true,
            (_, "double") => from != "bool",
            (_, "float") => from is not ("bool" or "double"),
            _ => false,
        };

        // A random expression of the type (int, long, uint, float, double or bool) over the supported operations.
        private string Expression(string type, int depth)
        {
            if (type == "bool")
            {
                return _random.Next(5) switch
                {
                    0 when depth > 0 => $"({Expression("bool", depth - 1)} {(_random.Next(2) == 0 ? "&&" : "||")} {Expression("bool", depth - 1)})",
                    1 when depth > 0 => $"!({Expression("bool", depth - 1)})",
                    _ => Comparison(depth),
                };
            }
            if (depth <= 0 || _random.Next(4) == 0) return Leaf(type);
            string Sub(string t) => Expression(t, depth - 1);
            string[] arithmetic = type is "float" or "double" ? ["+", "-", "*", "/", "%"] : ["+", "-", "*", "/", "%", "&", "|", "^"];
            string op = arithmetic[_random.Next(arithmetic.Length)];
            switch (_random.Next(9))
            {
                case 0:
                case 1:
                    return $"({Sub(type)} {op} {Sub(type)})";
                case 2:
                    // Mixed operands: the narrower converted to the wider, as C# does.
                    string narrower = type switch { "long" => "int", "double" => _random.Next(2) == 0 ? "int" : "long", "float" => "int", _ => type };
                    return _random.Next(2) == 0 ? $"({Sub(narrower)} {op} {Sub(type)})" : $"({Sub(type)} {op} {Sub(narrower)})";
                case 3:
                {
                    // A cast, perhaps narrowing, in a checked or unchecked context; floating to integral only checked,
                    // since C# leaves an unchecked one out of range unspecified.
                    string from = new[] { "int", "long", "uint", "double", "float" }[_random.Next(5)];
                    string via = type is "int" or "long" or "uint" && _random.Next(3) > 0 ? new[] { "byte", "sbyte", "short", "ushort", "char" }[_random.Next(5)] : type;
                    string cast = $"({type})({via})({Sub(from)})";
                    bool floatingToIntegral = from is "double" or "float" && type is not ("double" or "float");
                    return floatingToIntegral || _random.Next(2) == 0 ? $"checked({cast})" : _random.Next(2) == 0 ? $"unchecked({cast})" : $"({cast})";
                }
                case 4:
                    return $"({Expression("bool", depth - 1)} ? {Sub(type)} : {Sub(type)})";
                case 5:
                    return $"Math.{(_random.Next(2) == 0 ? "Max" : "Min")}({Sub(type)}, {Sub(type)})";
                case 6:
                    return type is "int" or "long" or "double" or "float" ? $"Math.Abs({Sub(type)})" : $"({Sub(type)} {op} {Sub(type)})";
                case 7:
                    return type is "int" or "long" or "uint" ? $"({Sub(type)} {(new[] { "<<", ">>", ">>>" })[_random.Next(3)]} {_random.Next(0, 40).ToString(CultureInfo.InvariantCulture)})" : $"({Sub(type)} {op} {Sub(type)})";
                default:
                    return $"{(_random.Next(2) == 0 ? "checked" : "unchecked")}({Sub(type)} {new[] { "+", "-", "*" }[_random.Next(3)]} {Sub(type)})";
            }
        }

        private string Comparison(int depth)
        {
            string type = new[] { "int", "long", "double", "uint" }[_random.Next(4)];
            string op = new[] { "<", "<=", ">", ">=", "==", "!=" }[_random.Next(6)];
            return $"({Expression(type, Math.Max(0, depth - 1))} {op} {Expression(type, Math.Max(0, depth - 1))})";
        }

        private string Leaf(string type)
        {
            var options = new List<string>();
            foreach (var (name, t) in _scope)
                if (Widens(t, type)) options.Add(name);
            if (Widens("int", type)) options.AddRange([$"input[{_random.Next(_rank).ToString(CultureInfo.InvariantCulture)}]", $"input[{_random.Next(_rank).ToString(CultureInfo.InvariantCulture)}]", "input.Length"]);
            else options.Add($"(uint)input[{_random.Next(_rank).ToString(CultureInfo.InvariantCulture)}]");
            int constant = new[] { 0, 1, 2, 3, 7, 10, 250, 1000, 100000, -1, -5 }[_random.Next(11)];
            string c = constant.ToString(CultureInfo.InvariantCulture);
            options.Add(type switch
            {
                "long" => c + "L",
                "uint" => (constant < 0 ? 3 : constant).ToString(CultureInfo.InvariantCulture) + "U",
                "double" => c + ".5",
                "float" => c + "F",
                _ => constant < 0 ? $"({c})" : c,
            });
            return options[_random.Next(options.Count)];
        }
    }
}
