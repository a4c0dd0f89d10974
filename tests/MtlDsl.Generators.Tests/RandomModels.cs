using System.Globalization;
using System.Text;

namespace MtlDsl.Generators.Tests;

/// <summary>A random model declaration, and the defects it was given on purpose (an error must be reported for each model that has one).</summary>
internal sealed record RandomModel(string ClassName, string Source, IReadOnlyList<string> Defects);

/// <summary>
/// Writes random model declarations: mostly plausible layer sequences (a layer that fits the current rank, with
/// moderate sizes, so that kernels larger than their input happen naturally), sometimes any layer, and now
/// and then nonsense: zero, negative and huge sizes, bad weights, unknown losses, missing partial modifiers.
/// </summary>
internal static class RandomModels
{
    private static readonly string[] Activations = ["ReLU", "GELU", "Tanh", "Sigmoid", "LeakyReLU", "LeakyReLU(NegativeSlope = 0.2)"];
    private static readonly string[] Losses = ["CrossEntropy", "BinaryCrossEntropyWithLogits", "MeanSquaredError", "L1", "SmoothL1"];

    public static RandomModel Create(Random random, int index)
    {
        var defects = new List<string>();
        string name = $"Random{index.ToString(CultureInfo.InvariantCulture)}";
        var source = new StringBuilder("using MtlDsl;\nusing TorchSharp.Modules;\n\nnamespace Fuzz;\n\n[MultiTaskModel]\n");
        s_newer = new Random(unchecked(index * 104729 + 7));
        s_interactions = new Random(unchecked(index * 15485863 + 11));

        // The architecture: hard sharing half of the time, else one of the five attributes (now and then with
        // expert counts out of range, a planted defect). MTAN mostly gets images, which it needs.
        string[] architectures = ["", "", "", "", "", "MMoE", "CGC", "PLE", "CrossStitch", "MTAN"];
        string architecture = architectures[random.Next(architectures.Length)];
        Random? perTask = null;

        int rank = architecture == "MTAN" && Chance(random, 0.8) ? 3 : random.Next(1, 4);
        var input = new List<int>();
        for (int d = 0; d < rank; d++) input.Add(rank == 1 ? random.Next(1, 64) : random.Next(d == 0 ? 1 : 3, d == 0 ? 6 : 33));
        if (Chance(random, 0.03)) { input[random.Next(rank)] = random.Next(-3, 1); defects.Add("non-positive input size"); }
        else if (rank == 1 && Chance(random, 0.03)) input[0] = 100_000;
        // In hard sharing on a vector input, now and then categorical inputs too: one id or a list of ids per sample,
        // each read by a trunk block of its own (an embedding, a pooled bag), all concatenated with the vector by the
        // first block of the main chain.
        var idInputs = new List<(string Name, int Length)>();
        if (architecture == "" && rank == 1 && Chance(random, 0.3))
            for (int k = random.Next(1, 3), j = 0; j < k; j++) idInputs.Add(($"Ids{j.ToString(CultureInfo.InvariantCulture)}", Chance(random, 0.4) ? 0 : random.Next(1, 7)));
        // In an architecture of experts or columns on a vector input, now and then the same ids through a shared bottom
        // ([Trunk(Bottom = true)] embeddings, concatenated by the first trunk block, which the architecture reads).
        // Decided by the newer Random, so that the declarations without it stay what the seed gave before.
        bool bottom = architecture is "MMoE" or "CGC" or "PLE" or "CrossStitch" && rank == 1 && s_newer!.NextDouble() < 0.35;
        if (bottom)
            for (int k = s_newer!.Next(1, 3), j = 0; j < k; j++) idInputs.Add(($"Ids{j.ToString(CultureInfo.InvariantCulture)}", s_newer!.NextDouble() < 0.4 ? 0 : s_newer!.Next(1, 7)));
        if (idInputs.Count == 0)
        {
            source.Append("[Input(").Append(string.Join(", ", input)).Append(")]\n");
        }
        else
        {
            bool unnamed = Chance(random, 0.03);
            if (unnamed) defects.Add("an unnamed input among several");
            source.Append(unnamed ? "[Input(" : "[Input(\"Dense\", ").Append(string.Join(", ", input)).Append(")]\n");
            foreach (var (idName, length) in idInputs)
                source.Append($"[Input(\"{idName}\"{(length > 0 ? ", " + length.ToString(CultureInfo.InvariantCulture) : "")}, Kind = InputKind.Ids)]\n");
        }
        switch (architecture)
        {
            case "MMoE":
                if (Chance(random, 0.05)) { source.Append("[MMoE(").Append(random.Next(-2, 1)).Append(")]\n"); defects.Add("expert count"); }
                else source.Append("[MMoE(").Append(random.Next(1, 5)).Append(")]\n");
                break;
            case "CGC":
            case "PLE":
                if (Chance(random, 0.05)) { source.Append('[').Append(architecture).Append("(0, ").Append(random.Next(0, 3)).Append(")]\n"); defects.Add("expert count"); }
                else
                {
                    int shared = random.Next(1, 4), each = random.Next(0, 3);
                    // Now and then one count of task experts per task ([CGC(2, 1, 0, 2)]), written once the tasks are known;
                    // decided by a Random of its own, so that the rest of every declaration stays what the seed gave before.
                    perTask = new Random(unchecked(index * 7919 + 13));
                    if (perTask.NextDouble() < 0.4) source.Append('[').Append(architecture).Append('(').Append(shared).Append(PerTaskCounts).Append(")]\n");
                    else
                    {
                        perTask = null;
                        source.Append('[').Append(architecture).Append('(').Append(shared).Append(", ").Append(each).Append(")]\n");
                    }
                }
                break;
            case "CrossStitch":
            case "MTAN":
                source.Append('[').Append(architecture).Append("]\n");
                break;
        }

        bool partialClass = !Chance(random, 0.02);
        if (!partialClass) defects.Add("class not partial");
        source.Append(partialClass ? "public partial class " : "public class ").Append(name).Append("\n{\n");

        // Cross-stitch with one stage is a warning (MTL027); accepted models must be warning-free, so it gets two or three.
        var joined = new List<string> { "\"Dense\"" };
        for (int j = 0; j < idInputs.Count; j++)
        {
            var (idName, length) = idInputs[j];
            int vocabulary = random.Next(2, 50), dimension = random.Next(1, 9);
            string padding = Chance(random, 0.3) ? $", PaddingIndex = {random.Next(0, vocabulary).ToString(CultureInfo.InvariantCulture)}" : "";
            if (Chance(random, 0.03)) { padding = $", PaddingIndex = {vocabulary.ToString(CultureInfo.InvariantCulture)}"; defects.Add("padding index out of range"); }
            var layers = new List<string>();
            if (length > 0 && Chance(random, 0.5))
                layers.Add($"EmbeddingBag({vocabulary}, {dimension}{(Chance(random, 0.5) ? ", Mode = BagMode.Sum" : "")}{padding})");
            else
            {
                layers.Add($"Embedding({vocabulary}, {dimension}{padding})");
                if (length > 0) layers.Add("Flatten");
            }
            if (Chance(random, 0.3)) layers.Add(Activations[random.Next(Activations.Length)]);
            // A bottom block now and then planted in hard sharing, which refuses it (MTL030).
            string embed = bottom ? $"Trunk(Bottom = true, Reads = \"{idName}\")" : $"Trunk(Reads = \"{idName}\")";
            if (!bottom && s_newer!.NextDouble() < 0.02) { embed = $"Trunk(Reads = \"{idName}\", Bottom = true)"; defects.Add("a shared bottom in hard sharing"); }
            Block(source, random, $"Embed{j.ToString(CultureInfo.InvariantCulture)}", embed, layers, defects);
            joined.Insert(random.Next(joined.Count + 1), $"nameof(Embed{j.ToString(CultureInfo.InvariantCulture)})");
        }
        if (idInputs.Count > 0 && Chance(random, 0.03)) { joined.Add("\"Nope\""); defects.Add("a source that does not exist"); }

        int trunkBlocks = architecture == "CrossStitch" ? random.Next(2, 4) : random.Next(1, 3);
        var blockRanks = new List<int>();
        for (int b = 0; b < trunkBlocks; b++)
        {
            var layers = new List<string>();
            if (architecture == "MTAN" && rank == 3 && !Chance(random, 0.2))
            {
                // Mostly what MTAN takes: stages of images that pool at their start and keep the size in their last layer.
                if (b > 0 && Chance(random, 0.5)) layers.Add("MaxPool2d(2)");
                layers.Add($"Conv2d({random.Next(1, 9)}, kernelSize: 3, Padding = 1)");
                if (Chance(random, 0.5)) layers.Add("BatchNorm2d");
                layers.Add(Activations[random.Next(Activations.Length)]);
            }
            else
            {
                int count = random.Next(1, 5);
                for (int l = 0; l < count; l++) layers.Add(Layer(random, ref rank, defects));
            }
            // Now and then residual (MTAN takes no residual stage): the shapes decide whether its input can be added.
            string trunk = b == 0 && idInputs.Count > 0 ? $"Trunk, Concat({string.Join(", ", joined)})" : "Trunk";
            Block(source, random, $"Block{b}", architecture != "MTAN" && Chance(random, 0.07) ? (Chance(random, 0.5) ? trunk + ", Residual" : trunk + ", Residual(ReLUAfterSum = true)") : trunk, layers, defects);
            blockRanks.Add(rank);
        }

        int tasks = Chance(random, 0.02) ? 0 : random.Next(2, 4);
        if (tasks == 0) defects.Add("no task");
        for (int t = 0; t < tasks; t++)
        {
            // In hard sharing a head may read an earlier block (never the last task, so that some head reads the last
            // block and no MTL028 warning is due).
            int reads = architecture == "" && t + 1 < tasks && trunkBlocks > 1 && Chance(random, 0.3) ? random.Next(0, trunkBlocks - 1) : -1;
            rank = reads >= 0 ? blockRanks[reads] : blockRanks[blockRanks.Count - 1];
            var layers = new List<string>();
            int count = random.Next(0, 3);
            for (int l = 0; l < count; l++) layers.Add(Layer(random, ref rank, defects));
            string loss = Losses[random.Next(Losses.Length)];
            if (loss == "CrossEntropy")
                layers.Add(rank switch { 1 => $"Linear({random.Next(2, 12)})", 2 => $"Conv1d({random.Next(2, 6)}, 1)", _ => $"Conv2d({random.Next(2, 6)}, 1)" });
            string task = $"Task(Loss.{loss}";
            if (Chance(random, 0.02)) { task = "Task((Loss)9"; defects.Add("unknown loss"); }
            if (Chance(random, 0.3)) task += ", Weight = " + (random.NextDouble() * 3 + 0.05).ToString("0.###", CultureInfo.InvariantCulture);
            else if (Chance(random, 0.03)) { task += ", Weight = " + new[] { "0", "-1", "double.NaN", "double.PositiveInfinity" }[random.Next(4)]; defects.Add("bad weight"); }
            if (reads >= 0) task += $", Reads = nameof(Block{reads.ToString(CultureInfo.InvariantCulture)})";
            Block(source, random, $"Task{t}", task + (Chance(random, 0.05) ? "), Residual" : ")"), layers, defects);
        }
        Products(source, index, architecture, tasks, blockRanks[blockRanks.Count - 1], defects);
        if (perTask is null) Transfers(source, index, tasks, blockRanks[blockRanks.Count - 1], defects);
        source.Append("}\n");
        if (perTask is not null)
        {
            var counts = Enumerable.Range(0, tasks).Select(_ => perTask.Next(0, 3)).ToList();
            if (perTask.NextDouble() < 0.1)
            {
                // A planted defect: one count too many, or a negative one.
                if (tasks > 0 && perTask.NextDouble() < 0.5) counts[perTask.Next(tasks)] = -1;
                else counts.Add(1);
                defects.Add("per-task expert counts");
            }
            source.Replace(PerTaskCounts, string.Concat(counts.Select(c => ", " + c.ToString(CultureInfo.InvariantCulture))));
        }
        // The modules of your own that the layers used (named after the model: every model's file compiles with the others).
        if (s_ownModulesUsed) source.Append(OwnModuleTypes);
        s_ownModulesUsed = false;
        return new RandomModel(name, source.ToString().Replace("{i}", index.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), defects);
    }

