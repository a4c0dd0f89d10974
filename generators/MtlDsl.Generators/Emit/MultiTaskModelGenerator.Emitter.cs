using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Architectures;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Layers;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators;

public sealed partial class MultiTaskModelGenerator
{
    /// <summary>The generator's version, as its package gives it (major.minor.patch of the assembly version).</summary>
    internal static string GeneratorVersion { get; } = typeof(MultiTaskModelGenerator).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";
    // After GeneratorVersion: static initializers of one file run in textual order.
    private static readonly string GeneratedCode = $"[global::System.CodeDom.Compiler.GeneratedCode(\"MtlDsl.Generators\", \"{GeneratorVersion}\")]";
    internal const string Tensor = "global::TorchSharp.torch.Tensor";
    internal const string Sequential = "global::TorchSharp.Modules.Sequential";
    private const string Nn = "global::TorchSharp.torch.nn";

    /// <summary>Writes the C# of a model that passed validation. Everything it needs is in the shaped model.</summary>
    internal static class Emitter
    {
        public static string Emit(ShapedModel shaped)
        {
            var tasks = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Task).ToList();
            string name = shaped.Spec.ClassName;
            return InClass(shaped.Spec, $" : global::MtlDsl.MultiTaskModule<{name}.Outputs, {name}.Targets>", w =>
            {
                EmitFieldsAndConstructor(w, shaped);
                EmitStaticDescription(w, shaped, tasks);
                EmitForward(w, shaped, tasks);
                EmitTypedSurface(w, shaped.Spec, tasks.Select(t => t.Spec.Name).ToList());
                if (shaped.Spec.NamedInputs) EmitInputsRecord(w, shaped.Spec);
            });
        }

        /// <summary>
        /// For a model that has errors (MTL diagnostics, or attributes or members the compiler rejects): its whole API as
        /// stubs — the declared blocks, the records, Forward{Task}, ComputeLoss, CreateTrainer, the summary — whose
        /// constructor and members throw, so that the error list shows the real errors and not CS9248 for each partial
        /// property or CS0117/CS1061 in the code that uses the model. A stub is left out where the user's declaration
        /// already takes its name (the clash is one of the errors reported), so nothing in this file is an error.
        /// </summary>
        public static string EmitStubs(ModelSpec model)
        {
            string bare = model.ClassName.TrimStart('@');
            string message = $"{bare} was not generated: it has errors (MTL diagnostics or compiler errors on its declaration). Fix them and rebuild.";
            string Throw() => $"throw new global::System.InvalidOperationException({Literals.String(message)})";
            // Every name the declaration takes, counting each time it is taken: a stub may use a name taken by none.
            var taken = model.OtherMembers.Select(m => m.Name).Concat(model.Blocks.Select(b => b.Name))
                .GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            bool Free(string name) => !taken.ContainsKey(name) && name != bare;
            var inherited = new HashSet<string>(model.InheritedMembers, StringComparer.Ordinal);
            var records = new[] { "Outputs", "Targets", "Losses", "LossValues" };
            // The tasks the records can hold: distinct names that no record member or record takes.
            var tasks = model.Blocks.Where(b => b.Kind == BlockKind.Task).Select(b => b.Name)
                .Where(n => n.Length > 0 && taken[n] == 1 && !GeneratedApi.RecordMembers.ContainsKey(n) && !records.Contains(n) && n != "Inputs").ToList();
            bool namedInputs = model.NamedInputs && model.Inputs.All(i => i.Name is { } n && Microsoft.CodeAnalysis.CSharp.SyntaxFacts.IsValidIdentifier(n)
                && !GeneratedApi.RecordMembers.ContainsKey(n) && n is not ("Inputs" or "Names")) && model.Inputs.Select(i => i.Name).Distinct().Count() == model.Inputs.Count;
            string[] overrides = ["Tasks", "InputShape", "DeclaredInputs", "Architecture", "SharedModules", "RunShared", "RunHead", "forward"];
            bool api = tasks.Count > 0 && records.All(Free) && overrides.All(Free)
                && Free("ComputeLoss") && Free("CreateTrainer") && (!model.NamedInputs || namedInputs && Free("Inputs"));
            return InClass(model, api ? $" : global::MtlDsl.MultiTaskModule<{model.ClassName}.Outputs, {model.ClassName}.Targets>" : "", w =>
            {
                foreach (BlockSpec block in model.Blocks.Where(b => b.MemberProblem is null && taken[b.Name] == 1))
                {
                    w.Line(GeneratedCode);
                    w.Line($"{block.Accessibility} partial {Sequential} {Id(block.Name)} => {Throw()};");
                    w.Line();
                }
                if (!api) return;
                string stub = $"/// <summary>Not generated: {bare} has errors.</summary>";
                void Member(string code)
                {
                    w.Line(stub);
                    w.Line(code);
                }
                if (Free(".ctor()") && Free(".ctor")) Member($"public {model.ClassName}() : base({Literals.String(bare)}) => {Throw()};");
                w.Line($"public override global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.TaskDefinition> Tasks => {Throw()};");
                w.Line($"public override global::System.Collections.Generic.IReadOnlyList<int> InputShape => {Throw()};");
                w.Line($"public override global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.InputDefinition> DeclaredInputs => {Throw()};");
                w.Line($"public override global::MtlDsl.ModelArchitecture Architecture => {Throw()};");
                w.Line($"public override global::System.Collections.Generic.IReadOnlyList<string> SharedModules => {Throw()};");
                w.Line($"protected override {Tensor}[] RunShared({Tensor}[] inputs) => {Throw()};");
                w.Line($"protected override {Tensor} RunHead(int task, {Tensor} representation) => {Throw()};");
                if (Free("TaskCount")) Member($"public const int TaskCount = {tasks.Count.ToString(CultureInfo.InvariantCulture)};");
                if (Free("ParameterCount")) Member($"public const long ParameterCount = 0;");
                if (Free("Summary")) Member($"public static global::MtlDsl.ModelSummary Summary => {Throw()};");
                if (Free("TaskDefinitions")) Member($"public static global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.TaskDefinition> TaskDefinitions => {Throw()};");
                if (Free("InputDefinitions")) Member($"public static global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.InputDefinition> InputDefinitions => {Throw()};");
                for (int i = 0; i < tasks.Count; i++)
                    if (Free("Forward" + tasks[i]) && !inherited.Contains("Forward" + tasks[i])) Member(ForwardTaskMethod(model, tasks[i], i));
                EmitTypedSurface(w, model, tasks);
                if (model.NamedInputs) EmitInputsRecord(w, model);
            });
        }

