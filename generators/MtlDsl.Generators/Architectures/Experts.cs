using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// What the mixtures of experts (MMoE, CGC, PLE) have in common: every trunk block is held as copies, the shared
/// experts (<see cref="ArchitectureSpec.SharedExperts"/>) and every task's own (the runtime's <c>ExpertBlock</c>,
/// <c>{block}.shared.{e}</c> and <c>{block}.tasks.{task}.{e}</c>), and gates on the input mix them.
/// </summary>
internal abstract class Experts : ArchitectureDefinition
{
    public override IEnumerable<DiagnosticDescriptor> ArgumentDiagnostics => [DiagnosticDescriptors.InvalidExperts];

    public override string InputReaders => base.InputReaders + ", and its gates read it";

    public override string TrunkFieldType => $"{Runtime}.ExpertBlock";

    public override bool ModulesByTaskName => true;

    public override (string Before, string After) TrunkBlockCreation(ArchitectureCode code, ShapedBlock block) =>
        ($"new {Runtime}.ExpertBlock(\"{StateName(block.Spec.Name)}\", {I(code.Spec.SharedExperts)}, {code.TaskStateNames}, {TaskExpertsArgument(code.Spec)}, () => ",
         LevelGates(code, block) + ")");

    /// <summary>The arguments after the block's expert in <c>new ExpertBlock(…)</c> (PLE's gates of the level): "" or <c>, gateInputs: …</c>.</summary>
    protected virtual string LevelGates(ArchitectureCode code, ShapedBlock block) => "";

    public override (string? Summary, string Access) TrunkBlockProperty(ShapedBlock block) =>
        ($"The first copy of block {block.Spec.Name}: the first shared expert's (every copy is in the state dict under {StateName(block.Spec.Name)}).", ".First");

    public override IEnumerable<(string Module, int Copies)> TrunkCopies(ArchitectureCode code, string block)
    {
        yield return (block + ".shared.*", code.Spec.SharedExperts);
        for (int k = 0; k < code.Tasks.Count; k++)
            if (TaskExpertsOf(code.Spec, k) > 0)
                yield return ($"{block}.tasks.{StateName(code.Tasks[k].Spec.Name)}.*", TaskExpertsOf(code.Spec, k));
    }

    public override IEnumerable<string> SharedModules(ArchitectureSpec spec, IReadOnlyList<string> trunk) => trunk.Select(b => b + ".shared");

    public override string Plan(ArchitectureCode code) =>
        PlanArchitecture(code, code.Spec.SharedExperts, code.Spec.TaskExperts, code.Spec.OneGate, taskExpertsPerTask: code.Spec.TaskExpertsPerTask?.ToList());

    /// <summary>Task <paramref name="task"/>'s own experts (declaration order; after validation, which checks the per-task list's length).</summary>
    protected static int TaskExpertsOf(ArchitectureSpec spec, int task) => spec.TaskExpertsPerTask is { } counts ? counts[task] : spec.TaskExperts;

    /// <summary>All the tasks' own experts together (per level in PLE).</summary>
    protected static int AllTaskExperts(ArchitectureSpec spec, int taskCount) =>
        spec.TaskExpertsPerTask is { } counts ? counts.Aggregate(0, (total, n) => checked(total + n)) : checked(taskCount * spec.TaskExperts);

    /// <summary>The task-experts argument of <c>ExpertBlock</c>: <c>1</c>, or <c>new int[] { 1, 2 }</c> (one per task).</summary>
    protected static string TaskExpertsArgument(ArchitectureSpec spec) =>
        spec.TaskExpertsPerTask is { } counts ? IntList(counts) : I(spec.TaskExperts);

    /// <summary>The sizes of the tasks' gates (the shared experts and the task's own): <c>3</c>, or <c>new int[] { 3, 4 }</c>.</summary>
    protected static string TaskGateSizes(ArchitectureSpec spec) =>
        spec.TaskExpertsPerTask is { } counts ? IntList(counts.Select(c => spec.SharedExperts + c)) : I(spec.SharedExperts + spec.TaskExperts);

    // ---- One gate per task on the model's input (MMoE, CGC) ----

    /// <summary>The tasks' gates on the flattened input (<c>gates.{task}</c>), each over the shared experts and the task's own; every head reads its task's mixture.</summary>
    protected static ShapedArchitecture InferTaskGates(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<ShapedBlock> trunk)
    {
        var tasks = Tasks(model);
        var parts = new ShapeParts();
        long inputs = Product(trunk[0].InputShape);
        parts.GateInput(inputs);
        for (int k = 0; k < tasks.Count; k++)
            parts.Gate("gates." + StateName(tasks[k].Name), inputs, checked(spec.SharedExperts + TaskExpertsOf(spec, k)));
        return parts.Done(Own(tasks, trunk[trunk.Count - 1].OutputShape, "mixture"), checked(spec.SharedExperts + AllTaskExperts(spec, tasks.Count)));
    }

    protected static (string Field, string Type, string State) TaskGatesField => ("__gates", $"{Runtime}.TaskModules<{Sequential}>", "gates");

