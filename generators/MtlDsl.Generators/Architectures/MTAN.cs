using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Layers;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// Multi-task attention network, <c>[MTAN]</c>: the trunk blocks are the stages of one shared network of images; per
/// task and stage an attention mask (<c>attention.{task}.{stage}</c>) reads the stage's intermediate features and
/// multiplies into its output, and blocks between stages (<c>attention_blocks.{stage}</c>) take each task's attended
/// features to the next; every head reads its task's attended features of the last stage. A stage that cannot be
/// attended so is MTL026.
/// </summary>
internal sealed class MTAN : ArchitectureDefinition
{
    public override ModelArchitecture Kind => ModelArchitecture.MTAN;

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        var tasks = Tasks(model);
        var parts = new ShapeParts();
        for (int s = 0; s < trunk.Count; s++)
        {
            ShapedBlock stage = trunk[s];
            if (!StageFits(model, stage, diagnostics)) return null;
            EquatableArray<int> intermediate = stage.Layers[stage.Layers.Count - 2].OutputShape, output = stage.OutputShape;
            int pool = 1;
            if (s > 0)
            {
                EquatableArray<int> previous = trunk[s - 1].OutputShape;
                if (PoolFactor(previous, intermediate) is not int factor)
                {
                    Report(diagnostics, model, stage, null, $"has intermediate features {Literals.Shape(intermediate)} while the previous stage's attended features are {Literals.Shape(previous)}: " +
                        "MTAN max-pools them to this stage's size by one whole factor for height and width; make the previous stage's height and width a multiple of this stage's (the same multiple for both)");
                    return null;
                }
                pool = factor;
            }
            parts.Stage(new AttentionStage(intermediate[0], output[0], pool));
        }
        var stages = parts.Stages;
        for (int s = 0; s < stages.Count; s++)
        {
            AttentionStage stage = stages[s];
            EquatableArray<int> output = trunk[s].OutputShape;
            long maskIn = s == 0 ? stage.IntermediateChannels : 2L * stage.IntermediateChannels;
            long c = stage.OutputChannels;
            foreach (BlockSpec task in tasks)
            {
                // The runtime's TaskAttention.Mask.
                parts.Rows($"attention.{StateName(task.Name)}.{s.ToString(CultureInfo.InvariantCulture)}", output,
                    ($"Conv2d({maskIn}→{c}, k=1)", checked(maskIn * c + c)), ($"BatchNorm2d({c})", 2 * c), ("ReLU", 0),
                    ($"Conv2d({c}→{c}, k=1)", checked(c * c + c)), ($"BatchNorm2d({c})", 2 * c), ("Sigmoid", 0));
            }
            if (s + 1 < stages.Count)
            {
                // The runtime's TaskAttention.Block.
                long next = stages[s + 1].IntermediateChannels;
                var shape = new[] { (int)next, output[1], output[2] }.ToEquatableArray();
                parts.Rows($"attention_blocks.{s.ToString(CultureInfo.InvariantCulture)}", shape,
                    ($"Conv2d({c}→{next}, k=3, p=1)", checked(9 * c * next + next)), ($"BatchNorm2d({next})", 2 * next), ("ReLU", 0));
            }
        }
        return parts.Done(Own(tasks, trunk[trunk.Count - 1].OutputShape, "attended features"), 1);
    }

    // A stage: images in and out, at least two layers, and intermediate features of the output's height and width.
    private bool StageFits(ModelSpec model, ShapedBlock stage, List<DiagnosticInfo> diagnostics)
    {
        if (stage.Spec.Residual)
        {
            Report(diagnostics, model, stage, stage.Spec.ResidualLocation, "is [Residual]: MTAN's attention reads the stage's intermediate features and multiplies its mask into the stage's output, which a residual sum would bypass; remove [Residual] or use another architecture");
            return false;
        }
        if (stage.Layers.Count < 2)
        {
            Report(diagnostics, model, stage, null, $"has {stage.Layers.Count} layer{(stage.Layers.Count == 1 ? "" : "s")}: MTAN's attention reads the stage's intermediate features, the output of all its layers but the last, so a stage needs at least two (for example [Conv2d(…), BatchNorm2d, ReLU])");
            return false;
        }
        EquatableArray<int> intermediate = stage.Layers[stage.Layers.Count - 2].OutputShape, output = stage.OutputShape;
        if (intermediate.Count != 3 || output.Count != 3)
        {
            Report(diagnostics, model, stage, null, $"gives {Literals.Shape(output)} (intermediate features {Literals.Shape(intermediate)}): MTAN's attention masks are 1×1 convolutions over images [channels, height, width]; keep Flatten and Linear layers in the heads");
            return false;
        }
        if (intermediate[1] != output[1] || intermediate[2] != output[2])
        {
            // On the last layer, which changes the size.
            Report(diagnostics, model, stage, stage.Layers[stage.Layers.Count - 1].Spec.Location, $"has intermediate features {Literals.Shape(intermediate)} (before its last layer) and output {Literals.Shape(output)}: the attention mask computed from the first multiplies into the second, so their height and width must be equal; end the stage with a layer that keeps the size (an activation or BatchNorm2d) and pool at the start of the next stage");
            return false;
        }
        return true;
    }

    // The whole factor k with previous = k × next in height and width (1 when equal), else null.
    private static int? PoolFactor(EquatableArray<int> previous, EquatableArray<int> next)
    {
        if (previous[1] % next[1] != 0 || previous[2] % next[2] != 0) return null;
        int k = previous[1] / next[1];
        return previous[2] / next[2] == k ? k : null;
    }

    private void Report(List<DiagnosticInfo> diagnostics, ModelSpec model, ShapedBlock stage, LocationInfo? location, string problem) =>
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StageDoesNotFit, location ?? stage.Spec.Location, stage.Spec.Name, Name, model.ClassName, problem));

    public override IEnumerable<(string Field, string Type, string State)> Fields(ArchitectureSpec spec) =>
    [
        ("__attention", $"{Runtime}.TaskModules<global::TorchSharp.Modules.ModuleList<{Sequential}>>", "attention"),
        ("__attentionBlocks", $"global::TorchSharp.Modules.ModuleList<{Sequential}>", "attention_blocks"),
    ];

    public override bool ModulesByTaskName => true;

    public override IEnumerable<string> Registration(ArchitectureCode code)
    {
        var stages = code.Shapes.Stages;
        yield return $"{code.Module("__attention")} = {Runtime}.TaskAttention.Masks({code.TaskStateNames}, {IntList(stages.Select((st, k) => k == 0 ? st.IntermediateChannels : 2 * st.IntermediateChannels))}, {IntList(stages.Select(st => st.OutputChannels))});";
        yield return $"{code.Module("__attentionBlocks")} = {Runtime}.TaskAttention.Blocks({IntList(stages.Take(stages.Count - 1).Select(st => st.OutputChannels))}, {IntList(stages.Skip(1).Select(st => st.IntermediateChannels))});";
    }

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code)
    {
        EmitOnInput(w, code, input => $"{Runtime}.TaskAttention.Forward(new {Sequential}[] {{ {code.TrunkFields} }}, {code.Module("__attention")}, {code.Module("__attentionBlocks")}, {code.Static("s_pools")}, {input})");
        w.Line();
        w.Line($"private static readonly int[] {code.Names["s_pools"]} = new int[] {{ {string.Join(", ", code.Shapes.Stages.Select(st => I(st.Pool)))} }};");
    }
}
