using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Architectures;
using MtlDsl.Generators.Layers;
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
        var bottom = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Bottom).ToList();
        if (bottom.Count == 0)
        {
            w.Line(architecture.Definition.Plan(new ArchitectureCode(shaped)) + ");");
        }
        else
        {
            w.Line(architecture.Definition.Plan(new ArchitectureCode(shaped)) + ")");
            w.Line("{");
            w.Indent();
            Blocks(w, bottom, "Bottom = ");
            w.Outdent();
            w.Line("};");
        }
        w.Outdent();
    }

    private static void Blocks(SourceWriter w, List<ShapedBlock> blocks, string prefix = "")
    {
        w.Line($"{prefix}new {Ns}PlanBlock[]");
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

    // A layer's plan entry: its kind, shapes, its definition's arguments (PyTorch's, Layers/*.cs) and, where it is not
    // torch.nn, its PyTorch class's home.
    private static string Layer(ShapedLayer layer)
    {
        LayerDefinition definition = layer.Spec.Definition;
        var arguments = definition.Plan(layer).Select(a => $"new(\"{a.Name}\", {a.CSharp})").ToList();
        string list = arguments.Count == 0 ? $"new {Ns}PlanArgument[0]" : $"new {Ns}PlanArgument[] {{ {string.Join(", ", arguments)} }}";
        string text = $"new(\"{layer.Spec.Kind}\", {Literals.IntList(layer.InputShape)}, {Literals.IntList(layer.OutputShape)}, {list})";
        var properties = new List<string>();
        if (layer.Spec.Module is { } own) properties.Add($"Module = {Literals.String(own.DisplayName)}");
        if (definition.Home != PyTorchHome.TorchNn) properties.Add($"Home = {Ns}PyTorchHome.{definition.Home}");
        return properties.Count == 0 ? text : text + $" {{ {string.Join(", ", properties)} }}";
    }
}
