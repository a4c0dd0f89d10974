using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// One architecture (see docs/architectures.md), the one place in the generator that knows it: how its attribute's
/// arguments are read, the rules they obey, what the heads read and the modules it adds (shapes and parameters), and
/// the C# it takes: the trunk blocks' fields and their creation, its own modules, the forward pass of the
/// representations, the summary rows and the <c>PlanArchitecture</c> of the network plan. The stages call these
/// members on the model's definition (<see cref="ArchitectureSpec.Definition"/>) and never ask which architecture
/// it is. A new architecture is a subclass in this folder (which <see cref="ArchitectureDefinitions"/> finds), besides
/// its value in the runtime's <c>ModelArchitecture</c>, its attribute and its runtime module.
/// </summary>
internal abstract class ArchitectureDefinition
{
    /// <summary>C# for TorchSharp's Sequential, as generated code names it.</summary>
    protected const string Sequential = MultiTaskModelGenerator.Sequential;

    /// <summary>C# for a tensor.</summary>
    protected const string Tensor = MultiTaskModelGenerator.Tensor;

    /// <summary>The runtime's namespace of the architectures' modules, as generated code names it.</summary>
    protected const string Runtime = "global::MtlDsl.Architectures";

    /// <summary>The architecture's value in the runtime's enum (Shared/ModelArchitecture.cs): generated code writes its name.</summary>
    public abstract ModelArchitecture Kind { get; }

    /// <summary>The architecture's name, as diagnostics and generated code write it.</summary>
    public string Name => Kind.ToString();

    /// <summary>The attribute that declares it, without the Attribute suffix (<c>MMoE</c> for <c>[MMoE(4)]</c>); null for the architecture of a model without one.</summary>
    public virtual string? Attribute => Name;

    // ---- Parser ----

    /// <summary>The architecture as its attribute declares it: the arguments as the compiler bound them, the constructor it chose, and where it is written.</summary>
    public virtual ArchitectureSpec Read(AttributeArguments arguments, AttributeData attribute, AttributeSyntax? syntax) =>
        new(Kind, LocationInfo.From(syntax), Arguments: arguments.Locations);

    // ---- Validation ----

    /// <summary>The problems of the attribute's arguments, given the model's tasks in declaration order.</summary>
    public virtual IEnumerable<DiagnosticInfo> Validate(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks) => [];

    /// <summary>The descriptors <see cref="Validate"/> reports: with one of them, the model's shapes are not inferred (they all depend on the architecture).</summary>
    public virtual IEnumerable<DiagnosticDescriptor> ArgumentDiagnostics => [];

    /// <summary>
    /// Whether the blocks say what they read: trunk blocks an input, an earlier block or several ([Concat], Reads), heads
    /// the trunk block they read (Reads), so that the model may read several inputs and ids. Else the trunk blocks run
    /// in order on the model's one input of features, and every head reads what the architecture gives its task.
    /// </summary>
    public virtual bool NamedReads => false;

    /// <summary>What reads the model's one input, in the diagnostic on several inputs or ids (MTL031).</summary>
    public virtual string InputReaders => "its trunk blocks run in order on it";

    // ---- Shapes ----

