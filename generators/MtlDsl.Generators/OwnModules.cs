using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>
/// Reads a <c>[Module(typeof(T), …)]</c> layer through the compiler's binding: that T is a TorchSharp module of
/// tensors the generated code can construct with the arguments given, and its output shape: declared on the
/// attribute, or the return value of T's static <c>OutputShape(int[] input, …)</c>, whose bound operations are turned
/// into an expression of the input's sizes (the generator cannot run user code, but it can evaluate arithmetic).
/// Never throws on malformed input: a problem is kept in <see cref="OwnModule.Problem"/> for validation to report.
/// </summary>
internal static class OwnModules
{
    private const string ModuleMetadataName = "TorchSharp.torch+nn+Module`2";
    private const string TensorMetadataName = "TorchSharp.torch+Tensor";

    public static OwnModule Read(AttributeData data, AttributeSyntax? syntax, Compilation compilation, CancellationToken cancellationToken)
    {
        LocationInfo? attributeLocation = LocationInfo.From(syntax);
        LocationInfo? typeLocation = syntax?.ArgumentList?.Arguments.FirstOrDefault() is { } first ? LocationInfo.From(first) : attributeLocation;
        var type = data.ConstructorArguments.Length > 0 ? data.ConstructorArguments[0].Value as ITypeSymbol : null;
        TypedConstant[] arguments = data.ConstructorArguments.Length > 1 && data.ConstructorArguments[1].Kind == TypedConstantKind.Array && !data.ConstructorArguments[1].IsNull
            ? data.ConstructorArguments[1].Values.ToArray()
            : [];
        EquatableArray<int> declared = EquatableArray<int>.Empty;
        bool hasDeclared = false;
        foreach (KeyValuePair<string, TypedConstant> named in data.NamedArguments)
            if (named.Key == "OutputShape" && named.Value.Kind == TypedConstantKind.Array)
            {
                hasDeclared = true;
                declared = named.Value.IsNull ? EquatableArray<int>.Empty : named.Value.Values.Select(v => AttributeArguments.ToInt(v.Value) ?? 0).ToEquatableArray();
            }

        string display = type?.Name ?? "?";
        OwnModule Fail(string problem, LocationInfo? where) =>
            new(type?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) ?? "?", display, default, default, declared, hasDeclared, default, false, false, problem, where ?? attributeLocation);

        if (type is not INamedTypeSymbol named2 || type.TypeKind == TypeKind.Error)
            return Fail("names no type", typeLocation);
        if (named2.TypeKind != TypeKind.Class || named2.IsAbstract || named2.IsStatic)
            return Fail($"is {(named2.IsAbstract ? "abstract" : named2.IsStatic ? "static" : "not a class")}; it must be a class the generated code can create", typeLocation);
        if (named2.IsUnboundGenericType || named2.TypeArguments.Any(t => t is ITypeParameterSymbol))
            return Fail("is an open generic type; name a constructed one, typeof(T<int>)", typeLocation);
        if (!Accessible(named2, compilation))
            return Fail("is not accessible to the model (it, or a type it is nested in, is private or protected); make it internal or public", typeLocation);
        if (!IsTensorModule(named2, compilation))
            return Fail("is not a TorchSharp module of one tensor (derive it from nn.Module<Tensor, Tensor>)", typeLocation);