    // Now and then, mostly in hard sharing, ESMM's form: two binary heads on the last trunk block and a task that is
    // their product ([ProductOf]), one factor sometimes of weight 0 (trained only through the product). From a Random
    // of its own, so that every declaration without it stays what the seed gave before. Planted defects (MTL038): a
    // product in another architecture, a factor named twice or one that does not exist, a product with layers of its
    // own, a product of a product, weight 0 on the product itself.
    private static void Products(StringBuilder source, int index, string architecture, int tasks, int lastRank, List<string> defects)
    {
        var random = new Random(unchecked(index * 49979687 + 17));
        if (tasks == 0 || random.NextDouble() >= (architecture == "" ? 0.2 : 0.02)) return;
        List<string> head = lastRank > 1 ? ["Flatten", "Linear(1)"] : ["Linear(1)"];
        bool zero = random.NextDouble() < 0.5;
        Block(source, random, "Clicked", "Task(Loss.BinaryCrossEntropyWithLogits)", head, defects);
        Block(source, random, "Converted", zero ? "Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0)" : "Task(Loss.BinaryCrossEntropyWithLogits)", head, defects);
        string product = "Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Clicked), nameof(Converted))";
        List<string> layers = [];
        if (architecture != "") defects.Add("a product outside hard sharing");
        else if (random.NextDouble() < 0.15)
        {
            switch (random.Next(5))
            {
                case 0: product = "Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Clicked), nameof(Clicked))"; defects.Add("a factor named twice"); break;
                case 1: product = "Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Clicked), \"Nope\")"; defects.Add("a factor that does not exist"); break;
                case 2: layers.Add("Linear(1)"); defects.Add("a product with layers"); break;
                case 3: product = "Task(Loss.BinaryCrossEntropyWithLogits, Weight = 0), ProductOf(nameof(Clicked), nameof(Converted))"; defects.Add("weight 0 on a product"); break;
                default: product = "Task(Loss.BinaryCrossEntropyWithLogits), ProductOf(nameof(Clicked), nameof(Both))"; defects.Add("a product of itself"); break;
            }
        }
        Block(source, random, "Both", product, layers, defects);
    }

