namespace MtlDsl;

/// <summary>
/// The declared network as data, written by the generator from the compile-time layer list: every block's layers
/// with their inferred shapes and PyTorch's arguments (<see cref="PlanLayer"/>), what each block reads, and the
/// architecture's sizes. The one description the exporters build the same network from elsewhere without looking at
/// the TorchSharp modules: the PyTorch twin (<c>model.PyTorchTwin</c>) and MtlDsl.Onnx's
/// <c>model.ExportOnnx(path)</c>; the state-dict names are the module's.
/// </summary>
/// <param name="Model">The model's name.</param>
/// <param name="Architecture">The declared architecture.</param>
/// <param name="Inputs">The inputs in declaration order.</param>
/// <param name="Trunk">The trunk blocks in declaration order (in MMoE, CGC and PLE each is copied into experts; in Cross-stitch into one column per task; in MTAN each is a stage).</param>
/// <param name="Heads">The task heads in task order.</param>
/// <param name="Shape">The architecture's sizes (experts, gates, MTAN's stages, what each head reads).</param>
public sealed record NetworkPlan(
    string Model,
    ModelArchitecture Architecture,
    IReadOnlyList<InputDefinition> Inputs,
    IReadOnlyList<PlanBlock> Trunk,
    IReadOnlyList<PlanBlock> Heads,
    PlanArchitecture Shape)
{
    /// <summary>
    /// The shared bottom (<c>[Trunk(Bottom = true)]</c>) of an architecture other than hard sharing: blocks that run
    /// once, before the architecture, each reading what its <see cref="PlanBlock.Sources"/> name (inputs, and bottom
    /// blocks by their index in this list). Empty without one.
    /// </summary>
    public IReadOnlyList<PlanBlock> Bottom { get; init; } = [];

    /// <summary>
    /// What trunk block <paramref name="block"/> reads in hard sharing: its declared sources (several are concatenated
    /// along the first per-sample dimension), or, in a plan that lists none for it, hard sharing's default: the block
    /// before it (the first block: the first input).
    /// </summary>
    public IReadOnlyList<PlanSource> SourcesOf(int block) => SourcesOf(Trunk, block);

    /// <summary>
    /// What block <paramref name="block"/> of a group that reads by name (hard sharing's trunk, the shared bottom)
    /// reads: its sources, or the block before it, or the first input.
    /// </summary>
    public static IReadOnlyList<PlanSource> SourcesOf(IReadOnlyList<PlanBlock> blocks, int block)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        return blocks[block].Sources.Count > 0 ? blocks[block].Sources : [block == 0 ? new PlanSource(true, 0) : new PlanSource(false, block - 1)];
    }

    /// <summary>
    /// In an architecture other than hard sharing, what it reads (its first trunk block and its gates), concatenated
    /// along the first per-sample dimension when several: inputs and blocks of <see cref="Bottom"/>; the first input
    /// when the first trunk block lists nothing.
    /// </summary>
    public IReadOnlyList<PlanSource> ArchitectureSources =>
        Trunk.Count > 0 && Trunk[0].Sources.Count > 0 ? Trunk[0].Sources : [new PlanSource(true, 0)];

    /// <summary>
    /// In hard sharing, the trunk blocks that run: those a head reads (<see cref="PlanArchitecture.HeadReads"/>),
    /// directly or through the blocks they read. A block no head reads never runs (MTL028 warns of it).
    /// </summary>
    public IReadOnlySet<int> TrunkBlocksRun() => Reached(Trunk, Shape.HeadReads.Where(b => b >= 0));

    /// <summary>The blocks of <see cref="Bottom"/> that run: those the architecture reads, directly or through the blocks they read (MTL028 warns of any other).</summary>
    public IReadOnlySet<int> BottomBlocksRun() => Reached(Bottom, ArchitectureSources.Where(s => !s.Input).Select(s => s.Index));

    // The blocks of a group that reads by name that run: those read and, back to the inputs, what they read.
    private static HashSet<int> Reached(IReadOnlyList<PlanBlock> blocks, IEnumerable<int> read)
    {
        var run = new HashSet<int>(read);
        for (int b = blocks.Count - 1; b >= 0; b--)
            if (run.Contains(b))
                foreach (PlanSource source in SourcesOf(blocks, b).Where(s => !s.Input)) run.Add(source.Index);
        return run;
    }

    /// <summary>
    /// Where task <paramref name="task"/>'s head has its transfer point (<see cref="TransferUnit"/>, a layer of kind
    /// <c>Transfer</c>; at most one a head): the layer's index, and the task whose point it reads (by index; the
    /// generator allows only a task declared before it); null for a head without one.
    /// </summary>
    public TaskTransfer? TransferOf(int task)
    {
        IReadOnlyList<PlanLayer> layers = Heads[task].Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].Kind != "Transfer") continue;
            if (layers[i].Value("source") is not string source) return new TaskTransfer(i, null);
            int index = Heads.Select(h => h.Name).ToList().IndexOf(source);
            return index >= 0 && index < task ? new TaskTransfer(i, index)
                : throw new InvalidOperationException($"{Model}: the transfer point of '{Heads[task].Name}' reads '{source}', which is not a task declared before it.");
        }
        return null;
    }

    /// <summary>The first layer no exporter can write (a module of your own), with its block, or null.</summary>
    public (PlanBlock Block, int Index, PlanLayer Layer)? FirstOwnModule =>
        Bottom.Concat(Trunk).Concat(Heads).SelectMany(b => b.Layers.Select((l, i) => (Block: b, Index: i, Layer: l))).Where(x => x.Layer.Kind == "Module")
            .Select(x => ((PlanBlock, int, PlanLayer)?)(x.Block, x.Index, x.Layer)).FirstOrDefault();
}

