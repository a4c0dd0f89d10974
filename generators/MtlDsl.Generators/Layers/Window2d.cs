using System;
using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// What the 2-D layers with a window share (the runtime's <c>Window2dAttribute</c>): a square kernel
/// (<c>KernelSize</c>) or a height and a width, and a stride and padding for both axes or each axis's own
/// (<c>StrideHeight</c>, …; where both are written, the one axis's value wins).
/// </summary>
internal abstract class Window2d : LayerDefinition
{
    /// <summary>The window arguments every 2-D window layer reads.</summary>
    protected static readonly string[] WindowArguments =
        ["KernelSize", "KernelHeight", "KernelWidth", "Stride", "StrideHeight", "StrideWidth", "Padding", "PaddingHeight", "PaddingWidth"];

    /// <summary>The kernel (height, width): <c>KernelSize</c> for both, else the two written.</summary>
    public static (int Height, int Width) Kernel(LayerSpec layer)
    {
        int height = layer.Int("KernelSize") ?? layer.Int("KernelHeight") ?? 0;
        return (height, layer.Int("KernelWidth") ?? height);
    }

    /// <summary>The stride; <paramref name="fallback"/> where none was written (1 for convolutions, the window for pooling).</summary>
    public static (int Height, int Width) Stride(LayerSpec layer, (int Height, int Width) fallback) => Resolve(layer, "Stride", fallback);

    /// <summary>The padding (0 where none was written).</summary>
    public static (int Height, int Width) Padding(LayerSpec layer) => Resolve(layer, "Padding", (0, 0));

    /// <summary>The size of each axis: the axis's own (<c>{name}Height</c>), else the one for both (<c>{name}</c>), else the default.</summary>
    public static (int Height, int Width) Resolve(LayerSpec layer, string name, (int Height, int Width) fallback)
    {
        int? both = layer.Int(name);
        return (layer.Int(name + "Height") ?? both ?? fallback.Height, layer.Int(name + "Width") ?? both ?? fallback.Width);
    }

    /// <summary>The kernel as written: one size (KernelSize) or a height and a width, each at least 1.</summary>
    protected static bool KernelInRange(LayerContext layer) => layer.Spec.Has("KernelWidth")
        ? layer.AtLeast("KernelHeight", 1) && layer.AtLeast("KernelWidth", 1)
        : layer.AtLeast("KernelSize", 1);

    /// <summary>The per-axis argument an axis's value was written as: <c>PaddingHeight</c> where written, else <c>Padding</c>.</summary>
    protected static string WrittenAs(LayerSpec layer, string name, string axis) => layer.Has(name + axis) ? name + axis : name;
}