        // A public constructor that takes the arguments as they are (implicit conversions only).
        IMethodSymbol? constructor = null;
        foreach (IMethodSymbol candidate in named2.InstanceConstructors)
        {
            if (candidate.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal)) continue;
            // The arguments written, then the optional parameters' defaults.
            if (candidate.Parameters.Length < arguments.Length || candidate.Parameters.Skip(arguments.Length).Any(p => !p.IsOptional)) continue;
            if (arguments.Select((a, i) => Fits(a, candidate.Parameters[i].Type, compilation)).All(f => f)) { constructor = candidate; break; }
        }
        string Types() => string.Join(", ", arguments.Select(a => a.Type?.ToDisplayString() ?? "null"));
        if (constructor is null)
            return Fail(arguments.Length == 0
                ? "has no public constructor without parameters; pass its arguments after the type, [Module(typeof(" + display + "), 16, 2)]"
                : $"has no public constructor that takes ({Types()}); the arguments after the type are passed to it as they are written", attributeLocation);
        var argumentCode = new List<string>();
        var argumentTexts = new List<string>();
        for (int i = 0; i < arguments.Length; i++)
        {
            string? code = Literal(arguments[i], constructor.Parameters[i].Type);
            if (code is null) return Fail($"takes argument {i + 1} as {arguments[i].Type?.ToDisplayString() ?? "null"}, which the generator cannot write; pass numbers, bools, strings or enums", attributeLocation);
            argumentCode.Add(code);
            argumentTexts.Add(arguments[i].Kind == TypedConstantKind.Enum ? arguments[i].ToCSharpString().Split('.').Last()
                : Numeric(arguments[i], constructor.Parameters[i].Type) is { } number ? Plain(number) : arguments[i].ToCSharpString());
        }

        string typeName = named2.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        // The output shape: the static method, evaluated where it exists, else the declaration alone.
        IMethodSymbol? method = named2.GetMembers("OutputShape").OfType<IMethodSymbol>()
            .FirstOrDefault(m => m.IsStatic && m.Parameters.Length > arguments.Length && m.Parameters.Skip(arguments.Length + 1).All(p => p.HasExplicitDefaultValue));
        IMethodSymbol? mismatched = method is null ? named2.GetMembers("OutputShape").OfType<IMethodSymbol>().FirstOrDefault(m => m.IsStatic) : null;
        string expected = $"public static int[] OutputShape(int[] input{string.Concat(constructor.Parameters.Select(p => $", {p.Type.ToDisplayString()} {p.Name}"))})";
        if (mismatched is not null && !hasDeclared)
            return Fail($"has a static OutputShape({string.Join(", ", mismatched.Parameters.Select(p => $"{p.Type.ToDisplayString()} {p.Name}"))}), but the generator passes it the input's shape and then " +
                $"the constructor's arguments ({constructor.Parameters.Length} of them): declare it {expected}", attributeLocation);
        if (method is null)
        {
            if (!hasDeclared)
                return Fail($"has no declared output shape: write OutputShape = new[] {{ … }} on the attribute, or give {display} a method " +
                    $"{expected} that computes it", attributeLocation);
            return new OwnModule(typeName, display, argumentCode.ToEquatableArray(), argumentTexts.ToEquatableArray(), declared, true, default, false, false, null, null);
        }
        var formula = new Formula(method, arguments, compilation, cancellationToken);
        if (formula.Problem is { } problem)
            return Fail($"has a static {display}.OutputShape that the generator cannot evaluate at compile time: {problem}; " +
                        "keep it to sizes of input, the constructor's parameters, constants, + - * / %, comparisons, ?: and Math.Max/Min, or write OutputShape = new[] { … } on the attribute", attributeLocation);
        return new OwnModule(typeName, display, argumentCode.ToEquatableArray(), argumentTexts.ToEquatableArray(), declared, hasDeclared,
            formula.Result.ToEquatableArray(), true, formula.ReturnsInput, null, null);
    }

    private static bool Accessible(INamedTypeSymbol type, Compilation compilation)
    {
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
        {
            if (t.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal) return false;
            if (t.DeclaredAccessibility == Accessibility.Internal && !SymbolEqualityComparer.Default.Equals(t.ContainingAssembly, compilation.Assembly)) return false;
        }
        return true;
    }

    private static bool IsTensorModule(INamedTypeSymbol type, Compilation compilation)
    {
        INamedTypeSymbol? module = compilation.GetTypeByMetadataName(ModuleMetadataName), tensor = compilation.GetTypeByMetadataName(TensorMetadataName);
        if (module is null || tensor is null) return false;
        for (INamedTypeSymbol? t = type.BaseType; t is not null; t = t.BaseType)
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, module)
                && t.TypeArguments.All(a => SymbolEqualityComparer.Default.Equals(a, tensor)))
                return true;
        return false;
    }

    private static bool Fits(TypedConstant argument, ITypeSymbol parameter, Compilation compilation)
    {
        if (argument.Kind == TypedConstantKind.Error || argument.Kind == TypedConstantKind.Array) return false;
        if (argument.IsNull) return parameter.IsReferenceType || parameter.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T;
        return argument.Type is { } type && compilation.ClassifyCommonConversion(type, parameter).IsImplicit;
    }

    // The argument as C# source, typed for the parameter: a literal, an enum member by its value, typeof, null.
    private static string? Literal(TypedConstant argument, ITypeSymbol parameter)
    {
        if (argument.IsNull) return $"({parameter.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)})null";
        switch (argument.Kind)
        {
            case TypedConstantKind.Enum:
                return $"({argument.Type!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)})({Convert.ToString(argument.Value, CultureInfo.InvariantCulture)})";
            case TypedConstantKind.Type:
                return argument.Value is ITypeSymbol t ? $"typeof({t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)})" : null;
            case TypedConstantKind.Primitive when Numeric(argument, parameter) is { } number:
                // A number as the parameter's type takes it, however it was written ((byte)2, 2L, a const short): the
                // same declaration in another spelling generates the same code.
                return NumberLiteral(number, parameter);
            case TypedConstantKind.Primitive:
                // A literal of the argument's own type (the parameter is object, say), converted implicitly.
                return argument.Value is IConvertible and not (bool or char or string) ? NumberLiteral(argument.Value, argument.Type!) : argument.ToCSharpString();
            default:
                return null;
        }
    }

    // A numeric argument converted to the numeric parameter it is passed to (implicitly, so without loss), else null.
    private static object? Numeric(TypedConstant argument, ITypeSymbol parameter)
    {
        if (argument.Value is null or bool or string || argument.Value is not IConvertible) return null;
        ITypeSymbol target = parameter is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable ? nullable.TypeArguments[0] : parameter;
        Type? clr = target.SpecialType switch
        {
            SpecialType.System_SByte => typeof(sbyte), SpecialType.System_Byte => typeof(byte), SpecialType.System_Int16 => typeof(short),
            SpecialType.System_UInt16 => typeof(ushort), SpecialType.System_Int32 => typeof(int), SpecialType.System_UInt32 => typeof(uint),
            SpecialType.System_Int64 => typeof(long), SpecialType.System_UInt64 => typeof(ulong), SpecialType.System_Single => typeof(float),
            SpecialType.System_Double => typeof(double), SpecialType.System_Decimal => typeof(decimal),
            _ => null,
        };
        if (clr is null) return null;
        try
        {
            return Convert.ChangeType(argument.Value, clr, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException or FormatException)
        {
            return null;
        }
    }

    // A number of the given type as C# source: a literal of the type (16, 16L, 0.5D), cast where C# has none ((short)(2)).
    private static string NumberLiteral(object number, ITypeSymbol type) => number is byte or sbyte or short or ushort
        ? $"({type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)})({Plain(number)})"
        : Literal(number);

    // A number as a C# literal of its own type: 16, 16L, 16U, 0.5D, 0.5F, 0.5M.
    private static string Literal(object number) => number switch
    {
        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
        uint u => u.ToString(CultureInfo.InvariantCulture) + "U",
        int i when i < 0 => "(" + i.ToString(CultureInfo.InvariantCulture) + ")",
        _ => Plain(number),
    };

    // A number as C# reads it back exactly: a literal (with its type's suffix where it has one), or a named constant.
    private static string Plain(object number) => number switch
    {
        float f when float.IsNaN(f) => "float.NaN",
        float f when float.IsInfinity(f) => f > 0 ? "float.PositiveInfinity" : "float.NegativeInfinity",
        double d when double.IsNaN(d) => "double.NaN",
        double d when double.IsInfinity(d) => d > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity",
        float f => f.ToString("R", CultureInfo.InvariantCulture) + "F",
        double d => d.ToString("R", CultureInfo.InvariantCulture) + "D",
        decimal m => m.ToString(CultureInfo.InvariantCulture) + "M",
        ulong u => u.ToString(CultureInfo.InvariantCulture) + "UL",
        _ => Convert.ToString(number, CultureInfo.InvariantCulture)!,
    };

    /// <summary>The static OutputShape method's return value, as expressions of the input's sizes.</summary>
    private sealed class Formula
    {
        private readonly IMethodSymbol _method;
        private readonly TypedConstant[] _arguments;

        public Formula(IMethodSymbol method, TypedConstant[] arguments, Compilation compilation, CancellationToken cancellationToken)
        {
            _method = method;
            _arguments = arguments;
            try
            {
                Result = Evaluate(compilation, cancellationToken);
            }
            catch (NotSupportedException e)
            {
                Problem = e.Message;
            }
        }

        public List<ShapeExpr> Result { get; } = [];

        public bool ReturnsInput { get; private set; }

        public string? Problem { get; }

        private List<ShapeExpr> Evaluate(Compilation compilation, CancellationToken cancellationToken)
        {
            if (_method.Parameters[0].Type is not IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Int32, Rank: 1 })
                throw new NotSupportedException("its first parameter must be the input shape, int[] input");
            if (_method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not MethodDeclarationSyntax syntax)
                throw new NotSupportedException("its source is not part of this compilation (a type from a referenced assembly)");
            ExpressionSyntax? returned = syntax.ExpressionBody?.Expression;
            if (returned is null && syntax.Body is { Statements.Count: 1 } body && body.Statements[0] is ReturnStatementSyntax { Expression: { } value }) returned = value;
            if (returned is null) throw new NotSupportedException("its body must be one expression (=> …) or one return statement");
            SemanticModel model = compilation.GetSemanticModel(syntax.SyntaxTree);
            IOperation operation = model.GetOperation(returned, cancellationToken) ?? throw new NotSupportedException("it does not bind");
            operation = Unwrap(operation);
            switch (operation)
            {
                case IArrayCreationOperation { Initializer: { } initializer }:
                    return initializer.ElementValues.Select(Expression).ToList();
                case ICollectionExpressionOperation collection:
                    return collection.Elements.Select(Expression).ToList();
                case IParameterReferenceOperation { Parameter.Ordinal: 0 }:
                    ReturnsInput = true;
                    return [];
                default:
                    throw new NotSupportedException($"it returns {Describe(operation)}, not an array of sizes (new[] {{ … }} or [ … ])");
            }
        }

        private static IOperation Unwrap(IOperation operation)
        {
            while (operation is IConversionOperation { Conversion.IsImplicit: true } or IConversionOperation { Conversion.IsNumeric: true } or IParenthesizedOperation)
                operation = operation switch { IConversionOperation c => c.Operand, IParenthesizedOperation p => p.Operand, _ => operation };
            return operation;
        }

        private ShapeExpr Expression(IOperation operation)
        {
            if (operation.ConstantValue is { HasValue: true, Value: var constant })
                return constant is bool b ? new ConstantExpr(b ? 1 : 0) : AttributeArguments.ToInt(constant) is int i ? new ConstantExpr(i)
                    : constant is long l ? new ConstantExpr(l) : throw new NotSupportedException($"it uses the constant {constant}, which is not a whole number");
            operation = Unwrap(operation);
            switch (operation)
            {
                case IArrayElementReferenceOperation { ArrayReference: IParameterReferenceOperation { Parameter.Ordinal: 0 }, Indices.Length: 1 } element:
                    if (Unwrap(element.Indices[0]).ConstantValue is { HasValue: true, Value: var at } && AttributeArguments.ToInt(at) is int dimension && dimension >= 0)
                        return new DimensionExpr(dimension);
                    throw new NotSupportedException("it indexes the input with something other than a constant");
                case IPropertyReferenceOperation { Property.Name: "Length", Instance: IParameterReferenceOperation { Parameter.Ordinal: 0 } }:
                    return new RankExpr();
                case IParameterReferenceOperation { Parameter.Ordinal: var ordinal } when ordinal > 0:
                {
                    // The argument written, else the parameter's default.
                    object? value = ordinal - 1 < _arguments.Length ? _arguments[ordinal - 1].Value : _method.Parameters[ordinal].ExplicitDefaultValue;
                    if (value is bool flag) return new ConstantExpr(flag ? 1 : 0);
                    if (AttributeArguments.ToInt(value) is int whole) return new ConstantExpr(whole);
                    if (value is long wide) return new ConstantExpr(wide);
                    throw new NotSupportedException($"it uses parameter '{_method.Parameters[ordinal].Name}', whose value {value ?? "null"} is not a whole number");
                }
                case IBinaryOperation binary:
                {
                    string op = binary.OperatorKind switch
                    {
                        BinaryOperatorKind.Add => "+", BinaryOperatorKind.Subtract => "-", BinaryOperatorKind.Multiply => "*",
                        BinaryOperatorKind.Divide => "/", BinaryOperatorKind.Remainder => "%",
                        BinaryOperatorKind.Equals => "==", BinaryOperatorKind.NotEquals => "!=", BinaryOperatorKind.LessThan => "<",
                        BinaryOperatorKind.LessThanOrEqual => "<=", BinaryOperatorKind.GreaterThan => ">", BinaryOperatorKind.GreaterThanOrEqual => ">=",
                        BinaryOperatorKind.ConditionalAnd => "&&", BinaryOperatorKind.ConditionalOr => "||",
                        _ => throw new NotSupportedException($"it uses the operator {binary.OperatorKind}"),
                    };
                    return new BinaryExpr(op, Expression(binary.LeftOperand), Expression(binary.RightOperand));
                }
                case IUnaryOperation { OperatorKind: UnaryOperatorKind.Minus } minus:
                    return new BinaryExpr("-", new ConstantExpr(0), Expression(minus.Operand));
                case IUnaryOperation { OperatorKind: UnaryOperatorKind.Plus } plus:
                    return Expression(plus.Operand);
                case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                    return new ConditionalExpr(Expression(conditional.Condition), Expression(conditional.WhenTrue), Expression(whenFalse));
                case IInvocationOperation { TargetMethod: { Name: "Max" or "Min", ContainingType: { Name: "Math", ContainingNamespace.Name: "System" } } math, Arguments.Length: 2 } call:
                    return new BinaryExpr(math.Name == "Max" ? "max" : "min", Expression(call.Arguments[0].Value), Expression(call.Arguments[1].Value));
                default:
                    throw new NotSupportedException($"it uses {Describe(operation)}");
            }
        }

        private static string Describe(IOperation operation) => $"'{operation.Syntax}'";
    }

    /// <summary>
    /// The shape a formula gives for an input shape, or the reason it cannot: a dimension the input does not have, a
    /// division by zero, a size out of range.
    /// </summary>
    public static (int[]? Shape, string? Problem) Evaluate(OwnModule module, IReadOnlyList<int> input)
    {
        if (module.FormulaIsInput) return (input.ToArray(), null);
        try
        {
            var shape = new int[module.Formula.Count];
            for (int d = 0; d < shape.Length; d++)
            {
                long value = Value(module.Formula[d], input);
                if (value < 1 || value > int.MaxValue)
                    return (null, $"it computes {value.ToString(CultureInfo.InvariantCulture)} for dimension {d.ToString(CultureInfo.InvariantCulture)}, and every size must be a positive int");
                shape[d] = (int)value;
            }
            return (shape, null);
        }
        catch (ArgumentException e)
        {
            return (null, e.Message);
        }
        catch (OverflowException)
        {
            return (null, "a size overflows");
        }
    }

    private static long Value(ShapeExpr expression, IReadOnlyList<int> input) => checked(expression switch
    {
        ConstantExpr c => c.Value,
        DimensionExpr d => d.Index < input.Count ? input[d.Index]
            : throw new ArgumentException($"it reads input[{d.Index.ToString(CultureInfo.InvariantCulture)}], but the input {Shapes.ShapeInference.Format(input)} has {input.Count.ToString(CultureInfo.InvariantCulture)} dimensions"),
        RankExpr => input.Count,
        ConditionalExpr c => Value(c.Condition, input) != 0 ? Value(c.WhenTrue, input) : Value(c.WhenFalse, input),
        BinaryExpr { Operator: "&&" } b => Value(b.Left, input) != 0 && Value(b.Right, input) != 0 ? 1 : 0,
        BinaryExpr { Operator: "||" } b => Value(b.Left, input) != 0 || Value(b.Right, input) != 0 ? 1 : 0,
        BinaryExpr b => Apply(b.Operator, Value(b.Left, input), Value(b.Right, input)),
        _ => throw new ArgumentException("an expression the generator does not know"),
    });

    private static long Apply(string op, long left, long right) => checked(op switch
    {
        "+" => left + right,
        "-" => left - right,
        "*" => left * right,
        "/" => right != 0 ? left / right : throw new ArgumentException("it divides by zero for this input"),
        "%" => right != 0 ? left % right : throw new ArgumentException("it divides by zero for this input"),
        "max" => Math.Max(left, right),
        "min" => Math.Min(left, right),
        "==" => left == right ? 1 : 0,
        "!=" => left != right ? 1 : 0,
        "<" => left < right ? 1 : 0,
        "<=" => left <= right ? 1 : 0,
        ">" => left > right ? 1 : 0,
        _ => left >= right ? 1 : 0,
    });
}
