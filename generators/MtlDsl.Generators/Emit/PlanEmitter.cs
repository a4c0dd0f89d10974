using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Emit;

/// <summary>
/// Writes a model's <c>NetworkPlan</c>: the compile-time layer list as runtime data (every layer's arguments and
/// inferred shapes, what each block reads, the architecture's sizes), from which the runtime's exporters build the
/// network in another engine (ONNX) without inspecting the TorchSharp modules.
/// </summary>
internal static class PlanEmitter
{
    private const string Ns = "global::MtlDsl.";

    public static void Emit(SourceWriter w, ShapedModel shaped)
    {
        ModelSpec model = shaped.Spec;
        var trunk = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).ToList();
        var tasks = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Task).ToList();
        ArchitectureSpec architecture = model.Architecture;
        string i(long v) => v.ToString(CultureInfo.InvariantCulture);

        w.Line($"public override {Ns}NetworkPlan NetworkPlan {{ get; }} = new {Ns}NetworkPlan(");
        w.Indent();
        w.Line($"\"{model.ClassName.TrimStart('@')}\",");
        w.Line($"{Ns}ModelArchitecture.{architecture.Kind},");
        w.Line("InputDefinitions,");
        Blocks(w, trunk);
        Blocks(w, tasks);
        var reads = architecture.Kind == ArchitectureKind.HardSharing
            ? shaped.Architecture.Reads.Select(r => trunk.FindIndex(b => MultiTaskModelGenerator.StateName(b.Spec.Name) == r.Source)).ToList()
            : [];
        string stages = shaped.Architecture.Stages.Count == 0 ? $"new {Ns}PlanAttentionStage[0]" :
            $"new {Ns}PlanAttentionStage[] {{ " + string.Join(", ", shaped.Architecture.Stages.Select(s => $"new({i(s.IntermediateChannels)}, {i(s.OutputChannels)}, {i(s.Pool)})")) + " }";
        w.Line($"new {Ns}PlanArchitecture({i(architecture.SharedExperts)}, {i(architecture.TaskExperts)}, {(architecture.OneGate ? "true" : "false")}, " +
               $"{Longs(shaped.Architecture.GateInputs)}, {stages}, {Ints(reads)}{ExpertCounts.PlanArgument(architecture)}));");
        w.Outdent();
    }

    private static void Blocks(SourceWriter w, List<ShapedBlock> blocks)
    {
        w.Line($"new {Ns}PlanBlock[]");
        w.Line("{");
        w.Indent();
        foreach (ShapedBlock block in blocks)
        {
            string sources = block.Sources.Count == 0 ? $"new {Ns}PlanSource[0]" :
                $"new {Ns}PlanSource[] {{ " + string.Join(", ", block.Sources.Select(s => $"new({(s.Input ? "true" : "false")}, {s.Index.ToString(CultureInfo.InvariantCulture)})")) + " }";
            string shortcut = block.Shortcut is { } s
                ? $"new {Ns}PlanShortcut({Ns}PlanShortcutKind.{s.Kind}, {s.InSize.ToString(CultureInfo.InvariantCulture)}, {s.OutSize.ToString(CultureInfo.InvariantCulture)}, {s.Stride.ToString(CultureInfo.InvariantCulture)})"
                : "null";
            w.Line($"new(\"{block.Spec.Name.TrimStart('@')}\", \"{MultiTaskModelGenerator.StateName(block.Spec.Name)}\", new {Ns}PlanLayer[]");
            w.Line("{");
            w.Indent();
            foreach (ShapedLayer layer in block.Layers) w.Line(Layer(layer) + ",");
            w.Outdent();
            w.Line($"}}, {sources}, {shortcut}, {(block.Spec.ReLUAfterSum ? "true" : "false")}),");
        }
        w.Outdent();
        w.Line("},");
    }

    // One layer: its kind (the attribute's name), shapes and PyTorch's keyword arguments; a module of one's own by its name.
    private static string Layer(ShapedLayer layer)
    {
        LayerSpec spec = layer.Spec;
        var arguments = PlanArguments(layer);
        string list = arguments.Count == 0 ? $"new {Ns}PlanArgument[0]"
            : $"new {Ns}PlanArgument[] {{ " + string.Join(", ", arguments.Select(a => $"new(\"{a.Name}\", {a.Value})")) + " }";
        string text = $"new(\"{spec.Kind}\", {Ints(layer.InputShape)}, {Ints(layer.OutputShape)}, {list})";
        return spec.Kind == LayerKind.Module ? text + $" {{ Module = {Str(spec.Module!.DisplayName)} }}" : text;
    }

    /// <summary>
    /// The keyword arguments of <c>torch.nn.{Kind}</c> for a layer, in PyTorch's names and order, each with its value as a
    /// C# literal of the plan's types (long <c>3L</c>, double <c>0.5</c>, bool, string, <c>new long[] { 3, 3 }</c>,
    /// <c>new double[] { 2.0, 2.0 }</c>, <c>null</c> for None); complete: everything the layer's numbers depend on.
    /// </summary>
    internal static List<(string Name, string Value)> PlanArguments(ShapedLayer layer)
    {
        LayerSpec spec = layer.Spec;
        string Pair((int Height, int Width) p) => Longs([p.Height, p.Width]);
        switch (spec.Kind)
        {
            case LayerKind.Linear:
                return [("in_features", Long(layer.InSize)), ("out_features", Long(spec.Size!.Value)), ("bias", Bool(spec.Bias))];
            case LayerKind.Conv1d:
                return
                [
                    ("in_channels", Long(layer.InSize)), ("out_channels", Long(spec.Size!.Value)), ("kernel_size", Long(spec.KernelSize!.Value)),
                    ("stride", Long(spec.Stride ?? 1)), ("padding", Long(spec.Padding ?? 0)), ("dilation", Long(spec.Dilation ?? 1)), ("bias", Bool(spec.Bias)),
                ];
            case LayerKind.Conv2d:
                return
                [
                    ("in_channels", Long(layer.InSize)), ("out_channels", Long(spec.Size!.Value)), ("kernel_size", Pair(spec.Kernel2d)),
                    ("stride", Pair(spec.Stride2d)), ("padding", Pair(spec.Padding2d)), ("dilation", Pair(spec.Dilation2d)), ("bias", Bool(spec.Bias)),
                ];
            case LayerKind.ConvTranspose2d:
                // PyTorch's order: output_padding before bias, dilation last.
                return
                [
                    ("in_channels", Long(layer.InSize)), ("out_channels", Long(spec.Size!.Value)), ("kernel_size", Pair(spec.Kernel2d)),
                    ("stride", Pair(spec.Stride2d)), ("padding", Pair(spec.Padding2d)), ("output_padding", Pair(spec.OutputPadding2d)),
                    ("bias", Bool(spec.Bias)), ("dilation", Pair(spec.Dilation2d)),
                ];
            case LayerKind.MaxPool2d:
            case LayerKind.AvgPool2d:
                return [("kernel_size", Pair(spec.Kernel2d)), ("stride", Pair(spec.Stride2d)), ("padding", Pair(spec.Padding2d))];
            case LayerKind.AdaptiveAvgPool2d:
                return [("output_size", Longs([spec.Size!.Value, spec.Size2!.Value]))];
            case LayerKind.Upsample:
            {
                bool bilinear = (spec.Mode ?? 0) == 1;
                var size = spec.ScaleFactor is int factor
                    ? ("scale_factor", Reals([factor, factor]))
                    : ("size", Longs([spec.Size!.Value, spec.Size2!.Value]));
                return [size, ("mode", Str(bilinear ? "bilinear" : "nearest")), ("align_corners", bilinear ? Bool(spec.AlignCorners) : "null")];
            }
            case LayerKind.Dropout:
                return [("p", Real(spec.Probability ?? 0.5))];
            case LayerKind.LeakyReLU:
                return [("negative_slope", Real(spec.NegativeSlope ?? 0.01))];
            case LayerKind.BatchNorm1d:
            case LayerKind.BatchNorm2d:
                return [("num_features", Long(layer.InSize))];
            case LayerKind.LayerNorm:
                return [("normalized_shape", Longs(spec.NormalizedShape.Count == 0 ? [layer.InputShape[layer.InputShape.Count - 1]] : [.. spec.NormalizedShape]))];
            case LayerKind.Embedding:
                return [("num_embeddings", Long(spec.Vocabulary!.Value)), ("embedding_dim", Long(spec.Size!.Value)), ("padding_idx", spec.PaddingIndex is int p ? Long(p) : "null")];
            case LayerKind.EmbeddingBag:
                return
                [
                    ("num_embeddings", Long(spec.Vocabulary!.Value)), ("embedding_dim", Long(spec.Size!.Value)), ("mode", Str((spec.Mode ?? 0) == 1 ? "sum" : "mean")),
                    ("padding_idx", spec.PaddingIndex is int q ? Long(q) : "null"),
                ];
            default:
                return []; // Flatten, ReLU, GELU, Sigmoid, Tanh; a module of one's own has none either
        }
    }

    private static string Ints(IReadOnlyList<int> values) => values.Count == 0 ? "new int[0]" :
        "new int[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";

    private static string Longs(IEnumerable<long> values) => !values.Any() ? "new long[0]" :
        "new long[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";

    private static string Reals(IReadOnlyList<double> values) => values.Count == 0 ? "new double[0]" :
        "new double[] { " + string.Join(", ", values.Select(Real)) + " }";

    private static string Long(long value) => value.ToString(CultureInfo.InvariantCulture) + "L";

    private static string Bool(bool value) => value ? "true" : "false";

    // A C# string literal (names and modes: no control characters).
    private static string Str(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Real(double value)
    {
        if (double.IsNaN(value)) return "double.NaN";
        if (double.IsInfinity(value)) return value > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity";
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(['.', 'E', 'e']) >= 0 ? text : text + ".0";
    }
}
