using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// Multi-gate mixture of experts, <c>[MMoE(experts)]</c>: every expert a copy of the whole trunk, shared by the tasks,
/// and one gate per task on the input (<c>gates.{task}</c>) whose mixture its head reads. With <c>OneGate = true</c>,
/// the one-gate mixture of experts (OMoE): one gate (<c>gate</c>), whose mixture every head reads.
/// </summary>
internal sealed class MMoE : Experts
{
    public override ModelArchitecture Kind => ModelArchitecture.MMoE;

    // MMoE's experts are all shared: SharedExperts holds Experts.
    public override ArchitectureSpec Read(AttributeArguments arguments, AttributeData attribute, AttributeSyntax? syntax) =>
        new(Kind, LocationInfo.From(syntax), arguments.Int("Experts") ?? 0, Arguments: arguments.Locations, OneGate: arguments.Value("OneGate") is true);

    public override IEnumerable<DiagnosticInfo> Validate(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks) =>
        spec.SharedExperts < 1 ? [Invalid(model, spec, "Experts", spec.SharedExperts, "at least 1")] : [];

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        ArchitectureSpec spec = model.Architecture;
        if (!spec.OneGate) return InferTaskGates(model, spec, trunk);
        var parts = new ShapeParts();
        long inputs = Product(trunk[0].InputShape);
        parts.GateInput(inputs);
        parts.Gate("gate", inputs, spec.SharedExperts);
        return parts.Done(Tasks(model).Select(_ => new TaskRead("mixture", trunk[trunk.Count - 1].OutputShape)), spec.SharedExperts);
    }

    public override IEnumerable<(string Field, string Type, string State)> Fields(ArchitectureSpec spec) =>
        spec.OneGate ? [("__gate", Sequential, "gate")] : [TaskGatesField];

    public override IEnumerable<string> Registration(ArchitectureCode code) =>
        code.Spec.OneGate ? [$"{code.Module("__gate")} = {Runtime}.Mixture.Gate({I(code.Shapes.GateInputs[0])}, {I(code.Spec.SharedExperts)});"] : [TaskGatesRegistration(code)];

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code)
    {
        if (!code.Spec.OneGate) EmitTaskGatesRepresentations(w, code);
        else EmitOnInput(w, code, input => $"{Runtime}.Mixture.ForwardOneGate(new {Runtime}.ExpertBlock[] {{ {code.TrunkFields} }}, {code.Module("__gate")}, {input})");
    }

    // The one gate is shared by every task.
    public override IEnumerable<string> SharedModules(ArchitectureSpec spec, IReadOnlyList<string> trunk) =>
        spec.OneGate ? base.SharedModules(spec, trunk).Concat(["gate"]) : base.SharedModules(spec, trunk);
}