        // The file header, the namespace and containing types around the model's partial class, and its body.
        private static string InClass(ModelSpec model, string baseList, Action<SourceWriter> body)
        {
            var w = new SourceWriter();
            w.Line("// <auto-generated/>");
            w.Line("#nullable enable");
            w.Line();
            if (model.Namespace is not null) w.Open($"namespace {model.Namespace}");
            foreach (ContainingType outer in model.ContainingTypes) w.Open($"partial {outer.Keyword} {outer.Name}");
            w.Open($"partial class {model.ClassName}{baseList}");
            body(w);
            w.Close();
            foreach (ContainingType _ in model.ContainingTypes) w.Close();
            if (model.Namespace is not null) w.Close();
            return w.ToString();
        }

        /// <summary>The model class as generated code names it where a parameter or local could shadow its simple name.</summary>
        internal static string QualifiedName(ModelSpec model) =>
            "global::" + string.Join(".", new[] { model.Namespace }.Where(n => n is not null).Concat(model.ContainingTypes.Select(t => t.Name)).Append(model.ClassName));

        private static void EmitFieldsAndConstructor(SourceWriter w, ShapedModel shaped)
        {
            ArchitectureSpec architecture = shaped.Spec.Architecture;
            ArchitectureDefinition definition = architecture.Definition;
            var code = new ArchitectureCode(shaped);
            GeneratedNames names = code.Names;
            foreach (ShapedBlock block in shaped.Blocks)
            {
                w.Line($"[global::TorchSharp.Utils.ComponentName(Name = \"{StateName(block.Spec.Name)}\")]");
                w.Line($"private readonly {(block.Spec.Kind == BlockKind.Trunk ? definition.TrunkFieldType : Sequential)} {names.Field(block.Spec.Name)};");
                w.Line();
            }
            foreach (var (field, type, state) in definition.Fields(architecture))
            {
                w.Line($"[global::TorchSharp.Utils.ComponentName(Name = \"{state}\")]");
                w.Line($"private readonly {type} {names[field]};");
                w.Line();
            }
            if (definition.ModulesByTaskName)
            {
                w.Line($"private static readonly string[] {names["s_taskStateNames"]} = new string[] {{ {string.Join(", ", code.Tasks.Select(t => $"\"{StateName(t.Spec.Name)}\""))} }};");
                w.Line();
            }

            w.Line("/// <summary>Creates the model with freshly initialised parameters, in training mode.</summary>");
            w.Line(GeneratedCode);
            w.Open($"public {shaped.Spec.ClassName}() : base(\"{shaped.Spec.ClassName.TrimStart('@')}\")");
            foreach (ShapedBlock block in shaped.Blocks)
            {
                var (before, after) = block.Spec.Kind == BlockKind.Trunk ? definition.TrunkBlockCreation(code, block) : ("", "");
                EmitSequential(w, $"{code.Field(block)} = {before}", block, after + ";");
            }
            foreach (string statement in definition.Registration(code)) w.Line(statement);
            w.Line("base.RegisterComponents();");
            w.Close();

            foreach (ShapedBlock block in shaped.Blocks)
            {
                w.Line();
                var (summary, access) = block.Spec.Kind == BlockKind.Trunk ? definition.TrunkBlockProperty(block) : (null, "");
                if (summary is not null) w.Line($"/// <summary>{summary}</summary>");
                w.Line(GeneratedCode);
                w.Line($"{block.Spec.Accessibility} partial {Sequential} {Id(block.Spec.Name)} => {code.Field(block)}{access};");
            }
        }

        // A block's layers as an nn.Sequential expression (a residual block: MtlDsl's ResidualBlock, a Sequential of
        // its layers and shortcut), between a prefix and a suffix.
        private static void EmitSequential(SourceWriter w, string prefix, ShapedBlock block, string suffix)
        {
            if (block.Shortcut is { } shortcut)
            {
                w.Line($"{prefix}new global::MtlDsl.ResidualBlock(");
                w.Indent();
                w.Line($"new global::TorchSharp.torch.nn.Module<{Tensor}, {Tensor}>[]");
                w.Line("{");
                w.Indent();
                foreach (ShapedLayer layer in block.Layers) w.Line(Factory(layer, block) + ",");
                w.Outdent();
                w.Line("},");
                w.Line(ShortcutFactory(shortcut) + ",");
                w.Line($"reluAfterSum: {(block.Spec.ReLUAfterSum ? "true" : "false")}){suffix}");
                w.Outdent();
                return;
            }
            if (block.Layers.Count == 0)
            {
                w.Line($"{prefix}{Nn}.Sequential(){suffix}");
                return;
            }
            w.Line($"{prefix}{Nn}.Sequential(");
            w.Indent();
            for (int i = 0; i < block.Layers.Count; i++)
                w.Line(Factory(block.Layers[i], block) + (i + 1 < block.Layers.Count ? "," : ")" + suffix));
            w.Outdent();
        }

        private static void EmitStaticDescription(SourceWriter w, ShapedModel shaped, List<ShapedBlock> tasks)
        {
            ModelSpec model = shaped.Spec;
            w.Line();
            w.Line("/// <summary>The number of tasks.</summary>");
            w.Line($"public const int TaskCount = {tasks.Count.ToString(CultureInfo.InvariantCulture)};");
            w.Line();
            w.Line(shaped.Blocks.Any(b => b.Layers.Any(l => l.Parameters < 0))
                ? "/// <summary>The number of trainable parameters of the declared layers, counted at compile time; your own modules' parameters are not in it (count all at run time: parameters()).</summary>"
                : "/// <summary>The number of trainable parameters, counted at compile time.</summary>");
            w.Line($"public const long ParameterCount = {shaped.ParameterCount.ToString(CultureInfo.InvariantCulture)};");
            w.Line();
            w.Line("/// <summary>The inputs in declaration order: name, per-sample shape, kind, and for ids the vocabulary every id must lie in.</summary>");
            w.Line(GeneratedCode);
            w.Line("public static global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.InputDefinition> InputDefinitions { get; } = new global::MtlDsl.InputDefinition[]");
            w.Line("{");
            w.Indent();
            foreach (ShapedInput input in shaped.Inputs)
                w.Line($"new(\"{input.Spec.EffectiveName}\", {Literals.IntList(input.Spec.Shape)}, global::MtlDsl.InputKind.{(input.Spec.Ids ? "Ids" : "Features")}, {input.Vocabulary.ToString(CultureInfo.InvariantCulture)}, {Literals.String(input.ReadBy)}),");
            w.Outdent();
            w.Line("};");
            w.Line();
            w.Line("/// <summary>The compile-time summary: every layer with its output shape and parameter count.</summary>");
            w.Line(GeneratedCode);
            w.Line($"public static global::MtlDsl.ModelSummary Summary {{ get; }} = new global::MtlDsl.ModelSummary(");
            w.Indent();
            w.Line($"\"{model.ClassName.TrimStart('@')}\",");
            w.Line($"{Literals.IntList(model.InputShape)},");
            w.Line($"new string[] {{ {string.Join(", ", shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).Select(b => $"\"{StateName(b.Spec.Name)}\""))} }},");
            w.Line("new global::MtlDsl.LayerSummary[]");
            w.Line("{");
            w.Indent();
            foreach (string row in SummaryRows(shaped)) w.Line(row + ",");
            w.Outdent();
            w.Line("},");
            w.Line($"global::MtlDsl.ModelArchitecture.{model.Architecture.Kind},");
            w.Line("InputDefinitions);");
            w.Outdent();
            w.Line();
            w.Line("/// <summary>The tasks in declaration order: name, loss, static weight, per-sample output shape, and the representation the head reads.</summary>");
            w.Line(GeneratedCode);
            w.Line("public static global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.TaskDefinition> TaskDefinitions { get; } = new global::MtlDsl.TaskDefinition[]");
            w.Line("{");
            w.Indent();
            for (int k = 0; k < tasks.Count; k++)
            {
                ShapedBlock task = tasks[k];
                TaskRead read = shaped.Architecture.Reads[k];
                // The loss's weights, where declared: TaskLosses applies them (and the twin, from the definition).
                var lossWeights = new List<string>();
                if (task.Spec.PositiveWeights is { } positive) lossWeights.Add($"PositiveWeights = {DoubleList(positive)}");
                if (task.Spec.ClassWeights is { } perClass) lossWeights.Add($"ClassWeights = {DoubleList(perClass)}");
                // A [ProductOf] task's factors, by task index: the runtime, the twin and ONNX compute it from them.
                if (task.Spec.IsProduct)
                    lossWeights.Add($"Factors = new int[] {{ {string.Join(", ", task.Spec.ProductOf.Select(f => tasks.FindIndex(t => t.Spec.Name == f).ToString(CultureInfo.InvariantCulture)))} }}");
                string initializer = lossWeights.Count == 0 ? "" : $" {{ {string.Join(", ", lossWeights)} }}";
                w.Line($"new(\"{task.Spec.Name}\", global::MtlDsl.Loss.{LossNames.Of(task.Spec.Loss)}, {Literals.Double(task.Spec.Weight)}, {Literals.IntList(task.OutputShape)}, \"{read.Source}\", {Literals.IntList(read.Shape)}){initializer},");
            }
            w.Outdent();
            w.Line("};");
            w.Line();
            GeneratedNames names = GeneratedNames.Of(model);
            w.Line($"private static readonly global::System.Collections.Generic.IReadOnlyList<int> {names["s_inputShape"]} = global::System.Array.AsReadOnly({Literals.IntList(model.InputShape)});");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line("public override global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.TaskDefinition> Tasks => TaskDefinitions;");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line($"public override global::System.Collections.Generic.IReadOnlyList<int> InputShape => {QualifiedName(model)}.{names["s_inputShape"]};");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line("public override global::System.Collections.Generic.IReadOnlyList<global::MtlDsl.InputDefinition> DeclaredInputs => InputDefinitions;");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line($"public override global::MtlDsl.ModelArchitecture Architecture => global::MtlDsl.ModelArchitecture.{model.Architecture.Kind};");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line(GeneratedCode);
            PlanEmitter.Emit(w, shaped);
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line($"public override global::System.Collections.Generic.IReadOnlyList<string> SharedModules {{ get; }} = global::System.Array.AsReadOnly(new string[] {{ {string.Join(", ", SharedModules(shaped).Select(m => $"\"{m}\""))} }});");
        }

        private static void EmitForward(SourceWriter w, ShapedModel shaped, List<ShapedBlock> tasks)
        {
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line(GeneratedCode);
            var code = new ArchitectureCode(shaped);
            shaped.Spec.Architecture.Definition.EmitRepresentations(w, code);
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line(GeneratedCode);
            w.Line($"protected override {Tensor} RunHead(int task, {Tensor} representation) => task switch");
            w.Line("{");
            w.Indent();
            for (int i = 0; i < tasks.Count; i++)
                w.Line(tasks[i].Spec.IsProduct
                    ? $"{i.ToString(CultureInfo.InvariantCulture)} => throw new global::System.InvalidOperationException({Literals.String($"Task {tasks[i].Spec.Name} is computed from its factors' outputs ([ProductOf]), not from a representation.")}),"
                    : $"{i.ToString(CultureInfo.InvariantCulture)} => {code.Field(tasks[i])}.forward(representation),");
            w.Line("_ => throw new global::System.ArgumentOutOfRangeException(\"task\", task, \"There is no task with this index.\"),");
            w.Outdent();
            w.Line("};");

            for (int i = 0; i < tasks.Count; i++)
            {
                w.Line();
                w.Line($"/// <summary>Runs the shared part and the head of task {tasks[i].Spec.Name} only; output per sample {Literals.Shape(tasks[i].OutputShape)}.</summary>");
                w.Line(GeneratedCode);
                w.Line(ForwardTaskMethod(shaped.Spec, tasks[i].Spec.Name, i));
            }
            if (shaped.Spec.Inputs.Count > 1)
            {
                // A single tensor cannot be this model's input: say so where it is written, not at run time.
                string name = shaped.Spec.ClassName.TrimStart('@');
                string inputNames = string.Join(", ", shaped.Spec.Inputs.Select(input => input.EffectiveName));
                w.Line();
                w.Line($"/// <summary>Not for this model, which reads {shaped.Spec.Inputs.Count.ToString(CultureInfo.InvariantCulture)} inputs: pass an <see cref=\"Inputs\"/> record to forward.</summary>");
                w.Line(GeneratedCode);
                w.Line($"[global::System.Obsolete({Literals.String($"{name} reads {shaped.Spec.Inputs.Count} inputs ({inputNames}): pass them together as a {name}.Inputs record, forward(new {name}.Inputs(…)).")}, true)]");
                w.Line($"public new Outputs forward({Tensor} input) => base.forward(input);");
            }
        }

        // What the model's users write against, made from the task names alone (so a model with errors gets it too,
        // as stubs): the typed loss, the trainer factories and the records.
        // Forward{Task}: the shared part and one head, on the model's one tensor or its Inputs record.
        private static string ForwardTaskMethod(ModelSpec model, string task, int index) => model.Inputs.Count > 1
            ? $"public {Tensor} Forward{task}(Inputs inputs) => base.ForwardTask({index.ToString(CultureInfo.InvariantCulture)}, inputs);"
            : $"public {Tensor} Forward{task}({Tensor} input) => base.ForwardTask({index.ToString(CultureInfo.InvariantCulture)}, input);";

        private static void EmitTypedSurface(SourceWriter w, ModelSpec model, IReadOnlyList<string> tasks)
        {
            string taskParameters(string type) => string.Join(", ", tasks.Select(t => $"{type} {Id(t)}"));
            w.Line();
            w.Line("/// <summary>The joint loss Σ λ·L with the declared task weights, and each task's own loss.</summary>");
            w.Line(GeneratedCode);
            w.Open("public Losses ComputeLoss(Outputs outputs, Targets targets)");
            w.Line("global::MtlDsl.JointLoss joint = base.ComputeJointLoss(outputs, targets);");
            w.Line($"return new Losses(joint.Total, {Indexed("joint.TaskLosses", tasks.Count)});");
            w.Close();
            w.Line();
            const string trainer = "global::MtlDsl.Training.MultiTaskTrainer<Outputs, Targets, LossValues>";
            const string strategy = "global::MtlDsl.Weighting.WeightingStrategy? weighting = null, global::MtlDsl.Weighting.GradientMode mode = global::MtlDsl.Weighting.GradientMode.Parameters";
            w.Line("/// <summary>A trainer that updates this model with <paramref name=\"optimizer\"/>, one batch per step, weighting the tasks with <paramref name=\"weighting\"/> (the declared weights if null).</summary>");
            w.Line(GeneratedCode);
            w.Line($"public {trainer} CreateTrainer(global::TorchSharp.torch.optim.Optimizer optimizer, {strategy}) =>");
            w.Line($"    new {trainer}(this, optimizer, weighting, mode);");
            w.Line();
            w.Line("/// <summary>A trainer whose optimizer <paramref name=\"optimizer\"/> builds over the model's parameters and the strategy's own (UW, GradNorm and IMTL learn some).</summary>");
            w.Line(GeneratedCode);
            w.Line($"public {trainer} CreateTrainer(global::System.Func<global::System.Collections.Generic.IEnumerable<global::TorchSharp.Modules.Parameter>, global::TorchSharp.torch.optim.Optimizer> optimizer, {strategy}) =>");
            w.Line($"    new {trainer}(this, optimizer, weighting, mode);");

            string? indexer = GeneratedNames.Of(model).TaskIndexer;
            EmitTaskRecord(w, "Outputs", "Every task's output for a batch.", taskParameters(Tensor), tasks, indexer);
            EmitTaskRecord(w, "Targets", "Every task's target for a batch.", taskParameters(Tensor), tasks, indexer);

            w.Line();
            w.Line("/// <summary>The joint loss and every task's loss for a batch, as tensors that back-propagate.</summary>");
            w.Line(GeneratedCode);
            w.Line($"public sealed record Losses({Tensor} Total, {taskParameters(Tensor)});");
            w.Line();
            w.Line("/// <summary>The joint loss and every task's loss of one step, as numbers.</summary>");
            w.Line(GeneratedCode);
            w.Open($"public readonly record struct LossValues(double Total, {taskParameters("double")}) : global::MtlDsl.ITaskLossValues<LossValues>");
            w.Line("/// <inheritdoc />");
            w.Line("public static LossValues Create(double total, global::System.Collections.Generic.IReadOnlyList<double> taskLosses) =>");
            w.Line($"    new LossValues(total, {Indexed("taskLosses", tasks.Count)});");
            w.Close();
        }

        // The typed inputs of a model that names them: one tensor per input, in declaration order.
        private static void EmitInputsRecord(SourceWriter w, ModelSpec model)
        {
            var inputs = model.Inputs;
            w.Line();
            w.Line("/// <summary>Every input of the model for a batch, one tensor each: " +
                   string.Join(", ", inputs.Select(i => $"{i.EffectiveName} {(i.Ids ? "(ids, int64) " : "")}[N{string.Concat(i.Shape.Select(d => ", " + d.ToString(CultureInfo.InvariantCulture)))}]")) + ".</summary>");
            w.Line(GeneratedCode);
            w.Open($"public sealed record Inputs({string.Join(", ", inputs.Select(i => $"{Tensor} {Id(i.EffectiveName)}"))}) : global::MtlDsl.IModelInputs");
            w.Line("/// <inheritdoc />");
            w.Line($"public int Count => {inputs.Count.ToString(CultureInfo.InvariantCulture)};");
            w.Line();
            w.Line("/// <summary>The inputs' names, in declaration order.</summary>");
            w.Line($"public static global::System.Collections.Generic.IReadOnlyList<string> Names {{ get; }} = new string[] {{ {string.Join(", ", inputs.Select(i => "\"" + i.EffectiveName + "\""))} }};");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line("global::System.Collections.Generic.IReadOnlyList<string> global::MtlDsl.IModelInputs.InputNames => Names;");
            w.Line();
            EmitIndexer(w, "input", inputs.Select(i => Id(i.EffectiveName)).ToList(), GeneratedNames.Of(model).InputIndexer);
            w.Close();
        }

        // A record's indexer: its tensors by position, one property each. The properties are read through this.,
        // which no parameter can shadow (a task named like the parameter), and the indexer takes another metadata
        // name where a property is called Item (GeneratedNames).
        private static void EmitIndexer(SourceWriter w, string parameter, IReadOnlyList<string> properties, string? indexerName)
        {
            w.Line("/// <inheritdoc />");
            if (indexerName is not null) w.Line($"[global::System.Runtime.CompilerServices.IndexerName({Literals.String(indexerName)})]");
            w.Line($"public {Tensor} this[int {parameter}] => {parameter} switch");
            w.Line("{");
            w.Indent();
            for (int i = 0; i < properties.Count; i++) w.Line($"{i.ToString(CultureInfo.InvariantCulture)} => this.{properties[i]},");
            w.Line($"_ => throw new global::System.ArgumentOutOfRangeException({Literals.String(parameter)}, {parameter}, \"There is no {parameter} with this index.\"),");
            w.Outdent();
            w.Line("};");
        }

        private static void EmitTaskRecord(SourceWriter w, string record, string summary, string parameters, IReadOnlyList<string> tasks, string? indexerName)
        {
            w.Line();
            w.Line($"/// <summary>{summary}</summary>");
            w.Line(GeneratedCode);
            w.Open($"public sealed record {record}({parameters}) : global::MtlDsl.ITaskTensors<{record}>");
            w.Line("/// <inheritdoc />");
            w.Line($"public int Count => {tasks.Count.ToString(CultureInfo.InvariantCulture)};");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line($"public static global::System.Collections.Generic.IReadOnlyList<string> TaskNames {{ get; }} = new string[] {{ {string.Join(", ", tasks.Select(t => Literals.String(t)))} }};");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line($"public static {record} Create(global::System.Collections.Generic.IReadOnlyList<{Tensor}> tensors) =>");
            w.Line($"    new {record}({Indexed("tensors", tasks.Count)});");
            w.Line();
            EmitIndexer(w, "task", tasks.Select(Id).ToList(), indexerName);
            w.Close();
        }

        // A residual block's projection: null for the identity.
        private static string ShortcutFactory(Shortcut shortcut)
        {
            string i(long value) => value.ToString(CultureInfo.InvariantCulture);
            return shortcut.Kind switch
            {
                ShortcutKind.Identity => "null",
                ShortcutKind.Linear => $"{Nn}.Linear({i(shortcut.InSize)}, {i(shortcut.OutSize)})",
                ShortcutKind.Conv1d => $"{Nn}.Sequential(global::MtlDsl.Layers.Conv1d({i(shortcut.InSize)}, {i(shortcut.OutSize)}, 1, stride: {i(shortcut.Stride)}, padding: 0, dilation: 1, bias: false), global::MtlDsl.Layers.BatchNorm1d({i(shortcut.OutSize)}))",
                _ => $"{Nn}.Sequential(global::MtlDsl.Layers.Conv2d({i(shortcut.InSize)}, {i(shortcut.OutSize)}, 1, stride: {i(shortcut.Stride)}, padding: 0, dilation: 1, bias: false), global::MtlDsl.Layers.BatchNorm2d({i(shortcut.OutSize)}))",
            };
        }

        // A residual block's shortcut as the summary shows it.
        private static string DescribeShortcut(ShapedBlock block, Shortcut shortcut)
        {
            string i(long value) => value.ToString(CultureInfo.InvariantCulture);
            string stride = shortcut.Stride == 1 ? "" : $", s={i(shortcut.Stride)}";
            string projection = shortcut.Kind switch
            {
                ShortcutKind.Identity => "the input",
                ShortcutKind.Linear => $"Linear({i(shortcut.InSize)}→{i(shortcut.OutSize)}) of the input",
                ShortcutKind.Conv1d => $"Conv1d({i(shortcut.InSize)}→{i(shortcut.OutSize)}, k=1{stride}, no bias) + BatchNorm1d({i(shortcut.OutSize)}) of the input",
                _ => $"Conv2d({i(shortcut.InSize)}→{i(shortcut.OutSize)}, k=1{stride}, no bias) + BatchNorm2d({i(shortcut.OutSize)}) of the input",
            };
            return "+ " + projection + (block.Spec.ReLUAfterSum ? ", ReLU" : "");
        }

        private static string Factory(ShapedLayer layer, ShapedBlock block) => layer.Spec.Definition.Factory(layer, block.Spec.Name);

        /// <summary>
        /// The summary's rows: the shared bottom's layers, the trunk blocks' layers (with the module that holds each copy),
        /// the architecture's own modules, the heads' layers.
        /// </summary>
        private static IEnumerable<string> SummaryRows(ShapedModel shaped)
        {
            var code = new ArchitectureCode(shaped);
            string i(long value) => value.ToString(CultureInfo.InvariantCulture);
            // Your own module's parameters are counted at run time only: -1.
            string row(string module, ShapedLayer layer, int copies) =>
                $"new(\"{module}\", {i(layer.Index)}, {Literals.String(Describe(layer))}, {Literals.IntList(layer.OutputShape)}, {i(layer.Parameters < 0 ? -1 : layer.Parameters * copies)}{(copies == 1 ? "" : ", " + i(copies))})";
            // A residual block's shortcut: one more row after its layers, the child named "shortcut" (none for the identity).
            string shortcutRow(string module, ShapedBlock block, int copies) =>
                $"new(\"{module}\", {i(block.Layers.Count)}, \"{DescribeShortcut(block, block.Shortcut!)}\", {Literals.IntList(block.OutputShape)}, {i(block.Shortcut!.Parameters * copies)}, {i(copies)}, " +
                (block.Shortcut!.Kind == ShortcutKind.Identity ? "\"\")" : "\"shortcut\")");
            foreach (ShapedBlock block in code.Bottom)
            {
                foreach (ShapedLayer layer in block.Layers)
                    yield return row(StateName(block.Spec.Name), layer, 1);
                if (block.Shortcut is not null) yield return shortcutRow(StateName(block.Spec.Name), block, 1);
            }
            foreach (ShapedBlock block in code.Trunk)
            {
                // The modules that hold the block's copies (the architecture's), each of its layers a row per module.
                var copies = shaped.Spec.Architecture.Definition.TrunkCopies(code, StateName(block.Spec.Name)).ToList();
                foreach (ShapedLayer layer in block.Layers)
                    foreach (var (module, count) in copies)
                        yield return row(module, layer, count);
                if (block.Shortcut is null) continue;
                foreach (var (module, count) in copies)
                    yield return shortcutRow(module, block, count);
            }
            foreach (PartRow part in shaped.Architecture.Parts)
                yield return $"new(\"{part.Module}\", {i(part.Index)}, \"{part.Layer}\", {Literals.IntList(part.Shape)}, {i(part.Parameters)})";
            foreach (ShapedBlock task in code.Tasks)
            {
                foreach (ShapedLayer layer in task.Layers)
                    yield return row(StateName(task.Spec.Name), layer, 1);
                if (task.Shortcut is not null) yield return shortcutRow(StateName(task.Spec.Name), task, 1);
            }
        }

        /// <summary>The state-dict names of the shared modules: what gradient-based weighting takes task gradients of (the shared bottom's blocks, then the architecture's).</summary>
        private static IEnumerable<string> SharedModules(ShapedModel shaped) =>
            shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Bottom).Select(b => StateName(b.Spec.Name)).Concat(
                shaped.Spec.Architecture.Definition.SharedModules(shaped.Spec.Architecture,
                    shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).Select(b => StateName(b.Spec.Name)).ToList()));

        /// <summary>The layer as the summary shows it: <c>Conv2d(3→32, k=3, p=1)</c>.</summary>
        private static string Describe(ShapedLayer layer) => layer.Spec.Definition.Describe(layer);

        // A block name as an identifier in C# source: a keyword (a task declared as @default) keeps its @.
        private static string Id(string name) => ModelDeclaration.Identifier(name);

        // new double[] { 1.0, 9.0 }: each value read back exactly (the values were checked finite).
        private static string DoubleList(IEnumerable<double> values) => $"new double[] {{ {string.Join(", ", values.Select(Literals.Double))} }}";


        private static string Indexed(string array, int count) =>
            string.Join(", ", Enumerable.Range(0, count).Select(k => $"{array}[{k.ToString(CultureInfo.InvariantCulture)}]"));
    }
}
