using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Shapes;

/// <summary>
/// The architecture's part of shape inference, after the trunk's blocks are inferred: what every head reads, the
/// gates' sizes, MTAN's stages, and the parameters of the modules the architecture adds (see docs/architectures.md).
/// </summary>
internal static class ArchitectureShapes
{
    public static ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics)
    {
        ArchitectureSpec architecture = model.Architecture;
        var tasks = model.Blocks.Where(b => b.Kind == BlockKind.Task).ToList();
        int taskCount = tasks.Count;
        EquatableArray<int> last = trunk[trunk.Count - 1].OutputShape;
        var parts = new List<PartRow>();
        var gateInputs = new List<long>();
        var stages = new List<AttentionStage>();
        long parameters = 0;

        switch (architecture.Kind)
        {
            case ModelArchitecture.HardSharing:
            {
                var reads = tasks.Select(t =>
                {
                    ShapedBlock block = t.Reads is { } name ? trunk.First(b => b.Spec.Name == name) : trunk[trunk.Count - 1];
                    return new TaskRead(MultiTaskModelGenerator.StateName(block.Spec.Name), block.OutputShape);
                });
                return new ShapedArchitecture(reads.ToEquatableArray(), 1, default, default, default, 0);
            }
            case ModelArchitecture.MMoE:
            case ModelArchitecture.CGC:
            {
                long inputs = Product(model.InputShape);
                gateInputs.Add(inputs);
                if (architecture.OneGate)
                {
                    parameters = Gate(parts, "gate", inputs, architecture.SharedExperts);
                    return Done(tasks.Select(_ => new TaskRead("mixture", last)), architecture.SharedExperts);
                }
                // Task k's gate chooses among the shared experts and its own.
                for (int k = 0; k < taskCount; k++)
                    parameters = checked(parameters + Gate(parts, "gates." + MultiTaskModelGenerator.StateName(tasks[k].Name), inputs, checked(architecture.SharedExperts + architecture.TaskExpertsOf(k))));
                return Done(Own(tasks, last, "mixture"), checked(architecture.SharedExperts + architecture.AllTaskExperts(taskCount)));
            }
            case ModelArchitecture.PLE:
            {
                int copies = checked(architecture.SharedExperts + architecture.AllTaskExperts(taskCount));
                for (int level = 0; level < trunk.Count; level++)
                {
                    long inputs = Product(level == 0 ? model.InputShape : trunk[level - 1].OutputShape);
                    gateInputs.Add(inputs);
                    string block = MultiTaskModelGenerator.StateName(trunk[level].Spec.Name);
                    for (int k = 0; k < taskCount; k++)
                        parameters = checked(parameters + Gate(parts, $"{block}.gates.{MultiTaskModelGenerator.StateName(tasks[k].Name)}", inputs, checked(architecture.SharedExperts + architecture.TaskExpertsOf(k))));
                    if (level + 1 < trunk.Count)
                        parameters = checked(parameters + Gate(parts, $"{block}.shared_gate", inputs, copies));
                }
                return Done(Own(tasks, last, "mixture"), copies);
            }
            case ModelArchitecture.CrossStitch:
            {
                for (int stage = 0; stage + 1 < trunk.Count; stage++)
                {
                    long size = checked((long)taskCount * taskCount);
                    parts.Add(new PartRow("cross_stitch", stage, $"CrossStitch({taskCount}×{taskCount})", trunk[stage].OutputShape, size));
                    parameters = checked(parameters + size);
                }
                return Done(Own(tasks, last, "column"), taskCount);
            }
            case ModelArchitecture.MTAN:
            {
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
                            Report(diagnostics, model, stage, $"has intermediate features {ShapeInference.Format(intermediate)} while the previous stage's attended features are {ShapeInference.Format(previous)}: " +
                                "MTAN max-pools them to this stage's size by one whole factor for height and width; make the previous stage's height and width a multiple of this stage's (the same multiple for both)");
                            return null;
                        }
                        pool = factor;
                    }
                    stages.Add(new AttentionStage(intermediate[0], output[0], pool));
                }
                for (int s = 0; s < stages.Count; s++)
                {
                    AttentionStage stage = stages[s];
                    EquatableArray<int> output = trunk[s].OutputShape;
                    long maskIn = s == 0 ? stage.IntermediateChannels : 2L * stage.IntermediateChannels;
                    long c = stage.OutputChannels;
                    foreach (BlockSpec task in tasks)
                    {
                        string module = $"attention.{MultiTaskModelGenerator.StateName(task.Name)}.{s.ToString(CultureInfo.InvariantCulture)}";
                        parameters = checked(parameters + Rows(parts, module, output,
                            ($"Conv2d({maskIn}→{c}, k=1)", checked(maskIn * c + c)), ($"BatchNorm2d({c})", 2 * c), ("ReLU", 0),
                            ($"Conv2d({c}→{c}, k=1)", checked(c * c + c)), ($"BatchNorm2d({c})", 2 * c), ("Sigmoid", 0)));
                    }
                    if (s + 1 < stages.Count)
                    {
                        long next = stages[s + 1].IntermediateChannels;
                        var shape = new[] { (int)next, output[1], output[2] }.ToEquatableArray();
                        parameters = checked(parameters + Rows(parts, $"attention_blocks.{s.ToString(CultureInfo.InvariantCulture)}", shape,
                            ($"Conv2d({c}→{next}, k=3, p=1)", checked(9 * c * next + next)), ($"BatchNorm2d({next})", 2 * next), ("ReLU", 0)));
                    }
                }
                return Done(Own(tasks, last, "attended features"), 1);
            }
            default:
                throw new InvalidOperationException("Unknown architecture " + architecture.Kind);
        }

        ShapedArchitecture Done(IEnumerable<TaskRead> reads, int copies) =>
            new(reads.ToEquatableArray(), copies, gateInputs.ToEquatableArray(), stages.ToEquatableArray(), parts.ToEquatableArray(), parameters);
    }

    // Every task reads a representation of its own, of the last trunk block's shape.
    private static IEnumerable<TaskRead> Own(List<BlockSpec> tasks, EquatableArray<int> shape, string what) =>
        tasks.Select(t => new TaskRead($"{what} of {MultiTaskModelGenerator.StateName(t.Name)}", shape));

    // A gate: Linear(inputs → experts) and a softmax; returns its parameters.
    private static long Gate(List<PartRow> parts, string module, long inputs, int experts)
    {
        var shape = new[] { experts }.ToEquatableArray();
        return Rows(parts, module, shape, ($"Linear({inputs}→{experts})", checked(inputs * experts + experts)), ("Softmax", 0));
    }

    private static long Rows(List<PartRow> parts, string module, EquatableArray<int> shape, params (string Layer, long Parameters)[] layers)
    {
        long total = 0;
        for (int i = 0; i < layers.Length; i++)
        {
            parts.Add(new PartRow(module, i, layers[i].Layer, shape, layers[i].Parameters));
            total = checked(total + layers[i].Parameters);
        }
        return total;
    }

    private static long Product(IReadOnlyList<int> shape)
    {
        long size = 1;
        foreach (int d in shape) size = checked(size * d);
        return size;
    }

    // An MTAN stage: images in and out, at least two layers, and intermediate features of the output's height and width.
    private static bool StageFits(ModelSpec model, ShapedBlock stage, List<DiagnosticInfo> diagnostics)
    {
        if (stage.Spec.Residual)
        {
            Report(diagnostics, model, stage, stage.Spec.ResidualLocation, "is [Residual]: MTAN's attention reads the stage's intermediate features and multiplies its mask into the stage's output, which a residual sum would bypass; remove [Residual] or use another architecture");
            return false;
        }
        if (stage.Layers.Count < 2)
        {
            Report(diagnostics, model, stage, $"has {stage.Layers.Count} layer{(stage.Layers.Count == 1 ? "" : "s")}: MTAN's attention reads the stage's intermediate features, the output of all its layers but the last, so a stage needs at least two (for example [Conv2d(…), BatchNorm2d, ReLU])");
            return false;
        }
        EquatableArray<int> intermediate = stage.Layers[stage.Layers.Count - 2].OutputShape, output = stage.OutputShape;
        if (intermediate.Count != 3 || output.Count != 3)
        {
            Report(diagnostics, model, stage, $"gives {ShapeInference.Format(output)} (intermediate features {ShapeInference.Format(intermediate)}): MTAN's attention masks are 1×1 convolutions over images [channels, height, width]; keep Flatten and Linear layers in the heads");
            return false;
        }
        if (intermediate[1] != output[1] || intermediate[2] != output[2])
        {
            // On the last layer, which changes the size.
            Report(diagnostics, model, stage, stage.Layers[stage.Layers.Count - 1].Spec.Location, $"has intermediate features {ShapeInference.Format(intermediate)} (before its last layer) and output {ShapeInference.Format(output)}: the attention mask computed from the first multiplies into the second, so their height and width must be equal; end the stage with a layer that keeps the size (an activation or BatchNorm2d) and pool at the start of the next stage");
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

    private static void Report(List<DiagnosticInfo> diagnostics, ModelSpec model, ShapedBlock stage, string problem) =>
        Report(diagnostics, model, stage, null, problem);

    private static void Report(List<DiagnosticInfo> diagnostics, ModelSpec model, ShapedBlock stage, LocationInfo? location, string problem) =>
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StageDoesNotFit, location ?? stage.Spec.Location,
            stage.Spec.Name, model.Architecture.Kind.ToString(), model.ClassName, problem));
}
