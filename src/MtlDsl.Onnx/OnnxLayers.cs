using System.Globalization;
using MtlDsl.Onnx;
using MtlDsl.Onnx.Ir;
using static MtlDsl.Onnx.Attr;

namespace MtlDsl;

/// <summary>
/// How ONNX export writes each layer kind of a <see cref="NetworkPlan"/>: one table from the kind's name
/// (<see cref="PlanLayer.Kind"/>) to its lowering, which reads the layer's PyTorch arguments by name and appends the
/// nodes that compute it (in evaluation mode) under the layer's state-dict path. A new layer kind is one entry here.
/// </summary>
public static class OnnxLayers
{
    /// <summary>Appends the nodes of <paramref name="layer"/> at state-dict path <paramref name="path"/> on value <paramref name="x"/>; returns the output value.</summary>
    internal delegate string Lowering(OnnxGraphBuilder g, PlanLayer layer, string path, string x);

    private static readonly Dictionary<string, Lowering> Table = new(StringComparer.Ordinal)
    {
        ["Linear"] = (g, layer, path, x) => Linear(g, path, x, layer.InputShape.Count + 1, layer.Flag("bias")),
        ["Conv1d"] = (g, layer, path, x) => Conv(g, path, x, layer, rank: 1),
        ["Conv2d"] = (g, layer, path, x) => Conv(g, path, x, layer, rank: 2),
        ["ConvTranspose2d"] = ConvTranspose,
        ["MaxPool2d"] = (g, layer, path, x) => g.Node("MaxPool", path, [x], Window(layer)),
        ["AvgPool2d"] = (g, layer, path, x) => g.Node("AveragePool", path, [x], [.. Window(layer), Int("count_include_pad", 1)]),
        ["AdaptiveAvgPool2d"] = AdaptiveAveragePool,
        ["Flatten"] = (g, _, path, x) => g.Node("Flatten", path, [x], Int("axis", 1)),
        ["Dropout"] = (_, _, _, x) => x, // evaluation mode
        ["BatchNorm1d"] = (g, _, path, x) => BatchNorm(g, path, x),
        ["BatchNorm2d"] = (g, _, path, x) => BatchNorm(g, path, x),
        ["GroupNorm"] = GroupNorm,
        ["InstanceNorm2d"] = (g, layer, path, x) =>
            g.Node("InstanceNormalization", path, [x, g.Floats(path, Filled(layer.Int("num_features"), 1f)), g.Floats(path, Filled(layer.Int("num_features"), 0f))], Float("epsilon", 1e-5f)),
        ["LayerNorm"] = (g, layer, path, x) => g.Node("LayerNormalization", path, [x, g.Weight(path + ".weight"), g.Weight(path + ".bias")],
            Int("axis", -Sizes(layer, "normalized_shape", -1).Length), Float("epsilon", 1e-5f)),
        ["ReLU"] = (g, _, path, x) => g.Node("Relu", path, [x]),
        ["LeakyReLU"] = (g, layer, path, x) => g.Node("LeakyRelu", path, [x], Float("alpha", (float)layer.Real("negative_slope"))),
        ["GELU"] = Gelu,
        ["Sigmoid"] = (g, _, path, x) => g.Node("Sigmoid", path, [x]),
        ["Tanh"] = (g, _, path, x) => g.Node("Tanh", path, [x]),
        ["Upsample"] = Upsample,
        ["Embedding"] = (g, _, path, x) => g.Node("Gather", path, [g.Weight(path + ".weight"), x], Int("axis", 0)),
        ["EmbeddingBag"] = EmbeddingBag,
        ["Unflatten"] = (g, layer, path, x) => g.Node("Reshape", path, [x, g.Longs(path, [0, .. layer.OutputShape.Select(d => (long)d)])]),
        ["FactorizationMachine"] = FactorizationMachine,
        ["InnerProduct"] = InnerProduct,
        ["Cross"] = Cross,
        // A transfer point alone: the one without a source passes its input on; one with a source is written with its
        // source's point (Transfer below, from the exporter's run of the heads).
        ["Transfer"] = (_, layer, path, x) => layer.Value("source") is null ? x
            : throw new NotSupportedException($"The transfer point {path} reads task '{layer.Value("source")}''s point: it is written with it, where the heads run in declaration order."),
    };

