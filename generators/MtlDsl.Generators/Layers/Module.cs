using System.Collections.Generic;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [Module(typeof(T), args…)]: a TorchSharp module of the user's own, created by the constructor C# binds for the
/// arguments as written (read by OwnModules.cs), its output shape declared or computed by its static OutputShape.
/// Its parameters are counted at run time; it has no plan arguments, and no PyTorch or ONNX counterpart.
/// </summary>
internal sealed class Module : LayerDefinition
{
    /// <summary>The kind's name, which the exports refuse.</summary>
    public const string Kind = "Module";

    public override string Name => Kind;

    public override LayerFamily Family => LayerFamily.Own;

    public override LayerDoc Doc => new("Module(typeof(T), args…)", "any", "`OutputShape`, or `T.OutputShape(input, args…)`", "your own `nn.Module<Tensor, Tensor>`", "the constructor C# binds (MTL034); the output shape (MTL034); no ONNX or PyTorch export (MTL035)");

    public override IReadOnlyList<string> Arguments { get; } = ["Type", "Arguments", "OutputShape"];

    public override bool Check(LayerContext layer)
    {
        if (layer.Spec.Module!.Problem is not { } problem) return true;
        layer.Report(DiagnosticDescriptors.OwnModuleProblem, layer.Spec.Module.ProblemLocation ?? layer.Spec.Location, layer.Label, problem);
        return false;
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        OwnModule own = layer.Spec.Module!;
        var input = layer.Input;
        ShapedLayer? Problem(string problem, string? argument = null)
        {
            layer.Report(DiagnosticDescriptors.OwnModuleProblem, argument is null ? layer.Spec.Location : layer.Spec.LocationOf(argument), layer.Label, problem);
            return null;
        }
        int[] shape = [.. own.DeclaredShape];
        if (own.HasFormula)
        {
            var (computed, problem) = ShapeFormula.Evaluate(own, input);
            if (computed is null)
                return Problem($"has a static {own.DisplayName}.OutputShape that cannot give the output for the input {Shape(input)}: {problem}");
            if (own.HasDeclaredShape && !computed.SequenceEqual(shape))
                return Problem($"declares OutputShape = {Shape(shape)}, but {own.DisplayName}.OutputShape computes {Shape(computed)} for the input {Shape(input)}; remove one or make them agree", "OutputShape");
            shape = computed;
        }
        else if (shape.Length == 0 || shape.Any(d => d < 1))
            return Problem($"declares OutputShape = {Shape(shape)}; give the shape of one output sample, every size positive", "OutputShape");
        // Its parameters are its own: only the run time counts them (-1).
        return layer.Done(shape, layer.InputSize, -1);
    }

    public override string Factory(ShapedLayer layer, string block)
    {
        OwnModule own = layer.Spec.Module!;
        string label = $"{own.DisplayName} (layer {I(layer.Index)} of '{block}')";
        string source = own.HasFormula ? $"{own.DisplayName}.OutputShape of the input {Shape(layer.InputShape)}" : "its declared OutputShape";
        return $"{Factories}.Own(new {own.TypeName}({string.Join(", ", own.Arguments)}), {String(label)}, {IntList(layer.OutputShape)}, {String(source)})";
    }

    public override string Describe(ShapedLayer layer) => $"{layer.Spec.Module!.DisplayName}({string.Join(", ", layer.Spec.Module.ArgumentTexts)})";
}
