using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Shapes;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>What MaxPool2d and AvgPool2d share: a window whose stride defaults to the window, padding at most half of it.</summary>
internal abstract class Pool2d : Window2d
{
    public override IReadOnlyList<string> Arguments => WindowArguments;

    private static ((int Height, int Width) Kernel, (int Height, int Width) Stride, (int Height, int Width) Padding) Of(Model.LayerSpec layer)
    {
        var kernel = Kernel(layer);
        return (kernel, Stride(layer, kernel), Padding(layer));
    }

    public override bool Check(LayerContext layer)
    {
        if (!(KernelInRange(layer) && layer.AxesAtLeast("Stride", 1) && layer.AxesAtLeast("Padding", 0))) return false;
        var (kernel, _, padding) = Of(layer.Spec);
        foreach (var (axis, pad, k) in new[] { ("Height", padding.Height, kernel.Height), ("Width", padding.Width, kernel.Width) })
            if (pad > k / 2)
                return layer.OutOfRange(WrittenAs(layer.Spec, "Padding", axis), pad.ToString(CultureInfo.InvariantCulture),
                    $"at most half the kernel {(layer.Spec.Has("KernelWidth") ? axis.ToLowerInvariant() : "size")} ({(k / 2).ToString(CultureInfo.InvariantCulture)})");
        return true;
    }

    public override ShapedLayer? Infer(LayerContext layer)
    {
        var input = layer.Input;
        if (!layer.Rank(3, "[channels, height, width]")) return null;
        var (kernel, stride, padding) = Of(layer.Spec);
        var output = new List<int> { input[0] };
        foreach (var (d, k, st, pad) in new[] { (1, kernel.Height, stride.Height, padding.Height), (2, kernel.Width, stride.Width, padding.Width) })
        {
            if (input[d] + 2L * pad < k)
                return layer.ShrinksToZero(d, $"the window of {k} is larger than the {(pad > 0 ? "padded " : "")}input {input[d] + 2L * pad}; use a smaller window or remove a pooling layer before it");
            output.Add(checked((int)(((long)input[d] + 2L * pad - k) / st + 1)));
        }
        return layer.Done(output, input[0], 0);
    }

    public override string Factory(ShapedLayer layer, string block)
    {
        var (kernel, stride, padding) = Of(layer.Spec);
        return Square(kernel) && Square(stride) && Square(padding)
            ? $"{Nn}.{Name}({I(kernel.Height)}, stride: {I(stride.Height)}, padding: {I(padding.Height)})"
            : $"{Nn}.{Name}({LongArray([kernel.Height, kernel.Width])}, stride: {LongArray([stride.Height, stride.Width])}, padding: {LongArray([padding.Height, padding.Width])})";
    }

    public override string Describe(ShapedLayer layer)
    {
        var (kernel, stride, padding) = Of(layer.Spec);
        return $"{Name}(k={Size(kernel)}" + (stride == kernel ? "" : $", s={Size(stride)}") + (padding == (0, 0) ? "" : $", p={Size(padding)}") + ")";
    }

    public override IEnumerable<PlanValue> Plan(ShapedLayer layer)
    {
        var (kernel, stride, padding) = Of(layer.Spec);
        return [PlanValue.Pair("kernel_size", kernel), PlanValue.Pair("stride", stride), PlanValue.Pair("padding", padding)];
    }
}
