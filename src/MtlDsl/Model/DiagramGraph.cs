using System.Globalization;

namespace MtlDsl;

/// <summary>What a box of a model's diagram stands for: its colour and shape follow from it.</summary>
internal enum DiagramKind
{
    Input,
    Block,
    Expert,
    Column,
    Gate,
    Unit,
    Attention,
    Head,
    Loss,
}

/// <summary>
/// One box: a title (the declared name), a caption (its role: "trunk block", "×3 shared experts"), the body (its
/// layers, compactly) and the footer (its output shape; a head's loss and weight). <see cref="Copies"/> &gt; 1 draws
/// it as a stack (every expert is a copy).
/// </summary>
internal sealed record DiagramNode(int Id, DiagramKind Kind, string Title, string Caption, IReadOnlyList<string> Body, IReadOnlyList<string> Footer,
    int Copies = 1);

/// <summary>An arrow from box <see cref="From"/> to box <see cref="To"/>; dashed: what a gate weighs its experts by, not what it mixes.</summary>
internal sealed record DiagramEdge(int From, int To, bool Dashed = false);

/// <summary>
/// A model's diagram as boxes and arrows, built from its <see cref="NetworkPlan"/> and tasks the way the runtime
/// builds the network (src/MtlDsl/Architectures): every expert chain, gate, cross-stitch unit and attention module
/// that runs. Boxes are created in dependency order: every arrow goes from an earlier box to a later one.
/// </summary>
internal sealed class DiagramGraph
{
    private const int LineWidth = 46;

    private readonly List<DiagramNode> _nodes = [];
    private readonly List<DiagramEdge> _edges = [];

    private DiagramGraph(string title, string subtitle)
    {
        Title = title;
        Subtitle = subtitle;
    }

    /// <summary>The model's name.</summary>
    public string Title { get; }

    /// <summary>The architecture in a few words.</summary>
    public string Subtitle { get; }

    public IReadOnlyList<DiagramNode> Nodes => _nodes;

    public IReadOnlyList<DiagramEdge> Edges => _edges;

