using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Names a user may write, drawn at random: C#'s keywords and contextual keywords, the names of the generated
/// members, parameters and locals, the runtime's namespaces and types, Python's keywords, builtins and modules —
/// as model, namespace, block, task, input and member names. Whatever is drawn, the generator never crashes, no
/// error or warning is ever inside a generated file, a refused name is a located MTL error, and an accepted model
/// is wired as declared: each task's output, each Forward{Task}, each input of the Inputs record and each record
/// indexer reach that task's head or that input (tasks have distinct output sizes, so a miswiring shows), and its
/// PyTorch twin is Python that parses, under a class name Python can import.
/// </summary>
public class RandomNameTests(ITestOutputHelper output)
{
    private const int Seed = 20261206;

    private static readonly string[] CSharpKeywords =
        [.. SyntaxFacts.GetReservedKeywordKinds().Select(SyntaxFacts.GetText), .. SyntaxFacts.GetContextualKeywordKinds().Select(SyntaxFacts.GetText)];

    // What the generated code itself writes: its members, parameters, locals, and the preferred names of its private fields.
    private static readonly string[] GeneratedNames =
    [
        "task", "input", "inputs", "representation", "outputs", "targets", "optimizer", "weighting", "mode", "joint", "tensors", "total",
        "taskLosses", "Item", "TensorAt", "Count", "Names", "Create", "TaskNames", "Total", "s_pools", "s_inputShape", "s_taskStateNames",
        "__gate", "__gates", "__crossStitch", "__attention", "__attentionBlocks", "_shared", "_a", "Outputs", "Targets", "Losses", "LossValues",
        "Inputs", "Summary", "TaskDefinitions", "TaskCount", "ParameterCount", "InputDefinitions", "ComputeLoss", "CreateTrainer", "ForwardA",
        "ForwardTask", "ComputeJointLoss", "RegisterComponents", "forward", "Tasks", "First", "Equals", "ToString", "Deconstruct", "_", "__",
    ];

    private static readonly string[] RuntimeNames =
    [
        "MtlDsl", "TorchSharp", "torch", "nn", "System", "Generated", "NativeInitializer", "Tensor", "Sequential", "Layers", "Architectures",
        "Loss", "Global", "Modules", "Mixture", "ExpertBlock", "MultiTaskModule", "ModelSummary", "Array",
    ];

    private static readonly string[] PythonNames =
    [
        "lambda", "def", "None", "True", "pass", "print", "super", "type", "self", "mtl", "json", "os", "sys", "list", "len", "zip",
        "representations", "mtldsl_torch", "train_ddp", "numpy", "Exception", "match", "async", "await", "nonlocal",
    ];

    private static readonly string[] Plain = ["Depth", "Segmentation", "Click", "Image", "Dense", "Shared", "Stem", "Head"];

    private static readonly string[] Pool = [.. CSharpKeywords, .. GeneratedNames, .. RuntimeNames, .. PythonNames, .. Plain];

    private sealed record Declaration(string Source, string Namespace, string ClassName, string[] Tasks, string[] Inputs);

