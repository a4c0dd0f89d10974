using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Conv1d(outChannels, kernelSize)] on <c>[channels, length]</c>.</summary>
internal sealed class Conv1d : LayerDefinition
{
    public override string Name => "Conv1d";

    public override LayerFamily Family => LayerFamily.Convolution;

    public override LayerDoc Doc => new("Conv1d(outChannels, kernelSize)", "`[C, L]`", "`[outChannels, L′]`", "`Stride = 1`, `Padding = 0`, `Dilation = 1`, `InChannels` (checked), `Bias = true`", "sizes, stride, dilation ≥ 1, padding ≥ 0; L′ ≥ 1 (MTL006)");

    public override IReadOnlyList<string> Arguments { get; } = ["OutChannels", "KernelSize", "Stride", "Padding", "Dilation", "InChannels", "Bias"];

    private static (int Out, int Kernel, int Stride, int Padding, int Dilation, bool Bias) Of(LayerSpec layer) =>
        (layer.Int("OutChannels")!.Value, layer.Int("KernelSize")!.Value, layer.Int("Stride") ?? 1, layer.Int("Padding") ?? 0, layer.Int("Dilation") ?? 1, layer.Flag("Bias") ?? true);

    public override bool Check(LayerContext layer) =>
        layer.AtLeast("OutChannels", 1) && layer.AtLeast("KernelSize", 1) && layer.AtLeast("Stride", 1) && layer.AtLeast("Padding", 0)
        && layer.AtLeast("Dilation", 1) && layer.AtLeast("InChannels", 1);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        string hint = input.Count == 3 ? "; use Conv2d for [channels, height, width]"
            : input.Count == 1 ? "; a vector has no spatial dimension, so convolve before Flatten or Linear" : "";
        if (!layer.Rank(2, "[channels, length]", hint)) return null;
        int inChannels = input[0];
        layer.ExplicitInSize("InChannels", inChannels);
        var c = Of(layer.Spec);
        if (layer.Convolved(1, c.Kernel, c.Stride, c.Padding, c.Dilation) is not int length) return null;
        long weights = checked((long)c.Out * inChannels * c.Kernel);
        return layer.Done([c.Out, length], inChannels, checked(weights + (c.Bias ? c.Out : 0)));
    }

    public override string Factory(ShapedLayer layer, string block)
    {
        var c = Of(layer.Spec);
        return $"{Factories}.Conv1d({I(layer.InSize)}, {I(c.Out)}, {I(c.Kernel)}, stride: {I(c.Stride)}, padding: {I(c.Padding)}, dilation: {I(c.Dilation)}, bias: {Bool(c.Bias)})";
    }

    public override string Describe(ShapedLayer layer)
    {
        var c = Of(layer.Spec);
        return $"Conv1d({I(layer.InSize)}→{I(c.Out)}, k={I(c.Kernel)}" + (c.Stride != 1 ? $", s={I(c.Stride)}" : "") + (c.Padding != 0 ? $", p={I(c.Padding)}" : "")
               + (c.Dilation != 1 ? $", d={I(c.Dilation)}" : "") + (c.Bias ? "" : ", no bias") + ")";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer)
    {
        var c = Of(layer.Spec);
        return [PlanValue.Int("in_channels", layer.InSize), PlanValue.Int("out_channels", c.Out), PlanValue.Int("kernel_size", c.Kernel),
            PlanValue.Int("stride", c.Stride), PlanValue.Int("padding", c.Padding), PlanValue.Int("dilation", c.Dilation), PlanValue.Flag("bias", c.Bias)];
    }
}
