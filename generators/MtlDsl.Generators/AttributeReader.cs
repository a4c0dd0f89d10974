using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>
/// Reads an attribute as the compiler bound it (<see cref="AttributeData"/>): its class with aliases resolved, its
/// constructor and named arguments with every constant already converted to the parameter's type (a <c>(short)2</c>
/// stride is the int 2, a <c>const</c> from another file its value, <c>new[] { 3, 28, 28 }</c> the array), and, from
/// its syntax, where each argument is written, for diagnostics.
/// </summary>
internal static class AttributeReader
{
    /// <summary>The attribute's simple name without namespace, alias or <c>Attribute</c> suffix, from syntax (a cheap filter only).</summary>
    public static string SimpleName(AttributeSyntax attribute)
    {
        string name = attribute.Name switch
        {
            QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
            AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText,
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            _ => attribute.Name.ToString(),
        };
        return Trim(name);
    }

    private static string Trim(string name) =>
        name.Length > "Attribute".Length && name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;

    /// <summary>The simple name of one of MtlDsl's attribute classes (<c>Linear</c> for MtlDsl.LinearAttribute, however it was spelled), else null.</summary>
    public static string? MtlDslName(AttributeData attribute) =>
        attribute.AttributeClass is { TypeKind: not TypeKind.Error } type && type.ContainingNamespace?.ToDisplayString() == MultiTaskModelGenerator.AttributeNamespace
            ? Trim(type.Name)
            : null;

    /// <summary>
    /// The arguments by PascalCase parameter or property name, or null when the compiler rejects the attribute (no
    /// constructor fits, an argument is not a constant of the right type, the syntax is incomplete): that error is
    /// the compiler's alone.
    /// </summary>
    public static AttributeArguments? Read(AttributeData attribute, AttributeSyntax? syntax)
    {
        if (attribute.AttributeConstructor is not { } constructor || syntax is null || syntax.ContainsDiagnostics) return null;
        var locations = ArgumentLocations(syntax, constructor);
        var values = new Dictionary<string, (object? Value, LocationInfo? Location)>(StringComparer.Ordinal);
        for (int i = 0; i < attribute.ConstructorArguments.Length && i < constructor.Parameters.Length; i++)
        {
            TypedConstant argument = attribute.ConstructorArguments[i];
            if (argument.Kind == TypedConstantKind.Error) return null;
            string name = Pascal(constructor.Parameters[i].Name);
            // An omitted optional or params argument is the compiler's default, not something written.
            if (!locations.TryGetValue(name, out LocationInfo? location) && (constructor.Parameters[i].IsParams || constructor.Parameters[i].HasExplicitDefaultValue)) continue;
            values[name] = (Value(argument), location);
        }
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            if (named.Value.Kind == TypedConstantKind.Error) return null;
            values[named.Key] = (Value(named.Value), locations.TryGetValue(named.Key, out LocationInfo? location) ? location : null);
        }
        return new AttributeArguments(values);
    }

    // A constant as plain data: arrays become object arrays of their elements (a null array, (int[])null, is null:
    // its Values would throw); an enum is its underlying number.
    private static object? Value(TypedConstant constant) =>
        constant.Kind == TypedConstantKind.Array ? (constant.IsNull ? null : constant.Values.Select(Value).ToArray()) : constant.Value;

    // Where each argument is written, by PascalCase parameter or property name (the first of a params list).
    private static Dictionary<string, LocationInfo?> ArgumentLocations(AttributeSyntax syntax, IMethodSymbol constructor)
    {
        var locations = new Dictionary<string, LocationInfo?>(StringComparer.Ordinal);
        int position = 0;
        foreach (AttributeArgumentSyntax argument in syntax.ArgumentList?.Arguments ?? default)
        {
            string? name = argument.NameEquals?.Name.Identifier.ValueText ?? argument.NameColon?.Name.Identifier.ValueText;
            if (name is null && constructor.Parameters.Length > 0)
                name = constructor.Parameters[Math.Min(position, constructor.Parameters.Length - 1)].Name;
            if (argument.NameEquals is null) position++;
            if (name is null) continue;
            name = Pascal(name);
            if (!locations.ContainsKey(name)) locations[name] = LocationInfo.From(argument);
        }
        return locations;
    }

    private static string Pascal(string name) => char.ToUpperInvariant(name[0]) + name.Substring(1);
}

