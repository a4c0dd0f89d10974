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
/// Progressive layered extraction, <c>[PLE(sharedExperts, taskExperts)]</c> or one count per task: every trunk block
/// is one level of shared and task experts (copies of that block), and holds its level's gates
/// (<c>{block}.gates.{task}</c>, and <c>{block}.shared_gate</c> on every level but the last), on the level's input.
/// </summary>
internal sealed class PLE : Experts
{
    public override ModelArchitecture Kind => ModelArchitecture.PLE;

    public override ArchitectureSpec Read(AttributeArguments arguments, AttributeData attribute, AttributeSyntax? syntax) =>
        ReadSharedAndTaskExperts(arguments, attribute, syntax);

    public override IEnumerable<DiagnosticInfo> Validate(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks) =>
        ValidateSharedAndTaskExperts(model, spec, tasks);

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        ArchitectureSpec spec = model.Architecture;
        var tasks = Tasks(model);
        var parts = new ShapeParts();
        int copies = checked(spec.SharedExperts + AllTaskExperts(spec, tasks.Count));
        for (int level = 0; level < trunk.Count; level++)
        {
            long inputs = Product(trunk[level].InputShape);
            parts.GateInput(inputs);
            string block = StateName(trunk[level].Spec.Name);
            for (int k = 0; k < tasks.Count; k++)
                parts.Gate($"{block}.gates.{StateName(tasks[k].Name)}", inputs, checked(spec.SharedExperts + TaskExpertsOf(spec, k)));
            if (level + 1 < trunk.Count)
                parts.Gate($"{block}.shared_gate", inputs, copies);
        }
        return parts.Done(Own(tasks, trunk[trunk.Count - 1].OutputShape, "mixture"), copies);
    }

    // The level's gates are the ExpertBlock's own.
    protected override string LevelGates(ArchitectureCode code, ShapedBlock block)
    {
        int level = code.Trunk.ToList().IndexOf(block);
        return $", gateInputs: {I(code.Shapes.GateInputs[level])}, sharedGate: {(level + 1 < code.Trunk.Count ? "true" : "false")}";
    }

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code) =>
        EmitOnInput(w, code, input => $"{Runtime}.Mixture.ForwardLevels(new {Runtime}.ExpertBlock[] {{ {code.TrunkFields} }}, {input})");

    public override IEnumerable<string> SharedModules(ArchitectureSpec spec, IReadOnlyList<string> trunk) =>
        trunk.SelectMany((b, level) => level + 1 < trunk.Count ? new[] { b + ".shared", b + ".shared_gate" } : new[] { b + ".shared" });
}
