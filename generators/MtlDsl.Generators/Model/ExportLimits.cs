using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Model;

/// <summary>A call of <c>ExportOnnx</c> or <c>ExportPyTorch</c> on a model: the model's full name, the method, where.</summary>
internal sealed record ExportCall(string ModelFullName, string Method, LocationInfo? Location);

/// <summary>Why a valid model cannot be exported to ONNX or to PyTorch (null where it can), known at compile time.</summary>
internal sealed record ExportLimits(string ModelFullName, string ModelName, string? Onnx, string? PyTorch)
{
    public static ExportLimits Of(ShapedModel shaped)
    {
        ModelSpec model = shaped.Spec;
        var own = shaped.Blocks.SelectMany(b => b.Layers.Select(l => (Block: b, Layer: l))).FirstOrDefault(x => x.Layer.Spec.Kind == Layers.Module.Kind);
        string? OwnModule(string engine) => own.Layer is null ? null :
            $"{own.Layer.Spec.Module!.DisplayName} (layer {own.Layer.Index.ToString(CultureInfo.InvariantCulture)} of '{own.Block.Spec.Name.TrimStart('@')}') is a TorchSharp module of your own, which has no {engine} counterpart MtlDsl could write";
        string? onnx = OwnModule("ONNX");
        if (onnx is null)
        {
            // An ONNX graph names every value once: its inputs and outputs (the tasks) share one namespace.
            var clash = shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Task).Select(b => b.Spec.Name.TrimStart('@'))
                .FirstOrDefault(task => model.Inputs.Any(i => i.EffectiveName == task));
            if (clash is not null)
                onnx = $"task '{clash}' and input '{clash}' share a name, and an ONNX graph names every value once; rename the task or the input";
        }
        return new ExportLimits(model.FullName, model.ClassName.TrimStart('@'), onnx, OwnModule("PyTorch"));
    }

    /// <summary>Why <paramref name="method"/> cannot export the model, or null.</summary>
    public string? For(string method) => method == "ExportOnnx" ? Onnx : PyTorch;
}