    /// <summary>
    /// What every head reads, the sizes and parameters of the modules the architecture adds, and how many copies of
    /// the trunk's blocks it holds, from the inferred trunk blocks (in declaration order); null after a diagnostic.
    /// Overflowing checked arithmetic is reported by the caller.
    /// </summary>
    public abstract ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics);

    // ---- C# ----

    /// <summary>The type of the field that holds a trunk block.</summary>
    public virtual string TrunkFieldType => Sequential;

    /// <summary>The fields of the modules the architecture adds: preferred field name (<see cref="GeneratedNames"/>), type, state-dict name.</summary>
    public virtual IEnumerable<(string Field, string Type, string State)> Fields(ArchitectureSpec spec) => [];

    /// <summary>Whether the model's modules are built per task name (the generated code then holds the tasks' state-dict names).</summary>
    public virtual bool ModulesByTaskName => false;

    /// <summary>What the constructor writes before and after a trunk block's Sequential to create its field's value.</summary>
    public virtual (string Before, string After) TrunkBlockCreation(ArchitectureCode code, ShapedBlock block) => ("", "");

    /// <summary>The constructor's statements that create the architecture's own modules, after the blocks.</summary>
    public virtual IEnumerable<string> Registration(ArchitectureCode code) => [];

    /// <summary>A trunk block's partial property: its summary (null: none) and what it appends to the field to give one Sequential.</summary>
    public virtual (string? Summary, string Access) TrunkBlockProperty(ShapedBlock block) => (null, "");

    /// <summary>Writes <c>RunShared</c>, which gives every task's representation in task order (and any static it reads).</summary>
    public abstract void EmitRepresentations(SourceWriter w, ArchitectureCode code);

    /// <summary>
    /// <c>RunShared</c> of an architecture that reads one tensor: <paramref name="forward"/> gives the C# of every
    /// task's representation from the C# of that tensor. It is the first input, or, with a shared bottom or a first
    /// trunk block that names what it reads, the bottom blocks run first and what that block names (concatenated).
    /// </summary>
    protected static void EmitOnInput(SourceWriter w, ArchitectureCode code, System.Func<string, string> forward)
    {
        string signature = $"protected override {Tensor}[] RunShared({Tensor}[] inputs)";
        IReadOnlyList<BlockSource> sources = code.Trunk[0].Sources;
        if (sources.Count == 0)
        {
            w.Line($"{signature} => {forward("inputs[0]")};");
            return;
        }
        w.Open(signature);
        EmitByName(w, code, code.Bottom, ShapedModel.Reached(code.Bottom, sources.Where(s => !s.Input).Select(s => s.Index)), "bottom");
        w.Line($"return {forward(Joined(sources, "bottom"))};");
        w.Close();
    }

    /// <summary>
    /// The statements that run the blocks of a group that reads by name (hard sharing's trunk, the shared bottom) whose
    /// indices are in <paramref name="run"/>, in declaration order: <c>Tensor {local}{b} = this._block.forward(…);</c>.
    /// </summary>
    protected static void EmitByName(SourceWriter w, ArchitectureCode code, IReadOnlyList<ShapedBlock> blocks, ISet<int> run, string local)
    {
        for (int b = 0; b < blocks.Count; b++)
            if (run.Contains(b))
                w.Line($"{Tensor} {local}{I(b)} = {code.Field(blocks[b])}.forward({Joined(blocks[b].Sources, local)});");
    }

    /// <summary>What a block reads as C#: one source as it is, several concatenated along the first per-sample dimension.</summary>
    protected static string Joined(IReadOnlyList<BlockSource> sources, string local)
    {
        string Value(BlockSource source) => source.Input ? $"inputs[{I(source.Index)}]" : local + I(source.Index);
        return sources.Count == 1 ? Value(sources[0]) : $"global::TorchSharp.torch.cat(new {Tensor}[] {{ {string.Join(", ", sources.Select(Value))} }}, 1L)";
    }

    /// <summary>The summary's modules that hold copies of trunk block <paramref name="block"/> (its state-dict name), and how many copies each.</summary>
    public virtual IEnumerable<(string Module, int Copies)> TrunkCopies(ArchitectureCode code, string block) => [(block, 1)];

    /// <summary>The state-dict names of the shared modules, from the trunk blocks': what gradient-based weighting takes task gradients of.</summary>
    public virtual IEnumerable<string> SharedModules(ArchitectureSpec spec, IReadOnlyList<string> trunk) => trunk;

    /// <summary>The network plan's <c>PlanArchitecture</c> (C#).</summary>
    public virtual string Plan(ArchitectureCode code) => PlanArchitecture(code);

    // ---- Helpers of the definitions ----

    /// <summary>A <c>PlanArchitecture</c> with the architecture's inferred gates and stages and the given sizes.</summary>
    protected static string PlanArchitecture(ArchitectureCode code, int sharedExperts = 0, int taskExperts = 0, bool oneGate = false,
        IReadOnlyList<int>? headReads = null, IReadOnlyList<int>? taskExpertsPerTask = null)
    {
        const string ns = "global::MtlDsl.";
        ShapedArchitecture shapes = code.Shapes;
        string stages = shapes.Stages.Count == 0 ? $"new {ns}PlanAttentionStage[0]" :
            $"new {ns}PlanAttentionStage[] {{ " + string.Join(", ", shapes.Stages.Select(s => $"new({I(s.IntermediateChannels)}, {I(s.OutputChannels)}, {I(s.Pool)})")) + " }";
        return $"new {ns}PlanArchitecture({I(sharedExperts)}, {I(taskExperts)}, {(oneGate ? "true" : "false")}, " +
               $"{LongList(shapes.GateInputs)}, {stages}, {IntList(headReads ?? [])}" +
               (taskExpertsPerTask is null ? "" : ", " + IntList(taskExpertsPerTask)) + ")";
    }

    /// <summary>A block's or task's state-dict name.</summary>
    protected static string StateName(string name) => MultiTaskModelGenerator.StateName(name);

    /// <summary>The number of values of a shape.</summary>
    protected static long Product(IReadOnlyList<int> shape)
    {
        long size = 1;
        foreach (int d in shape) size = checked(size * d);
        return size;
    }

    /// <summary>Every task reads a representation of its own, of the last trunk block's shape (<c>mixture of left</c>).</summary>
    protected static IEnumerable<TaskRead> Own(IEnumerable<BlockSpec> tasks, EquatableArray<int> shape, string what) =>
        tasks.Select(t => new TaskRead($"{what} of {StateName(t.Name)}", shape));

    /// <summary>The tasks of a model, in declaration order.</summary>
    protected static List<BlockSpec> Tasks(ModelSpec model) => model.Blocks.Where(b => b.Kind == BlockKind.Task).ToList();

    /// <summary>What <see cref="Infer"/> collects: the summary rows and parameters of the modules the architecture adds, the gates' inputs, MTAN's stages.</summary>
    protected sealed class ShapeParts
    {
        private readonly List<PartRow> _parts = [];
        private readonly List<long> _gateInputs = [];
        private readonly List<AttentionStage> _stages = [];

        /// <summary>The parameters of the modules added so far.</summary>
        public long Parameters { get; private set; }

        public void GateInput(long inputs) => _gateInputs.Add(inputs);

        public void Stage(AttentionStage stage) => _stages.Add(stage);

        public IReadOnlyList<AttentionStage> Stages => _stages;

        /// <summary>A gate: <c>Linear(inputs → experts)</c> and a softmax (the runtime's <c>Mixture.Gate</c>).</summary>
        public void Gate(string module, long inputs, int experts) =>
            Rows(module, new[] { experts }.ToEquatableArray(), ($"Linear({inputs}→{experts})", checked(inputs * experts + experts)), ("Softmax", 0));

        /// <summary>A module's layers, one summary row each, of one output shape.</summary>
        public void Rows(string module, EquatableArray<int> shape, params (string Layer, long Parameters)[] layers)
        {
            for (int i = 0; i < layers.Length; i++)
            {
                _parts.Add(new PartRow(module, i, layers[i].Layer, shape, layers[i].Parameters));
                Parameters = checked(Parameters + layers[i].Parameters);
            }
        }

        /// <summary>The architecture as inferred: what the heads read and how many copies of the trunk's blocks the model holds.</summary>
        public ShapedArchitecture Done(IEnumerable<TaskRead> reads, int copies) =>
            new(reads.ToEquatableArray(), copies, _gateInputs.ToEquatableArray(), _stages.ToEquatableArray(), _parts.ToEquatableArray(), Parameters);
    }
}

