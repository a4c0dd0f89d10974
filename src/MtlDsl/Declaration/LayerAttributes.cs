namespace MtlDsl;

// Layers are attributes on a trunk block or task head, applied in source order. Sizes that follow from the
// input shape (in-features, in-channels, normalised sizes) are inferred at compile time; where one is given
// explicitly, the generator checks it against the inference. Optional named arguments that are not given
// take PyTorch's defaults: the generator reads which were written, so the property values below only
// document those defaults.

/// <summary>Base of every layer attribute.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
}

/// <summary>A fully connected layer <c>y = x Wᵀ + b</c> on a vector input <c>[F]</c>; output <c>[outFeatures]</c>.</summary>
public sealed class LinearAttribute(int outFeatures) : LayerAttribute
{
    /// <summary>The output size.</summary>
    public int OutFeatures { get; } = outFeatures;
    /// <summary>Optional: the input size, checked against the inferred one.</summary>
    public int InFeatures { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>A 1-D convolution on <c>[C, L]</c>; output <c>[outChannels, L']</c>.</summary>
public sealed class Conv1dAttribute(int outChannels, int kernelSize) : LayerAttribute
{
    /// <summary>The number of output channels.</summary>
    public int OutChannels { get; } = outChannels;
    /// <summary>The kernel's length.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>The stride. Default 1.</summary>
    public int Stride { get; set; } = 1;
    /// <summary>Zero padding on both sides. Default 0.</summary>
    public int Padding { get; set; }
    /// <summary>The spacing between kernel elements. Default 1.</summary>
    public int Dilation { get; set; } = 1;
    /// <summary>Optional: the number of input channels, checked against the inferred one.</summary>
    public int InChannels { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>A 2-D convolution with a square kernel on <c>[C, H, W]</c>; output <c>[outChannels, H', W']</c>.</summary>
public sealed class Conv2dAttribute(int outChannels, int kernelSize) : LayerAttribute
{
    /// <summary>The number of output channels.</summary>
    public int OutChannels { get; } = outChannels;
    /// <summary>The kernel's height and width.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>The stride. Default 1.</summary>
    public int Stride { get; set; } = 1;
    /// <summary>Zero padding on every side. Default 0.</summary>
    public int Padding { get; set; }
    /// <summary>The spacing between kernel elements. Default 1.</summary>
    public int Dilation { get; set; } = 1;
    /// <summary>Optional: the number of input channels, checked against the inferred one.</summary>
    public int InChannels { get; set; }
    /// <summary>Whether the layer has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>2-D max pooling with a square window on <c>[C, H, W]</c>.</summary>
public sealed class MaxPool2dAttribute(int kernelSize) : LayerAttribute
{
    /// <summary>The window's height and width.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>The stride. Default: the kernel size.</summary>
    public int Stride { get; set; }
    /// <summary>Implicit padding on every side (at most half the kernel). Default 0.</summary>
    public int Padding { get; set; }
}

/// <summary>2-D average pooling with a square window on <c>[C, H, W]</c>.</summary>
public sealed class AvgPool2dAttribute(int kernelSize) : LayerAttribute
{
    /// <summary>The window's height and width.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>The stride. Default: the kernel size.</summary>
    public int Stride { get; set; }
    /// <summary>Zero padding on every side (at most half the kernel). Default 0.</summary>
    public int Padding { get; set; }
}

/// <summary>Adaptive 2-D average pooling of <c>[C, H, W]</c> to <c>[C, height, width]</c>.</summary>
public sealed class AdaptiveAvgPool2dAttribute : LayerAttribute
{
    /// <summary>Pools to a square <c>size × size</c>.</summary>
    public AdaptiveAvgPool2dAttribute(int size) : this(size, size) { }

    /// <summary>Pools to <c>height × width</c>.</summary>
    public AdaptiveAvgPool2dAttribute(int height, int width)
    {
        Height = height;
        Width = width;
    }

    /// <summary>The output height.</summary>
    public int Height { get; }
    /// <summary>The output width.</summary>
    public int Width { get; }
}

/// <summary>Flattens every dimension but the batch: <c>[C, H, W]</c> becomes <c>[C·H·W]</c>.</summary>
public sealed class FlattenAttribute : LayerAttribute
{
}

/// <summary>Dropout: zeroes each element with probability <c>p</c> while training; the identity in eval mode.</summary>
public sealed class DropoutAttribute(double p = 0.5) : LayerAttribute
{
    /// <summary>The probability of zeroing an element, in [0, 1).</summary>
    public double P { get; } = p;
}

/// <summary>Batch normalisation over the features of <c>[F]</c> or the channels of <c>[C, L]</c>.</summary>
public sealed class BatchNorm1dAttribute : LayerAttribute
{
    /// <summary>Optional: the number of features, checked against the inferred one.</summary>
    public int NumFeatures { get; set; }
}

/// <summary>Batch normalisation over the channels of <c>[C, H, W]</c>.</summary>
public sealed class BatchNorm2dAttribute : LayerAttribute
{
    /// <summary>Optional: the number of channels, checked against the inferred one.</summary>
    public int NumFeatures { get; set; }
}

/// <summary>
/// Layer normalisation over the trailing dimensions. Without arguments it normalises the last dimension;
/// with a shape, that shape is checked against the input's trailing dimensions.
/// </summary>
public sealed class LayerNormAttribute(params int[] normalizedShape) : LayerAttribute
{
    /// <summary>The normalised trailing shape; empty means the last dimension.</summary>
    public int[] NormalizedShape { get; } = normalizedShape;
}

/// <summary>The rectified linear unit.</summary>
public sealed class ReLUAttribute : LayerAttribute
{
}

/// <summary>Leaky ReLU.</summary>
public sealed class LeakyReLUAttribute : LayerAttribute
{
    /// <summary>The slope for negative inputs. Default 0.01.</summary>
    public double NegativeSlope { get; set; } = 0.01;
}

/// <summary>The Gaussian error linear unit (exact form).</summary>
public sealed class GELUAttribute : LayerAttribute
{
}

/// <summary>The logistic sigmoid.</summary>
public sealed class SigmoidAttribute : LayerAttribute
{
}

/// <summary>The hyperbolic tangent.</summary>
public sealed class TanhAttribute : LayerAttribute
{
}
