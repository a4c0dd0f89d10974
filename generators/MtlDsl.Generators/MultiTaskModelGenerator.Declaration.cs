using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>An argument expression that is not a literal, with the constant the compiler gives it.</summary>
internal sealed record ConstantInfo(string FilePath, int Start, object? Value);

/// <summary>What the class symbol says about a model: where it lives and why it cannot be completed, if so.</summary>
internal sealed record ClassFacts(
    string ClassName,
    string? Namespace,
    string Accessibility,
    EquatableArray<ContainingType> ContainingTypes,
    LocationInfo? ClassLocation,
    DiagnosticInfo? Failure);

/// <summary>
/// The pipeline's first step: a model's declarations as syntax, with the few facts that need the semantic model.
/// It runs again on every compilation change, so it stays cheap; its syntax nodes are the same objects as long
/// as their file is unchanged, so the parse that follows (which does the real work) is cached for every model
/// whose files and constants did not change. Only this step holds syntax; everything after it is plain data.
/// </summary>
internal sealed class ModelDeclaration(ImmutableArray<TypeDeclarationSyntax> declarations, ClassFacts facts, EquatableArray<ConstantInfo> constants)
    : IEquatable<ModelDeclaration>
{
    private static readonly ConditionalWeakTable<TypeDeclarationSyntax, ExpressionSyntax[]> NonLiteralArguments = new();

    public ImmutableArray<TypeDeclarationSyntax> Declarations => declarations;
    public ClassFacts Facts => facts;
    public EquatableArray<ConstantInfo> Constants => constants;

    public bool Equals(ModelDeclaration? other) =>
        other is not null && facts.Equals(other.Facts) && constants.Equals(other.Constants)
        && declarations.Length == other.Declarations.Length
        && declarations.Zip(other.Declarations, (a, b) => ReferenceEquals(a, b)).All(same => same);

    public override bool Equals(object? obj) => Equals(obj as ModelDeclaration);

    public override int GetHashCode() => facts.GetHashCode();

    public static ModelDeclaration Create(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (TypeDeclarationSyntax)context.TargetNode;
        var declarations = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToImmutableArray();
        ClassFacts facts = ReadFacts(type, syntax, cancellationToken);

        // Literal arguments are read from syntax later; the rest (say a const field) asks the compiler now,
        // so that a change to the constant reaches the model. Which arguments are not literal is a property
        // of the syntax alone, remembered per declaration node.
        var constants = new List<ConstantInfo>();
        foreach (TypeDeclarationSyntax declaration in declarations)
        {
            ExpressionSyntax[] expressions = NonLiteralArguments.GetValue(declaration, FindNonLiteralArguments);
            if (expressions.Length == 0) continue;
            SemanticModel model = declaration.SyntaxTree == context.SemanticModel.SyntaxTree
                ? context.SemanticModel
                : context.SemanticModel.Compilation.GetSemanticModel(declaration.SyntaxTree);
            foreach (ExpressionSyntax expression in expressions)
            {
                Optional<object?> constant = model.GetConstantValue(expression, cancellationToken);
                constants.Add(new ConstantInfo(expression.SyntaxTree.FilePath, expression.SpanStart, constant.HasValue ? constant.Value : null));
            }
        }
        return new ModelDeclaration(declarations, facts, constants.ToEquatableArray());
    }

    private static ExpressionSyntax[] FindNonLiteralArguments(TypeDeclarationSyntax declaration)
    {
        var found = new List<ExpressionSyntax>();
        var scanner = new AttributeReader(expression => { found.Add(expression); return null; });
        IEnumerable<AttributeListSyntax> lists = declaration.AttributeLists.Concat(declaration.Members.SelectMany(m => m.AttributeLists));
        foreach (AttributeArgumentSyntax argument in lists.SelectMany(l => l.Attributes).SelectMany(a => a.ArgumentList?.Arguments ?? default))
            scanner.Evaluate(argument.Expression);
        return [.. found];
    }

    private static ClassFacts ReadFacts(INamedTypeSymbol type, TypeDeclarationSyntax syntax, CancellationToken cancellationToken)
    {
        LocationInfo? classLocation = LocationInfo.From(syntax.Identifier.GetLocation());
        var containing = new List<ContainingType>();
        ClassFacts Result(DiagnosticInfo? failure) => new(Identifier(type.Name),
            type.ContainingNamespace is { IsGlobalNamespace: false } ns ? NamespaceName(ns) : null,
            AccessibilityKeyword(type.DeclaredAccessibility), containing.ToEquatableArray(), classLocation, failure);
        ClassFacts Fail(DiagnosticDescriptor descriptor, params string[] arguments) => Result(DiagnosticInfo.Create(descriptor, classLocation, arguments));

        if (type.IsRecord || type.TypeKind != TypeKind.Class)
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name,
                $"it is a {TypeKeyword(type)}; a model is a TorchSharp module, so declare it as a 'partial class'");
        if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
            return Fail(DiagnosticDescriptors.ModelNotPartial, type.Name);
        if (type.IsFileLocal)
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, "it is a 'file' class, which the generated file cannot extend; make it internal or public");
        if (type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().Any(d => d.ParameterList is not null))
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name,
                "it has a primary constructor, and the generated model needs its own parameterless one; remove the parameter list");
        if (type.IsGenericType)
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, "it is generic; declare a non-generic class");
        if (type.IsStatic || type.IsAbstract)
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is {(type.IsStatic ? "static" : "abstract")}; a model is a class that can be created");
        if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType
            && !(baseType.Name == "MultiTaskModule" && baseType.ContainingNamespace?.ToDisplayString() == AttributeNamespace))
            return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name,
                $"it derives from '{baseType.ToDisplayString()}'; the generated model derives from MtlDsl.MultiTaskModule, so remove the base class");

        for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (outer.IsGenericType)
                return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is nested in the generic type '{outer.Name}'; move it out or make '{outer.Name}' non-generic");
            bool partial = outer.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (!partial)
                return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is nested in '{outer.Name}', which is not partial; declare 'partial' on '{outer.Name}'");
            containing.Insert(0, new ContainingType(TypeKeyword(outer), Identifier(outer.Name)));
        }
        return Result(null);
    }

    /// <summary>A name as C# source must spell it: a reserved keyword (<c>event</c>, <c>class</c>) with <c>@</c>.</summary>
    internal static string Identifier(string name) =>
        SyntaxFacts.IsReservedKeyword(SyntaxFacts.GetKeywordKind(name)) ? "@" + name : name;

    // A namespace as C# source spells it, each part escaped where it is a keyword (namespace A.@event).
    private static string NamespaceName(INamespaceSymbol ns)
    {
        var parts = new List<string>();
        for (INamespaceSymbol? n = ns; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace) parts.Insert(0, Identifier(n.Name));
        return string.Join(".", parts);
    }

    private static string TypeKeyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };

    internal static string AccessibilityKeyword(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Public => "public",
        Accessibility.Internal => "internal",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedOrInternal => "protected internal",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => "private",
    };

    private const string AttributeNamespace = MultiTaskModelGenerator.AttributeNamespace;
}
