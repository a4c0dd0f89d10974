using System.Collections.Generic;
using System.Linq;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// Hard parameter sharing, the architecture of a model without an architecture attribute: one trunk, its blocks
/// reading the inputs and each other as they name them, and every head reading a trunk block (the last, or the one
/// it names). The trunk's reading rules (MTL025, MTL028 to MTL033) are validation's and shape inference's, on
/// <see cref="NamedReads"/>.
/// </summary>
internal sealed class HardSharing : ArchitectureDefinition
{
    public override ModelArchitecture Kind => ModelArchitecture.HardSharing;

    public override string? Attribute => null;

    public override bool NamedReads => true;

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        var reads = Tasks(model).Select(t =>
        {
            ShapedBlock block = t.Reads is { } name ? trunk.First(b => b.Spec.Name == name) : trunk[trunk.Count - 1];
            return new TaskRead(StateName(block.Spec.Name), block.OutputShape);
        });
        return new ShapedArchitecture(reads.ToEquatableArray(), 1, default, default, default, 0);
    }

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code)
    {
        w.Open($"protected override {Tensor}[] RunShared({Tensor}[] inputs)");
        // The blocks that a head reads, or a block that is read (MTL028 warns of any other), in declaration order.
        EmitByName(w, code, code.Trunk, code.Shaped.RunTrunkBlocks(), "block");
        w.Line($"return new {Tensor}[] {{ {string.Join(", ", HeadReads(code).Select(b => "block" + I(b)))} }};");
        w.Close();
    }

    public override string Plan(ArchitectureCode code) => PlanArchitecture(code, headReads: HeadReads(code));

    // The trunk block each head reads (index among the trunk blocks), in task order.
    private static List<int> HeadReads(ArchitectureCode code) =>
        code.Shapes.Reads.Select(r => code.Trunk.ToList().FindIndex(b => StateName(b.Spec.Name) == r.Source)).ToList();
}
