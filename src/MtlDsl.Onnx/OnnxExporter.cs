using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using MtlDsl.Onnx.Ir;
using TorchSharp;
using static MtlDsl.Onnx.Attr;
using static TorchSharp.torch;

namespace MtlDsl.Onnx;

/// <summary>
/// Writes a model's inference graph as ONNX from its <see cref="NetworkPlan"/> (the compile-time layer list) and its
/// weights: every input with a symbolic batch dimension, the trunk and every head under the declared architecture,
/// one output per task named after it; each layer through its kind's lowering in <see cref="OnnxLayers"/>. What the
/// graph computes is the module's forward pass in evaluation mode (batch normalisation with its running statistics,
/// dropout off), in float32, with standard operators of <see cref="Opset"/>.
/// </summary>
internal static class OnnxExporter
{
    /// <summary>The ai.onnx operator set the graph uses (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>The IR version of opset 17's release.</summary>
    public const int IrVersion = 8;

    /// <summary>
    /// The metadata key of the file's digest: the lowercase hexadecimal SHA-256 of every byte of the file before this
    /// entry, which is the file's last field. It covers the graph with its weights, the operator set, the IR version
    /// and every other metadata entry, so a reader can refuse a file changed or damaged after export.
    /// </summary>
    public const string DigestKey = "mtldsl.sha256";

