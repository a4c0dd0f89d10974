using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// Cross-stitch networks, <c>[CrossStitch]</c>: one column per task, a copy of every trunk block (<c>{block}.{t}</c>),
/// and after every stage but the last a T×T unit (<c>cross_stitch.{stage}</c>) that mixes the columns; every head
/// reads its column.
/// </summary>
internal sealed class CrossStitch : ArchitectureDefinition
{
    public override ModelArchitecture Kind => ModelArchitecture.CrossStitch;

    public override IEnumerable<DiagnosticDescriptor> ArgumentDiagnostics => [DiagnosticDescriptors.CrossStitchWithoutUnits];

    // One stage has no unit: the columns never mix.
    public override IEnumerable<DiagnosticInfo> Validate(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks) =>
        model.Blocks.Count(b => b.Kind == BlockKind.Trunk) == 1 ? [DiagnosticInfo.Create(DiagnosticDescriptors.CrossStitchWithoutUnits, spec.Location, model.ClassName)] : [];

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        var tasks = Tasks(model);
        var parts = new ShapeParts();
        for (int stage = 0; stage + 1 < trunk.Count; stage++)
            parts.Rows("cross_stitch", trunk[stage].OutputShape, ($"CrossStitch({tasks.Count}×{tasks.Count})", checked((long)tasks.Count * tasks.Count)));
        return parts.Done(Own(tasks, trunk[trunk.Count - 1].OutputShape, "column"), tasks.Count);
    }

    public override string TrunkFieldType => $"global::TorchSharp.Modules.ModuleList<{Sequential}>";

    public override IEnumerable<(string Field, string Type, string State)> Fields(ArchitectureSpec spec) =>
        [("__crossStitch", "global::TorchSharp.Modules.ParameterList", "cross_stitch")];

    public override (string Before, string After) TrunkBlockCreation(ArchitectureCode code, ShapedBlock block) =>
        ($"{Runtime}.CrossStitch.Columns({I(code.Tasks.Count)}, () => ", ")");

    public override IEnumerable<string> Registration(ArchitectureCode code) =>
        [$"{code.Module("__crossStitch")} = {Runtime}.CrossStitch.Units({I(code.Trunk.Count)}, {I(code.Tasks.Count)});"];

    public override (string? Summary, string Access) TrunkBlockProperty(ShapedBlock block) =>
        ($"Block {block.Spec.Name} of the first task's column (every column is in the state dict under {StateName(block.Spec.Name)}).", "[0]");

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code) =>
        EmitOnInput(w, code, input => $"{Runtime}.CrossStitch.Forward(new global::TorchSharp.Modules.ModuleList<{Sequential}>[] {{ {code.TrunkFields} }}, {code.Module("__crossStitch")}, {input})");

    public override IEnumerable<(string Module, int Copies)> TrunkCopies(ArchitectureCode code, string block) => [(block + ".*", code.Tasks.Count)];

    public override IEnumerable<string> SharedModules(ArchitectureSpec spec, IReadOnlyList<string> trunk) => trunk.Concat(["cross_stitch"]);
}
