using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Architectures;
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

        w.Line($"public override {Ns}NetworkPlan NetworkPlan {{ get; }} = new {Ns}NetworkPlan(");
        w.Indent();
        w.Line($"\"{model.ClassName.TrimStart('@')}\",");
        w.Line($"{Ns}ModelArchitecture.{architecture.Kind},");
        w.Line("InputDefinitions,");
        Blocks(w, trunk);
        Blocks(w, tasks);
        w.Line(architecture.Definition.Plan(new ArchitectureCode(shaped)) + ");");
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

    private static string Layer(ShapedLayer layer)
    {
        LayerSpec spec = layer.Spec;
        var set = new List<string>();
        string i(long v) => v.ToString(CultureInfo.InvariantCulture);
        string Pair((int Height, int Width) p) => Ints([p.Height, p.Width]);
        switch (spec.Kind)
        {
            case LayerKind.Linear:
                set.Add($"InSize = {i(layer.InSize)}");
                set.Add($"Size = {i(spec.Size!.Value)}");
                set.Add($"Bias = {Bool(spec.Bias)}");
                break;
            case LayerKind.Conv1d:
                set.Add($"InSize = {i(layer.InSize)}");
                set.Add($"Size = {i(spec.Size!.Value)}");
                set.Add($"Kernel = {Ints([spec.KernelSize!.Value])}");
                set.Add($"Stride = {Ints([spec.Stride ?? 1])}");
                set.Add($"Padding = {Ints([spec.Padding ?? 0])}");
                set.Add($"Dilation = {Ints([spec.Dilation ?? 1])}");
                set.Add($"Bias = {Bool(spec.Bias)}");
                break;
            case LayerKind.Conv2d:
            case LayerKind.ConvTranspose2d:
                set.Add($"InSize = {i(layer.InSize)}");
                set.Add($"Size = {i(spec.Size!.Value)}");
                set.Add($"Kernel = {Pair(spec.Kernel2d)}");
                set.Add($"Stride = {Pair(spec.Stride2d)}");
                set.Add($"Padding = {Pair(spec.Padding2d)}");
                set.Add($"Dilation = {Pair(spec.Dilation2d)}");
                if (spec.Kind == LayerKind.ConvTranspose2d) set.Add($"OutputPadding = {Pair(spec.OutputPadding2d)}");
                set.Add($"Bias = {Bool(spec.Bias)}");
                break;
            case LayerKind.MaxPool2d:
            case LayerKind.AvgPool2d:
                set.Add($"Kernel = {Pair(spec.Kernel2d)}");
                set.Add($"Stride = {Pair(spec.Stride2d)}");
                set.Add($"Padding = {Pair(spec.Padding2d)}");
                break;
            case LayerKind.Upsample:
                set.Add($"AlternateMode = {Bool((spec.Mode ?? 0) == 1)}");
                set.Add($"AlignCorners = {Bool(spec.AlignCorners)}");
                if (spec.ScaleFactor is int factor) set.Add($"ScaleFactor = {i(factor)}");
                break;
            case LayerKind.Dropout:
                set.Add($"Value = {Real(spec.Probability ?? 0.5)}");
                break;
            case LayerKind.LeakyReLU:
                set.Add($"Value = {Real(spec.NegativeSlope ?? 0.01)}");
                break;
            case LayerKind.BatchNorm1d:
            case LayerKind.BatchNorm2d:
                set.Add($"InSize = {i(layer.InSize)}");
                break;
            case LayerKind.LayerNorm:
                set.Add($"Normalized = {Ints(spec.NormalizedShape.Count == 0 ? [layer.InputShape[layer.InputShape.Count - 1]] : [.. spec.NormalizedShape])}");
                break;
            case LayerKind.Embedding:
            case LayerKind.EmbeddingBag:
                set.Add($"Vocabulary = {i(spec.Vocabulary!.Value)}");
                set.Add($"Size = {i(spec.Size!.Value)}");
                if (spec.PaddingIndex is int padding) set.Add($"PaddingIndex = {i(padding)}");
                if (spec.Kind == LayerKind.EmbeddingBag) set.Add($"AlternateMode = {Bool((spec.Mode ?? 0) == 1)}");
                break;
            case LayerKind.Module:
                set.Add($"Module = \"{spec.Module!.DisplayName.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"");
                break;
        }
        string text = $"new({Ns}PlanLayerKind.{spec.Kind}, {Ints(layer.InputShape)}, {Ints(layer.OutputShape)})";
        return set.Count == 0 ? text : text + " { " + string.Join(", ", set) + " }";
    }

    internal static string Ints(IReadOnlyList<int> values) => values.Count == 0 ? "new int[0]" :
        "new int[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";

    internal static string Longs(IReadOnlyList<long> values) => values.Count == 0 ? "new long[0]" :
        "new long[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Real(double value)
    {
        if (double.IsNaN(value)) return "double.NaN";
        if (double.IsInfinity(value)) return value > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity";
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(['.', 'E', 'e']) >= 0 ? text : text + ".0";
    }
}