    // Now and then, in any architecture (but CGC or PLE with a count of experts per task, which more tasks would
    // change), AITM's form: two steps of a funnel whose towers of one size have transfer points, the second reading the
    // first's. From a Random of its own. Planted defects (MTL039): points of two sizes, a step reading one declared after
    // it or a task that does not exist, a point in a trunk block's place (a second one in a head).
    private static void Transfers(StringBuilder source, int index, int tasks, int lastRank, List<string> defects)
    {
        var random = new Random(unchecked(index * 86028121 + 19));
        if (tasks == 0 || random.NextDouble() >= 0.15) return;
        int size = random.Next(1, 17), other = size;
        string from = "nameof(Step1)";
        bool second = false;
        if (random.NextDouble() < 0.15)
        {
            switch (random.Next(4))
            {
                case 0: other = size + random.Next(1, 5); defects.Add("transfer points of two sizes"); break;
                case 1: from = "nameof(Step2)"; defects.Add("a transfer from itself"); break;
                case 2: from = "\"Nope\""; defects.Add("a transfer from a task that does not exist"); break;
                default: second = true; defects.Add("two transfer points in a head"); break;
            }
        }
        string flatten = lastRank > 1 ? "Flatten, " : "";
        source.Append($"    [Task(Loss.BinaryCrossEntropyWithLogits), {flatten}Linear({size.ToString(CultureInfo.InvariantCulture)}), ReLU, Transfer, Linear(1)]\n    public partial Sequential Step1 {{ get; }}\n\n");
        source.Append($"    [Task(Loss.BinaryCrossEntropyWithLogits), {flatten}Linear({other.ToString(CultureInfo.InvariantCulture)}), Tanh, Transfer({from}), {(second ? "Transfer, " : "")}Linear(1)]\n    public partial Sequential Step2 {{ get; }}\n\n");
    }

