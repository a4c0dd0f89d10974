using System.Diagnostics;
using MtlDsl.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MtlDsl.Benchmarks;

/// <summary>
/// A recommendation-sized MMoE over a shared bottom: 13 dense features, a user id and an item id through embeddings
/// (100,000 and 50,000 ids, 16 each), a bag of 5 tag ids through a mean embedding bag (5,000 ids, 0 for "no tag"),
/// concatenated ([61]) into 8 experts of two layers; a click and a conversion tower (both binary).
/// </summary>
[MultiTaskModel]
[Input("Dense", 13)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", BottomBenchmark.TagsPerSample, Kind = InputKind.Ids)]
[MMoE(8)]
public partial class BenchmarkBottomMMoE
{
    [Trunk(Bottom = true, Reads = "User")]
    [Embedding(BottomBenchmark.Users, BottomBenchmark.Dimension)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Item")]
    [Embedding(BottomBenchmark.Items, BottomBenchmark.Dimension)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Tags")]
    [EmbeddingBag(BottomBenchmark.Tags, BottomBenchmark.Dimension, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(128), ReLU, Linear(64), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }
}

/// <summary>
/// The same bottom under PLE: two levels, each of 2 shared experts and 1 per task, every expert the MMoE's
/// Linear 128–ReLU–Linear 64–ReLU (the first level reads the concatenation [61], the second the streams [64]).
/// </summary>
[MultiTaskModel]
[Input("Dense", 13)]
[Input("User", Kind = InputKind.Ids)]
[Input("Item", Kind = InputKind.Ids)]
[Input("Tags", BottomBenchmark.TagsPerSample, Kind = InputKind.Ids)]
[PLE(2, 1)]
public partial class BenchmarkBottomPLE
{
    [Trunk(Bottom = true, Reads = "User")]
    [Embedding(BottomBenchmark.Users, BottomBenchmark.Dimension)]
    public partial Sequential UserEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Item")]
    [Embedding(BottomBenchmark.Items, BottomBenchmark.Dimension)]
    public partial Sequential ItemEmbedding { get; }

    [Trunk(Bottom = true, Reads = "Tags")]
    [EmbeddingBag(BottomBenchmark.Tags, BottomBenchmark.Dimension, PaddingIndex = 0)]
    public partial Sequential TagBag { get; }

    [Trunk, Concat("Dense", nameof(UserEmbedding), nameof(ItemEmbedding), nameof(TagBag))]
    [Linear(128), ReLU, Linear(64), ReLU]
    public partial Sequential Level1 { get; }

    [Trunk]
    [Linear(128), ReLU, Linear(64), ReLU]
    public partial Sequential Level2 { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Conversion { get; }
}

/// <summary>One batch: the four inputs and the two labels.</summary>
internal sealed record BottomBatch(Tensor Dense, Tensor User, Tensor Item, Tensor Tags, Tensor Click, Tensor Conversion);

/// <summary>
/// The MMoE and the PLE over the shared bottom written by hand in plain TorchSharp, as a careful user would without
/// MtlDsl: TorchSharp's Embedding for the ids, its EmbeddingBag (mean, padding 0 left out of the mean) for the tags,
/// one concatenation, then per level the shared experts and each task's own stacked, a softmax gate per task on
/// what the task's experts read, a shared gate between levels (PLE), the towers, and the joint loss BCE + BCE.
/// One level without task experts is the MMoE.
/// </summary>
public sealed class HandWrittenBottom : Module<Tensor, Tensor, Tensor, Tensor, (Tensor Click, Tensor Conversion)>
{
    private const int TaskCount = 2;
    private static readonly string[] s_tasks = ["click", "conversion"];

    private readonly Embedding user, item;
    private readonly nn.Module tags;
    private readonly Func<Tensor, Tensor> _bag;
    private readonly ModuleList<Level> levels;
    private readonly Sequential click, conversion;
    private readonly Level[] _levels;

    /// <summary>One level: its shared experts, each task's own, each task's gate, and the shared gate (all but the last level).</summary>
    private sealed class Level : Module
    {
#pragma warning disable IDE0044, IDE1006 // registered by reflection under these names
        public readonly ModuleList<Sequential> shared;
        public readonly ModuleList<ModuleList<Sequential>> tasks;
        public readonly ModuleList<Sequential> gates;
        public readonly Sequential? shared_gate;
#pragma warning restore IDE0044, IDE1006

        public Level(long inputs, int sharedExperts, int taskExperts, bool sharedGate) : base(nameof(Level))
        {
            Sequential Expert() => Sequential(Linear(inputs, 128), ReLU(), Linear(128, 64), ReLU());
            Sequential Gate(int experts) => Sequential(Linear(inputs, experts), Softmax(-1));
            shared = new ModuleList<Sequential>(Enumerable.Range(0, sharedExperts).Select(_ => Expert()).ToArray());
            tasks = new ModuleList<ModuleList<Sequential>>(Enumerable.Range(0, TaskCount)
                .Select(_ => new ModuleList<Sequential>(Enumerable.Range(0, taskExperts).Select(_ => Expert()).ToArray())).ToArray());
            gates = new ModuleList<Sequential>(Enumerable.Range(0, TaskCount).Select(_ => Gate(sharedExperts + taskExperts)).ToArray());
            shared_gate = sharedGate ? Gate(sharedExperts + TaskCount * taskExperts) : null;
            RegisterComponents();
        }
    }

    /// <summary>
    /// Creates the network: <paramref name="levels"/> levels of <paramref name="sharedExperts"/> shared and
    /// <paramref name="taskExperts"/> per-task experts. <paramref name="pooledBag"/>: the tags through MtlDsl's
    /// <see cref="PooledEmbedding"/> (what the generated model uses) instead of TorchSharp's EmbeddingBag, to tell
    /// the bag's share of a difference (<c>--parts</c>).
    /// </summary>
    public HandWrittenBottom(int levels, int sharedExperts, int taskExperts, bool pooledBag = false) : base(nameof(HandWrittenBottom))
    {
        user = Embedding(BottomBenchmark.Users, BottomBenchmark.Dimension);
        item = Embedding(BottomBenchmark.Items, BottomBenchmark.Dimension);
        if (pooledBag)
        {
            var bag = new PooledEmbedding(BottomBenchmark.Tags, BottomBenchmark.Dimension, BagMode.Mean, paddingIndex: 0);
            (tags, _bag) = (bag, bag.forward);
        }
        else
        {
            var bag = EmbeddingBag(BottomBenchmark.Tags, BottomBenchmark.Dimension, mode: EmbeddingBagMode.Mean, padding_index: 0);
            (tags, _bag) = (bag, ids => bag.forward(ids, null, null));
        }
        _levels = Enumerable.Range(0, levels)
            .Select(l => new Level(l == 0 ? 13 + 3 * BottomBenchmark.Dimension : 64, sharedExperts, taskExperts, sharedGate: l < levels - 1)).ToArray();
        this.levels = new ModuleList<Level>(_levels);
        click = Sequential(Linear(64, 32), ReLU(), Linear(32, 1));
        conversion = Sequential(Linear(64, 32), ReLU(), Linear(32, 1));
        RegisterComponents();
    }

    /// <summary>
    /// The generated model's parameters copied into this one's, by name: <paramref name="blocks"/> are the generated
    /// expert blocks, one per level (MMoE: "expert", whose gates are the model's <c>gates.{task}</c>; PLE: "level1",
    /// "level2", each holding its gates). Every parameter on either side must be copied exactly once.
    /// </summary>
    public void CopyFrom(nn.Module generated, IReadOnlyList<string> blocks)
    {
        var source = generated.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        bool gatesInBlock = blocks.Count > 1;
        string Rest(string[] parts, int from) => string.Join('.', parts[from..]);
        string Map(string name)
        {
            string[] p = name.Split('.');
            return p[0] switch
            {
                "user" => $"user_embedding.0.{Rest(p, 1)}",
                "item" => $"item_embedding.0.{Rest(p, 1)}",
                "tags" => $"tag_bag.0.{Rest(p, 1)}",
                "click" or "conversion" => name,
                "levels" => (blocks[int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)], p[2]) switch
                {
                    (var block, "shared") => $"{block}.shared.{Rest(p, 3)}",
                    (var block, "tasks") => $"{block}.tasks.{s_tasks[int.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture)]}.{Rest(p, 4)}",
                    (var block, "gates") => $"{(gatesInBlock ? block + "." : "")}gates.{s_tasks[int.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture)]}.{Rest(p, 4)}",
                    (var block, "shared_gate") => $"{block}.shared_gate.{Rest(p, 3)}",
                    _ => throw new InvalidOperationException($"No generated parameter for '{name}'."),
                },
                _ => throw new InvalidOperationException($"No generated parameter for '{name}'."),
            };
        }
        var copied = new HashSet<string>();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            string from = Map(name);
            if (!source.TryGetValue(from, out var tensor) || !copied.Add(from))
                throw new InvalidOperationException($"'{name}' maps to '{from}', which the generated model does not hold (or another parameter took).");
            if (!tensor.shape.SequenceEqual(parameter.shape))
                throw new InvalidOperationException($"'{name}' is [{string.Join(", ", parameter.shape)}], '{from}' [{string.Join(", ", tensor.shape)}].");
            parameter.copy_(tensor);
        }
        if (copied.Count != source.Count)
            throw new InvalidOperationException($"Not copied from the generated model: {string.Join(", ", source.Keys.Except(copied))}.");
    }

    // Σ_e softmax(gate(x))[n, e] · experts[e, n, :].
    private static Tensor Mix(Sequential gate, Tensor input, Tensor experts) =>
        (experts * gate.forward(input).t().unsqueeze(-1)).sum(dim: 0);

    private static Tensor Run(ModuleList<Sequential> experts, Tensor input) => stack(experts.Select(e => e.forward(input)).ToArray());

    public override (Tensor Click, Tensor Conversion) forward(Tensor dense, Tensor users, Tensor items, Tensor tagIds)
    {
        Tensor x = cat([dense, user.forward(users), item.forward(items), _bag(tagIds)], 1);
        Tensor shared = x;
        Tensor[] own = [x, x];
        foreach (Level level in _levels)
        {
            Tensor sharedExperts = Run(level.shared, shared);
            Tensor?[] taskExperts = own.Select((o, t) => level.tasks[t].Count == 0 ? null : Run(level.tasks[t], o)).ToArray();
            Tensor[] next = new Tensor[TaskCount];
            for (int t = 0; t < TaskCount; t++)
                next[t] = Mix(level.gates[t], own[t], taskExperts[t] is Tensor mine ? cat([sharedExperts, mine], 0) : sharedExperts);
            if (level.shared_gate is Sequential gate)
                shared = Mix(gate, shared, cat([sharedExperts, .. taskExperts.OfType<Tensor>()], 0));
            own = next;
        }
        return (click.forward(own[0]), conversion.forward(own[1]));
    }

    /// <summary>
    /// One training step: forward, BCE + BCE, the loss to the host, backward, the optimizer's step. With
    /// <paramref name="gradients"/> (<c>--parts</c>), the gradients live in one flat buffer zeroed at once and summed
    /// for a finiteness check before the optimizer's step, as MtlDsl's trainer keeps them.
    /// </summary>
    internal void Step(optim.Optimizer optimizer, BottomBatch batch, FlatGradients? gradients = null)
    {
        using var scope = NewDisposeScope();
        if (gradients is null) optimizer.zero_grad();
        else gradients.Zero();
        var (c, v) = forward(batch.Dense, batch.User, batch.Item, batch.Tags);
        Tensor total = functional.binary_cross_entropy_with_logits(c, batch.Click) + functional.binary_cross_entropy_with_logits(v, batch.Conversion);
        total.detach().cpu().item<float>();
        total.backward();
        if (gradients is not null && !gradients.SumIsFinite()) throw new InvalidOperationException("A gradient is not finite.");
        optimizer.step();
    }
}

/// <summary>
/// Every parameter's gradient as a slice of one flat tensor, zeroed with one operation and checked with one sum: what
/// MtlDsl's trainer does (its GradientBuffer), written here to measure that part alone (<c>--parts</c>).
/// </summary>
internal sealed class FlatGradients
{
    private readonly Parameter[] _parameters;
    private readonly Tensor _flat;
    private readonly Tensor[] _slices;

    public FlatGradients(IEnumerable<Parameter> parameters)
    {
        _parameters = [.. parameters];
        _flat = zeros(_parameters.Sum(p => p.numel()));
        long offset = 0;
        _slices = new Tensor[_parameters.Length];
        for (int i = 0; i < _parameters.Length; i++)
        {
            long n = _parameters[i].numel();
            _slices[i] = _flat.narrow(0, offset, n).view(_parameters[i].shape);
            offset += n;
        }
    }

    public void Zero()
    {
        _flat.zero_();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].grad = _slices[i];
    }

    /// <summary>As the trainer checks first that no gradient was replaced (each one's storage and offset), then sums them all.</summary>
    public bool SumIsFinite()
    {
        using var scope = NewDisposeScope();
        IntPtr address = _flat.storage<float>().data_ptr();
        long offset = 0;
        foreach (Parameter p in _parameters)
        {
            Tensor? grad = p.grad;
            if (grad is null || grad.storage_offset() != offset || grad.storage<float>().data_ptr() != address)
                throw new InvalidOperationException("A gradient left the flat buffer.");
            offset += p.numel();
        }
        return float.IsFinite(_flat.sum().item<float>());
    }
}

/// <summary>The generated MMoE and PLE over a shared bottom against the hand-written ones: step time side by side, interleaved rounds.</summary>
internal static class BottomBenchmark
{
    public const int Users = 100_000, Items = 50_000, Tags = 5_000, Dimension = 16, TagsPerSample = 5;

    public static void Run(int rounds, int stepsPerRound, int batch)
    {
        torch.manual_seed(0);
        BottomBatch[] batches = Enumerable.Range(0, 8).Select(_ => Batch(batch)).ToArray();
        Console.WriteLine($"MMoE and PLE over a shared bottom (13 dense features; user {Users:N0} and item {Items:N0} ids, embedded in {Dimension}; " +
                          $"a mean bag of {TagsPerSample} tags of {Tags:N0}, 0 = none), batch {batch}, Adam; {torch.get_num_threads()} thread(s)");
        Compare("MMoE (8 experts)", new BenchmarkBottomMMoE(), () => new HandWrittenBottom(levels: 1, sharedExperts: 8, taskExperts: 0), ["expert"], batches, rounds, stepsPerRound,
            m =>
            {
                var t = ((BenchmarkBottomMMoE)m).CreateTrainer(optim.Adam(m.parameters(), lr: 1e-3));
                return b => t.Step(new BenchmarkBottomMMoE.Inputs(b.Dense, b.User, b.Item, b.Tags), new BenchmarkBottomMMoE.Targets(b.Click, b.Conversion));
            },
            (m, b) =>
            {
                var o = ((BenchmarkBottomMMoE)m).forward(new BenchmarkBottomMMoE.Inputs(b.Dense, b.User, b.Item, b.Tags));
                return (o.Click, o.Conversion);
            });
        Compare("PLE (2 levels, 2 shared, 1 per task)", new BenchmarkBottomPLE(), () => new HandWrittenBottom(levels: 2, sharedExperts: 2, taskExperts: 1), ["level1", "level2"], batches, rounds, stepsPerRound,
            m =>
            {
                var t = ((BenchmarkBottomPLE)m).CreateTrainer(optim.Adam(m.parameters(), lr: 1e-3));
                return b => t.Step(new BenchmarkBottomPLE.Inputs(b.Dense, b.User, b.Item, b.Tags), new BenchmarkBottomPLE.Targets(b.Click, b.Conversion));
            },
            (m, b) =>
            {
                var o = ((BenchmarkBottomPLE)m).forward(new BenchmarkBottomPLE.Inputs(b.Dense, b.User, b.Item, b.Tags));
                return (o.Click, o.Conversion);
            });
    }

    /// <summary>
    /// Where a difference between the generated and the hand-written step comes from: besides both (and the second
    /// hand-written copy), the generated model stepped by hand without MtlDsl's trainer (the model's share: bottom,
    /// concatenation, mixture code, input checks in forward), the hand-written network with MtlDsl's bag (the bag's
    /// share), and the hand-written network with its gradients in one flat buffer, zeroed at once and summed for the
    /// finiteness check (the trainer's gradient buffer and guard).
    /// </summary>
    public static void RunParts(int rounds, int stepsPerRound, int batch)
    {
        torch.manual_seed(0);
        BottomBatch[] batches = Enumerable.Range(0, 8).Select(_ => Batch(batch)).ToArray();
        Console.WriteLine($"Parts of the step over a shared bottom, batch {batch}, Adam; {torch.get_num_threads()} thread(s)");
        Parts("MMoE (8 experts)", () => new BenchmarkBottomMMoE(), BenchmarkBottomMMoE.TaskDefinitions, l => new HandWrittenBottom(1, 8, 0, l), ["expert"], batches, rounds, stepsPerRound,
            m =>
            {
                var t = ((BenchmarkBottomMMoE)m).CreateTrainer(optim.Adam(m.parameters(), lr: 1e-3));
                return b => t.Step(new BenchmarkBottomMMoE.Inputs(b.Dense, b.User, b.Item, b.Tags), new BenchmarkBottomMMoE.Targets(b.Click, b.Conversion));
            },
            (m, b) =>
            {
                var o = ((BenchmarkBottomMMoE)m).forward(new BenchmarkBottomMMoE.Inputs(b.Dense, b.User, b.Item, b.Tags));
                return (o.Click, o.Conversion);
            });
        Parts("PLE (2 levels, 2 shared, 1 per task)", () => new BenchmarkBottomPLE(), BenchmarkBottomPLE.TaskDefinitions, l => new HandWrittenBottom(2, 2, 1, l), ["level1", "level2"], batches, rounds, stepsPerRound,
            m =>
            {
                var t = ((BenchmarkBottomPLE)m).CreateTrainer(optim.Adam(m.parameters(), lr: 1e-3));
                return b => t.Step(new BenchmarkBottomPLE.Inputs(b.Dense, b.User, b.Item, b.Tags), new BenchmarkBottomPLE.Targets(b.Click, b.Conversion));
            },
            (m, b) =>
            {
                var o = ((BenchmarkBottomPLE)m).forward(new BenchmarkBottomPLE.Inputs(b.Dense, b.User, b.Item, b.Tags));
                return (o.Click, o.Conversion);
            });
    }

    private static void Parts(string name, Func<nn.Module> generated, IReadOnlyList<TaskDefinition> tasks, Func<bool, HandWrittenBottom> handWritten, IReadOnlyList<string> blocks, BottomBatch[] batches,
        int rounds, int stepsPerRound, Func<nn.Module, Action<BottomBatch>> trainer, Func<nn.Module, BottomBatch, (Tensor Click, Tensor Conversion)> forward)
    {
        using nn.Module withTrainer = generated(), byHand = generated(), checkedByHand = generated(), rebuilt = generated();
        foreach (nn.Module m in new[] { byHand, checkedByHand, rebuilt }) m.load_state_dict(withTrainer.state_dict());
        using HandWrittenBottom first = handWritten(false), second = handWritten(false), pooled = handWritten(true), buffered = handWritten(false);
        foreach (HandWrittenBottom h in new[] { first, second, pooled, buffered }) h.CopyFrom(withTrainer, blocks);
        CheckEqual(name + ", MtlDsl's bag", withTrainer, pooled, batches[0], forward, "on the same weights");

        Action<BottomBatch> generatedStep = trainer(withTrainer);
        optim.Optimizer Adam(nn.Module m) => optim.Adam(m.parameters(), lr: 1e-3);
        optim.Optimizer firstOptimizer = Adam(first), secondOptimizer = Adam(second), pooledOptimizer = Adam(pooled), bufferedOptimizer = Adam(buffered), byHandOptimizer = Adam(byHand);
        var flat = new FlatGradients(buffered.parameters());
        void ByHand(BottomBatch b)
        {
            using var scope = NewDisposeScope();
            byHandOptimizer.zero_grad();
            var (c, v) = forward(byHand, b);
            Tensor total = functional.binary_cross_entropy_with_logits(c, b.Click) + functional.binary_cross_entropy_with_logits(v, b.Conversion);
            total.detach().cpu().item<float>();
            total.backward();
            byHandOptimizer.step();
        }

        // The generated model stepped by hand with the trainer's losses (each target checked, the losses to the host
        // in one copy, their weighted sum back-propagated), and, with the flat gradients and the guard too, the
        // trainer rebuilt from the parts it adds.
        optim.Optimizer checkedOptimizer = Adam(checkedByHand), rebuiltOptimizer = Adam(rebuilt);
        var rebuiltFlat = new FlatGradients(rebuilt.parameters());
        void WithCheckedLosses(nn.Module model, optim.Optimizer optimizer, FlatGradients? gradients, BottomBatch b)
        {
            using var scope = NewDisposeScope();
            if (gradients is null) optimizer.zero_grad();
            else gradients.Zero();
            var (c, v) = forward(model, b);
            Tensor[] losses = [TaskLosses.Compute(tasks[0], c, b.Click), TaskLosses.Compute(tasks[1], v, b.Conversion)];
            stack(losses).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
            JointLoss.WeightedSum(losses, [tasks[0].Weight, tasks[1].Weight]).backward();
            if (gradients is not null && !gradients.SumIsFinite()) throw new InvalidOperationException("A gradient is not finite.");
            optimizer.step();
        }

        int cursor = 0;
        string[] names = ["hand-written", "hand-written copy", "generated (trainer)", "generated model, step by hand", "hand-written, MtlDsl's bag", "hand-written, flat gradients + sum",
                          "generated model, checked losses", "the same + flat gradients + sum"];
        Action[] candidates =
        [
            () => first.Step(firstOptimizer, batches[cursor++ % batches.Length]),
            () => second.Step(secondOptimizer, batches[cursor++ % batches.Length]),
            () => generatedStep(batches[cursor++ % batches.Length]),
            () => ByHand(batches[cursor++ % batches.Length]),
            () => pooled.Step(pooledOptimizer, batches[cursor++ % batches.Length]),
            () => buffered.Step(bufferedOptimizer, batches[cursor++ % batches.Length], flat),
            () => WithCheckedLosses(checkedByHand, checkedOptimizer, null, batches[cursor++ % batches.Length]),
            () => WithCheckedLosses(rebuilt, rebuiltOptimizer, rebuiltFlat, batches[cursor++ % batches.Length]),
        ];
        for (int i = 0; i < 20; i++) foreach (Action step in candidates) step();
        Console.WriteLine($"  after the hand-written optimizer's zero_grad a gradient is {(ZeroGradLeavesNull(first, firstOptimizer) ? "null (set to none)" : "kept, zeroed")}");
        var (values, ratios) = Statistics.Interleaved(candidates.Length, rounds, k =>
        {
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < stepsPerRound; s++) candidates[k]();
            return watch.Elapsed.TotalMilliseconds / stepsPerRound;
        });
        for (int k = 0; k < candidates.Length; k++)
            Console.WriteLine($"  {names[k],-36} {Statistics.Median(values[k]),8:F3} ms   / hand-written {Statistics.Median(ratios[k]):F3}");
        Console.WriteLine($"  (medians of {rounds} interleaved rounds of {stepsPerRound} steps)");

        // The pieces of one step on their own, short enough to time one at a time: the gradients' zeroing and sum (what
        // the trainer adds), against the optimizer's step and the forward and backward pass (what both do).
        long count = buffered.parameters().Sum(p => p.numel());
        Tensor Loss(BottomBatch b)
        {
            var (c, v) = buffered.forward(b.Dense, b.User, b.Item, b.Tags);
            return functional.binary_cross_entropy_with_logits(c, b.Click) + functional.binary_cross_entropy_with_logits(v, b.Conversion);
        }
        // The outputs of every batch, for the losses alone: as the trainer computes them (each target checked for
        // missing labels, each loss copied to the host) and as the hand-written step does (one sum, one copy).
        (Tensor Click, Tensor Conversion)[] outputs;
        using (no_grad()) outputs = batches.Select(b => buffered.forward(b.Dense, b.User, b.Item, b.Tags)).ToArray();
        void CheckedLosses()
        {
            using var scope = NewDisposeScope();
            int b = cursor++ % batches.Length;
            Tensor[] losses = [TaskLosses.Compute(tasks[0], outputs[b].Click, batches[b].Click), TaskLosses.Compute(tasks[1], outputs[b].Conversion, batches[b].Conversion)];
            stack(losses).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
            JointLoss.WeightedSum(losses, [tasks[0].Weight, tasks[1].Weight]);
        }
        void PlainLosses()
        {
            using var scope = NewDisposeScope();
            int b = cursor++ % batches.Length;
            (functional.binary_cross_entropy_with_logits(outputs[b].Click, batches[b].Click) + functional.binary_cross_entropy_with_logits(outputs[b].Conversion, batches[b].Conversion))
                .detach().cpu().item<float>();
        }
        string[] pieces = ["zero the flat gradients", "zero_grad, parameter by parameter", "check and sum them (the guard)", "losses, checked (the trainer's)", "losses, plain",
                           "the model's buffers, enumerated", "Adam's step", "forward + loss", "forward + loss + backward"];
        Action[] piece =
        [
            flat.Zero,
            () => firstOptimizer.zero_grad(),
            () => flat.SumIsFinite(),
            CheckedLosses,
            PlainLosses,
            () => { using var scope = NewDisposeScope(); foreach (Tensor b in withTrainer.buffers()) { } },
            () => bufferedOptimizer.step(),
            () => { using var scope = NewDisposeScope(); Loss(batches[cursor++ % batches.Length]).detach().cpu().item<float>(); },
            () => { using var scope = NewDisposeScope(); flat.Zero(); Loss(batches[cursor++ % batches.Length]).backward(); },
        ];
        var (times, _) = Statistics.Interleaved(piece.Length, rounds * stepsPerRound, k =>
        {
            var watch = Stopwatch.StartNew();
            piece[k]();
            return watch.Elapsed.TotalMilliseconds;
        });
        Console.WriteLine($"  pieces of the hand-written step with flat gradients ({count:N0} gradients), medians of {rounds * stepsPerRound}:");
        for (int k = 0; k < piece.Length; k++)
            Console.WriteLine($"    {pieces[k],-34} {Statistics.Median(times[k]),8:F3} ms");
    }

    private static bool ZeroGradLeavesNull(HandWrittenBottom model, optim.Optimizer optimizer)
    {
        optimizer.zero_grad();
        using Tensor? grad = model.parameters().First().grad;
        return grad is null;
    }

    // A batch of random data: every sample has 0 to 5 tags (the rest of its places 0), some of the tags repeated.
    private static BottomBatch Batch(int n)
    {
        Tensor tagIds = randint(1, Tags, [n, TagsPerSample]);
        Tensor present = arange(TagsPerSample).unsqueeze(0) < randint(0, TagsPerSample + 1, [n, 1]);
        return new BottomBatch(randn(n, 13), randint(0, Users, [n]), randint(0, Items, [n]), tagIds * present.to(ScalarType.Int64),
            randint(0, 2, [n, 1]).to(ScalarType.Float32), randint(0, 2, [n, 1]).to(ScalarType.Float32));
    }

    private static void Compare(string name, nn.Module generated, Func<HandWrittenBottom> handWritten, IReadOnlyList<string> blocks, BottomBatch[] batches,
        int rounds, int stepsPerRound, Func<nn.Module, Action<BottomBatch>> trainer, Func<nn.Module, BottomBatch, (Tensor Click, Tensor Conversion)> forward)
    {
        using var _ = generated;
        // Two hand-written copies: the second, measured like the first, shows how far apart two identical networks
        // land on this machine (the noise floor of the ratio).
        using HandWrittenBottom first = handWritten(), second = handWritten();
        first.CopyFrom(generated, blocks);
        second.CopyFrom(generated, blocks);
        CheckEqual(name, generated, first, batches[0], forward, "on the same weights");

        Action<BottomBatch> generatedStep = trainer(generated);
        optim.Optimizer firstOptimizer = optim.Adam(first.parameters(), lr: 1e-3), secondOptimizer = optim.Adam(second.parameters(), lr: 1e-3);
        // One training step each from the same weights: the same gradients (through the bag's padding too) and Adam
        // steps leave the same weights, so the outputs agree again.
        generatedStep(batches[1]);
        first.Step(firstOptimizer, batches[1]);
        CheckEqual(name, generated, first, batches[2], forward, "after one training step of each");

        int cursor = 0;
        Action[] candidates =
        [
            () => first.Step(firstOptimizer, batches[cursor++ % batches.Length]),
            () => second.Step(secondOptimizer, batches[cursor++ % batches.Length]),
            () => generatedStep(batches[cursor++ % batches.Length]),
        ];
        for (int i = 0; i < 20; i++) foreach (Action step in candidates) step();
        var (values, ratios) = Statistics.Interleaved(candidates.Length, rounds, k =>
        {
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < stepsPerRound; s++) candidates[k]();
            return watch.Elapsed.TotalMilliseconds / stepsPerRound;
        });
        Console.WriteLine($"  hand-written {Statistics.Median(values[0]),7:F3} ms   generated {Statistics.Median(values[2]),7:F3} ms   " +
                          $"ratio generated / hand-written {Statistics.Median(ratios[2]):F3} (goal <= 1.02); hand-written copy / hand-written {Statistics.Median(ratios[1]):F3} " +
                          $"(the noise floor); medians of {rounds} interleaved rounds of {stepsPerRound} steps");
    }

    // The two networks' outputs on one batch, in evaluation mode; throws when they differ beyond float32 rounding.
    private static void CheckEqual(string name, nn.Module generated, HandWrittenBottom handWritten, BottomBatch batch,
        Func<nn.Module, BottomBatch, (Tensor Click, Tensor Conversion)> forward, string when)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        generated.eval();
        handWritten.eval();
        var (gc, gv) = forward(generated, batch);
        var (hc, hv) = handWritten.forward(batch.Dense, batch.User, batch.Item, batch.Tags);
        double difference = Math.Max((gc - hc).abs().max().item<float>(), (gv - hv).abs().max().item<float>());
        double scale = Math.Max(gc.abs().max().item<float>(), gv.abs().max().item<float>());
        generated.train();
        handWritten.train();
        Console.WriteLine($"{name}: {generated.parameters().Sum(p => p.numel()):N0} parameters; largest output difference {when} {difference:E1} (outputs up to {scale:F2})");
        if (!(difference <= 1e-4 * Math.Max(1, scale)))
            throw new InvalidOperationException($"{name}: the hand-written network does not compute the generated one's outputs ({when}: difference {difference:E1}).");
    }
}