    /// <summary>The layer kinds ONNX export writes (every kind but a module of your own, <c>"Module"</c>).</summary>
    public static IReadOnlyCollection<string> Kinds => Table.Keys;

    /// <summary>Whether ONNX export writes layers of kind <paramref name="kind"/> (a <see cref="PlanLayer.Kind"/>).</summary>
    public static bool Supports(string kind) => Table.ContainsKey(kind);

    /// <summary>Appends the nodes of <paramref name="layer"/> of model <paramref name="model"/> at <paramref name="path"/> on <paramref name="x"/>.</summary>
    /// <exception cref="NotSupportedException">The table has no lowering for the layer's kind.</exception>
    internal static string Lower(OnnxGraphBuilder g, string model, PlanLayer layer, string path, string x) =>
        Table.TryGetValue(layer.Kind, out Lowering? lower) ? lower(g, layer, path, x)
            : throw new NotSupportedException(
                $"{model}: ONNX export cannot write layer {path}: it knows no layer kind '{layer.Kind}' (it writes {string.Join(", ", Table.Keys)}).");

    /// <summary>A Linear layer on x of rank <paramref name="rank"/> (2: Gemm; more: MatMul over the last axis).</summary>
    internal static string Linear(OnnxGraphBuilder g, string path, string x, int rank, bool bias)
    {
        string weight = g.Weight(path + ".weight");
        if (rank == 2)
            return g.Node("Gemm", path, bias ? [x, weight, g.Weight(path + ".bias")] : [x, weight], Int("transB", 1));
        string product = g.Node("MatMul", path, [x, g.Node("Transpose", path, [weight], Ints("perm", new long[] { 1, 0 }))]);
        return bias ? g.Node("Add", path, [product, g.Weight(path + ".bias")]) : product;
    }

    /// <summary>A convolution with zero padding, every size per axis.</summary>
    internal static string Conv(OnnxGraphBuilder g, string path, string x, IReadOnlyList<long> kernel, IReadOnlyList<long> stride, IReadOnlyList<long> padding,
        IReadOnlyList<long> dilation, bool bias)
    {
        List<string> inputs = [x, g.Weight(path + ".weight")];
        if (bias) inputs.Add(g.Weight(path + ".bias"));
        return g.Node("Conv", path, inputs, Ints("kernel_shape", kernel), Ints("strides", stride), Ints("pads", padding.Concat(padding)), Ints("dilations", dilation));
    }

    /// <summary>Batch normalisation with its running statistics (evaluation mode).</summary>
    internal static string BatchNorm(OnnxGraphBuilder g, string path, string x) =>
        g.Node("BatchNormalization", path, [x, g.Weight(path + ".weight"), g.Weight(path + ".bias"), g.Weight(path + ".running_mean"), g.Weight(path + ".running_var")],
            Float("epsilon", 1e-5f));

    private static string Conv(OnnxGraphBuilder g, string path, string x, PlanLayer layer, int rank) =>
        Conv(g, path, x, Sizes(layer, "kernel_size", rank), Sizes(layer, "stride", rank), Sizes(layer, "padding", rank), Sizes(layer, "dilation", rank), layer.Flag("bias"));

    private static string ConvTranspose(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        List<string> inputs = [x, g.Weight(path + ".weight")];
        if (layer.Flag("bias")) inputs.Add(g.Weight(path + ".bias"));
        long[] padding = Sizes(layer, "padding", 2);
        return g.Node("ConvTranspose", path, inputs, Ints("kernel_shape", Sizes(layer, "kernel_size", 2)), Ints("strides", Sizes(layer, "stride", 2)),
            Ints("pads", padding.Concat(padding)), Ints("dilations", Sizes(layer, "dilation", 2)), Ints("output_padding", Sizes(layer, "output_padding", 2)));
    }

