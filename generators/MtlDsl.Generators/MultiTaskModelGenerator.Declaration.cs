using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>What the class symbol says about a model: where it lives and why it cannot be completed, if so.</summary>
internal sealed record ClassFacts(
    string ClassName,
    string? Namespace,
    string Accessibility,
    EquatableArray<ContainingType> ContainingTypes,
    LocationInfo? ClassLocation,
    DiagnosticInfo? Failure);

/// <summary>What the model's class symbol says: its names as C# spells them, and why it cannot be completed, if so.</summary>
internal static class ModelDeclaration
{
    internal static ClassFacts ReadFacts(INamedTypeSymbol type, TypeDeclarationSyntax syntax, CancellationToken cancellationToken)
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

    /// <summary>
    /// A name as generated C# spells it: any keyword with <c>@</c>, reserved (<c>event</c>, <c>class</c>) or contextual
    /// (<c>extension</c>, <c>record</c>, <c>field</c>), which in some places of a class body starts a declaration of
    /// its own (<c>public extension()</c> opens an extension block in C# 14) and never hurts with its <c>@</c>.
    /// </summary>
    internal static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

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