    protected static string TaskGatesRegistration(ArchitectureCode code) =>
        $"{code.Module("__gates")} = {Runtime}.Mixture.Gates({code.TaskStateNames}, {I(code.Shapes.GateInputs[0])}, {TaskGateSizes(code.Spec)});";

    protected static void EmitTaskGatesRepresentations(SourceWriter w, ArchitectureCode code) =>
        EmitOnInput(w, code, input => $"{Runtime}.Mixture.Forward(new {Runtime}.ExpertBlock[] {{ {code.TrunkFields} }}, {code.Module("__gates")}, {input})");

    // ---- CGC's and PLE's arguments: shared experts, and task experts for every task or one count per task ----

    /// <summary>Reads <c>(sharedExperts, taskExperts)</c> or <c>(sharedExperts, params taskExpertsPerTask)</c>, by the constructor the compiler bound.</summary>
    protected ArchitectureSpec ReadSharedAndTaskExperts(AttributeArguments arguments, AttributeData attribute, AttributeSyntax? syntax)
    {
        // The per-task form by the constructor bound, not by what is written: [CGC(1)] binds it with no count at all.
        bool perTaskForm = attribute.AttributeConstructor?.Parameters.Any(p => p.Name == "taskExpertsPerTask") == true;
        EquatableArray<int>? perTask = perTaskForm ? arguments.IntArray("TaskExpertsPerTask") : null;
        EquatableArray<ArgumentLocation> written = perTask is { } counts
            ? arguments.Locations.Concat(PerTaskLocations(syntax, counts.Count)).ToEquatableArray()
            : arguments.Locations;
        return new ArchitectureSpec(Kind, LocationInfo.From(syntax), arguments.Int("SharedExperts") ?? 0, arguments.Int("TaskExperts") ?? 0, written,
            TaskExpertsPerTask: perTask);
    }

    // Where each of the per-task counts is written, as "TaskExpertsPerTask[k]": the arguments after the shared count, or
    // the elements of the one array written there (none where they do not line up with the values).
    private static IEnumerable<ArgumentLocation> PerTaskLocations(AttributeSyntax? syntax, int count)
    {
        var arguments = syntax?.ArgumentList?.Arguments.Where(a => a.NameEquals is null).ToList() ?? [];
        int shared = arguments.FindIndex(a => a.NameColon?.Name.Identifier.ValueText == "sharedExperts");
        if (shared < 0) shared = arguments.FindIndex(a => a.NameColon is null);
        if (shared >= 0) arguments.RemoveAt(shared);
        IEnumerable<SyntaxNode>? array = arguments.Count != 1 ? null : arguments[0].Expression switch
        {
            ArrayCreationExpressionSyntax { Initializer: { } initializer } => initializer.Expressions,
            ImplicitArrayCreationExpressionSyntax implicitArray => implicitArray.Initializer.Expressions,
            CollectionExpressionSyntax collection => collection.Elements,
            _ => null,
        };
        var located = (array ?? arguments).ToList();
        return located.Count != count ? [] : located.Select((e, k) => new ArgumentLocation($"TaskExpertsPerTask[{k}]", LocationInfo.From(e)));
    }

    /// <summary>At least one shared expert; task experts, one count or one per task, zero or more.</summary>
    protected IEnumerable<DiagnosticInfo> ValidateSharedAndTaskExperts(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks)
    {
        if (spec.SharedExperts < 1)
            yield return Invalid(model, spec, "SharedExperts", spec.SharedExperts, "at least 1 (the experts every task shares; without them the tasks share nothing)");
        if (spec.TaskExperts < 0)
            yield return Invalid(model, spec, "TaskExperts", spec.TaskExperts, "zero or more");
        if (spec.TaskExpertsPerTask is not { } counts) yield break;
        if (counts.Count != tasks.Count)
            yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidExperts, spec.LocationOf("TaskExpertsPerTask"), Name, model.ClassName,
                "TaskExpertsPerTask", $"[{string.Join(", ", counts.Select(c => I(c)))}] ({Counted(counts.Count, "count")})",
                $"one count per task, in declaration order: {Counted(tasks.Count, "count")}, for {string.Join(", ", tasks.Select(t => t.Name))}");
        else
            for (int k = 0; k < counts.Count; k++)
                if (counts[k] < 0)
                {
                    string element = $"TaskExpertsPerTask[{I(k)}]";
                    LocationInfo? location = spec.Arguments.Any(a => a.Name == element) ? spec.LocationOf(element) : spec.LocationOf("TaskExpertsPerTask");
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidExperts, location, Name, model.ClassName,
                        $"{element} (task {tasks[k].Name}'s own experts)", I(counts[k]), "zero or more");
                }
    }

    /// <summary>MTL024 on an argument: its value and what it must be.</summary>
    protected DiagnosticInfo Invalid(ModelSpec model, ArchitectureSpec spec, string argument, int value, string requirement) =>
        DiagnosticInfo.Create(DiagnosticDescriptors.InvalidExperts, spec.LocationOf(argument), Name, model.ClassName, argument,
            value.ToString(CultureInfo.InvariantCulture), requirement);

    private static string Counted(int count, string noun) => $"{I(count)} {noun}{(count == 1 ? "" : "s")}";
}