    // Where the per-task counts of CGC's or PLE's task experts go, until the tasks are written.
    private const string PerTaskCounts = "{per-task counts}";

    private static void Block(StringBuilder source, Random random, string name, string kind, List<string> layers, List<string> defects)
    {
        bool partial = !Chance(random, 0.02);
        if (!partial) defects.Add("block not partial");
        source.Append("    [").Append(kind);
        foreach (string layer in layers) source.Append(", ").Append(layer);
        source.Append(']');
        source.Append(partial ? "\n    public partial Sequential " : "\n    public Sequential ").Append(name).Append(partial ? " { get; }\n\n" : " { get; } = null!;\n\n");
    }

    // Whether the model being written uses its own modules (Create runs on one thread per Random).
    [ThreadStatic] private static bool s_ownModulesUsed;

    // Layer kinds added after the seeds were fixed are drawn from a Random of their own, so that every declaration keeps
    // what the seed gave it before, but for the layer a newer kind replaces.
    [ThreadStatic] private static Random? s_newer;

    // The feature interactions, added later still, from a Random of their own for the same reason (s_newer's draws,
    // and so its GroupNorms, stay as they were): mostly in place of a LayerNorm on [C, L] (FactorizationMachine,
    // InnerProduct: C fields of L; C = 1 is a shape error), now and then of a BatchNorm1d on a vector (Cross, in its
    // vector form: the fuzzer does not know D, and a matrix of a flattened image would be millions of parameters).
    // FactorizationMachine and InnerProduct give a vector, so the layers drawn after one differ from before, and so do
    // the declarations drawn after it (the shared Random has moved on differently).
    [ThreadStatic] private static Random? s_interactions;

