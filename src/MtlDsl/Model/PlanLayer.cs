using System.Globalization;

namespace MtlDsl;

/// <summary>
/// One layer with its inferred per-sample shapes, in PyTorch's vocabulary: <see cref="Kind"/> is the MtlDsl layer
/// attribute's name (<c>"Conv2d"</c>, <c>"LayerNorm"</c>, …), and for every kind but <c>"Module"</c> the layer is
/// <c>{home}.{Kind}(**Arguments)</c>, where <see cref="Home"/> says the Python module: <c>torch.nn</c> for the kinds
/// PyTorch has (<c>torch.nn.Conv2d</c>), MtlDsl's <c>mtldsl_torch</c> for those it has not
/// (<c>mtldsl_torch.FactorizationMachine</c>). <see cref="Arguments"/> are that constructor's keyword arguments, with
/// PyTorch's names in PyTorch's order, and complete (every value the layer's numbers depend on). A module of your own
/// is <c>"Module"</c>, without arguments, named by <see cref="Module"/>. The exporters read the arguments by name
/// (<see cref="Int"/>, <see cref="Ints"/>, …), and the PyTorch twin writes them as they are.
/// </summary>
/// <param name="Kind">The layer attribute's name: <c>"Linear"</c>, <c>"Conv2d"</c>, …, <c>"Module"</c>.</param>
/// <param name="InputShape">The per-sample input shape (without the batch dimension).</param>
/// <param name="OutputShape">The per-sample output shape.</param>
/// <param name="Arguments">The keyword arguments of the layer's PyTorch class (<c>torch.nn.{Kind}</c> or <c>mtldsl_torch.{Kind}</c>), in its order.</param>
public sealed record PlanLayer(string Kind, IReadOnlyList<int> InputShape, IReadOnlyList<int> OutputShape, IReadOnlyList<PlanArgument> Arguments)
{
    /// <summary>A module of your own (<see cref="Kind"/> <c>"Module"</c>): its type's display name; else null.</summary>
    public string? Module { get; init; }

    /// <summary>
    /// Where the layer's PyTorch class lives: <see cref="PyTorchHome.TorchNn"/> (<c>torch.nn.{Kind}</c>, the default) or
    /// <see cref="PyTorchHome.MtlDslTorch"/> (<c>mtldsl_torch.{Kind}</c>, MtlDsl's PyTorch support file, for the kinds
    /// PyTorch has no class for). The layer kind's definition in the generator says which.
    /// </summary>
    public PyTorchHome Home { get; init; } = PyTorchHome.TorchNn;

    /// <summary>Whether the layer has the argument <paramref name="name"/> (whatever its value, None included).</summary>
    public bool Has(string name) => Find(name) is not null;

    /// <summary>The value of argument <paramref name="name"/>: a long, double, bool, string, long[] or double[], or null for Python's None.</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    public object? Value(string name) => (Find(name) ?? throw Missing(name)).Value;

    /// <summary>The value of argument <paramref name="name"/> (<see cref="Value"/>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    public object? this[string name] => Value(name);

    /// <summary>An integer argument (<c>in_features</c>, <c>num_embeddings</c>, …).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not an integer (a long).</exception>
    public long Int(string name) => Read<long>(name, "an integer (long)");

    /// <summary>A real argument (<c>p</c>, <c>negative_slope</c>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not a real number (a double).</exception>
    public double Real(string name) => Read<double>(name, "a real number (double)");

    /// <summary>A boolean argument (<c>bias</c>, <c>align_corners</c>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not a bool.</exception>
    public bool Flag(string name) => Read<bool>(name, "a bool");

    /// <summary>A text argument (<c>mode</c>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not a string.</exception>
    public string Text(string name) => Read<string>(name, "a string");

    /// <summary>A tuple of integers (<c>kernel_size</c> of a 2-D layer, <c>normalized_shape</c>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not a tuple of integers (a long[]).</exception>
    public IReadOnlyList<long> Ints(string name) => Read<long[]>(name, "a tuple of integers (long[])");

    /// <summary>A tuple of reals (<c>scale_factor</c>).</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such argument.</exception>
    /// <exception cref="InvalidCastException">The argument is not a tuple of reals (a double[]).</exception>
    public IReadOnlyList<double> Reals(string name) => Read<double[]>(name, "a tuple of reals (double[])");

    private PlanArgument? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (PlanArgument argument in Arguments)
            if (argument.Name == name) return argument;
        return null;
    }

    private T Read<T>(string name, string what)
    {
        object? value = Value(name);
        return value is T typed ? typed
            : throw new InvalidCastException($"The {Kind} layer's argument '{name}' is {PlanArgument.Describe(value)}, not {what}.");
    }

    private KeyNotFoundException Missing(string name) =>
        new($"The {Kind} layer has no argument '{name}' (its arguments: {(Arguments.Count == 0 ? "none" : string.Join(", ", Arguments.Select(a => a.Name)))}).");
}

/// <summary>
/// One keyword argument of a <see cref="PlanLayer"/>: PyTorch's parameter name and its value, which is a
/// <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, <see cref="string"/>, <c>long[]</c> or <c>double[]</c>
/// (a tuple), or null (Python's None).
/// </summary>
/// <param name="Name">The parameter's name in PyTorch (<c>in_channels</c>, <c>kernel_size</c>).</param>
/// <param name="Value">The value: long, double, bool, string, long[], double[] or null.</param>
public sealed record PlanArgument(string Name, object? Value)
{
    /// <summary>The argument's name in PyTorch.</summary>
    public string Name { get; init; } = !string.IsNullOrEmpty(Name) ? Name : throw new ArgumentException("A plan argument needs a name.", nameof(Name));

    /// <summary>The value: long, double, bool, string, long[], double[] or null (Python's None).</summary>
    public object? Value { get; init; } = Value is null or long or double or bool or string or long[] or double[] ? Value
        : throw new ArgumentException($"Plan argument '{Name}' is {Describe(Value)}; a plan argument is a long, double, bool, string, long[], double[] or null.", nameof(Value));

    internal static string Describe(object? value) => value switch
    {
        null => "None (null)",
        long[] longs => $"long[] {{ {string.Join(", ", longs.Select(v => v.ToString(CultureInfo.InvariantCulture)))} }}",
        double[] doubles => $"double[] {{ {string.Join(", ", doubles.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))} }}",
        string text => $"the string \"{text}\"",
        IFormattable number => $"{value.GetType().Name} {number.ToString(null, CultureInfo.InvariantCulture)}",
        _ => $"{value.GetType().Name} {value}",
    };
}