    [Fact]
    public void RandomNamesNeverBreakTheGeneratedCodeAndAcceptedModelsAreWiredAsDeclared()
    {
        var random = new Random(Seed);
        var accepted = new List<Declaration>();
        int refused = 0, userErrors = 0;
        for (int i = 0; i < 300; i++)
        {
            Declaration declaration = Create(random, i);
            var (run, compiled) = GeneratorHarness.Run(declaration.Source);
            Assert.DoesNotContain(run.Diagnostics, d => d.Id is "MTL999" or "CS8785");
            foreach (Diagnostic mtl in run.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
                Assert.True(mtl.Location.GetLineSpan().Path == "Model0.cs" && mtl.Location.SourceSpan.Length > 0, $"{mtl} has no location\n{declaration.Source}");
            var problems = compiled.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            var inGenerated = problems.Where(d => d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true).ToList();
            Assert.True(inGenerated.Count == 0, $"{string.Join("\n", inGenerated.Take(5))}\n{declaration.Source}");
            if (run.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)) refused++;
            else if (problems.Any(d => d.Severity == DiagnosticSeverity.Error)) userErrors++;
            else
            {
                // The user's own code may have warnings of its own (a member hiding an inherited one, a type named
                // record): their choice. None is anywhere else (those in generated files failed above).
                var unexpected = problems.Where(d => d.Location.GetLineSpan().Path != "Model0.cs").ToList();
                Assert.True(unexpected.Count == 0, $"{string.Join("\n", unexpected.Take(5))}\n{declaration.Source}");
                accepted.Add(declaration);
            }
        }
        output.WriteLine($"300 declarations: {accepted.Count} accepted, {refused} refused with a located MTL error, {userErrors} with the compiler's errors in the user's code");
        Assert.True(accepted.Count >= 100 && refused >= 25, "the names drawn should give both accepted and refused models");

        Assembly assembly = Compile(accepted);
        var twins = new List<(string Class, string Source)>();
        torch.manual_seed(Seed);
        foreach (Declaration model in accepted)
        {
            Type type = assembly.GetType(Metadata(model), throwOnError: true)!;
            using var module = (nn.Module)Activator.CreateInstance(type)!;
            module.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor[] inputs = model.Inputs.Length == 0 ? [randn(2, 6)] : model.Inputs.Select((_, k) => randn(2, 6 + k)).ToArray();
            object outputs;
            if (model.Inputs.Length == 0)
                outputs = type.GetMethod("forward", [typeof(Tensor)])!.Invoke(module, [inputs[0]])!;
            else
            {
                Type record = type.GetNestedType("Inputs")!;
                object typed = Activator.CreateInstance(record, inputs.Cast<object>().ToArray())!;
                for (int k = 0; k < inputs.Length; k++)
                {
                    Assert.Same(inputs[k], Indexer(record).GetValue(typed, [k]));
                    Assert.Same(inputs[k], record.GetProperty(model.Inputs[k])!.GetValue(typed));
                }
                outputs = type.GetMethod("forward", [typeof(IModelInputs)])!.Invoke(module, [typed])!;
            }
            for (int task = 0; task < model.Tasks.Length; task++)
            {
                // Task k's head ends in Linear(k + 1): the indexer, the property and Forward{Task} all give [2, k + 1].
                long[] expected = [2, task + 1];
                string name = model.Tasks[task];
                Assert.True(((Tensor)Indexer(outputs.GetType()).GetValue(outputs, [task])!).shape.SequenceEqual(expected), $"{type}: outputs[{task}] ({name})\n{model.Source}");
                Assert.True(((Tensor)outputs.GetType().GetProperty(name)!.GetValue(outputs)!).shape.SequenceEqual(expected), $"{type}: outputs.{name}\n{model.Source}");
                MethodInfo forward = type.GetMethod("Forward" + name)!;
                object argument = model.Inputs.Length <= 1 ? inputs[0] : Activator.CreateInstance(type.GetNestedType("Inputs")!, inputs.Cast<object>().ToArray())!;
                Assert.True(((Tensor)forward.Invoke(module, [argument])!).shape.SequenceEqual(expected), $"{type}: Forward{name}\n{model.Source}");
            }
            var twin = (PyTorchTwin)type.GetProperty("PyTorchTwin")!.GetValue(module)!;
            twins.Add((twin.ClassName, twin.Source!));
        }
        AssertPythonParses(twins);
    }

    // The indexer whatever its metadata name (Item, or another where a property is called Item).
    private static PropertyInfo Indexer(Type type) => type.GetProperties().Single(p => p.GetIndexParameters().Length == 1);

    private static string Metadata(Declaration model) => $"{model.Namespace.Replace("@", "")}.{model.ClassName.Replace("@", "")}";

