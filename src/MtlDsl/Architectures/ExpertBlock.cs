using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Architectures;

/// <summary>
/// One trunk block of an expert architecture (MMoE, CGC, PLE): copies of the declared block, as shared experts
/// (state-dict names <c>{block}.shared.{e}.…</c>) and as every task's own experts (<c>{block}.tasks.{task}.{e}.…</c>).
/// In PLE, where every trunk block is one level, it also holds the level's gates (<c>{block}.gates.{task}</c> and
/// <c>{block}.shared_gate</c>).
/// </summary>
public sealed class ExpertBlock : nn.Module
{
#pragma warning disable IDE0044, IDE1006 // registered by reflection under these names
    private readonly ModuleList<Sequential> shared;
    private readonly TaskModules<ModuleList<Sequential>> tasks;
    private readonly TaskModules<Sequential>? gates;
    private readonly Sequential? shared_gate;
#pragma warning restore IDE0044, IDE1006
    private readonly Sequential[] _shared;
    private readonly Sequential[][] _tasks;

    /// <summary>Creates the block's experts, each a fresh copy of the declared block, with the same number of own experts for every task.</summary>
    /// <param name="name">The block's name.</param>
    /// <param name="sharedExperts">The number of experts every task shares.</param>
    /// <param name="taskNames">The tasks' state-dict names, in declaration order.</param>
    /// <param name="taskExperts">The number of each task's own experts.</param>
    /// <param name="expert">Builds one copy of the declared block.</param>
    /// <param name="gateInputs">PLE: the size of this level's flattened input, for its gates; null where the model holds the gates.</param>
    /// <param name="sharedGate">PLE: whether this level has a shared gate (every level but the last).</param>
    public ExpertBlock(string name, int sharedExperts, IReadOnlyList<string> taskNames, int taskExperts, Func<Sequential> expert,
        long? gateInputs = null, bool sharedGate = false)
        : this(name, sharedExperts, taskNames, Enumerable.Repeat(taskExperts, (taskNames ?? throw new ArgumentNullException(nameof(taskNames))).Count).ToArray(),
            expert, gateInputs, sharedGate)
    {
    }

    /// <summary>Creates the block's experts, each a fresh copy of the declared block, with a number of own experts per task.</summary>
    /// <param name="name">The block's name.</param>
    /// <param name="sharedExperts">The number of experts every task shares.</param>
    /// <param name="taskNames">The tasks' state-dict names, in declaration order.</param>
    /// <param name="taskExperts">Every task's number of own experts, in the order of <paramref name="taskNames"/>.</param>
    /// <param name="expert">Builds one copy of the declared block.</param>
    /// <param name="gateInputs">PLE: the size of this level's flattened input, for its gates; null where the model holds the gates.</param>
    /// <param name="sharedGate">PLE: whether this level has a shared gate (every level but the last).</param>
    public ExpertBlock(string name, int sharedExperts, IReadOnlyList<string> taskNames, IReadOnlyList<int> taskExperts, Func<Sequential> expert,
        long? gateInputs = null, bool sharedGate = false) : base(name)
    {
        ArgumentNullException.ThrowIfNull(taskNames);
        ArgumentNullException.ThrowIfNull(taskExperts);
        ArgumentNullException.ThrowIfNull(expert);
        if (taskExperts.Count != taskNames.Count)
            throw new ArgumentException($"{name}: {taskExperts.Count} counts of task experts for {taskNames.Count} tasks.", nameof(taskExperts));
        if (sharedExperts < 0 || taskExperts.Any(c => c < 0) || sharedExperts + taskExperts.Sum() < 1)
            throw new ArgumentOutOfRangeException(nameof(sharedExperts), $"{name}: an expert block needs at least one expert and no negative count (shared {sharedExperts}, per task [{string.Join(", ", taskExperts)}]).");
        shared = new ModuleList<Sequential>(Enumerable.Range(0, sharedExperts).Select(_ => expert()).ToArray());
        _shared = [.. shared];
        _tasks = new Sequential[taskNames.Count][];
        tasks = new TaskModules<ModuleList<Sequential>>(taskNames, t =>
        {
            _tasks[t] = Enumerable.Range(0, taskExperts[t]).Select(_ => expert()).ToArray();
            return new ModuleList<Sequential>(_tasks[t]);
        });
        TaskCount = taskNames.Count;
        SharedExperts = sharedExperts;
        TaskExperts = [.. taskExperts];
        if (gateInputs is long inputs)
        {
            gates = Mixture.Gates(taskNames, inputs, taskExperts.Select(c => sharedExperts + c).ToArray());
            if (sharedGate) shared_gate = Mixture.Gate(inputs, sharedExperts + taskExperts.Sum());
        }
        RegisterComponents();
    }

    /// <summary>The number of tasks.</summary>
    public int TaskCount { get; }

    /// <summary>The number of shared experts.</summary>
    public int SharedExperts { get; }

    /// <summary>Every task's number of own experts (declaration order of the tasks).</summary>
    public IReadOnlyList<int> TaskExperts { get; }

    /// <summary>The shared experts' copies of the block.</summary>
    public IReadOnlyList<Sequential> Shared => _shared;

    /// <summary>Task <paramref name="task"/>'s own experts' copies of the block (declaration order of the tasks).</summary>
    public IReadOnlyList<Sequential> OfTask(int task) => _tasks[task];

    /// <summary>The first copy of the block: the first shared expert's, else the first task expert's (tasks in declaration order).</summary>
    public Sequential First => SharedExperts > 0 ? _shared[0] : _tasks.First(t => t.Length > 0)[0];

    /// <summary>PLE: task <paramref name="task"/>'s gate of this level.</summary>
    public Sequential Gate(int task) => gates?[task] ?? throw new InvalidOperationException($"{GetName()} has no gates of its own.");

    /// <summary>PLE: this level's shared gate, or null on the last level.</summary>
    public Sequential? SharedGate => shared_gate;
}
