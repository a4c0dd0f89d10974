using System;
using System.Collections.Generic;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>What Conv2d and ConvTranspose2d share (the runtime's <c>Convolution2dAttribute</c>): channels, window, dilation, bias.</summary>
internal abstract class Convolution2d : Window2d
{
    /// <summary>The arguments of every 2-D convolution.</summary>
    protected static readonly string[] ConvolutionArguments =
        [.. WindowArguments, "OutChannels", "Dilation", "DilationHeight", "DilationWidth", "InChannels", "Bias"];

    /// <summary>The convolution's numbers, defaults applied.</summary>
    protected sealed record Numbers(int Out, (int Height, int Width) Kernel, (int Height, int Width) Stride, (int Height, int Width) Padding,
        (int Height, int Width) Dilation, bool Bias);

    protected static Numbers Of(LayerSpec layer) =>
        new(layer.Int("OutChannels")!.Value, Kernel(layer), Stride(layer, (1, 1)), Padding(layer), Resolve(layer, "Dilation", (1, 1)), layer.Flag("Bias") ?? true);

    public override bool Check(LayerContext layer) =>
        layer.AtLeast("OutChannels", 1) && KernelInRange(layer) && layer.AxesAtLeast("Stride", 1) && layer.AxesAtLeast("Padding", 0)
        && layer.AxesAtLeast("Dilation", 1) && layer.AtLeast("InChannels", 1);

    /// <summary>The output size along input dimension <paramref name="d"/> (1: height, 2: width), or null (reported).</summary>
    protected abstract int? OutputSize(LayerContext layer, int d, int kernel, int stride, int padding, int dilation, int outputPadding);

    /// <summary>The output padding (a transposed convolution's; else none).</summary>
    protected virtual (int Height, int Width) OutputPadding(LayerSpec layer) => (0, 0);

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        string hint = input.Count == 2 ? "; use Conv1d for [channels, length]"
            : input.Count == 1 ? "; a vector has no spatial dimension, so convolve before Flatten or Linear" : "";
        if (!layer.Rank(3, "[channels, height, width]", hint)) return null;
        int inChannels = input[0];
        layer.ExplicitInSize("InChannels", inChannels);
        Numbers c = Of(layer.Spec);
        var outputPadding = OutputPadding(layer.Spec);
        if (OutputSize(layer, 1, c.Kernel.Height, c.Stride.Height, c.Padding.Height, c.Dilation.Height, outputPadding.Height) is not int height) return null;
        if (OutputSize(layer, 2, c.Kernel.Width, c.Stride.Width, c.Padding.Width, c.Dilation.Width, outputPadding.Width) is not int width) return null;
        long weights = checked((long)c.Out * inChannels * c.Kernel.Height * c.Kernel.Width);
        return layer.Done([c.Out, height, width], inChannels, checked(weights + (c.Bias ? c.Out : 0)));
    }

    public override string Describe(ShapedLayer layer)
    {
        Numbers c = Of(layer.Spec);
        string option(string name, (int Height, int Width) value, (int Height, int Width) fallback) => value == fallback ? "" : $", {name}={Size(value)}";
        return $"{Name}({I(layer.InSize)}→{I(c.Out)}, k={Size(c.Kernel)}" + option("s", c.Stride, (1, 1)) + option("p", c.Padding, (0, 0))
               + option("op", OutputPadding(layer.Spec), (0, 0)) + option("d", c.Dilation, (1, 1)) + (c.Bias ? "" : ", no bias") + ")";
    }
}
