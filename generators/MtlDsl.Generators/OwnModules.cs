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
using MtlDsl.Generators.Shapes;

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

        // The model class, where the generated code creates the module: the compiler binds there what it will bind.
        if (syntax?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } modelClass)
            return Fail("cannot be bound here (the attribute has no source the generator can bind in)", attributeLocation);
        int position = modelClass.OpenBraceToken.Span.End;
        SemanticModel semantic = compilation.GetSemanticModel(syntax.SyntaxTree);

        // Each argument as an expression of the type the attribute bound it as: the generated new T(…) passes exactly
        // these, so the constructor the compiler picks for them here is the one the generated code calls.
        var argumentCode = new List<string>();
        for (int i = 0; i < arguments.Length; i++)
        {
            string? code = ArgumentCode(arguments[i]);
            if (code is null) return Fail($"takes argument {Ordinal(i)} as {arguments[i].Type?.ToDisplayString() ?? "null"}, which the generator cannot write; pass numbers, bools, chars, strings, enums, types or null", attributeLocation);
            argumentCode.Add(code);
        }
        string typeName = named2.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        string call = string.Join(", ", argumentCode);
        string written = $"new {display}({call})";
        ExpressionSyntax creation = SyntaxFactory.ParseExpression($"new {typeName}({call})");
        SymbolInfo bound = semantic.GetSpeculativeSymbolInfo(position, creation, SpeculativeBindingOption.BindAsExpression);
        if (bound.Symbol is not IMethodSymbol { MethodKind: MethodKind.Constructor } constructor)
            return Fail(ConstructorProblem(display, written, bound, arguments, argumentCode, semantic, position), attributeLocation);
        if (constructor.Parameters.FirstOrDefault(p => p.RefKind != RefKind.None) is { } byReference)
            return Fail($"is created by C# with {Signature(display, constructor)} for {written}, which takes '{byReference.Name}' {RefKindText(byReference.RefKind)}; " +
                        "the generated code passes the attribute's arguments as values, so take it by value", attributeLocation);
        var argumentTexts = arguments.Select(Text).ToList();

        // The output shape: the static method C# calls for T.OutputShape(input, arguments…), evaluated, else the declaration alone.
        ExpressionSyntax invocation = SyntaxFactory.ParseExpression($"{typeName}.OutputShape(new int[0]{(call.Length > 0 ? ", " + call : "")})");
        SymbolInfo shapeMethod = semantic.GetSpeculativeSymbolInfo(position, invocation, SpeculativeBindingOption.BindAsExpression);
        string expected = $"public static int[] OutputShape(int[] input{string.Concat(constructor.Parameters.Select(p => $", {p.Type.ToDisplayString()} {p.Name}"))})";
        if (shapeMethod.Symbol is not IMethodSymbol { IsStatic: true } method)
        {
            IMethodSymbol? mismatched = shapeMethod.CandidateSymbols.OfType<IMethodSymbol>().FirstOrDefault();
            if (hasDeclared)
                return new OwnModule(typeName, display, argumentCode.ToEquatableArray(), argumentTexts.ToEquatableArray(), declared, true, default, false, false, null, null);
            if (mismatched is not null)
                return Fail($"has a{(mismatched.IsStatic ? " static" : "n instance")} OutputShape({string.Join(", ", mismatched.Parameters.Select(p => $"{p.Type.ToDisplayString()} {p.Name}"))}), but the generator passes it the input's shape and then " +
                    $"the constructor's arguments ({arguments.Length} of them){Why(shapeMethod, mismatched, arguments, argumentCode, semantic, position, 1)}: declare it {expected}", attributeLocation);
            return Fail($"has no declared output shape: write OutputShape = new[] {{ … }} on the attribute, or give {display} a method " +
                $"{expected} that computes it", attributeLocation);
        }
        var formula = new Formula(method, arguments, compilation, cancellationToken);
        if (formula.Problem is { } problem)
            return Fail($"has a static {display}.OutputShape that the generator cannot evaluate at compile time: {problem}; " +
                        "keep it to sizes of input, the constructor's parameters, constants and locals declared before the return, C#'s arithmetic, " +
                        "comparison, logical, bitwise and shift operators, casts, checked/unchecked, ?: and Math.Max/Min/Abs/Floor/Ceiling, " +
                        "or write OutputShape = new[] { … } on the attribute", attributeLocation);
        return new OwnModule(typeName, display, argumentCode.ToEquatableArray(), argumentTexts.ToEquatableArray(), declared, hasDeclared,
            formula.Result.ToEquatableArray(), true, formula.ReturnsInput, null, null, formula.Locals.ToEquatableArray());
    }

    private static string Ordinal(int index) => (index + 1).ToString(CultureInfo.InvariantCulture);

    private static string RefKindText(RefKind kind) => kind switch
    {
        RefKind.Out => "as out",
        RefKind.In => "as in",
        RefKind.RefReadOnlyParameter => "as ref readonly",
        _ => "by ref",
    };

    // A method as C# shows it in its messages: Name(int divisor, long size).
    private static string Signature(string name, IMethodSymbol method) =>
        $"{name}({string.Join(", ", method.Parameters.Select(p => $"{(p.RefKind == RefKind.None ? "" : RefKindText(p.RefKind).Replace("as ", "").Replace("by ", "") + " ")}{(p.IsParams ? "params " : "")}{p.Type.ToDisplayString()} {p.Name}"))})";

    // Why new T(arguments) does not bind, in C#'s terms: no constructor fits (and why not), several fit equally well, or
    // the one that fits cannot be reached from the model.
    private static string ConstructorProblem(string display, string written, SymbolInfo bound, TypedConstant[] arguments, List<string> code, SemanticModel semantic, int position)
    {
        var candidates = bound.CandidateSymbols.OfType<IMethodSymbol>().ToList();
        string types = string.Join(", ", arguments.Select(a => a.Type?.ToDisplayString() ?? "null"));
        switch (bound.CandidateReason)
        {
            case CandidateReason.Ambiguous:
                return $"has several constructors C# could call for {written}, none better than the others: {string.Join(" and ", candidates.Select(c => Signature(display, c)))} " +
                       "(the call is ambiguous, CS0121); write the arguments so that one fits best, (byte)8 or 8L say";
            case CandidateReason.Inaccessible:
                return (arguments.Length == 0 ? "has no public constructor without parameters" : $"has no public constructor that takes ({types})") +
                       $": {string.Join(" and ", candidates.Select(c => Signature(display, c)))} is not accessible to the model (private or protected); make it internal or public";
        }
        if (arguments.Length == 0 && candidates.All(c => c.Parameters.Any(p => !p.IsOptional && !p.IsParams)))
            return $"has no public constructor without parameters; pass its arguments after the type, [Module(typeof({display}), 16, 2)]";
        var reasons = candidates.Select(c => (Constructor: c, Why: Why(bound, c, arguments, code, semantic, position, 0))).ToList();
        var fitting = reasons.Where(r => r.Why.Length == 0).Select(r => r.Constructor).ToList();
        if (fitting.Count > 1)
            return $"has several constructors C# could call for {written}, none better than the others: {string.Join(" and ", fitting.Select(c => Signature(display, c)))} " +
                   "(the call is ambiguous, CS0121); write the arguments so that one fits best, (byte)8 or 8L say";
        return $"has no public constructor that takes ({types}): C# binds {written} to none of its constructors" +
               string.Concat(reasons.Where(r => r.Why.Length > 0).Take(4).Select(r => $"; {Signature(display, r.Constructor)}{r.Why}"));
    }

    // Why one candidate does not take the arguments (after `skip` parameters the generator fills itself), or "".
    private static string Why(SymbolInfo bound, IMethodSymbol candidate, TypedConstant[] arguments, List<string> code, SemanticModel semantic, int position, int skip)
    {
        if (bound.CandidateReason == CandidateReason.StaticInstanceMismatch) return ", and it is not static";
        var parameters = candidate.Parameters.Skip(skip).ToList();
        IParameterSymbol? paramsArray = parameters.LastOrDefault() is { IsParams: true } last ? last : null;
        int required = parameters.Count(p => !p.IsOptional && !p.IsParams);
        // For OutputShape (skip 1) the message already says how many arguments it is passed.
        if (skip > 0 && (arguments.Length < required || arguments.Length > parameters.Count && paramsArray is null)) return "";
        if (arguments.Length < required)
            return $", which needs {required.ToString(CultureInfo.InvariantCulture)} argument{(required == 1 ? "" : "s")}";
        if (arguments.Length > parameters.Count && paramsArray is null)
            return $", which takes at most {parameters.Count.ToString(CultureInfo.InvariantCulture)}";
        for (int i = 0; i < arguments.Length; i++)
        {
            IParameterSymbol parameter = i < parameters.Count ? parameters[i] : paramsArray!;
            if (parameter.RefKind is RefKind.Ref or RefKind.Out)
                return $", which takes '{parameter.Name}' {RefKindText(parameter.RefKind)}, and the generated code passes values";
            ITypeSymbol type = parameter.IsParams && parameter.Type is IArrayTypeSymbol array && (i >= parameters.Count - 1) && arguments.Length != parameters.Count ? array.ElementType : parameter.Type;
            if (!semantic.ClassifyConversion(position, SyntaxFactory.ParseExpression(code[i]), type).IsImplicit)
                return $": argument {Ordinal(i)}, {code[i]}{(arguments[i].Type is { } t ? " of type " + t.ToDisplayString() : "")}, does not convert to {type.ToDisplayString()} implicitly";
        }
        return "";
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

    /// <summary>
    /// An attribute argument as a C# expression of its own type, as the attribute bound it: 8, 8L, 8U, (byte)8,
    /// (short)(-3), 1.5D, 1.5F, 'c', a string, (global::E)(1), typeof(global::T), null, new int[] { … }; null where the
    /// generator cannot write one.
    /// </summary>
    private static string? ArgumentCode(TypedConstant argument)
    {
        string Name(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        if (argument.Kind == TypedConstantKind.Error) return null;
        if (argument.Kind == TypedConstantKind.Array)
        {
            if (argument.IsNull) return argument.Type is null ? "null" : $"({Name(argument.Type)})null";
            var elements = argument.Values.Select(ArgumentCode).ToList();
            return argument.Type is null || elements.Any(e => e is null) ? null : $"new {Name(argument.Type)} {{ {string.Join(", ", elements)} }}";
        }
        if (argument.IsNull) return argument.Type is null or { SpecialType: SpecialType.System_Object } ? "null" : $"({Name(argument.Type)})null";
        switch (argument.Kind)
        {
            case TypedConstantKind.Enum:
                return $"({Name(argument.Type!)})({Convert.ToString(argument.Value, CultureInfo.InvariantCulture)})";
            case TypedConstantKind.Type:
                return argument.Value is INamedTypeSymbol { IsUnboundGenericType: true } or not ITypeSymbol ? null : $"typeof({Name((ITypeSymbol)argument.Value)})";
            case TypedConstantKind.Primitive:
                return argument.Value switch
                {
                    bool b => b ? "true" : "false",
                    char c => SymbolDisplay.FormatLiteral(c, quote: true),
                    string text => SymbolDisplay.FormatLiteral(text, quote: true),
                    sbyte or byte or short or ushort => $"({Keyword(argument.Value)})({Plain(argument.Value)})",
                    int i => i < 0 ? $"({Plain(i)})" : Plain(i),
                    uint u => Plain(u) + "U",
                    long l => l < 0 ? $"({Plain(l)}L)" : Plain(l) + "L",
                    ulong u => Plain(u) + "UL",
                    float f when float.IsNaN(f) => "float.NaN",
                    float f when float.IsInfinity(f) => f > 0 ? "float.PositiveInfinity" : "float.NegativeInfinity",
                    float f => IsNegative(f) ? $"({Plain(f)}F)" : Plain(f) + "F",
                    double d when double.IsNaN(d) => "double.NaN",
                    double d when double.IsInfinity(d) => d > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity",
                    double d => IsNegative(d) ? $"({Plain(d)}D)" : Plain(d) + "D",
                    _ => null,
                };
            default:
                return null;
        }
    }

    private static bool IsNegative(double value) => BitConverter.DoubleToInt64Bits(value) < 0;

    private static string Keyword(object value) => value switch { sbyte => "sbyte", byte => "byte", short => "short", _ => "ushort" };

    // A number as C# reads it back exactly, without its type's suffix.
    private static string Plain(object number) => number switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(number, CultureInfo.InvariantCulture)!,
    };

    // The argument as the model's summary shows it: a number as written, an enum by its member, else as C# writes it.
    private static string Text(TypedConstant argument) =>
        argument.Kind == TypedConstantKind.Enum ? argument.ToCSharpString().Split('.').Last()
        : argument.Kind == TypedConstantKind.Primitive && argument.Value is IConvertible and not (bool or char or string) ? Plain(argument.Value)
        : argument.ToCSharpString();

    /// <summary>
    /// The static OutputShape method's return value, as typed expressions of the input's sizes: its bound operations
    /// (IOperation) turned into <see cref="ShapeExpr"/> nodes that keep each value's C# type, each conversion and each
    /// operator's operand type and checked context, with the parameters replaced by the arguments written (converted
    /// to the parameters' types as C# converts them) or their defaults. What it cannot keep exactly it refuses.
    /// </summary>
    private sealed class Formula
    {
        private readonly IMethodSymbol _method;
        private readonly TypedConstant[] _arguments;
        private readonly Dictionary<ILocalSymbol, int> _locals = new(SymbolEqualityComparer.Default);

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

        public List<ShapeExpr> Locals { get; } = [];

        public bool ReturnsInput { get; private set; }

        public string? Problem { get; }

        private List<ShapeExpr> Evaluate(Compilation compilation, CancellationToken cancellationToken)
        {
            if (_method.Parameters[0] is not { Type: IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Int32, Rank: 1 }, RefKind: RefKind.None })
                throw new NotSupportedException("its first parameter must be the input shape, int[] input");
            if (_method.Parameters.Skip(1).FirstOrDefault(p => p.RefKind != RefKind.None) is { } byReference)
                throw new NotSupportedException($"it takes '{byReference.Name}' {RefKindText(byReference.RefKind)}; take it by value");
            if (_method.ReturnType is not IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Int32, Rank: 1 })
                throw new NotSupportedException($"it returns {_method.ReturnType.ToDisplayString()}, not int[]");
            IMethodSymbol implementation = _method.PartialImplementationPart ?? _method;
            if (implementation.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not MethodDeclarationSyntax syntax)
                throw new NotSupportedException("its source is not part of this compilation (a type from a referenced assembly)");
            SemanticModel model = compilation.GetSemanticModel(syntax.SyntaxTree);
            if (model.GetOperation(syntax, cancellationToken) is not IMethodBodyOperation { BlockBody: var blockBody, ExpressionBody: var expressionBody }
                || (blockBody ?? expressionBody) is not { } body)
                throw new NotSupportedException("it has no body the compiler binds");
            // Locals declared with their values, then one return.
            IReturnOperation? returned = null;
            foreach (IOperation statement in body.Operations)
            {
                if (returned is not null) throw new NotSupportedException($"it has '{statement.Syntax}' after its return");
                switch (statement)
                {
                    case IVariableDeclarationGroupOperation group:
                        foreach (IVariableDeclarationOperation declaration in group.Declarations)
                            foreach (IVariableDeclaratorOperation declarator in declaration.Declarators)
                            {
                                if ((declarator.Initializer ?? declaration.Initializer)?.Value is not { } value)
                                    throw new NotSupportedException($"it declares '{declarator.Symbol.Name}' without a value");
                                if (TypeOf(declarator.Symbol.Type) is null || declarator.Symbol.RefKind != RefKind.None)
                                    throw new NotSupportedException($"it declares '{declarator.Symbol.Name}' of type {declarator.Symbol.Type.ToDisplayString()}; locals must be numbers or bools");
                                ShapeExpr local = Expression(value);
                                _locals.Add(declarator.Symbol, Locals.Count);
                                Locals.Add(local);
                            }
                        break;
                    case IReturnOperation { ReturnedValue: { } value }:
                        returned = (IReturnOperation)statement;
                        break;
                    default:
                        throw new NotSupportedException($"its body must be locals declared with their values and then one return, and it has '{statement.Syntax}'");
                }
            }
            if (returned is null) throw new NotSupportedException("its body must end in one return");
            IOperation operation = returned.ReturnedValue!;
            // The conversion of a collection expression or array to the return type int[] (identity, or the collection's own).
            while (operation is IConversionOperation { Conversion.IsUserDefined: false, Conversion.IsImplicit: true } implicitly) operation = implicitly.Operand;
            switch (operation)
            {
                case IArrayCreationOperation { Initializer: { } initializer }:
                    return initializer.ElementValues.Select(Element).ToList();
                case ICollectionExpressionOperation collection:
                    return collection.Elements.Select(Element).ToList();
                case IParameterReferenceOperation { Parameter.Ordinal: 0 } parameter when SymbolEqualityComparer.Default.Equals(parameter.Parameter.ContainingSymbol, implementation):
                    ReturnsInput = true;
                    return [];
                default:
                    throw new NotSupportedException($"it returns {Describe(operation)}, not an array of sizes (new[] {{ … }} or [ … ])");
            }
        }

        private ShapeExpr Element(IOperation element)
        {
            ShapeExpr size = Expression(element);
            return size.Type == NumberType.Int32 ? size : throw new NotSupportedException($"its size {Describe(element)} is not an int");
        }

        private static NotSupportedException Unsupported(IOperation operation, string what) => new($"{Describe(operation)} {what}");

        private ShapeExpr Expression(IOperation operation)
        {
            NumberType? type = TypeOf(operation.Type);
            if (operation.ConstantValue is { HasValue: true, Value: var constant })
                return type is { } constantType && ShapeFormula.ConstantOf(constant) is { } value && value.Type == constantType
                    ? value
                    : throw Unsupported(operation, $"is a constant of type {operation.Type?.ToDisplayString() ?? "null"}, and the generator computes with numbers and bools (not decimal, enums or strings)");
            switch (operation)
            {
                case IParenthesizedOperation parenthesized:
                    return Expression(parenthesized.Operand);
                case IConversionOperation conversion:
                {
                    if (conversion.OperatorMethod is { } user) throw Unsupported(operation, $"uses the user-defined conversion {user.ToDisplayString()}");
                    if (conversion.Conversion.IsNullable) throw Unsupported(operation, "converts to or from a nullable type");
                    // A target-typed ?: converts its branches itself: the conversion around it keeps its type.
                    bool keepsType = type is not null && TypeOf(conversion.Operand.Type) == type;
                    if (type is not { } target || !(conversion.Conversion.IsIdentity || conversion.Conversion.IsNumeric || keepsType))
                        throw Unsupported(operation, $"converts {conversion.Operand.Type?.ToDisplayString() ?? "null"} to {operation.Type?.ToDisplayString() ?? "?"}, and the generator converts only between numbers");
                    ShapeExpr operand = Expression(conversion.Operand);
                    return operand.Type == target ? operand : new ConvertExpr(operand, target, conversion.IsChecked);
                }
                case IBinaryOperation binary:
                {
                    if (binary.OperatorMethod is { } user) throw Unsupported(operation, $"uses the user-defined operator {user.ToDisplayString()}");
                    if (binary.IsLifted) throw Unsupported(operation, "is lifted to nullable values");
                    string op = binary.OperatorKind switch
                    {
                        BinaryOperatorKind.Add => "+", BinaryOperatorKind.Subtract => "-", BinaryOperatorKind.Multiply => "*",
                        BinaryOperatorKind.Divide => "/", BinaryOperatorKind.Remainder => "%",
                        BinaryOperatorKind.And => "&", BinaryOperatorKind.Or => "|", BinaryOperatorKind.ExclusiveOr => "^",
                        BinaryOperatorKind.LeftShift => "<<", BinaryOperatorKind.RightShift => ">>", BinaryOperatorKind.UnsignedRightShift => ">>>",
                        BinaryOperatorKind.Equals => "==", BinaryOperatorKind.NotEquals => "!=", BinaryOperatorKind.LessThan => "<",
                        BinaryOperatorKind.LessThanOrEqual => "<=", BinaryOperatorKind.GreaterThan => ">", BinaryOperatorKind.GreaterThanOrEqual => ">=",
                        BinaryOperatorKind.ConditionalAnd => "&&", BinaryOperatorKind.ConditionalOr => "||",
                        _ => throw Unsupported(operation, $"uses the operator {binary.OperatorKind}"),
                    };
                    ShapeExpr left = Expression(binary.LeftOperand), right = Expression(binary.RightOperand);
                    bool shift = op is "<<" or ">>" or ">>>";
                    bool operands = left.Type is NumberType.Int32 or NumberType.UInt32 or NumberType.Int64 or NumberType.UInt64
                                    || !shift && left.Type is NumberType.Single or NumberType.Double or NumberType.Boolean;
                    if (type is not { } result || !operands || (shift ? right.Type != NumberType.Int32 : right.Type != left.Type))
                        throw Unsupported(operation, $"applies {op} to {binary.LeftOperand.Type?.ToDisplayString() ?? "null"} and {binary.RightOperand.Type?.ToDisplayString() ?? "null"}, which the generator does not evaluate");
                    return new BinaryExpr(op, left, right, result, binary.IsChecked);
                }
                case IUnaryOperation unary:
                {
                    if (unary.OperatorMethod is { } user) throw Unsupported(operation, $"uses the user-defined operator {user.ToDisplayString()}");
                    if (unary.IsLifted) throw Unsupported(operation, "is lifted to nullable values");
                    string op = unary.OperatorKind switch
                    {
                        UnaryOperatorKind.Minus => "-", UnaryOperatorKind.Plus => "+", UnaryOperatorKind.BitwiseNegation => "~", UnaryOperatorKind.Not => "!",
                        _ => throw Unsupported(operation, $"uses the operator {unary.OperatorKind}"),
                    };
                    ShapeExpr operand = Expression(unary.Operand);
                    if (type is not { } result || result != operand.Type)
                        throw Unsupported(operation, $"applies {op} to {unary.Operand.Type?.ToDisplayString() ?? "null"}, which the generator does not evaluate");
                    return new UnaryExpr(op, operand, result, unary.IsChecked);
                }
                case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                {
                    ShapeExpr condition = Expression(conditional.Condition), whenTrue = Expression(conditional.WhenTrue), otherwise = Expression(whenFalse);
                    if (conditional.IsRef || condition.Type != NumberType.Boolean || type is not { } result || whenTrue.Type != result || otherwise.Type != result)
                        throw Unsupported(operation, "is a ?: the generator does not evaluate");
                    return new ConditionalExpr(condition, whenTrue, otherwise);
                }
                case IInvocationOperation { TargetMethod: { ContainingType: { Name: "Math", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } } math } call
                    when math.Name is "Max" or "Min" or "Abs" or "Floor" or "Ceiling":
                {
                    if (type is not { } result || math.Parameters.Any(p => TypeOf(p.Type) != result))
                        throw Unsupported(operation, $"calls Math.{math.Name} for {math.ReturnType.ToDisplayString()}, which the generator does not evaluate");
                    var arguments = call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).Select(a => Expression(a.Value)).ToEquatableArray();
                    return new MathExpr(math.Name, arguments, result);
                }
                case IInvocationOperation other:
                    throw Unsupported(operation, $"calls {other.TargetMethod.ContainingType.Name}.{other.TargetMethod.Name}, and the generator evaluates no method but Math.Max, Min, Abs, Floor and Ceiling");
                case IArrayElementReferenceOperation { ArrayReference: IParameterReferenceOperation { Parameter.Ordinal: 0 }, Indices.Length: 1 } element:
                {
                    ShapeExpr index = Expression(element.Indices[0]);
                    if (index.Type is not (NumberType.Int32 or NumberType.UInt32 or NumberType.Int64 or NumberType.UInt64))
                        throw Unsupported(operation, "indexes the input with something other than an integer");
                    return new DimensionExpr(index);
                }
                case IPropertyReferenceOperation { Property.Name: "Length", Instance: IParameterReferenceOperation { Parameter.Ordinal: 0 } }:
                    return new RankExpr();
                case IParameterReferenceOperation { Parameter.Ordinal: 0 }:
                    throw Unsupported(operation, "uses the input other than as input[i] or input.Length");
                case IParameterReferenceOperation { Parameter: var parameter }:
                    return Parameter(parameter);
                case ILocalReferenceOperation local when _locals.TryGetValue(local.Local, out int index) && type is { } localType:
                    return new LocalExpr(index, localType);
                default:
                    throw Unsupported(operation, "is not something the generator evaluates");
            }
        }

        // A parameter's value: the argument written, converted to the parameter's type as C# converts it, else its default.
        private ConstantExpr Parameter(IParameterSymbol parameter)
        {
            string name = $"parameter '{parameter.Name}'";
            if (TypeOf(parameter.Type) is not { } type)
                throw new NotSupportedException($"it uses {name} of type {parameter.Type.ToDisplayString()}, and the generator computes with numbers and bools");
            if (parameter.IsParams) throw new NotSupportedException($"it uses {name}, a params array");
            int ordinal = parameter.Ordinal;
            object? value;
            if (ordinal - 1 < _arguments.Length)
            {
                TypedConstant argument = _arguments[ordinal - 1];
                if (argument.Kind != TypedConstantKind.Primitive)
                    throw new NotSupportedException($"it uses {name}, whose argument {argument.ToCSharpString()} is not a number or a bool");
                value = argument.Value;
            }
            else if (parameter.HasExplicitDefaultValue) value = parameter.ExplicitDefaultValue;
            else throw new NotSupportedException($"it uses {name}, which has no argument");
            return ShapeFormula.ConstantOf(value) is { } constant && ShapeFormula.Implicitly(constant, type) is { } converted
                ? converted
                : throw new NotSupportedException($"it uses {name}, whose value {value ?? "null"} the generator cannot convert to {parameter.Type.ToDisplayString()}");
        }

        private static string Describe(IOperation operation) => $"'{operation.Syntax}'";
    }

    /// <summary>The type a formula computes with for a C# type, or null (decimal, enums, nullable, nint, references).</summary>
    private static NumberType? TypeOf(ITypeSymbol? type) => type?.SpecialType switch
    {
        SpecialType.System_Boolean => NumberType.Boolean,
        SpecialType.System_Char => NumberType.Char,
        SpecialType.System_SByte => NumberType.SByte,
        SpecialType.System_Byte => NumberType.Byte,
        SpecialType.System_Int16 => NumberType.Int16,
        SpecialType.System_UInt16 => NumberType.UInt16,
        SpecialType.System_Int32 => NumberType.Int32,
        SpecialType.System_UInt32 => NumberType.UInt32,
        SpecialType.System_Int64 => NumberType.Int64,
        SpecialType.System_UInt64 => NumberType.UInt64,
        SpecialType.System_Single => NumberType.Single,
        SpecialType.System_Double => NumberType.Double,
        _ => null,
    };

    /// <summary>
    /// The shape a formula gives for an input shape, or the reason it cannot: a dimension the input does not have, a
    /// division by zero, an overflow where C# checks, a size that is not positive.
    /// </summary>
    public static (int[]? Shape, string? Problem) Evaluate(OwnModule module, IReadOnlyList<int> input) => ShapeFormula.Evaluate(module, input);
}