/// <summary>What a definition writes C# from: the inferred model, its blocks, and the names generated code gives its members.</summary>
internal sealed class ArchitectureCode
{
    public ArchitectureCode(ShapedModel shaped)
    {
        Shaped = shaped;
        Trunk = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).ToList();
        Bottom = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Bottom).ToList();
        Tasks = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Task).ToList();
        Names = GeneratedNames.Of(shaped.Spec);
    }

    public ShapedModel Shaped { get; }

    /// <summary>The architecture as declared.</summary>
    public ArchitectureSpec Spec => Shaped.Spec.Architecture;

    /// <summary>The architecture as inferred.</summary>
    public ShapedArchitecture Shapes => Shaped.Architecture;

    /// <summary>The trunk blocks, in declaration order.</summary>
    public IReadOnlyList<ShapedBlock> Trunk { get; }

    /// <summary>The shared bottom's blocks, in declaration order (none in hard sharing).</summary>
    public IReadOnlyList<ShapedBlock> Bottom { get; }

    /// <summary>The task heads, in declaration order.</summary>
    public IReadOnlyList<ShapedBlock> Tasks { get; }

    public GeneratedNames Names { get; }

    /// <summary>The field that holds a block, as generated code reads it: <c>this._shared</c>.</summary>
    public string Field(ShapedBlock block) => "this." + Names.Field(block.Spec.Name);

    /// <summary>The field of one of the architecture's modules by its preferred name: <c>this.__gates</c>.</summary>
    public string Module(string preferred) => "this." + Names[preferred];

    /// <summary>A static of the model class by its preferred name, qualified (no parameter or local can shadow it).</summary>
    public string Static(string preferred) => MultiTaskModelGenerator.Emitter.QualifiedName(Shaped.Spec) + "." + Names[preferred];

    /// <summary>The tasks' state-dict names, which the model holds when <see cref="ArchitectureDefinition.ModulesByTaskName"/>.</summary>
    public string TaskStateNames => Static("s_taskStateNames");

    /// <summary>The trunk blocks' fields, in declaration order, separated by commas.</summary>
    public string TrunkFields => string.Join(", ", Trunk.Select(Field));
}