    /// <summary>The model of the plan with the weights of <paramref name="state"/>, MtlDsl's metadata and the caller's (<paramref name="metadata"/>), and last the digest of all of it (<see cref="DigestKey"/>).</summary>
    public static ModelProto Build(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, IReadOnlyDictionary<string, Tensor> state, string producerVersion,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (plan.FirstOwnModule is var (ownBlock, ownIndex, ownLayer))
            throw new NotSupportedException(
                $"{plan.Model} cannot be exported to ONNX: {ownLayer.Module} (layer {ownIndex.ToString(CultureInfo.InvariantCulture)} of '{ownBlock.Name}') is a TorchSharp module of your own, which has no ONNX counterpart MtlDsl could write.");
        foreach (TaskDefinition task in tasks)
            if (plan.Inputs.FirstOrDefault(i => i.Name == task.Name) is { } clash)
                throw new NotSupportedException(
                    $"{plan.Model} cannot be exported to ONNX: task '{task.Name}' and input {clash} share a name, and an ONNX graph names every value once. Rename the task or the input.");

        var g = new OnnxGraphBuilder(plan.Model, state);
        var network = new Network(g, plan);
        string[] inputs = new string[plan.Inputs.Count];
        for (int k = 0; k < inputs.Length; k++)
        {
            InputDefinition input = plan.Inputs[k];
            inputs[k] = input.Name;
            g.Graph.Input.Add(OnnxGraphBuilder.Value(input.Name, input.Kind == InputKind.Ids ? TensorProto.Types.DataType.Int64 : TensorProto.Types.DataType.Float, input.Shape));
        }
        string[] representations = network.Representations(inputs);
        var outputs = new string[plan.Heads.Count];
        // In declaration order: a head's transfer point reads the point of a task declared before it.
        var points = new string?[plan.Heads.Count];
        for (int t = 0; t < plan.Heads.Count; t++)
            if (!tasks[t].IsProduct)
                outputs[t] = plan.TransferOf(t) is { } transfer
                    ? network.Head(plan.Heads[t], transfer, representations[t], points, t)
                    : network.Block(plan.Heads[t], plan.Heads[t].StateName, representations[t]);
        // Tasks built from tasks: Neg(ReduceLogSumExp(Concat of −Σ_S aᵢ over the non-empty subsets S)), the runtime's
        // TaskCombination.ProductLogit, from the factors' outputs.
        for (int t = 0; t < plan.Heads.Count; t++)
            if (tasks[t].Factors is { } factors)
                outputs[t] = ProductLogit(g, plan.Heads[t].StateName, factors.Select(f => outputs[f]).ToArray());
        for (int t = 0; t < plan.Heads.Count; t++)
        {
            g.Identity(outputs[t], tasks[t].Name);
            g.Graph.Output.Add(OnnxGraphBuilder.Value(tasks[t].Name, TensorProto.Types.DataType.Float, tasks[t].OutputShape));
        }

        // Every weight of the module is in the graph once: an entry left over means the plan missed a layer.
        string[] unused = state.Keys.Where(k => !g.Used.Contains(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToArray();
        if (unused.Length > 0)
            throw new InvalidOperationException(
                $"ONNX export of {plan.Model} left weights out of the graph ({string.Join(", ", unused.Take(5))}); the module was not built from its declaration.");

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MtlDsl",
            ProducerVersion = producerVersion,
            Domain = "mtldsl",
            ModelVersion = 1,
            DocString = $"{plan.Model} ({plan.Architecture}): the inference graph of its declaration, written by MtlDsl; one output per task.",
            Graph = g.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.MetadataProps.Add(Entry("mtldsl.model", plan.Model));
        model.MetadataProps.Add(Entry("mtldsl.architecture", plan.Architecture.ToString()));
        foreach (InputDefinition input in plan.Inputs)
        {
            model.MetadataProps.Add(Entry($"mtldsl.input.{input.Name}.kind", input.Kind == InputKind.Ids ? "ids" : "features"));
            if (input.Kind == InputKind.Ids && input.Vocabulary > 0)
                model.MetadataProps.Add(Entry($"mtldsl.input.{input.Name}.vocabulary", input.Vocabulary.ToString(CultureInfo.InvariantCulture)));
        }
        foreach (TaskDefinition task in tasks)
            model.MetadataProps.Add(Entry($"mtldsl.task.{task.Name}.loss", task.Loss.ToString()));
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(Entry(key, value ?? ""));
        // Protobuf writes fields in field-number order and metadata_props (14) is ModelProto's last, so the file is
        // these bytes followed by the digest's entry: the digest covers everything a reader acts on, not only the
        // graph (a changed opset, vocabulary or loss changes what is served as surely as a changed weight does).
        byte[] covered = model.ToByteArray();
        model.MetadataProps.Add(Entry(DigestKey, Convert.ToHexStringLower(SHA256.HashData(covered))));
        return model;
    }

    private static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };

    // logit(Π σ(aᵢ)) = −logsumexp over the non-empty subsets S of −Σ_{i∈S} aᵢ, each term given a last axis of 1 and
    // concatenated along it.
    private static string ProductLogit(OnnxGraphBuilder g, string where, string[] factors)
    {
        string axes = g.Longs($"{where}.axes", [-1]);
        var terms = new List<string>();
        for (int subset = 1; subset < 1 << factors.Length; subset++)
        {
            string? sum = null;
            for (int i = 0; i < factors.Length; i++)
                if ((subset & (1 << i)) != 0) sum = sum is null ? factors[i] : g.Node("Add", where, [sum, factors[i]]);
            terms.Add(g.Node("Unsqueeze", where, [g.Node("Neg", where, [sum!]), axes]));
        }
        string all = g.Node("Concat", where, terms, Int("axis", -1));
        return g.Node("Neg", where, [g.Node("ReduceLogSumExp", where, [all], Ints("axes", new long[] { -1 }), Int("keepdims", 0))]);
    }

    /// <summary>The graph of one network: its blocks, layers and architecture.</summary>
    private sealed class Network(OnnxGraphBuilder g, NetworkPlan plan)
    {
        private readonly List<string> _heads = plan.Heads.Select(h => h.StateName).ToList();

        /// <summary>Every task's representation, in task order.</summary>
        public string[] Representations(string[] inputs)
        {
            IReadOnlyList<PlanBlock> trunk = plan.Trunk;
            PlanArchitecture shape = plan.Shape;
            if (plan.Architecture == ModelArchitecture.HardSharing)
            {
                Func<int, string> value = ByName(trunk, inputs);
                return shape.HeadReads.Select(b => b < 0 ? inputs[0] : value(b)).ToArray();
            }
            // The shared bottom runs first; the architecture reads what its first trunk block names (else the first input).
            string input = Joined(plan.ArchitectureSources, inputs, ByName(plan.Bottom, inputs), "bottom");
            switch (plan.Architecture)
            {
                case ModelArchitecture.MMoE when shape.OneGate:
                {
                    string mixed = Mix("gate", input, RunExperts(trunk, input, null), trunk);
                    return _heads.Select(_ => mixed).ToArray();
                }
                case ModelArchitecture.MMoE:
                case ModelArchitecture.CGC:
                {
                    string shared = RunExperts(trunk, input, null);
                    return _heads.Select((t, k) => Mix($"gates.{t}", input, shape.TaskExpertsOf(k) == 0 ? shared : g.Node("Concat", $"gates.{t}", [shared, RunExperts(trunk, input, k)], Int("axis", 0)), trunk)).ToArray();
                }
                case ModelArchitecture.PLE:
                {
                    string sharedInput = input;
                    string[] own = _heads.Select(_ => input).ToArray();
                    for (int level = 0; level < trunk.Count; level++)
                    {
                        PlanBlock block = trunk[level];
                        string sharedExperts = RunExperts([block], sharedInput, null);
                        string?[] taskExperts = _heads.Select((_, k) => shape.TaskExpertsOf(k) == 0 ? null : RunExperts([block], own[k], k)).ToArray();
                        string[] following = _heads.Select((t, k) => Mix($"{block.StateName}.gates.{t}", own[k],
                            taskExperts[k] is { } mine ? g.Node("Concat", block.StateName, [sharedExperts, mine], Int("axis", 0)) : sharedExperts, [block])).ToArray();
                        if (level + 1 < trunk.Count)
                        {
                            string all = taskExperts.All(e => e is null) ? sharedExperts : g.Node("Concat", block.StateName, [sharedExperts, .. taskExperts.OfType<string>()], Int("axis", 0));
                            sharedInput = Mix($"{block.StateName}.shared_gate", sharedInput, all, [block]);
                        }
                        own = following;
                    }
                    return own;
                }
                case ModelArchitecture.CrossStitch:
                {
                    string[] columns = _heads.Select((_, t) => Block(trunk[0], $"{trunk[0].StateName}.{t.ToString(CultureInfo.InvariantCulture)}", input)).ToArray();
                    for (int s = 1; s < trunk.Count; s++)
                    {
                        string alpha = g.Weight($"cross_stitch.{(s - 1).ToString(CultureInfo.InvariantCulture)}");
                        string[] mixed = new string[columns.Length];
                        for (int t = 0; t < columns.Length; t++)
                        {
                            string row = g.Node("Gather", "cross_stitch", [alpha, g.Longs("cross_stitch", [t], scalar: true)], Int("axis", 0));
                            string? total = null;
                            for (int j = 0; j < columns.Length; j++)
                            {
                                string weight = g.Node("Gather", "cross_stitch", [row, g.Longs("cross_stitch", [j], scalar: true)], Int("axis", 0));
                                string term = g.Node("Mul", "cross_stitch", [weight, columns[j]]);
                                total = total is null ? term : g.Node("Add", "cross_stitch", [total, term]);
                            }
                            mixed[t] = total!;
                        }
                        columns = mixed.Select((m, t) => Block(trunk[s], $"{trunk[s].StateName}.{t.ToString(CultureInfo.InvariantCulture)}", m)).ToArray();
                    }
                    return columns;
                }
                case ModelArchitecture.MTAN:
                    return Attention(input);
                default:
                    throw new NotSupportedException($"ONNX export does not know the architecture {plan.Architecture}.");
            }
        }

        // The values of a group of blocks that reads by name (hard sharing's trunk, the shared bottom), each built once when first read.
        private Func<int, string> ByName(IReadOnlyList<PlanBlock> blocks, string[] inputs)
        {
            var values = new string?[blocks.Count];
            string Value(int b) => values[b] ??= Block(blocks[b], blocks[b].StateName, Joined(NetworkPlan.SourcesOf(blocks, b), inputs, Value, blocks[b].StateName));
            return Value;
        }

        // What a block reads: one source as it is, several concatenated along the first per-sample dimension.
        private string Joined(IReadOnlyList<PlanSource> sources, string[] inputs, Func<int, string> block, string path)
        {
            string Source(PlanSource s) => s.Input ? inputs[s.Index] : block(s.Index);
            return sources.Count == 1 ? Source(sources[0]) : g.Node("Concat", path, sources.Select(Source), Int("axis", 1));
        }

        // Every expert's copy of the chained blocks on x, stacked along a new first axis: the shared experts, or those of task k (declaration order).
        private string RunExperts(IReadOnlyList<PlanBlock> chain, string x, int? k)
        {
            string? task = k is int index ? _heads[index] : null;
            int count = k is int own ? plan.Shape.TaskExpertsOf(own) : plan.Shape.SharedExperts;
            var stacked = new List<string>();
            for (int e = 0; e < count; e++)
            {
                string y = x;
                foreach (PlanBlock level in chain)
                {
                    string copy = task is null ? $"{level.StateName}.shared.{e.ToString(CultureInfo.InvariantCulture)}" : $"{level.StateName}.tasks.{task}.{e.ToString(CultureInfo.InvariantCulture)}";
                    y = Block(level, copy, y);
                }
                stacked.Add(g.Node("Unsqueeze", "experts", [y, g.Longs("experts", [0])]));
            }
            return stacked.Count == 1 ? stacked[0] : g.Node("Concat", "experts", stacked, Int("axis", 0));
        }

        // Σ_e softmax(gate(flatten(x)))[n, e] · experts[e, n, ...]; the gate is Sequential(Linear, Softmax) at gatePath,
        // the experts the chain's copies stacked.
        private string Mix(string gatePath, string x, string experts, IReadOnlyList<PlanBlock> chain)
        {
            string flat = g.Node("Flatten", gatePath, [x], Int("axis", 1));
            string scores = g.Node("Gemm", $"{gatePath}.0", [flat, g.Weight($"{gatePath}.0.weight"), g.Weight($"{gatePath}.0.bias")], Int("transB", 1));
            string selector = g.Node("Softmax", $"{gatePath}.1", [scores], Int("axis", -1));
            string perExpert = g.Node("Transpose", gatePath, [selector], Ints("perm", new long[] { 1, 0 }));
            int sampleRank = OutputShape(chain[^1]).Count;
            if (sampleRank > 0)
                perExpert = g.Node("Unsqueeze", gatePath, [perExpert, g.Longs(gatePath, Enumerable.Range(2, sampleRank).Select(a => (long)a).ToArray())]);
            string weighted = g.Node("Mul", gatePath, [experts, perExpert]);
            return g.Node("ReduceSum", gatePath, [weighted, g.Longs(gatePath, [0])], Int("keepdims", 0));
        }

        private static IReadOnlyList<int> OutputShape(PlanBlock block) => block.Layers.Count == 0 ? [] : block.Layers[^1].OutputShape;

        // MTAN: each task's attention over the shared stages (MtlDsl.Architectures.TaskAttention).
        private string[] Attention(string input)
        {
            IReadOnlyList<PlanBlock> stages = plan.Trunk;
            IReadOnlyList<PlanAttentionStage> sizes = plan.Shape.Stages;
            string x = input;
            string[]? attended = null;
            for (int s = 0; s < stages.Count; s++)
            {
                PlanBlock stage = stages[s];
                for (int l = 0; l < stage.Layers.Count - 1; l++) x = Layer(stage.Layers[l], $"{stage.StateName}.{l.ToString(CultureInfo.InvariantCulture)}", x);
                string intermediate = x;
                int last = stage.Layers.Count - 1;
                x = Layer(stage.Layers[last], $"{stage.StateName}.{last.ToString(CultureInfo.InvariantCulture)}", x);
                string si = s.ToString(CultureInfo.InvariantCulture);
                if (attended is not null)
                {
                    string blockPath = $"attention_blocks.{(s - 1).ToString(CultureInfo.InvariantCulture)}";
                    attended = attended.Select(a =>
                    {
                        string y = Conv(blockPath + ".0", a, [3, 3], [1, 1], [1, 1], [1, 1], bias: true);
                        y = BatchNorm(blockPath + ".1", y);
                        y = g.Node("Relu", blockPath + ".2", [y]);
                        int pool = sizes[s].Pool;
                        return pool > 1 ? g.Node("MaxPool", blockPath, [y], Ints("kernel_shape", [pool, pool]), Ints("strides", [pool, pool])) : y;
                    }).ToArray();
                }
                string[] previous = attended ?? [];
                attended = _heads.Select((t, k) =>
                {
                    string path = $"attention.{t}.{si}";
                    string m = previous.Length == 0 ? intermediate : g.Node("Concat", path, [intermediate, previous[k]], Int("axis", 1));
                    m = Conv(path + ".0", m, [1, 1], [1, 1], [0, 0], [1, 1], bias: true);
                    m = BatchNorm(path + ".1", m);
                    m = g.Node("Relu", path + ".2", [m]);
                    m = Conv(path + ".3", m, [1, 1], [1, 1], [0, 0], [1, 1], bias: true);
                    m = BatchNorm(path + ".4", m);
                    m = g.Node("Sigmoid", path + ".5", [m]);
                    return g.Node("Mul", path, [m, x]);
                }).ToArray();
            }
            return attended!;
        }

        /// <summary>A block at <paramref name="path"/> (a Sequential, or a residual block with its shortcut) on x.</summary>
        public string Block(PlanBlock block, string path, string x)
        {
            string y = x;
            for (int l = 0; l < block.Layers.Count; l++) y = Layer(block.Layers[l], $"{path}.{l.ToString(CultureInfo.InvariantCulture)}", y);
            if (block.Shortcut is not { } shortcut) return y;
            string added = shortcut.Kind switch
            {
                PlanShortcutKind.Identity => x,
                PlanShortcutKind.Linear => Linear($"{path}.shortcut", x, 2, bias: true),
                _ => BatchNorm($"{path}.shortcut.1", Conv($"{path}.shortcut.0", x, shortcut.Kind == PlanShortcutKind.Conv1d ? [1] : [1, 1],
                    shortcut.Kind == PlanShortcutKind.Conv1d ? [shortcut.Stride] : [shortcut.Stride, shortcut.Stride],
                    shortcut.Kind == PlanShortcutKind.Conv1d ? [0] : [0, 0], shortcut.Kind == PlanShortcutKind.Conv1d ? [1] : [1, 1], bias: false)),
            };
            string sum = g.Node("Add", path, [y, added]);
            return block.ReLUAfterSum ? g.Node("Relu", path, [sum]) : sum;
        }

        // A head with a transfer point (never [Residual]): its layers, the point (with its source's, recorded in
        // points) in its place, and the rest.
        public string Head(PlanBlock head, TaskTransfer transfer, string x, string?[] points, int task)
        {
            string y = x;
            for (int l = 0; l < head.Layers.Count; l++)
            {
                string path = $"{head.StateName}.{l.ToString(CultureInfo.InvariantCulture)}";
                if (l != transfer.Layer)
                {
                    y = Layer(head.Layers[l], path, y);
                    continue;
                }
                if (transfer.Source is int source)
                    y = OnnxLayers.Transfer(g, head.Layers[l], path, y, points[source] ?? throw new InvalidOperationException($"{plan.Model}: the head of task {source} has not run before {head.Name}'s."));
                points[task] = y;
            }
            return y;
        }

        private string Layer(PlanLayer layer, string path, string x) => OnnxLayers.Lower(g, plan.Model, layer, path, x);

        private string Linear(string path, string x, int rank, bool bias) => OnnxLayers.Linear(g, path, x, rank, bias);

        private string Conv(string path, string x, IReadOnlyList<long> kernel, IReadOnlyList<long> stride, IReadOnlyList<long> padding, IReadOnlyList<long> dilation, bool bias) =>
            OnnxLayers.Conv(g, path, x, kernel, stride, padding, dilation, bias);

        private string BatchNorm(string path, string x) => OnnxLayers.BatchNorm(g, path, x);
    }

    /// <summary>Writes the model to a file atomically (a reader never sees half a graph).</summary>
    public static void Write(ModelProto model, string path) =>
        Checkpoints.AtomicFile.Write(path, stream =>
        {
            using var output = new CodedOutputStream(stream, leaveOpen: true);
            model.WriteTo(output);
            output.Flush();
        });
}