/// <summary>
/// A trunk block or task head: its declared name, its state-dict name, its layers, what it reads (trunk blocks in
/// hard sharing; several are concatenated along the first per-sample dimension) and, for a [Residual] block, its
/// shortcut.
/// </summary>
public sealed record PlanBlock(string Name, string StateName, IReadOnlyList<PlanLayer> Layers, IReadOnlyList<PlanSource> Sources,
    PlanShortcut? Shortcut = null, bool ReLUAfterSum = false);

/// <summary>
/// What a block reads: input <paramref name="Index"/> of the model, or block <paramref name="Index"/> of its group (hard
/// sharing's trunk; the shared bottom, <see cref="NetworkPlan.Bottom"/>, for a bottom block and for the first trunk block
/// of another architecture).
/// </summary>
public sealed record PlanSource(bool Input, int Index);

/// <summary>How a residual block's input joins its output.</summary>
public enum PlanShortcutKind
{
    /// <summary>Added as it is.</summary>
    Identity,

    /// <summary>Projected by a 1-wide Conv1d without bias and a BatchNorm1d (children <c>shortcut.0</c>, <c>shortcut.1</c>).</summary>
    Conv1d,

    /// <summary>Projected by a 1×1 Conv2d without bias and a BatchNorm2d (children <c>shortcut.0</c>, <c>shortcut.1</c>).</summary>
    Conv2d,

    /// <summary>Projected by a Linear layer (child <c>shortcut</c>).</summary>
    Linear,
}

/// <summary>A residual block's shortcut: its kind, the channels (features) in and out, and its stride.</summary>
public sealed record PlanShortcut(PlanShortcutKind Kind, int InSize, int OutSize, int Stride);

/// <summary>
/// The architecture's sizes: experts per level (MMoE, CGC, PLE), whether MMoE has one gate, the gates' input sizes
/// (one per level in PLE), MTAN's stages, and in hard sharing the trunk block each head reads. Task experts: every
/// task has <see cref="TaskExperts"/> of its own, unless <see cref="TaskExpertsPerTask"/> gives one count per task
/// (then <see cref="TaskExperts"/> is 0); <see cref="TaskExpertsOf"/> reads either.
/// </summary>
public sealed record PlanArchitecture(int SharedExperts, int TaskExperts, bool OneGate, IReadOnlyList<long> GateInputs,
    IReadOnlyList<PlanAttentionStage> Stages, IReadOnlyList<int> HeadReads, IReadOnlyList<int>? TaskExpertsPerTask = null)
{
    /// <summary>The number of task <paramref name="task"/>'s own experts (declaration order of the tasks).</summary>
    public int TaskExpertsOf(int task) => TaskExpertsPerTask is { } counts ? counts[task] : TaskExperts;
}

/// <summary>An MTAN stage: the channels of its intermediate features and output, and the pooling of the previous stage's attended features (1: none).</summary>
public sealed record PlanAttentionStage(int IntermediateChannels, int OutputChannels, int Pool);