    // A pooling window's attributes: kernel, strides, pads on both sides.
    private static AttributeProto[] Window(PlanLayer layer)
    {
        long[] padding = Sizes(layer, "padding", 2);
        return [Ints("kernel_shape", Sizes(layer, "kernel_size", 2)), Ints("strides", Sizes(layer, "stride", 2)), Ints("pads", padding.Concat(padding))];
    }

    // Group normalisation in primitive operators (opset 17 has none that matches PyTorch's): [N, C, …] as [N, G, rest],
    // each row normalised by its mean and biased variance, back to [N, C, …], then the per-channel weight and bias.
    private static string GroupNorm(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        long groups = layer.Int("num_groups"), channels = layer.Int("num_channels");
        string grouped = g.Node("Reshape", path, [x, g.Longs(path, [0, groups, -1])]);
        string mean = g.Node("ReduceMean", path, [grouped], Ints("axes", new long[] { 2 }), Int("keepdims", 1));
        string centred = g.Node("Sub", path, [grouped, mean]);
        string variance = g.Node("ReduceMean", path, [g.Node("Mul", path, [centred, centred])], Ints("axes", new long[] { 2 }), Int("keepdims", 1));
        string deviation = g.Node("Sqrt", path, [g.Node("Add", path, [variance, g.Float(path, 1e-5f)])]);
        string normalized = g.Node("Reshape", path, [g.Node("Div", path, [centred, deviation]), g.Node("Shape", path, [x])]);
        long[] perChannel = [channels, .. Enumerable.Repeat(1L, layer.InputShape.Count - 1)];
        string weight = g.Node("Reshape", path, [g.Weight(path + ".weight"), g.Longs(path, perChannel)]);
        string bias = g.Node("Reshape", path, [g.Weight(path + ".bias"), g.Longs(path, perChannel)]);
        return g.Node("Add", path, [g.Node("Mul", path, [normalized, weight]), bias]);
    }

    // A constant scale or shift of one value per channel (instance normalisation without affine parameters).
    private static float[] Filled(long count, float value) => Enumerable.Repeat(value, checked((int)count)).ToArray();

    // The exact GELU: x · ½ · (1 + erf(x / √2)).
    private static string Gelu(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        string erf = g.Node("Erf", path, [g.Node("Div", path, [x, g.Float(path, MathF.Sqrt(2f))])]);
        string half = g.Node("Mul", path, [x, g.Float(path, 0.5f)]);
        return g.Node("Mul", path, [half, g.Node("Add", path, [erf, g.Float(path, 1f)])]);
    }

    // PyTorch's bins: output cell i of n over a size of m covers [floor(i·m/n), ceil((i+1)·m/n)). A uniform split is
    // an AveragePool; any other is the mean over each bin's rows, then over each bin's columns (the bins are products).
    private static string AdaptiveAveragePool(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        int inH = layer.InputShape[1], inW = layer.InputShape[2], outH = layer.OutputShape[1], outW = layer.OutputShape[2];
        if (inH % outH == 0 && inW % outW == 0)
            return g.Node("AveragePool", path, [x], Ints("kernel_shape", [inH / outH, inW / outW]), Ints("strides", [inH / outH, inW / outW]));
        string Bins(string value, int axis, int size, int count)
        {
            var cells = new List<string>();
            for (int i = 0; i < count; i++)
            {
                long begin = i * (long)size / count, end = ((i + 1) * (long)size + count - 1) / count;
                string slice = g.Node("Slice", path, [value, g.Longs(path, [begin]), g.Longs(path, [end]), g.Longs(path, [axis])]);
                cells.Add(g.Node("ReduceMean", path, [slice], Ints("axes", new long[] { axis }), Int("keepdims", 1)));
            }
            return cells.Count == 1 ? cells[0] : g.Node("Concat", path, cells, Int("axis", axis));
        }
        return Bins(Bins(x, 2, inH, outH), 3, inW, outW);
    }