    public static DiagramGraph Build(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(tasks);
        if (plan.Heads.Count != tasks.Count)
            throw new ArgumentException($"{plan.Model}'s plan has {plan.Heads.Count} heads, but {tasks.Count} tasks were given; pass the model's own Tasks.", nameof(tasks));
        if (plan.Inputs.Count == 0)
            throw new ArgumentException($"{plan.Model}'s plan has no inputs.", nameof(plan));
        if (plan.Architecture != ModelArchitecture.HardSharing && plan.Trunk.Count == 0)
            throw new ArgumentException($"{plan.Model}'s plan declares {plan.Architecture} without trunk blocks.", nameof(plan));

        var graph = new DiagramGraph(plan.Model, Describe(plan, tasks));
        int[] inputs = plan.Inputs.Select(graph.AddInput).ToArray();
        int input = plan.Architecture == ModelArchitecture.HardSharing ? inputs[0] : graph.ArchitectureInput(plan, inputs);
        int[] reads = plan.Architecture switch
        {
            ModelArchitecture.HardSharing => graph.HardSharing(plan, inputs),
            ModelArchitecture.MMoE or ModelArchitecture.CGC => graph.Mixture(plan, tasks, input),
            ModelArchitecture.PLE => graph.Levels(plan, tasks, input),
            ModelArchitecture.CrossStitch => graph.CrossStitch(plan, tasks, input),
            ModelArchitecture.MTAN => graph.Attention(plan, tasks, input),
            _ => throw new NotSupportedException($"{plan.Model}: the diagram knows no architecture {plan.Architecture}."),
        };

        var heads = new int[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
        {
            TaskDefinition task = tasks[t];
            PlanBlock head = plan.Heads[t];
            var footer = new List<string> { "→ " + Shape(task.OutputShape), $"{task.Loss} · weight {Number(task.Weight)}" };
            if (task.ScoredOnly) footer.Add("scored; trained through its product");
            // A task built from tasks has no layers: it reads its factors' outputs (drawn below).
            List<string> body = task.Factors is { } factors
                ? Wrap([string.Join("·", factors.Select(f => $"σ({tasks[f].Name})")) + " as a logit"], " · ")
                : BlockBody(head);
            heads[t] = graph.Add(DiagramKind.Head, task.Name, tasks.Count > 1 ? task.IsProduct ? $"task {t + 1}, built from tasks" : $"head of task {t + 1}" : "head", body, footer);
            if (!task.IsProduct) graph.Connect(reads[t], heads[t]);
        }
        for (int t = 0; t < tasks.Count; t++)
            if (tasks[t].Factors is { } factors)
                foreach (int f in factors) graph.Connect(heads[f], heads[t]);
        // A transfer point reads the point of an earlier task's tower (AITM): a dashed arrow from that head.
        for (int t = 0; t < tasks.Count; t++)
            if (plan.TransferOf(t)?.Source is int source) graph.Connect(heads[source], heads[t], dashed: true);
        // A weight-0 factor of a product has no term: it is trained through its product, which the joint loss holds.
        int[] trained = Enumerable.Range(0, tasks.Count).Where(t => !tasks[t].ScoredOnly).ToArray();
        IEnumerable<string> terms = trained.Select(t => $"{Number(tasks[t].Weight)}·L({tasks[t].Name})");
        int loss = graph.Add(DiagramKind.Loss, "joint loss", "Σ weight · task loss", Wrap(terms, " + "), []);
        foreach (int t in trained) graph.Connect(heads[t], loss);
        return graph;
    }

    // Hard sharing: every trunk block reads what it declares (inputs, blocks; several are concatenated); each head
    // the block it names (or the input, where it reads no block). A block no head reads, directly or through others,
    // never runs (MTL028).
    private int[] HardSharing(NetworkPlan plan, int[] inputs)
    {
        IReadOnlyList<PlanBlock> trunk = plan.Trunk;
        IReadOnlyList<int> headReads = Enumerable.Range(0, plan.Heads.Count)
            .Select(t => t < plan.Shape.HeadReads.Count ? plan.Shape.HeadReads[t] : trunk.Count - 1).ToArray();
        int[] blocks = ByName(plan, trunk, inputs, plan.TrunkBlocksRun(), "trunk block", "no head reads it");
        return headReads.Select(b => b < 0 ? inputs[0] : blocks[b]).ToArray();
    }

    // The boxes of a group of blocks that read by name (hard sharing's trunk, the shared bottom), each joined to what it
    // reads (several are concatenated); a block outside run never runs.
    private int[] ByName(NetworkPlan plan, IReadOnlyList<PlanBlock> group, int[] inputs, IReadOnlySet<int> run, string role, string unread)
    {
        var blocks = new int[group.Count];
        for (int b = 0; b < group.Count; b++)
        {
            IReadOnlyList<PlanSource> sources = NetworkPlan.SourcesOf(group, b);
            var body = new List<string>();
            if (sources.Count > 1)
            {
                string joined = string.Join(", ", sources.Select(s => s.Input ? plan.Inputs[s.Index].Name : group[s.Index].Name));
                body.AddRange(Wrap([$"concat({joined})", .. InputShapeOf(group[b]) is { } shape ? new[] { "→ " + Shape(shape) } : []], " "));
            }
            body.AddRange(BlockBody(group[b]));
            string caption = (group[b].Shortcut is null ? role : "residual " + role) + (run.Contains(b) ? "" : " · not run: " + unread);
            blocks[b] = Add(DiagramKind.Block, group[b].Name, caption, body, OutputFooter(group[b]));
            foreach (PlanSource source in sources)
                Connect(source.Input ? inputs[source.Index] : blocks[source.Index], blocks[b]);
        }
        return blocks;
    }

    // What an architecture other than hard sharing reads: the first input, or the shared bottom's blocks first and
    // what the first trunk block names (several: a box that concatenates them).
    private int ArchitectureInput(NetworkPlan plan, int[] inputs)
    {
        int[] bottom = ByName(plan, plan.Bottom, inputs, plan.BottomBlocksRun(), "shared bottom", "the architecture does not read it");
        IReadOnlyList<PlanSource> sources = plan.ArchitectureSources;
        int Node(PlanSource s) => s.Input ? inputs[s.Index] : bottom[s.Index];
        if (sources.Count == 1) return Node(sources[0]);
        string joined = string.Join(", ", sources.Select(s => s.Input ? plan.Inputs[s.Index].Name : plan.Bottom[s.Index].Name));
        int concat = Add(DiagramKind.Block, "concat", $"what {plan.Architecture} reads", Wrap([$"concat({joined})"], " "),
            InputShapeOf(plan.Trunk[0]) is { } shape ? ["→ " + Shape(shape)] : []);
        foreach (PlanSource source in sources) Connect(Node(source), concat);
        return concat;
    }

    // MMoE and CGC: the shared experts (each a copy of the whole trunk, its blocks chained) and every task's own
    // read x; every task's gate, on flatten(x), mixes the shared experts and the task's own. One-gate MMoE: one gate
    // mixes the experts into the representation every head reads.
    private int[] Mixture(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, int input)
    {
        PlanArchitecture shape = plan.Shape;
        long gateInputs = shape.GateInputs.Count > 0 ? shape.GateInputs[0] : 0;
        int shared = ExpertChain(plan.Trunk, input, shape.SharedExperts, n => $"×{n} shared expert{(n == 1 ? "" : "s")}");
        if (shape.OneGate)
        {
            int gate = Add(DiagramKind.Gate, "gate", "one gate for every task", GateBody(gateInputs, shape.SharedExperts, "flatten(" + _nodes[input].Title + ")"),
                ["→ " + Shape(RepresentationShape(plan, tasks, 0))]);
            Connect(shared, gate);
            Connect(input, gate, dashed: true);
            return Enumerable.Repeat(gate, tasks.Count).ToArray();
        }
        var own = new int?[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
            own[t] = shape.TaskExpertsOf(t) is int n and > 0 ? ExpertChain(plan.Trunk, input, n, k => $"×{k} expert{(k == 1 ? "" : "s")} of {tasks[t].Name}") : null;
        var gates = new int[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
        {
            int experts = shape.SharedExperts + shape.TaskExpertsOf(t);
            gates[t] = Add(DiagramKind.Gate, "gate of " + tasks[t].Name, "mixes the experts", GateBody(gateInputs, experts, "flatten(" + _nodes[input].Title + ")"),
                ["→ " + Shape(RepresentationShape(plan, tasks, t))]);
            Connect(shared, gates[t]);
            if (own[t] is int mine) Connect(mine, gates[t]);
            Connect(input, gates[t], dashed: true);
        }
        return gates;
    }

    // PLE: each trunk block is a level. Its shared experts read the shared stream, task t's experts task t's stream;
    // task t's gate (on its stream) mixes the shared experts and its own into its next stream; the shared gate (every
    // level but the last, on the shared stream) mixes all of the level's experts into the next shared stream.
    private int[] Levels(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, int input)
    {
        PlanArchitecture shape = plan.Shape;
        int levels = plan.Trunk.Count;
        int sharedStream = input;
        int[] streams = Enumerable.Repeat(input, tasks.Count).ToArray();
        int allExperts = shape.SharedExperts + Enumerable.Range(0, tasks.Count).Sum(shape.TaskExpertsOf);
        for (int l = 0; l < levels; l++)
        {
            PlanBlock block = plan.Trunk[l];
            string level = $"level {l + 1}";
            long gateInputs = l < shape.GateInputs.Count ? shape.GateInputs[l] : 0;
            int shared = ExpertChain([block], sharedStream, shape.SharedExperts, n => $"{level} · ×{n} shared expert{(n == 1 ? "" : "s")}");
            var own = new int?[tasks.Count];
            for (int t = 0; t < tasks.Count; t++)
                own[t] = shape.TaskExpertsOf(t) is int n and > 0 ? ExpertChain([block], streams[t], n, k => $"{level} · ×{k} expert{(k == 1 ? "" : "s")} of {tasks[t].Name}") : null;
            var next = new int[tasks.Count];
            string[] output = ["→ " + Shape(OutputShape(block) ?? [])];
            for (int t = 0; t < tasks.Count; t++)
            {
                string stream = l == 0 ? "flatten(" + _nodes[input].Title + ")" : $"{tasks[t].Name}'s stream";
                next[t] = Add(DiagramKind.Gate, $"gate of {tasks[t].Name}", level, GateBody(gateInputs, shape.SharedExperts + shape.TaskExpertsOf(t), stream), output);
                Connect(shared, next[t]);
                if (own[t] is int mine) Connect(mine, next[t]);
                Connect(streams[t], next[t], dashed: true);
            }
            if (l + 1 < levels)
            {
                string stream = l == 0 ? "flatten(" + _nodes[input].Title + ")" : "the shared stream";
                int gate = Add(DiagramKind.Gate, "shared gate", level, GateBody(gateInputs, allExperts, stream), output);
                Connect(shared, gate);
                foreach (int mine in own.OfType<int>()) Connect(mine, gate);
                Connect(sharedStream, gate, dashed: true);
                sharedStream = gate;
            }
            streams = next;
        }
        return streams;
    }

    // Cross-stitch: one column per task, a copy of every trunk block; after every stage but the last a T×T unit
    // mixes the columns' outputs into every column's next input.
    private int[] CrossStitch(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, int input)
    {
        int[] reading = Enumerable.Repeat(input, tasks.Count).ToArray();
        int stages = plan.Trunk.Count;
        var columns = new int[tasks.Count];
        for (int s = 0; s < stages; s++)
        {
            PlanBlock block = plan.Trunk[s];
            for (int t = 0; t < tasks.Count; t++)
            {
                columns[t] = Add(DiagramKind.Column, block.Name, $"stage {s + 1} · column of {tasks[t].Name}", BlockBody(block), OutputFooter(block));
                Connect(reading[t], columns[t]);
            }
            if (s + 1 == stages) break;
            int unit = Add(DiagramKind.Unit, $"cross-stitch unit {s + 1}", $"α: {tasks.Count}×{tasks.Count}, learnt",
                [$"column t reads Σⱼ α[t, j] · column j's output", $"of stage {(s + 1).ToString(CultureInfo.InvariantCulture)}"], OutputFooter(block));
            foreach (int column in columns) Connect(column, unit);
            Array.Fill(reading, unit);
        }
        return columns;
    }

    // MTAN: the trunk blocks are the stages of one shared network; per task and stage an attention module masks the
    // stage's output, reading its intermediate features u (before its last layer) and, after the first stage, the
    // task's attended features so far through the block between stages (shared by the tasks).
    private int[] Attention(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, int input)
    {
        IReadOnlyList<PlanAttentionStage> stages = plan.Shape.Stages;
        int[] attended = new int[tasks.Count];
        int previous = input;
        for (int s = 0; s < plan.Trunk.Count; s++)
        {
            PlanBlock block = plan.Trunk[s];
            string index = (s + 1).ToString(CultureInfo.InvariantCulture);
            var body = new List<string>(BlockBody(block));
            if (block.Layers.Count >= 2)
                body.Add($"u{index} {Shape(block.Layers[^2].OutputShape)} (before the last layer)");
            int stage = Add(DiagramKind.Block, block.Name, $"shared stage {index}", body, OutputFooter(block));
            Connect(previous, stage);
            previous = stage;
            PlanAttentionStage? sizes = s < stages.Count ? stages[s] : null;
            for (int t = 0; t < tasks.Count; t++)
            {
                var lines = new List<string>();
                if (s > 0 && sizes is not null && s - 1 < stages.Count)
                {
                    var between = new List<string> { $"f{s.ToString(CultureInfo.InvariantCulture)}: Conv2d {Int(stages[s - 1].OutputChannels)}→{Int(sizes.IntermediateChannels)} k3", "BatchNorm2d", "ReLU" };
                    if (sizes.Pool > 1) between.Add("MaxPool2d " + Int(sizes.Pool));
                    lines.AddRange(Wrap(between, " · "));
                    lines.Add("(f shared by the tasks)");
                }
                if (sizes is not null)
                {
                    int maskInputs = s == 0 ? sizes.IntermediateChannels : 2 * sizes.IntermediateChannels;
                    string on = s == 0 ? $"mask on u{index}" : $"mask on [u{index}, f{s.ToString(CultureInfo.InvariantCulture)}(â)]";
                    lines.AddRange(Wrap([$"{on}: Conv2d {Int(maskInputs)}→{Int(sizes.OutputChannels)} k1", "BatchNorm2d", "ReLU",
                        $"Conv2d {Int(sizes.OutputChannels)}→{Int(sizes.OutputChannels)} k1", "BatchNorm2d", "Sigmoid"], " · "));
                }
                lines.Add($"â = mask ⊙ {block.Name}'s output");
                int attention = Add(DiagramKind.Attention, $"attention of {tasks[t].Name}", $"stage {index}", lines, OutputFooter(block));
                Connect(stage, attention);
                if (s > 0) Connect(attended[t], attention);
                attended[t] = attention;
            }
        }
        return attended;
    }

    // A chain of copies of blocks (an expert): one box per block, the caption saying how many copies run.
    private int ExpertChain(IReadOnlyList<PlanBlock> blocks, int reads, int copies, Func<int, string> caption)
    {
        int last = reads;
        foreach (PlanBlock block in blocks)
        {
            int box = Add(DiagramKind.Expert, block.Name, caption(copies), BlockBody(block), OutputFooter(block), Math.Max(1, copies));
            Connect(last, box);
            last = box;
        }
        return last;
    }

    private int AddInput(InputDefinition input)
    {
        string caption = input.Kind == InputKind.Ids
            ? "input · ids" + (input.Vocabulary > 0 ? " in [0, " + Int(input.Vocabulary) + ")" : "")
            : "input";
        string shape = input.Kind == InputKind.Ids && input.Shape.Count == 0 ? "[] (one id per sample)" : Shape(input.Shape);
        return Add(DiagramKind.Input, input.Name, caption, [], [shape]);
    }

    private int Add(DiagramKind kind, string title, string caption, IReadOnlyList<string> body, IReadOnlyList<string> footer, int copies = 1)
    {
        _nodes.Add(new DiagramNode(_nodes.Count, kind, title, caption, body, footer, copies));
        return _nodes.Count - 1;
    }

    private void Connect(int from, int to, bool dashed = false)
    {
        if (from >= to) throw new InvalidOperationException($"The diagram's arrow {from} → {to} goes backwards.");
        if (!_edges.Any(e => e.From == from && e.To == to)) _edges.Add(new DiagramEdge(from, to, dashed));
    }

    private static string[] GateBody(long inputs, int experts, string reads) =>
        [$"Linear {Int(inputs)}→{Int(experts)} · Softmax", $"on {reads}", $"Σ over {Int(experts)} expert{(experts == 1 ? "" : "s")}"];

    private static IReadOnlyList<int> RepresentationShape(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks, int task) =>
        tasks[task].RepresentationShape ?? OutputShape(plan.Trunk[^1]) ?? [];

    /// <summary>A block's layers, compactly (<c>Conv2d 3→32 k3 · ReLU · MaxPool2d 2</c>), and its shortcut.</summary>
    internal static List<string> BlockBody(PlanBlock block)
    {
        var lines = Wrap(block.Layers.Select(LayerText), " · ");
        if (block.Shortcut is { } shortcut)
        {
            string projection = shortcut.Kind switch
            {
                PlanShortcutKind.Identity => "+ the block's input",
                PlanShortcutKind.Linear => $"+ Linear {Int(shortcut.InSize)}→{Int(shortcut.OutSize)} of the input",
                PlanShortcutKind.Conv1d => $"+ Conv1d {Int(shortcut.InSize)}→{Int(shortcut.OutSize)} k1{Stride(shortcut.Stride)} · BatchNorm1d of the input",
                _ => $"+ Conv2d {Int(shortcut.InSize)}→{Int(shortcut.OutSize)} k1{Stride(shortcut.Stride)} · BatchNorm2d of the input",
            };
            lines.AddRange(Wrap(["residual: " + projection, .. block.ReLUAfterSum ? new[] { "ReLU after the sum" } : []], " · "));
        }
        else if (block.ReLUAfterSum) lines.Add("ReLU after the sum");
        return lines;
    }

    private static string Stride(int stride) => stride == 1 ? "" : " s" + Int(stride);

    private static string[] OutputFooter(PlanBlock block) => OutputShape(block) is { } shape ? ["→ " + Shape(shape)] : [];

    private static IReadOnlyList<int>? OutputShape(PlanBlock block) => block.Layers.Count > 0 ? block.Layers[^1].OutputShape : null;

    private static IReadOnlyList<int>? InputShapeOf(PlanBlock block) => block.Layers.Count > 0 ? block.Layers[0].InputShape : null;

    /// <summary>One layer in a few characters: its kind and the numbers that tell it apart (<c>Conv2d 3→32 k3 s2</c>).</summary>
    internal static string LayerText(PlanLayer layer)
    {
        object? Arg(string name) => layer.Has(name) ? layer.Value(name) : null;
        string InOut(string input, string output) =>
            Arg(input) is { } i && Arg(output) is { } o ? $" {Value(i)}→{Value(o)}" : "";
        string kind = layer.Kind;
        switch (kind)
        {
            case "Module":
                return layer.Module ?? "Module";
            case "Linear":
                return kind + InOut("in_features", "out_features");
            case "Conv1d" or "Conv2d" or "ConvTranspose2d":
            {
                string text = kind + InOut("in_channels", "out_channels");
                if (Arg("kernel_size") is { } kernel) text += " k" + Value(kernel);
                if (Arg("stride") is { } stride && Value(stride) != "1") text += " s" + Value(stride);
                return text;
            }
            case "MaxPool2d" or "AvgPool2d":
            {
                string text = kind;
                object? kernel = Arg("kernel_size"), stride = Arg("stride");
                if (kernel is not null) text += " " + Value(kernel);
                if (stride is not null && Value(stride) != (kernel is null ? "" : Value(kernel))) text += " s" + Value(stride);
                return text;
            }
            case "AdaptiveAvgPool2d":
                return Arg("output_size") is { } size ? $"{kind} {Value(size)}" : kind;
            case "Embedding":
                return kind + InOut("num_embeddings", "embedding_dim");
            case "EmbeddingBag":
                return kind + InOut("num_embeddings", "embedding_dim") + (Arg("mode") is string mode ? " " + mode : "");
            case "Dropout":
                return Arg("p") is { } p ? $"{kind} {Value(p)}" : kind;
            case "LeakyReLU":
                return Arg("negative_slope") is { } slope ? $"{kind} {Value(slope)}" : kind;
            case "GroupNorm":
                return Arg("num_groups") is { } groups ? $"{kind} {Value(groups)} groups" : kind;
            case "Unflatten":
                return Arg("unflattened_size") is long[] sizes ? $"{kind} {string.Join("×", sizes.Select(Int))}" : kind;
            case "FactorizationMachine":
                return Arg("reduce_sum") is false ? kind + " (bi-interaction)" : kind;
            case "Cross":
                return kind + (Arg("num_layers") is long layers ? $" {Int(layers)} layer{(layers == 1 ? "" : "s")}" : "") + (Arg("matrix") is true ? " matrix" : "");
            case "Transfer":
                return Arg("source") is string source ? $"Transfer from {source}" : "Transfer point";
            case "Upsample":
                return Arg("scale_factor") is { } scale ? $"{kind} ×{Value(scale)}" : Arg("size") is { } size2 ? $"{kind} {Value(size2)}" : kind;
            default:
                return kind;
        }
    }

    // A value of a plan argument: a tuple of equal numbers as one (a square kernel: 3), else joined by ×.
    private static string Value(object value) => value switch
    {
        long number => Int(number),
        double real => Number(real),
        bool flag => flag ? "true" : "false",
        long[] longs => longs.Length > 0 && longs.All(v => v == longs[0]) ? Int(longs[0]) : string.Join("×", longs.Select(Int)),
        double[] doubles => doubles.Length > 0 && doubles.All(v => v == doubles[0]) ? Number(doubles[0]) : string.Join("×", doubles.Select(Number)),
        _ => value.ToString() ?? "",
    };

    /// <summary>Parts joined by <paramref name="separator"/>, broken into lines of about <see cref="LineWidth"/> characters between parts.</summary>
    internal static List<string> Wrap(IEnumerable<string> parts, string separator)
    {
        var lines = new List<string>();
        string line = "";
        foreach (string part in parts)
        {
            if (line.Length == 0) line = part;
            else if (line.Length + separator.Length + part.Length <= LineWidth) line += separator + part;
            else
            {
                lines.Add(line + separator.TrimEnd());
                line = part;
            }
        }
        if (line.Length > 0) lines.Add(line);
        return lines;
    }

    private static string Describe(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        PlanArchitecture shape = plan.Shape;
        string Experts(int n) => $"{Int(n)} expert{(n == 1 ? "" : "s")}";
        string Own() => shape.TaskExpertsPerTask is null
            ? $"{Experts(shape.TaskExperts)} per task"
            : string.Join(", ", tasks.Select((t, k) => $"{Experts(shape.TaskExpertsOf(k))} of {t.Name}"));
        return plan.Architecture switch
        {
            ModelArchitecture.HardSharing => "hard parameter sharing",
            ModelArchitecture.MMoE when shape.OneGate => $"one-gate mixture of experts (OMoE): {Experts(shape.SharedExperts)}, one gate",
            ModelArchitecture.MMoE => $"MMoE: {Experts(shape.SharedExperts)}, a gate per task",
            ModelArchitecture.CGC => $"CGC: {Int(shape.SharedExperts)} shared {(shape.SharedExperts == 1 ? "expert" : "experts")}, {Own()}",
            ModelArchitecture.PLE => $"PLE: {Int(plan.Trunk.Count)} level{(plan.Trunk.Count == 1 ? "" : "s")} of {Int(shape.SharedExperts)} shared {(shape.SharedExperts == 1 ? "expert" : "experts")}, {Own()}",
            ModelArchitecture.CrossStitch => $"Cross-stitch: {Int(tasks.Count)} columns, {Int(Math.Max(0, plan.Trunk.Count - 1))} cross-stitch unit{(plan.Trunk.Count == 2 ? "" : "s")}",
            ModelArchitecture.MTAN => $"MTAN: {Int(plan.Trunk.Count)} shared stage{(plan.Trunk.Count == 1 ? "" : "s")}, attention per task and stage",
            _ => plan.Architecture.ToString(),
        };
    }

    internal static string Shape(IReadOnlyList<int> shape) => ModelSummary.FormatShape(shape);

    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
