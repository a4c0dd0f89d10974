using System.Collections.Generic;
using System;
using System.Linq;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Shapes;

/// <summary>
/// A layer with the shapes inferred for it. <see cref="InSize"/> is the inferred input size the layer is built with;
/// <see cref="Parameters"/> is -1 for your own module, whose parameters only the run time counts.
/// </summary>
internal sealed record ShapedLayer(LayerSpec Spec, int Index, EquatableArray<int> InputShape, EquatableArray<int> OutputShape, int InSize, long Parameters);

/// <summary>A block whose every layer has a known output shape, and, for a [Residual] block, its shortcut.</summary>
internal sealed record ShapedBlock(BlockSpec Spec, EquatableArray<int> InputShape, EquatableArray<ShapedLayer> Layers, Shortcut? Shortcut = null,
    EquatableArray<BlockSource> Sources = default)
{
    public EquatableArray<int> OutputShape => Layers.Count == 0 ? InputShape : Layers[Layers.Count - 1].OutputShape;

    /// <summary>The parameters of the block's layers and its shortcut.</summary>
    public long Parameters => checked(Layers.Sum(l => Math.Max(0, l.Parameters)) + (Shortcut?.Parameters ?? 0));
}

/// <summary>
/// How a residual block's input joins its layers' output: <see cref="ShortcutKind.Identity"/>, or a projection from
/// <see cref="InSize"/> to <see cref="OutSize"/> channels (features) with <see cref="Stride"/>.
/// </summary>
internal sealed record Shortcut(ShortcutKind Kind, int InSize, int OutSize, int Stride, long Parameters);

internal enum ShortcutKind
{
    Identity,
    Conv1d,
    Conv2d,
    Linear,
}

/// <summary>
/// What a block reads by name: an input (<see cref="Index"/> into the model's inputs) or a block of its group
/// (<see cref="Index"/> among hard sharing's trunk blocks, or among the shared bottom's blocks for a bottom block and
/// for the first trunk block of another architecture); several are concatenated.
/// </summary>
internal sealed record BlockSource(bool Input, int Index);

/// <summary>An input as the runtime checks it: for ids, the smallest vocabulary of the embeddings that read it, and which one that is.</summary>
internal sealed record ShapedInput(InputSpec Spec, int Vocabulary, string ReadBy);

/// <summary>A model whose every block has been inferred without error: what the emitter writes.</summary>
internal sealed record ShapedModel(ModelSpec Spec, EquatableArray<ShapedBlock> Blocks, long ParameterCount, ShapedArchitecture Architecture,
    EquatableArray<ShapedInput> Inputs = default)
{
    /// <summary>
    /// In hard sharing, the trunk blocks (indices among the trunk blocks) the forward pass runs: those a head reads and
    /// those they read, back to the inputs (MTL028 warns of any other).
    /// </summary>
    public HashSet<int> RunTrunkBlocks()
    {
        var trunk = Blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).ToList();
        return Reached(trunk, Architecture.Reads.Select(r => trunk.FindIndex(b => MultiTaskModelGenerator.StateName(b.Spec.Name) == r.Source)));
    }

    /// <summary>
    /// The blocks of a group that reads by name (indices among <paramref name="group"/>) that run: the
    /// <paramref name="read"/> ones and those they read, back to the inputs.
    /// </summary>
    public static HashSet<int> Reached(IReadOnlyList<ShapedBlock> group, IEnumerable<int> read)
    {
        var run = new HashSet<int>(read);
        for (int b = group.Count - 1; b >= 0; b--)
            if (run.Contains(b))
                foreach (BlockSource source in group[b].Sources.Where(s => !s.Input)) run.Add(source.Index);
        return run;
    }
}

/// <summary>What a task's head reads: a trunk block's state-dict name (hard sharing) or the task's own representation, and its shape.</summary>
internal sealed record TaskRead(string Source, EquatableArray<int> Shape);

/// <summary>An MTAN stage: the channels of its intermediate features and output, and the pooling that takes the previous stage's attended features to its size (1: none).</summary>
internal sealed record AttentionStage(int IntermediateChannels, int OutputChannels, int Pool);

/// <summary>One summary row of a module the architecture adds (a gate, a cross-stitch unit, an attention mask's layer).</summary>
internal sealed record PartRow(string Module, int Index, string Layer, EquatableArray<int> Shape, long Parameters);

/// <summary>
/// The architecture as inferred: what each head reads, how many copies of every trunk block the model holds, the
/// gates' input sizes (MMoE and CGC: one; PLE: one per level), MTAN's stages, and the rows and parameters of the
/// modules the architecture adds.
/// </summary>
internal sealed record ShapedArchitecture(
    EquatableArray<TaskRead> Reads,
    int Copies,
    EquatableArray<long> GateInputs,
    EquatableArray<AttentionStage> Stages,
    EquatableArray<PartRow> Parts,
    long Parameters);