/// <summary>The arguments of one attribute as written, by PascalCase parameter or property name.</summary>
internal sealed class AttributeArguments(Dictionary<string, (object? Value, LocationInfo? Location)> values)
{
    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>
    /// Whether every argument has a value of the type its parameter takes (<c>Bias</c> a bool, <c>P</c> and
    /// <c>NegativeSlope</c> numbers, shapes and per-task expert counts integer arrays, every other one an int); else the compiler rejects it.
    /// </summary>
    public bool WellTyped => values.All(v => v.Key switch
    {
        "Bias" or "OneGate" or "AlignCorners" or "ReLUAfterSum" or "ReduceSum" or "Matrix" or "Bottom" => v.Value.Value is bool,
        "P" or "NegativeSlope" or "Weight" => ToDouble(v.Value.Value) is not null,
        // A null array ((int[])null) compiles: it reads as empty (MTL002 for a shape; LayerNorm's last dimension; Unflatten's MTL010).
        "Shape" or "NormalizedShape" or "UnflattenedSize" or "OutputShape" or "TaskExpertsPerTask" => v.Value.Value is null || v.Value.Value is object?[] items && items.All(i => ToInt(i) is not null),
        // [Task]'s loss weights: a double array ([1, 2], new[] { 1.0, 2 }, a const), or null (not given).
        "PositiveWeights" or "ClassWeights" => v.Value.Value is null || v.Value.Value is object?[] numbers && numbers.All(i => ToDouble(i) is not null),
        "Loss" => v.Value.Value is int,
        "Reads" or "From" => v.Value.Value is string or null,
        "Name" => v.Value.Value is string or null,
        "Type" => v.Value.Value is ITypeSymbol,
        "Arguments" => true, // constants of any type: OwnModules checks them against the constructor
        "Sources" or "Tasks" => v.Value.Value is null || v.Value.Value is object?[] names && names.All(n => n is string or null),
        _ => ToInt(v.Value.Value) is not null,
    });

    public object? Value(string name) => values.TryGetValue(name, out var entry) ? entry.Value : null;

    public LocationInfo? Location(string name) => values.TryGetValue(name, out var entry) ? entry.Location : null;

    public EquatableArray<int> IntArray(string name) =>
        Value(name) is object?[] items ? items.Select(i => ToInt(i) ?? 0).ToEquatableArray() : EquatableArray<int>.Empty;

    /// <summary>A double-array argument as written (the compiler converted every element), or null when not given or null.</summary>
    public EquatableArray<double>? DoubleArray(string name) =>
        Value(name) is object?[] items ? items.Select(i => ToDouble(i) ?? double.NaN).ToEquatableArray() : null;

    /// <summary>An int-typed argument as the compiler converts it: any integral constant that fits (<c>(short)2</c>, <c>(byte)1</c>, a <c>const long</c>).</summary>
    public int? Int(string name) => ToInt(Value(name));

    /// <summary>A double-typed argument as the compiler converts it: any numeric constant (<c>2L</c>, <c>2u</c>, <c>0.5f</c>).</summary>
    public double? Double(string name) => ToDouble(Value(name));

    internal static int? ToInt(object? value) => value switch
    {
        int i => i,
        byte or sbyte or short or ushort or char => Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture),
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        uint u when u <= int.MaxValue => (int)u,
        ulong u when u <= int.MaxValue => (int)u,
        _ => null,
    };

    internal static double? ToDouble(object? value) => value switch
    {
        double d => d,
        float f => f,
        decimal => null, // not a constant of a double-typed attribute argument (the compiler rejects it)
        _ when ToInt(value) is int i => i,
        long l => l,
        uint u => u,
        ulong u => u,
        _ => null,
    };

    /// <summary>
    /// The arguments as a layer's written values (by name, in ordinal order): bools as flags, arrays as ints (a null
    /// array empty), numbers as the int they fit and, when floating-point, the double.
    /// </summary>
    public EquatableArray<LayerArgument> LayerValues() =>
        values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Value.Value switch
        {
            bool flag => new LayerArgument(v.Key, Flag: flag),
            string text => new LayerArgument(v.Key, Text: text),
            null when v.Key == "From" => new LayerArgument(v.Key),
            null => new LayerArgument(v.Key, Ints: EquatableArray<int>.Empty),
            object?[] items => new LayerArgument(v.Key, Ints: items.Select(i => ToInt(i) ?? 0).ToEquatableArray()),
            double or float => new LayerArgument(v.Key, Real: ToDouble(v.Value.Value)),
            var number => new LayerArgument(v.Key, Integer: ToInt(number)),
        }).ToEquatableArray();

    public EquatableArray<ArgumentLocation> Locations =>
        values.OrderBy(v => v.Value.Location?.Start ?? 0).Select(v => new ArgumentLocation(v.Key, v.Value.Location)).ToEquatableArray();
}
