using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MtlDsl.Generators.Layers;

/// <summary>How generated C# and summaries spell the values layers are built with.</summary>
internal static class Literals
{
    /// <summary>TorchSharp's <c>nn</c>, fully qualified.</summary>
    public const string Nn = "global::TorchSharp.torch.nn";

    /// <summary>MtlDsl's layer factories (<c>src/MtlDsl/Model/Layers.cs</c>), fully qualified.</summary>
    public const string Factories = "global::MtlDsl.Layers";

    public static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A double as a C# literal that reads back to the same value ("0.5", "2.0", "1E-05").</summary>
    public static string Double(double value)
    {
        if (double.IsNaN(value)) return "double.NaN";
        if (double.IsInfinity(value)) return value > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity";
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(['.', 'E', 'e']) >= 0 ? text : text + ".0";
    }

    /// <summary>A double as the summary shows it.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string String(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary><c>new int[] { 1, 2 }</c>, or <c>new int[0]</c>.</summary>
    public static string IntList(IEnumerable<int> values)
    {
        var items = values.Select(v => I(v)).ToList();
        return items.Count == 0 ? "new int[0]" : $"new int[] {{ {string.Join(", ", items)} }}";
    }

    /// <summary><c>new long[] { 1, 2 }</c>, or <c>new long[0]</c>.</summary>
    public static string LongList(IEnumerable<long> values)
    {
        var items = values.Select(v => I(v)).ToList();
        return items.Count == 0 ? "new long[0]" : $"new long[] {{ {string.Join(", ", items)} }}";
    }

    public static string LongArray(IEnumerable<int> values) => $"new long[] {{ {string.Join(", ", values.Select(v => I(v)))} }}";

    /// <summary>A 2-D size in generated code, as the (height, width) pair TorchSharp's layers take.</summary>
    public static string Pair((int Height, int Width) size) => $"({I(size.Height)}, {I(size.Width)})";

    public static bool Square((int Height, int Width) size) => size.Height == size.Width;

    /// <summary>A 2-D size in the summary: 3 when square, else 3×1 (height × width).</summary>
    public static string Size((int Height, int Width) size) => Square(size) ? I(size.Height) : I(size.Height) + "×" + I(size.Width);

    /// <summary>A shape as diagnostics and summaries write it: [3, 32, 32].</summary>
    public static string Shape(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape.Select(d => I(d))) + "]";
}
