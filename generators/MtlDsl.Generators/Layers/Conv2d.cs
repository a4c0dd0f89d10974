using System.Collections.Generic;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>[Conv2d(outChannels, kernelSize)] or [Conv2d(outChannels, kernelHeight, kernelWidth)] on <c>[channels, height, width]</c>.</summary>
internal sealed class Conv2d : Convolution2d
{
    public override string Name => "Conv2d";

    public override LayerFamily Family => LayerFamily.Convolution;

    public override LayerDoc Doc => new("Conv2d(outChannels, kernelSize)` or `(outChannels, kernelHeight, kernelWidth)", "`[C, H, W]`", "`[outChannels, H′, W′]`", "`Stride = 1`, `Padding = 0`, `Dilation = 1` (each also `…Height`/`…Width`), `InChannels` (checked), `Bias = true`", "sizes, stride, dilation ≥ 1, padding ≥ 0; H′, W′ ≥ 1 (MTL006)");

    public override IReadOnlyList<string> Arguments => ConvolutionArguments;

    protected override int? OutputSize(LayerContext layer, int d, int kernel, int stride, int padding, int dilation, int outputPadding) =>
        layer.Convolved(d, kernel, stride, padding, dilation);

    // MtlDsl.Layers.Conv2d: the convolution that computes the same numbers on every CPU (src/MtlDsl/Model/BlockAlignedConv.cs).
    public override string Factory(ShapedLayer layer, string block)
    {
        Numbers c = Of(layer.Spec);
        return Square(c.Kernel) && Square(c.Stride) && Square(c.Padding) && Square(c.Dilation)
            ? $"{Factories}.Conv2d({I(layer.InSize)}, {I(c.Out)}, {I(c.Kernel.Height)}, stride: {I(c.Stride.Height)}, padding: {I(c.Padding.Height)}, dilation: {I(c.Dilation.Height)}, bias: {Bool(c.Bias)})"
            : $"{Factories}.Conv2d({I(layer.InSize)}, {I(c.Out)}, {Pair(c.Kernel)}, stride: {Pair(c.Stride)}, padding: {Pair(c.Padding)}, dilation: {Pair(c.Dilation)}, bias: {Bool(c.Bias)})";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer)
    {
        Numbers c = Of(layer.Spec);
        return [PlanValue.Int("in_channels", layer.InSize), PlanValue.Int("out_channels", c.Out), PlanValue.Pair("kernel_size", c.Kernel),
            PlanValue.Pair("stride", c.Stride), PlanValue.Pair("padding", c.Padding), PlanValue.Pair("dilation", c.Dilation), PlanValue.Flag("bias", c.Bias)];
    }
}
