using System;
using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// [ConvTranspose2d(outChannels, kernelSize)]: the upsampling convolution of dense-prediction heads,
/// <c>H' = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1</c>.
/// </summary>
internal sealed class ConvTranspose2d : Convolution2d
{
    public override string Name => "ConvTranspose2d";

    public override LayerFamily Family => LayerFamily.Convolution;

    public override LayerDoc Doc => new("ConvTranspose2d(outChannels, kernelSize)` or `(outChannels, kernelHeight, kernelWidth)", "`[C, H, W]`", "`[outChannels, H′, W′]`, H′ = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1", "as `Conv2d`, and `OutputPadding = 0` (also per axis)", "as `Conv2d`; output padding smaller than the stride or the dilation");

    public override IReadOnlyList<string> Arguments { get; } = [.. ConvolutionArguments, "OutputPadding", "OutputPaddingHeight", "OutputPaddingWidth"];

    protected override (int Height, int Width) OutputPadding(LayerSpec layer) => Resolve(layer, "OutputPadding", (0, 0));

    public override bool Check(LayerContext layer)
    {
        if (!base.Check(layer) || !layer.AxesAtLeast("OutputPadding", 0)) return false;
        // PyTorch: the output padding must be smaller than the stride or the dilation, axis by axis.
        Numbers c = Of(layer.Spec);
        var output = OutputPadding(layer.Spec);
        foreach (var (axis, op, st, di) in new[] { ("Height", output.Height, c.Stride.Height, c.Dilation.Height), ("Width", output.Width, c.Stride.Width, c.Dilation.Width) })
            if (op >= Math.Max(st, di))
                return layer.OutOfRange(WrittenAs(layer.Spec, "OutputPadding", axis), op.ToString(CultureInfo.InvariantCulture),
                    $"smaller than the {axis.ToLowerInvariant()}'s stride or dilation, whichever is larger ({Math.Max(st, di).ToString(CultureInfo.InvariantCulture)})");
        return true;
    }

    protected override int? OutputSize(LayerContext layer, int d, int kernel, int stride, int padding, int dilation, int outputPadding) =>
        layer.Transposed(d, kernel, stride, padding, dilation, outputPadding);

    public override string Factory(ShapedLayer layer, string block)
    {
        Numbers c = Of(layer.Spec);
        return $"{Factories}.ConvTranspose2d({I(layer.InSize)}, {I(c.Out)}, {Pair(c.Kernel)}, stride: {Pair(c.Stride)}, padding: {Pair(c.Padding)}, outputPadding: {Pair(OutputPadding(layer.Spec))}, dilation: {Pair(c.Dilation)}, bias: {Bool(c.Bias)})";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer)
    {
        Numbers c = Of(layer.Spec);
        return [PlanValue.Int("in_channels", layer.InSize), PlanValue.Int("out_channels", c.Out), PlanValue.Pair("kernel_size", c.Kernel),
            PlanValue.Pair("stride", c.Stride), PlanValue.Pair("padding", c.Padding), PlanValue.Pair("output_padding", OutputPadding(layer.Spec)),
            PlanValue.Pair("dilation", c.Dilation), PlanValue.Flag("bias", c.Bias)];
    }
}