    /// <summary>
    /// Modules of a user's own: one that keeps the shape with a learned gain (its static OutputShape returns its
    /// input; an optional parameter), one that average-pools images by a factor (OutputShape computes it), one without
    /// a shape method (a planted defect wherever it is used without a declared shape).
    /// </summary>
    private const string OwnModuleTypes = """

        public sealed class Gain{i} : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            private readonly TorchSharp.Modules.Parameter gain = new(TorchSharp.torch.ones(1));
            public Gain{i}(double start = 1.0) : base("Gain") => RegisterComponents();
            public static int[] OutputShape(int[] input, double start = 1.0) => input;
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x * gain;
        }

        public sealed class Pool{i} : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            private readonly long factor;
            public Pool{i}(int factor) : base("Pool") => this.factor = factor;
            public static int[] OutputShape(int[] input, int factor) => [input[0], input[1] / factor, input[2] / factor];
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => TorchSharp.torch.nn.functional.avg_pool2d(x, factor);
        }

        public sealed class Tanh{i} : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
        {
            public Tanh{i}() : base("Tanh") { }
            public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x.tanh();
        }

        """;

    private static string Layer(Random random, ref int rank, List<string> defects)
    {
        if (rank == 3 && Chance(random, 0.03)) { s_ownModulesUsed = true; return $"Module(typeof(Pool{{i}}), {random.Next(1, 4).ToString(CultureInfo.InvariantCulture)})"; }
        if (Chance(random, 0.05))
        {
            // A module of the user's own: its shape from its method, from the declaration, or (a planted defect) from nowhere.
            s_ownModulesUsed = true;
            string i = "{i}";
            switch (random.Next(rank == 3 ? 5 : 4))
            {
                case 0: return $"Module(typeof(Gain{i}))";
                case 1: return $"Module(typeof(Gain{i}), {(Chance(random, 0.5) ? "0.5" : "2")})";
                case 2: return Chance(random, 0.3) ? Defect(defects, "an own module without a shape", $"Module(typeof(Tanh{i}))") : $"Module(typeof(Gain{i}), 1)";
                case 3: return Chance(random, 0.15) ? Defect(defects, "an own module's constructor that does not exist", $"Module(typeof(Gain{i}), \"x\")") : $"Module(typeof(Gain{i}))";
                default: return $"Module(typeof(Pool{i}), {random.Next(1, 4).ToString(CultureInfo.InvariantCulture)})";
            }
        }
        if (Chance(random, 0.04))
        {
            // Nonsense arguments: the generator must report them, never crash on them.
            defects.Add("argument out of range");
            string[] nonsense =
            [
                "Linear(0)", "Linear(-5)", "Conv2d(4, kernelSize: 0)", "Conv1d(-1, 3)", "Conv2d(3, 3, Stride = 0)", "MaxPool2d(2, Padding = 5)", "Dropout(1.5)",
                "Dropout(-0.1)", "AdaptiveAvgPool2d(0)", "LayerNorm(0)", "Conv2d(4, 3, 0)", "Conv2d(4, 3, StrideHeight = -1)", "MaxPool2d(2, 3, PaddingWidth = 2)",
                "ConvTranspose2d(4, 2, Stride = 2, OutputPadding = 2)", "ConvTranspose2d(4, 0)", "Upsample(0)", "Upsample(4, -1)", "Upsample(2, AlignCorners = true)",
            ];
            return nonsense[random.Next(nonsense.Length)];
        }
        if (Chance(random, 0.03)) return $"Linear(2000000000)";   // huge, but valid on its own: must not overflow into a wrong model
        if (Chance(random, 0.08)) rank = random.Next(1, 4);       // pick a layer for the wrong rank now and then
        int choice = random.Next(10);
        switch (rank)
        {
            case 3:
                switch (choice)
                {
                    case 0: case 1:
                        if (Chance(random, 0.3)) // a kernel per axis and sizes per axis
                            return $"Conv2d({random.Next(1, 9)}, {random.Next(1, 6)}, {random.Next(1, 6)}{Options(random, ("Stride", 1, 3), ("StrideHeight", 1, 3), ("PaddingWidth", 0, 3), ("DilationHeight", 1, 3))})";
                        if (Chance(random, 0.15)) // the upsampling layers of dense heads
                            return Chance(random, 0.5)
                                ? $"ConvTranspose2d({random.Next(1, 9)}, {random.Next(1, 5)}{Options(random, ("Stride", 1, 3), ("Padding", 0, 1), ("DilationWidth", 1, 2))})"
                                : Chance(random, 0.5) ? $"Upsample({random.Next(1, 4)}{(Chance(random, 0.5) ? ", Mode = UpsampleMode.Bilinear" : "")})" : $"Upsample({random.Next(1, 20)}, {random.Next(1, 20)}, Mode = UpsampleMode.Bilinear, AlignCorners = true)";
                        return $"Conv2d({random.Next(1, 9)}, kernelSize: {random.Next(1, 6)}{Options(random, ("Stride", 1, 3), ("Padding", 0, 3), ("Dilation", 1, 3))})";
                    case 2: case 3:
                    {
                        string pool = choice == 2 ? "MaxPool2d" : "AvgPool2d";
                        if (Chance(random, 0.3))
                        {
                            int height = random.Next(1, 5), width = random.Next(1, 5); // padding up to half the window on each axis
                            return $"{pool}({height}, {width}{Options(random, ("StrideWidth", 1, 3), ("PaddingHeight", 0, height / 2), ("PaddingWidth", 0, width / 2))})";
                        }
                        int kernel = random.Next(1, 5); // padding up to half the kernel, as pooling allows
                        return $"{pool}({kernel}{Options(random, ("Stride", 1, 3), ("Padding", 0, kernel / 2))})";
                    }
                    case 4: return Chance(random, 0.5) ? $"AdaptiveAvgPool2d({random.Next(1, 4)})" : $"AdaptiveAvgPool2d({random.Next(1, 4)}, {random.Next(1, 4)})";
                    case 5: return s_newer!.Next(3) == 0 ? "GroupNorm(1)" : "BatchNorm2d";
                    case 6: rank = 1; return "Flatten";
                    case 7: return "LayerNorm";
                    case 8: return "Dropout(0.2)";
                    default: return Activations[random.Next(Activations.Length)];
                }
            case 2:
                switch (choice)
                {
                    case 0: case 1: case 2:
                        return $"Conv1d({random.Next(1, 9)}, {random.Next(1, 6)}{Options(random, ("Stride", 1, 3), ("Padding", 0, 3), ("Dilation", 1, 3))})";
                    case 3: return s_newer!.Next(3) == 0 ? "GroupNorm(1)" : "BatchNorm1d";
                    case 4: case 5: rank = 1; return "Flatten";
                    case 6:
                        if (s_interactions!.Next(4) == 0) return "LayerNorm";
                        rank = 1;
                        return new[] { "FactorizationMachine", "FactorizationMachine(ReduceSum = false)", "InnerProduct" }[s_interactions.Next(3)];
                    case 7: return "Dropout";
                    default: return Activations[random.Next(Activations.Length)];
                }
            default:
                switch (choice)
                {
                    case 0: case 1: case 2: case 3:
                        return Chance(random, 0.1) ? $"Linear({random.Next(1, 33)}, InFeatures = {random.Next(1, 64)})" : $"Linear({random.Next(1, 33)}{(Chance(random, 0.2) ? ", Bias = false" : "")})";
                    case 4: return s_interactions!.Next(4) == 0 ? $"Cross({s_interactions.Next(1, 4).ToString(CultureInfo.InvariantCulture)})" : "BatchNorm1d";
                    case 5: return "LayerNorm";
                    case 6: return "Dropout(0.1)";
                    case 7: return "Flatten";
                    default: return Activations[random.Next(Activations.Length)];
                }
        }
    }

    private static string Defect(List<string> defects, string defect, string layer)
    {
        defects.Add(defect);
        return layer;
    }

    private static string Options(Random random, params (string Name, int Min, int Max)[] options)
    {
        var text = new StringBuilder();
        foreach (var (name, min, max) in options)
            if (Chance(random, 0.4)) text.Append(", ").Append(name).Append(" = ").Append(random.Next(min, max + 1));
        return text.ToString();
    }

    private static bool Chance(Random random, double p) => random.NextDouble() < p;
}