    // Nearest as PyTorch: floor(destination / scale) (asymmetric, floor); bilinear with or without aligned corners.
    private static string Upsample(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        string mode = layer.Text("mode");
        bool bilinear = mode switch
        {
            "nearest" => false,
            "bilinear" => true,
            _ => throw new NotSupportedException($"ONNX export cannot write layer {path}: Upsample's mode \"{mode}\" is neither \"nearest\" nor \"bilinear\"."),
        };
        var attributes = new List<AttributeProto>
        {
            String("mode", bilinear ? "linear" : "nearest"),
            String("coordinate_transformation_mode", bilinear ? (layer.Flag("align_corners") ? "align_corners" : "pytorch_half_pixel") : "asymmetric"),
        };
        if (!bilinear) attributes.Add(String("nearest_mode", "floor"));
        if (layer.Has("scale_factor") && layer.Value("scale_factor") is not null)
        {
            float[] scales = Factors(layer, "scale_factor", 2).Select(f => (float)f).ToArray();
            return g.Node("Resize", path, [x, "", g.Floats(path, [1f, 1f, .. scales])], [.. attributes]);
        }
        string batchAndChannels = g.Node("Slice", path, [g.Node("Shape", path, [x]), g.Longs(path, [0]), g.Longs(path, [2])]);
        string sizes = g.Node("Concat", path, [batchAndChannels, g.Longs(path, [layer.OutputShape[1], layer.OutputShape[2]])], Int("axis", 0));
        return g.Node("Resize", path, [x, "", "", sizes], [.. attributes]);
    }

    // The mean (or sum) of each sample's id vectors; padding ids count for nothing, and a sample of padding only gives zeros.
    private static string EmbeddingBag(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        bool sum = layer.Text("mode") switch
        {
            "mean" => false,
            "sum" => true,
            var other => throw new NotSupportedException($"ONNX export cannot write layer {path}: EmbeddingBag's mode \"{other}\" is neither \"mean\" nor \"sum\"."),
        };
        string vectors = g.Node("Gather", path, [g.Weight(path + ".weight"), x], Int("axis", 0));
        string axis = g.Longs(path, [1]);
        if (layer.Value("padding_idx") is not long padding)
            return sum ? g.Node("ReduceSum", path, [vectors, axis], Int("keepdims", 0)) : g.Node("ReduceMean", path, [vectors], Ints("axes", new long[] { 1 }), Int("keepdims", 0));
        string present = g.Node("Not", path, [g.Node("Equal", path, [x, g.Longs(path, [padding], scalar: true)])]);
        string mask = g.Node("Unsqueeze", path, [g.Node("Cast", path, [present], Int("to", (long)TensorProto.Types.DataType.Float)), g.Longs(path, [-1])]);
        string total = g.Node("ReduceSum", path, [g.Node("Mul", path, [vectors, mask]), axis], Int("keepdims", 0));
        if (sum) return total;
        string count = g.Node("Max", path, [g.Node("ReduceSum", path, [mask, axis], Int("keepdims", 0)), g.Float(path, 1f)]);
        return g.Node("Div", path, [total, count]);
    }

    // ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²) on [N, F, K]: [N, 1], or [N, K] without the sum over k.
    private static string FactorizationMachine(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        string fields = g.Longs(path, [1]);
        string sum = g.Node("ReduceSum", path, [x, fields], Int("keepdims", 0));
        string squares = g.Node("ReduceSum", path, [g.Node("Mul", path, [x, x]), fields], Int("keepdims", 0));
        string interactions = g.Node("Sub", path, [g.Node("Mul", path, [sum, sum]), squares]);
        if (layer.Flag("reduce_sum")) interactions = g.Node("ReduceSum", path, [interactions, g.Longs(path, [1])], Int("keepdims", 1));
        return g.Node("Mul", path, [interactions, g.Float(path, 0.5f)]);
    }

    // ⟨v_f, v_g⟩ for every pair f < g of [N, F, K] in row-major order: [N, F(F−1)/2].
    private static string InnerProduct(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        var pairs = InnerProductLayer.Pairs(layer.InputShape[0]).ToList();
        string first = g.Node("Gather", path, [x, g.Longs(path, [.. pairs.Select(p => (long)p.First)])], Int("axis", 1));
        string second = g.Node("Gather", path, [x, g.Longs(path, [.. pairs.Select(p => (long)p.Second)])], Int("axis", 1));
        return g.Node("ReduceSum", path, [g.Node("Mul", path, [first, second]), g.Longs(path, [2])], Int("keepdims", 0));
    }

