using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Architectures;

/// <summary>The mixtures of experts of MMoE, CGC and PLE: experts run side by side, and gates that weight them.</summary>
public static class Mixture
{
    /// <summary>Every task's gate over <paramref name="experts"/> experts, from <paramref name="inputs"/> features (<c>gates.{task}</c>).</summary>
    public static TaskModules<Sequential> Gates(IReadOnlyList<string> taskNames, long inputs, int experts) => new(taskNames, _ => Gate(inputs, experts));

    /// <summary>Every task's gate, task k's over <paramref name="experts"/>[k] experts, from <paramref name="inputs"/> features (<c>gates.{task}</c>).</summary>
    public static TaskModules<Sequential> Gates(IReadOnlyList<string> taskNames, long inputs, IReadOnlyList<int> experts)
    {
        ArgumentNullException.ThrowIfNull(taskNames);
        ArgumentNullException.ThrowIfNull(experts);
        if (experts.Count != taskNames.Count) throw new ArgumentException($"{experts.Count} gate sizes for {taskNames.Count} tasks.", nameof(experts));
        return new(taskNames, t => Gate(inputs, experts[t]));
    }

    /// <summary>A gate over <paramref name="experts"/> experts: <c>Linear(inputs → experts)</c> and a softmax, on the flattened input (LibMTL's form).</summary>
    public static Sequential Gate(long inputs, int experts) => nn.Sequential(nn.Linear(inputs, experts), nn.Softmax(-1));

    /// <summary>
    /// Runs a chain of blocks expert by expert: copy e of every block, in order, on <paramref name="input"/>; returns
    /// the experts' outputs stacked, <c>[experts, N, …]</c>. <paramref name="task"/> null: the shared experts; else
    /// that task's own.
    /// </summary>
    public static Tensor RunExperts(IReadOnlyList<ExpertBlock> chain, Tensor input, int? task = null)
    {
        ArgumentNullException.ThrowIfNull(chain);
        int count = task is int k ? chain[0].TaskExperts[k] : chain[0].SharedExperts;
        var outputs = new Tensor[count];
        for (int e = 0; e < count; e++)
        {
            Tensor x = input;
            foreach (ExpertBlock block in chain)
                x = (task is int t ? block.OfTask(t) : block.Shared)[e].forward(x);
            outputs[e] = x;
        }
        return stack(outputs);
    }

    // Task t's own experts' outputs stacked, or null for a task without experts of its own.
    private static Tensor? RunOwnExperts(IReadOnlyList<ExpertBlock> chain, Tensor input, int task) =>
        chain[0].TaskExperts[task] == 0 ? null : RunExperts(chain, input, task);

    // What a task's gate mixes: the shared experts, then the task's own (the order of the gate's outputs).
    private static Tensor SharedAndOwn(Tensor shared, Tensor? own) => own is null ? shared : cat([shared, own], 0);

    /// <summary>
    /// The gate's mixture: <c>Σ_e softmax(gate(flatten(input)))[n, e] · experts[e, n, …]</c>, with
    /// <paramref name="experts"/> of shape <c>[experts, N, …]</c>.
    /// </summary>
    public static Tensor Mix(Sequential gate, Tensor input, Tensor experts)
    {
        ArgumentNullException.ThrowIfNull(gate);
        using var scope = NewDisposeScope();
        Tensor selector = gate.forward(input.dim() == 2 ? input : input.flatten(1)); // [N, E]
        long[] shape = [.. selector.shape.Reverse(), .. Enumerable.Repeat(1L, (int)experts.dim() - 2)];
        return (experts * selector.t().reshape(shape)).sum(dim: 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MMoE and CGC: the trunk's blocks (<paramref name="chain"/>) run expert by expert on the input; every task's
    /// gate (<paramref name="gates"/>, declaration order) mixes the shared experts and the task's own, from the
    /// flattened input. Returns every task's mixture.
    /// </summary>
    public static Tensor[] Forward(IReadOnlyList<ExpertBlock> chain, TaskModules<Sequential> gates, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(gates);
        Tensor shared = RunExperts(chain, input);
        var mixtures = new Tensor[chain[0].TaskCount];
        for (int t = 0; t < mixtures.Length; t++)
        {
            mixtures[t] = Mix(gates[t], input, SharedAndOwn(shared, RunOwnExperts(chain, input, t)));
        }
        return mixtures;
    }

    /// <summary>
    /// One-gate MoE (the MMoE paper's OMoE): one gate, on the flattened input, mixes the experts into the one
    /// representation every task reads (the same tensor for each of <paramref name="chain"/>'s tasks).
    /// </summary>
    public static Tensor[] ForwardOneGate(IReadOnlyList<ExpertBlock> chain, Sequential gate, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(chain);
        Tensor mixture = Mix(gate, input, RunExperts(chain, input));
        return Enumerable.Repeat(mixture, chain[0].TaskCount).ToArray();
    }

    /// <summary>
    /// PLE: every block of <paramref name="levels"/> is one level. At each level the shared experts read the shared
    /// stream and each task's experts the task's stream; each task's gate mixes the shared experts and the task's own
    /// into the task's next stream, and the level's shared gate (every level but the last) mixes all of the level's
    /// experts into the next shared stream. Every stream starts as the input. Returns every task's last mixture.
    /// </summary>
    public static Tensor[] ForwardLevels(IReadOnlyList<ExpertBlock> levels, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(levels);
        int tasks = levels[0].TaskCount;
        Tensor shared = input;
        Tensor[] own = Enumerable.Repeat(input, tasks).ToArray();
        foreach (ExpertBlock level in levels)
        {
            Tensor sharedExperts = RunExperts([level], shared);
            Tensor?[] taskExperts = own.Select((x, t) => RunOwnExperts([level], x, t)).ToArray();
            Tensor[] next = new Tensor[tasks];
            for (int t = 0; t < tasks; t++)
                next[t] = Mix(level.Gate(t), own[t], SharedAndOwn(sharedExperts, taskExperts[t]));
            if (level.SharedGate is { } gate)
                shared = Mix(gate, shared, cat([sharedExperts, .. taskExperts.OfType<Tensor>()], 0));
            own = next;
        }
        return own;
    }
}