    private static Declaration Create(Random random, int index)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var stateNames = new HashSet<string>(StringComparer.Ordinal);
        string Draw(bool forMember = true)
        {
            while (true)
            {
                string name = random.Next(4) == 0 ? Plain[random.Next(Plain.Length)] + random.Next(100).ToString(CultureInfo.InvariantCulture) : Pool[random.Next(Pool.Length)];
                if (!SyntaxFacts.IsValidIdentifier(name) || !used.Add(name)) continue;
                if (forMember && !stateNames.Add(MultiTaskModelGenerator.StateName(name))) continue;
                return name;
            }
        }
        string Id(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
        string Literal(string name) => "\"" + name + "\"";

        string ns = "Fuzz" + index.ToString(CultureInfo.InvariantCulture) + "." + Id(Draw(forMember: false));
        string className = Id(Draw(forMember: false));
        string[] architectures = ["", "", "", "MMoE(2)", "CGC(1, 1)"];
        string architecture = architectures[random.Next(architectures.Length)];
        string[] inputs = architecture == "" && random.Next(2) == 0 ? Enumerable.Range(0, random.Next(1, 3)).Select(_ => Draw()).ToArray() : [];
        var source = new StringBuilder("using MtlDsl;\nusing TorchSharp.Modules;\n\n");
        source.Append("namespace ").Append(ns).Append(";\n\n[MultiTaskModel");
        if (inputs.Length == 0) source.Append(", Input(6)");
        for (int k = 0; k < inputs.Length; k++) source.Append(", Input(").Append(Literal(inputs[k])).Append(", ").Append(6 + k).Append(')');
        if (architecture.Length > 0) source.Append(", ").Append(architecture);
        source.Append("]\npublic partial class ").Append(className).Append("\n{\n");

        string first = Draw();
        string reads = inputs.Length switch { 0 => "", 1 => $"(Reads = {Literal(inputs[0])})", _ => "" };
        string concat = inputs.Length > 1 ? $", Concat({string.Join(", ", inputs.Select(Literal))})" : "";
        source.Append($"    [Trunk{reads}{concat}, Linear(8), ReLU] public partial Sequential {Id(first)} {{ get; }}\n");
        string previous = first;
        for (int b = random.Next(0, 2); b > 0; b--)
        {
            string block = Draw();
            string read = architecture.Length == 0 ? $"(Reads = {Literal(previous)})" : "";
            source.Append($"    [Trunk{read}, Linear(8), Tanh] public partial Sequential {Id(block)} {{ get; }}\n");
            previous = block;
        }
        string[] tasks = Enumerable.Range(0, random.Next(2, 4)).Select(_ => Draw()).ToArray();
        for (int t = 0; t < tasks.Length; t++)
            source.Append($"    [Task(Loss.MeanSquaredError), Linear({(t + 1).ToString(CultureInfo.InvariantCulture)})] public partial Sequential {Id(tasks[t])} {{ get; }}\n");
        // Now and then a member of the user's own with a drawn name.
        if (random.Next(3) == 0) source.Append($"    public int {Id(Draw())};\n");
        if (random.Next(4) == 0) source.Append($"    public static void {Id(Draw())}() {{ }}\n");
        source.Append("}\n");
        return new Declaration(source.ToString(), ns, className, tasks, inputs);
    }

    private static Assembly Compile(List<Declaration> models)
    {
        var (_, compilation) = GeneratorHarness.Run(models.Select(m => m.Source).ToArray());
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)));
        return new AssemblyLoadContext("random-names", isCollectible: false).LoadFromStream(new MemoryStream(image.ToArray()));
    }

    // Every twin through Python's own parser, and its class name importable: an identifier, not a keyword, not a
    // builtin or a module the twin, train_ddp.py or PyTorch import (its file is {Class}.py beside them).
    private static void AssertPythonParses(List<(string Class, string Source)> twins)
    {
        string folder = Directory.CreateTempSubdirectory("mtldsl-twins").FullName;
        try
        {
            for (int k = 0; k < twins.Count; k++) File.WriteAllText(Path.Combine(folder, $"{k}.py"), twins[k].Class + "\n" + twins[k].Source);
            const string check = """
                import ast, builtins, keyword, pathlib, sys
                bad = []
                for path in sorted(pathlib.Path(sys.argv[1]).glob('*.py')):
                    name, source = path.read_text(encoding='utf-8').split('\n', 1)
                    ast.parse(source)
                    if not name.isidentifier() or keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name) \
                            or name in sys.stdlib_module_names or name in ('torch', 'nn', 'mtl', 'mtldsl_torch', 'train_ddp', 'numpy'):
                        bad.append(name)
                    elif ('class ' + name + '(') not in source:
                        bad.append(name + ' (not the class of its source)')
                print('bad:', bad)
                sys.exit(1 if bad else 0)
                """;
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(check);
            start.ArgumentList.Add(folder);
            using Process python = Process.Start(start)!;
            string stdout = python.StandardOutput.ReadToEnd(), stderr = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, $"The PyTorch twins: {stdout}{stderr}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