    // Each cross layer on [N, D]: x0 · (x · w) + b + x (vector), or x0 ⊙ (x Wᵀ + b) + x (matrix).
    private static string Cross(OnnxGraphBuilder g, PlanLayer layer, string path, string x)
    {
        bool matrix = layer.Flag("matrix");
        string x0 = x;
        for (long l = 0, count = layer.Int("num_layers"); l < count; l++)
        {
            string weight = g.Weight($"{path}.weights.{l.ToString(CultureInfo.InvariantCulture)}");
            string bias = g.Weight($"{path}.biases.{l.ToString(CultureInfo.InvariantCulture)}");
            string crossed = matrix
                ? g.Node("Mul", path, [x0, g.Node("Gemm", path, [x, weight, bias], Int("transB", 1))])
                : g.Node("Add", path, [g.Node("Mul", path, [x0, g.Node("Unsqueeze", path, [g.Node("MatMul", path, [x, weight]), g.Longs(path, [1])])]), bias]);
            x = g.Node("Add", path, [crossed, x]);
        }
        return x;
    }

    /// <summary>
    /// AITM's transfer point with a source (<see cref="TransferUnit"/>) at <paramref name="path"/>, on the tower's
    /// <paramref name="x"/> <c>[N, D]</c> and the source's point <paramref name="point"/> <c>[N, D]</c>: p = Relu(Gemm(z,
    /// info)); u = [x, p] as <c>[N, 2, D]</c>; Softmax over the two of ReduceSum(Q u ⊙ K u) / √D; ReduceSum of the
    /// weights times V u over the two.
    /// </summary>
    internal static string Transfer(OnnxGraphBuilder g, PlanLayer layer, string path, string x, string point)
    {
        long features = layer.Int("in_features");
        string passed = g.Node("Relu", path, [Linear(g, path + ".info", point, 2, bias: true)]);
        string one = g.Longs(path, [1]);
        string both = g.Node("Concat", path, [g.Node("Unsqueeze", path, [x, one]), g.Node("Unsqueeze", path, [passed, one])], Int("axis", 1));
        string query = Linear(g, path + ".query", both, 3, bias: false), key = Linear(g, path + ".key", both, 3, bias: false), value = Linear(g, path + ".value", both, 3, bias: false);
        string scores = g.Node("ReduceSum", path, [g.Node("Mul", path, [query, key]), g.Longs(path, [2])], Int("keepdims", 0));
        string weights = g.Node("Softmax", path, [g.Node("Mul", path, [scores, g.Float(path, (float)(1.0 / Math.Sqrt(features)))])], Int("axis", 1));
        string weighted = g.Node("Mul", path, [g.Node("Unsqueeze", path, [weights, g.Longs(path, [2])]), value]);
        return g.Node("ReduceSum", path, [weighted, one], Int("keepdims", 0));
    }

    // A size argument as PyTorch reads it: one integer for every axis, or a tuple of one per axis (rank -1: any length).
    private static long[] Sizes(PlanLayer layer, string name, int rank) => layer.Value(name) switch
    {
        long one => Enumerable.Repeat(one, rank < 0 ? 1 : rank).ToArray(),
        long[] each when rank < 0 || each.Length == rank => each,
        long[] each => throw new InvalidCastException($"The {layer.Kind} layer's argument '{name}' has {each.Length} sizes, not {rank}."),
        _ => rank < 0 ? [.. layer.Ints(name)] : [layer.Int(name)], // the typed reader says what is wrong
    };

    // A real argument per axis: one for every axis or a tuple of one per axis.
    private static double[] Factors(PlanLayer layer, string name, int rank) => layer.Value(name) switch
    {
        double one => Enumerable.Repeat(one, rank).ToArray(),
        double[] each when each.Length == rank => each,
        double[] each => throw new InvalidCastException($"The {layer.Kind} layer's argument '{name}' has {each.Length} factors, not {rank}."),
        _ => [.. layer.Reals(name)],
    };
}
