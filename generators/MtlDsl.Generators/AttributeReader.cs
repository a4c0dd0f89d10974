using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>
/// Reads an attribute's arguments from its syntax. Literals, negated literals, <c>double.NaN</c>-like constants,
/// <c>Loss.X</c> and casts are read directly; anything else (a const field, arithmetic) goes to a resolver: the
/// constants the compiler gave those expressions. Reading syntax keeps the generator's re-run cheap: binding
/// every attribute again after each edit anywhere in the project would not be.
/// </summary>
internal sealed class AttributeReader(Func<ExpressionSyntax, object?> resolve)
{
    /// <summary>The attribute's simple name without namespace, alias or <c>Attribute</c> suffix: <c>MtlDsl.LinearAttribute</c> → <c>Linear</c>.</summary>
    public static string SimpleName(AttributeSyntax attribute)
    {
        string name = attribute.Name switch
        {
            QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
            AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText,
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            _ => attribute.Name.ToString(),
        };
        return name.Length > "Attribute".Length && name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    /// <summary>
    /// The arguments by PascalCase name: positional ones take the names of <paramref name="parameters"/> in order
    /// (a last parameter named like a shape collects the rest, as a params array does).
    /// </summary>
    public AttributeArguments Read(AttributeSyntax attribute, IReadOnlyList<string> parameters)
    {
        var values = new Dictionary<string, (object? Value, LocationInfo? Location)>(StringComparer.Ordinal);
        bool complete = true;
        var collected = new List<object?>();
        LocationInfo? collectedLocation = null;
        int position = 0;
        foreach (AttributeArgumentSyntax argument in attribute.ArgumentList?.Arguments ?? default)
        {
            string? name = argument.NameEquals?.Name.Identifier.ValueText ?? argument.NameColon?.Name.Identifier.ValueText;
            bool isParams = name is null && parameters.Count > 0 && IsParamsArray(parameters[parameters.Count - 1]) && position >= parameters.Count - 1;
            name ??= position < parameters.Count ? parameters[position] : isParams ? parameters[parameters.Count - 1] : null;
            position++;
            if (name is null) { complete = false; continue; }

            object? value = Evaluate(argument.Expression);
            if (value is null) complete = false;
            if (isParams || IsParamsArray(name) && value is not object?[])
            {
                collected.Add(value);
                collectedLocation ??= LocationInfo.From(argument);
                continue;
            }
            values[Pascal(name)] = (value, LocationInfo.From(argument));
        }
        if (collectedLocation is not null && parameters.Count > 0)
            values[Pascal(parameters[parameters.Count - 1])] = (collected.ToArray(), collectedLocation);
        return new AttributeArguments(values, complete);
    }

    private static bool IsParamsArray(string parameter) => parameter is "shape" or "normalizedShape";

    private static string Pascal(string name) => char.ToUpperInvariant(name[0]) + name.Substring(1);

    /// <summary>The value of an argument expression; what is not a literal form goes to the resolver.</summary>
    public object? Evaluate(ExpressionSyntax expression)
    {
        switch (expression)
        {
            case LiteralExpressionSyntax literal:
                return literal.Token.Value;
            case ParenthesizedExpressionSyntax parenthesized:
                return Evaluate(parenthesized.Expression);
            case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.UnaryMinusExpression } minus:
                return Evaluate(minus.Operand) switch { int i => -i, double d => -d, float f => -f, long l => -l, _ => resolve(expression) };
            case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.UnaryPlusExpression } plus:
                return Evaluate(plus.Operand);
            case CastExpressionSyntax cast when cast.Type.ToString() is "Loss" or "MtlDsl.Loss" or "global::MtlDsl.Loss":
                return Evaluate(cast.Expression) is int value ? value : resolve(expression);
            case MemberAccessExpressionSyntax member:
                string owner = member.Expression.ToString(), field = member.Name.Identifier.ValueText;
                if (owner is "Loss" or "MtlDsl.Loss" or "global::MtlDsl.Loss")
                {
                    int index = Array.IndexOf(LossNames.All, field);
                    return index >= 0 ? index : resolve(expression);
                }
                if (owner is "double" or "Double" or "System.Double")
                {
                    switch (field)
                    {
                        case "NaN": return double.NaN;
                        case "PositiveInfinity": return double.PositiveInfinity;
                        case "NegativeInfinity": return double.NegativeInfinity;
                        case "MaxValue": return double.MaxValue;
                        case "Epsilon": return double.Epsilon;
                    }
                }
                if (owner is "int" or "Int32" or "System.Int32")
                {
                    switch (field)
                    {
                        case "MaxValue": return int.MaxValue;
                        case "MinValue": return int.MinValue;
                    }
                }
                return resolve(expression);
            case ArrayCreationExpressionSyntax { Initializer: { } initializer }:
                return initializer.Expressions.Select(Evaluate).ToArray();
            case ImplicitArrayCreationExpressionSyntax implicitArray:
                return implicitArray.Initializer.Expressions.Select(Evaluate).ToArray();
            default:
                return resolve(expression);
        }
    }
}

/// <summary>The arguments of one attribute as written, by PascalCase parameter or property name.</summary>
internal sealed class AttributeArguments(Dictionary<string, (object? Value, LocationInfo? Location)> values, bool complete)
{
    /// <summary>False when some argument is not a constant the reader understands (the compiler reports it).</summary>
    public bool Complete => complete;

    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>
    /// Whether every argument has a value of the type its parameter takes (<c>Bias</c> a bool, <c>P</c> and
    /// <c>NegativeSlope</c> numbers, shapes integer arrays, every other one an int); else the compiler rejects it.
    /// </summary>
    public bool WellTyped => values.All(v => v.Key switch
    {
        "Bias" => v.Value.Value is bool,
        "P" or "NegativeSlope" or "Weight" => ToDouble(v.Value.Value) is not null,
        "Shape" or "NormalizedShape" => v.Value.Value is object?[] items && items.All(i => ToInt(i) is not null),
        "Loss" => v.Value.Value is int,
        _ => ToInt(v.Value.Value) is not null,
    });

    public object? Value(string name) => values.TryGetValue(name, out var entry) ? entry.Value : null;

    public LocationInfo? Location(string name) => values.TryGetValue(name, out var entry) ? entry.Location : null;

    public EquatableArray<int> IntArray(string name) =>
        Value(name) is object?[] items ? items.Select(i => ToInt(i) ?? 0).ToEquatableArray() : EquatableArray<int>.Empty;

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

    public EquatableArray<ArgumentLocation> Locations =>
        values.OrderBy(v => v.Value.Location?.Start ?? 0).Select(v => new ArgumentLocation(v.Key, v.Value.Location)).ToEquatableArray();
}
