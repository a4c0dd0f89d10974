using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// One argument of a layer's plan entry (the runtime's <c>MtlDsl.PlanArgument</c>): a long, double, bool, string,
/// long[] or double[], or null (PyTorch's <c>None</c>). <see cref="CSharp"/> writes it as generated code spells it.
/// </summary>
internal sealed class PlanValue
{
    private PlanValue(string name, object? value)
    {
        Name = name;
        Value = value;
    }

    public string Name { get; }

    public object? Value { get; }

    public static PlanValue Int(string name, long value) => new(name, value);

    public static PlanValue Real(string name, double value) => new(name, value);

    public static PlanValue Flag(string name, bool value) => new(name, value);

    public static PlanValue Text(string name, string value) => new(name, value);

    public static PlanValue Ints(string name, IEnumerable<int> values) => new(name, values.Select(v => (long)v).ToArray());

    public static PlanValue Pair(string name, (int Height, int Width) value) => Ints(name, [value.Height, value.Width]);

    public static PlanValue Reals(string name, IEnumerable<double> values) => new(name, values.ToArray());

    public static PlanValue None(string name) => new(name, null);

    /// <summary>The value as a C# expression of the type <c>PlanArgument.Value</c> holds.</summary>
    public string CSharp => Value switch
    {
        null => "null",
        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
        double d => Literals.Double(d),
        bool b => b ? "true" : "false",
        string s => Literals.String(s),
        long[] ls => "new long[] { " + string.Join(", ", ls.Select(l => l.ToString(CultureInfo.InvariantCulture))) + " }",
        double[] ds => "new double[] { " + string.Join(", ", ds.Select(Literals.Double)) + " }",
        _ => throw new System.InvalidOperationException($"A plan value of type {Value.GetType()}"),
    };
}
