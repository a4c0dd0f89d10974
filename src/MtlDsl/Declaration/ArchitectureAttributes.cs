namespace MtlDsl;

// The architecture attributes go on the [MultiTaskModel] class, at most one of them; without one the model is hard
// parameter sharing. The trunk blocks are declared the same way in every architecture: switching is one line.
// docs/architectures.md gives each one's forward pass, state-dict names and shared parameters.

/// <summary>
/// Multi-gate mixture of experts (MMoE, Ma et al., KDD 2018): <c>experts</c> copies of the trunk (its blocks chained)
/// read the input side by side; each task has a gate, <c>Linear(input size → experts)</c> and a softmax on the
/// flattened input, and its head reads the gate's mixture Σ_e gate_e · expert_e.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MMoEAttribute(int experts) : Attribute
{
    /// <summary>The number of experts, each a copy of the trunk.</summary>
    public int Experts { get; } = experts;

    /// <summary>
    /// One gate shared by every task instead of one per task: the one-gate mixture of experts (OMoE) the MMoE paper
    /// compares with. Every head then reads the same mixture. Default false.
    /// </summary>
    public bool OneGate { get; set; }
}

/// <summary>
/// Customized gate control (CGC, Tang et al., RecSys 2020; PLE's single level): <c>sharedExperts</c> copies of the
/// trunk every task reads, and copies of its own per task; each task's gate spans its own and the shared experts.
/// <c>[CGC(2, 1)]</c> gives every task one expert of its own; <c>[CGC(2, 1, 2)]</c> gives the first task one and the
/// second two (one count per task, in declaration order: the arguments are LibMTL's <c>num_experts</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CGCAttribute : Attribute
{
    /// <summary>The same number of experts of its own for every task.</summary>
    /// <param name="sharedExperts">The number of experts every task shares.</param>
    /// <param name="taskExperts">The number of each task's own experts.</param>
    public CGCAttribute(int sharedExperts, int taskExperts)
    {
        SharedExperts = sharedExperts;
        TaskExperts = taskExperts;
    }

    /// <summary>A number of experts of its own per task: <c>[CGC(2, 1, 2)]</c>, or <c>[CGC(2, new[] { 1, 2 })]</c>.</summary>
    /// <param name="sharedExperts">The number of experts every task shares.</param>
    /// <param name="taskExpertsPerTask">Every task's number of own experts, one per task in declaration order, each zero or more.</param>
    public CGCAttribute(int sharedExperts, params int[] taskExpertsPerTask)
    {
        SharedExperts = sharedExperts;
        TaskExpertsPerTask = taskExpertsPerTask;
    }

    /// <summary>The number of experts every task shares.</summary>
    public int SharedExperts { get; }

    /// <summary>The number of each task's own experts, when every task has the same number (else 0: see <see cref="TaskExpertsPerTask"/>).</summary>
    public int TaskExperts { get; }

    /// <summary>Every task's number of own experts, in task declaration order; null when every task has <see cref="TaskExperts"/>.</summary>
    public int[]? TaskExpertsPerTask { get; }
}

/// <summary>
/// Progressive layered extraction (PLE, Tang et al., RecSys 2020): every trunk block is one level of shared and
/// task experts (copies of that block). Each task's gate mixes its own and the shared experts of a level into the
/// task's input to the next level; a shared gate over all the level's experts gives the shared experts' input to
/// the next level (every level but the last), as the paper does. <c>[PLE(2, 1)]</c> gives every task one expert of
/// its own per level; <c>[PLE(2, 0, 1)]</c> gives the first task none and the second one (one count per task, in
/// declaration order).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PLEAttribute : Attribute
{
    /// <summary>The same number of experts of its own per level for every task.</summary>
    /// <param name="sharedExperts">The number of shared experts per level.</param>
    /// <param name="taskExperts">The number of each task's own experts per level.</param>
    public PLEAttribute(int sharedExperts, int taskExperts)
    {
        SharedExperts = sharedExperts;
        TaskExperts = taskExperts;
    }

    /// <summary>A number of experts of its own per level for each task: <c>[PLE(2, 0, 1)]</c>, or <c>[PLE(2, new[] { 0, 1 })]</c>.</summary>
    /// <param name="sharedExperts">The number of shared experts per level.</param>
    /// <param name="taskExpertsPerTask">Every task's number of own experts per level, one per task in declaration order, each zero or more.</param>
    public PLEAttribute(int sharedExperts, params int[] taskExpertsPerTask)
    {
        SharedExperts = sharedExperts;
        TaskExpertsPerTask = taskExpertsPerTask;
    }

    /// <summary>The number of shared experts per level.</summary>
    public int SharedExperts { get; }

    /// <summary>The number of each task's own experts per level, when every task has the same number (else 0: see <see cref="TaskExpertsPerTask"/>).</summary>
    public int TaskExperts { get; }

    /// <summary>Every task's number of own experts per level, in task declaration order; null when every task has <see cref="TaskExperts"/>.</summary>
    public int[]? TaskExpertsPerTask { get; }
}

/// <summary>
/// Cross-stitch networks (Misra et al., CVPR 2016): one column per task, each a copy of the trunk's blocks (the
/// stages); after every stage but the last a learnable T×T unit mixes the columns. Each head reads its column.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CrossStitchAttribute : Attribute
{
}

/// <summary>
/// Multi-task attention network (MTAN, Liu et al., CVPR 2019): the trunk's blocks are the stages of one shared
/// network of images <c>[channels, height, width]</c>; per task and stage an attention mask reads the stage's
/// intermediate features (the output of all its layers but the last) and multiplies into the stage's output. Each
/// head reads its task's attended features of the last stage.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MTANAttribute : Attribute
{
}
