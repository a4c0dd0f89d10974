using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators;

/// <summary>The parser's result: the model as plain data (null where it cannot be completed) and what was wrong.</summary>
internal sealed record ParseResult(string ClassName, ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);

public sealed partial class MultiTaskModelGenerator
{
    internal const string AttributeNamespace = "MtlDsl";
    internal const string ModelAttributeName = AttributeNamespace + ".MultiTaskModelAttribute";
    internal const string TrunkAttributeName = AttributeNamespace + ".TrunkAttribute";
    internal const string TaskAttributeName = AttributeNamespace + ".TaskAttribute";
    private const string SequentialType = "TorchSharp.Modules.Sequential";

    /// <summary>Reads a [MultiTaskModel] class into plain data. Never throws on malformed input.</summary>
    internal static class Parser
    {
        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var syntax = (ClassDeclarationSyntax)context.TargetNode;
            try
            {
                return ParseCore(type, syntax, context.SemanticModel.Compilation, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new ParseResult(type.Name, null, new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, LocationInfo.From(syntax.Identifier.GetLocation()), type.Name, e.GetType().Name + ": " + e.Message),
                }.ToEquatableArray());
            }
        }

        /// <summary>The names of the members a model inherits (MultiTaskModule and TorchSharp's Module): a block must not hide one.</summary>
        private static EquatableArray<string> InheritedMemberNames(Compilation compilation)
        {
            var names = new SortedSet<string>(StringComparer.Ordinal);
            for (INamedTypeSymbol? t = compilation.GetTypeByMetadataName(AttributeNamespace + ".MultiTaskModule`2"); t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
            {
                foreach (ISymbol member in t.GetMembers())
                    if (member.DeclaredAccessibility is Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal && member.CanBeReferencedByName)
                        names.Add(member.Name);
            }
            return names.ToEquatableArray();
        }

        /// <summary>MTL020 for a [Trunk] or [Task] member whose type is not a [MultiTaskModel], else null.</summary>
        public static DiagnosticInfo? UnusedBlock(GeneratorAttributeSyntaxContext context)
        {
            INamedTypeSymbol? owner = context.TargetSymbol.ContainingType;
            if (owner is null || owner.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ModelAttributeName)) return null;
            AttributeData attribute = context.Attributes[0];
            string name = attribute.AttributeClass?.Name ?? "Trunk";
            return DiagnosticInfo.Create(DiagnosticDescriptors.UnusedBlock,
                LocationOf(attribute, CancellationToken.None) ?? LocationInfo.From(context.TargetSymbol.Locations.FirstOrDefault()),
                context.TargetSymbol.Name, name.Substring(0, name.Length - "Attribute".Length), owner.Name);
        }

        private static ParseResult ParseCore(INamedTypeSymbol type, ClassDeclarationSyntax syntax, Compilation compilation, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            LocationInfo? classLocation = LocationInfo.From(syntax.Identifier.GetLocation());
            ParseResult Fail(DiagnosticDescriptor descriptor, params string[] arguments)
            {
                diagnostics.Add(DiagnosticInfo.Create(descriptor, classLocation, arguments));
                return new ParseResult(type.Name, null, diagnostics.ToEquatableArray());
            }

            if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
                return Fail(DiagnosticDescriptors.ModelNotPartial, type.Name);
            if (type.IsGenericType)
                return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, "it is generic; declare a non-generic class");
            if (type.IsStatic || type.IsAbstract)
                return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is {(type.IsStatic ? "static" : "abstract")}; a model is a class that can be created");
            if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType && !IsGeneratedBase(baseType))
                return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name,
                    $"it derives from '{baseType.ToDisplayString()}'; the generated model derives from MtlDsl.MultiTaskModule, so remove the base class");

            var containing = new List<ContainingType>();
            for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.IsGenericType)
                    return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is nested in the generic type '{outer.Name}'; move it out or make '{outer.Name}' non-generic");
                bool partial = outer.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));
                if (!partial)
                    return Fail(DiagnosticDescriptors.UnsupportedModelDeclaration, type.Name, $"it is nested in '{outer.Name}', which is not partial; declare 'partial' on '{outer.Name}'");
                containing.Insert(0, new ContainingType(TypeKeyword(outer), outer.Name));
            }

            EquatableArray<int> inputShape = EquatableArray<int>.Empty;
            LocationInfo? inputLocation = null;
            foreach (AttributeData attribute in type.GetAttributes())
            {
                if (!Is(attribute.AttributeClass, "InputAttribute")) continue;
                inputLocation = LocationOf(attribute, cancellationToken);
                if (attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Kind == TypedConstantKind.Array)
                    inputShape = attribute.ConstructorArguments[0].Values.Select(v => v.Value is int i ? i : 0).ToEquatableArray();
            }

            var blocks = new List<BlockSpec>();
            var others = new List<MemberInfo>();
            foreach (ISymbol member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member.GetAttributes().Any(a => Is(a.AttributeClass, "TrunkAttribute") || Is(a.AttributeClass, "TaskAttribute")))
                {
                    if (ParseBlock(member, diagnostics, cancellationToken) is { } block) blocks.Add(block);
                }
                else if (!member.IsImplicitlyDeclared && member.Locations.Any(l => l.IsInSource))
                {
                    AttributeData? layer = member.GetAttributes().FirstOrDefault(a => IsLayer(a.AttributeClass));
                    others.Add(new MemberInfo(
                        member is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor ? (constructor.Parameters.Length == 0 ? ".ctor()" : ".ctor") : member.Name,
                        member.Kind.ToString().ToLowerInvariant(),
                        LocationInfo.From(member.Locations.FirstOrDefault()),
                        layer is not null,
                        layer is null ? null : LocationOf(layer, cancellationToken)));
                }
            }

            var model = new ModelSpec(
                type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
                type.Name,
                AccessibilityKeyword(type.DeclaredAccessibility),
                containing.ToEquatableArray(),
                classLocation,
                inputShape,
                inputLocation,
                blocks.ToEquatableArray(),
                others.ToEquatableArray(),
                InheritedMemberNames(compilation));
            return new ParseResult(type.Name, model, diagnostics.ToEquatableArray());
        }

        private static bool IsGeneratedBase(INamedTypeSymbol baseType) =>
            baseType.Name == "MultiTaskModule" && baseType.ContainingNamespace?.ToDisplayString() == AttributeNamespace;

        private static BlockSpec? ParseBlock(ISymbol member, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
        {
            AttributeData? trunk = null, task = null;
            var layers = new List<LayerSpec>();
            foreach (AttributeData attribute in member.GetAttributes())
            {
                if (Is(attribute.AttributeClass, "TrunkAttribute")) trunk = attribute;
                else if (Is(attribute.AttributeClass, "TaskAttribute")) task = attribute;
                else if (IsLayer(attribute.AttributeClass) && ParseLayer(attribute, cancellationToken) is { } layer) layers.Add(layer);
            }
            if (trunk is null && task is null) return null;

            LocationInfo? memberLocation = LocationInfo.From(member.Locations.FirstOrDefault());
            if (trunk is not null && task is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TrunkAndTask, LocationOf(task, cancellationToken) ?? memberLocation, member.Name));
                return null;
            }

            AttributeData kindAttribute = (trunk ?? task)!;
            int loss = 0;
            double weight = 1.0;
            int? classes = null;
            LocationInfo? weightLocation = null, classesLocation = null;
            if (task is not null)
            {
                if (task.ConstructorArguments.Length == 1 && task.ConstructorArguments[0].Value is int l) loss = l;
                foreach (var named in task.NamedArguments)
                {
                    if (named.Key == "Weight")
                    {
                        weight = named.Value.Value switch { double d => d, float f => f, int i => i, _ => double.NaN };
                        weightLocation = ArgumentLocations(task, cancellationToken).FirstOrDefault(a => a.Name == "Weight")?.Location;
                    }
                    else if (named.Key == "Classes" && named.Value.Value is int c)
                    {
                        classes = c;
                        classesLocation = ArgumentLocations(task, cancellationToken).FirstOrDefault(a => a.Name == "Classes")?.Location;
                    }
                }
            }

            return new BlockSpec(
                member.Name,
                task is null ? BlockKind.Trunk : BlockKind.Task,
                AccessibilityKeyword(member.DeclaredAccessibility),
                MemberProblem(member),
                loss,
                weight,
                classes,
                classesLocation,
                memberLocation,
                LocationOf(kindAttribute, cancellationToken),
                weightLocation,
                layers.ToEquatableArray());
        }

        /// <summary>What keeps the generator from implementing this member, or null when it can.</summary>
        private static string? MemberProblem(ISymbol member)
        {
            if (member is not IPropertySymbol property)
                return $"is a {member.Kind.ToString().ToLowerInvariant()}, not a property";
            if (property.Type.ToDisplayString() != SequentialType)
                return $"has type '{property.Type.ToDisplayString()}', not Sequential";
            if (property.IsStatic) return "is static";
            if (property.IsIndexer) return "is an indexer";
            if (!property.IsPartialDefinition)
                return property.PartialDefinitionPart is not null ? "is already implemented by hand" : "is not partial";
            if (property.PartialImplementationPart is not null) return "is already implemented by hand";
            if (property.SetMethod is not null || property.GetMethod is null) return "must have a getter only";
            return null;
        }

        private static LayerSpec? ParseLayer(AttributeData attribute, CancellationToken cancellationToken)
        {
            if (attribute.AttributeConstructor is null || attribute.AttributeClass is null) return null; // the compiler reports it
            string name = attribute.AttributeClass.Name;
            if (!name.EndsWith("Attribute", StringComparison.Ordinal)) return null;
            if (!Enum.TryParse(name.Substring(0, name.Length - "Attribute".Length), out LayerKind kind)) return null;

            ImmutableArray<TypedConstant> args = attribute.ConstructorArguments;
            int? Ctor(int index) => index < args.Length && args[index].Value is int v ? v : null;
            double? CtorDouble(int index) => index < args.Length && args[index].Value is double v ? v : null;
            int? Named(string property) => attribute.NamedArguments.FirstOrDefault(a => a.Key == property).Value.Value is int v ? v : null;
            bool bias = attribute.NamedArguments.FirstOrDefault(a => a.Key == "Bias").Value.Value is not false;

            LocationInfo? location = LocationOf(attribute, cancellationToken);
            EquatableArray<ArgumentLocation> arguments = ArgumentLocations(attribute, cancellationToken).ToEquatableArray();
            return kind switch
            {
                LayerKind.Linear => new LayerSpec(kind, location, Size: Ctor(0), InSize: Named("InFeatures"), Bias: bias, Arguments: arguments),
                LayerKind.Conv1d or LayerKind.Conv2d => new LayerSpec(kind, location, Size: Ctor(0), KernelSize: Ctor(1),
                    Stride: Named("Stride"), Padding: Named("Padding"), Dilation: Named("Dilation"), InSize: Named("InChannels"), Bias: bias, Arguments: arguments),
                LayerKind.MaxPool2d or LayerKind.AvgPool2d => new LayerSpec(kind, location, KernelSize: Ctor(0),
                    Stride: Named("Stride"), Padding: Named("Padding"), Arguments: arguments),
                LayerKind.AdaptiveAvgPool2d => new LayerSpec(kind, location, Size: Ctor(0), Size2: args.Length > 1 ? Ctor(1) : Ctor(0), Arguments: arguments),
                LayerKind.Dropout => new LayerSpec(kind, location, Probability: CtorDouble(0) ?? 0.5, Arguments: arguments),
                LayerKind.BatchNorm1d or LayerKind.BatchNorm2d => new LayerSpec(kind, location, InSize: Named("NumFeatures"), Arguments: arguments),
                LayerKind.LayerNorm => new LayerSpec(kind, location,
                    NormalizedShape: args.Length == 1 && args[0].Kind == TypedConstantKind.Array
                        ? args[0].Values.Select(v => v.Value is int i ? i : 0).ToEquatableArray()
                        : EquatableArray<int>.Empty,
                    Arguments: arguments),
                LayerKind.LeakyReLU => new LayerSpec(kind, location,
                    NegativeSlope: attribute.NamedArguments.FirstOrDefault(a => a.Key == "NegativeSlope").Value.Value as double?, Arguments: arguments),
                _ => new LayerSpec(kind, location, Arguments: arguments),
            };
        }

        /// <summary>Where each argument of the attribute was written, by PascalCase parameter or property name.</summary>
        private static IEnumerable<ArgumentLocation> ArgumentLocations(AttributeData attribute, CancellationToken cancellationToken)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax { ArgumentList: { } list })
                yield break;
            ImmutableArray<IParameterSymbol> parameters = attribute.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
            for (int i = 0; i < list.Arguments.Count; i++)
            {
                AttributeArgumentSyntax argument = list.Arguments[i];
                string? name = argument.NameEquals?.Name.Identifier.ValueText
                    ?? argument.NameColon?.Name.Identifier.ValueText
                    ?? (parameters.Length == 0 ? null : parameters[Math.Min(i, parameters.Length - 1)].Name);
                if (name is null) continue;
                yield return new ArgumentLocation(char.ToUpperInvariant(name[0]) + name.Substring(1), LocationInfo.From(argument));
            }
        }

        private static LocationInfo? LocationOf(AttributeData attribute, CancellationToken cancellationToken) =>
            LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken));

        private static bool Is(INamedTypeSymbol? attributeClass, string name) =>
            attributeClass is not null && attributeClass.Name == name && attributeClass.ContainingNamespace?.ToDisplayString() == AttributeNamespace;

        private static bool IsLayer(INamedTypeSymbol? attributeClass)
        {
            for (INamedTypeSymbol? t = attributeClass?.BaseType; t is not null; t = t.BaseType)
                if (Is(t, "LayerAttribute")) return true;
            return false;
        }

        private static string TypeKeyword(INamedTypeSymbol type) => type switch
        {
            { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
            { IsRecord: true } => "record",
            { TypeKind: TypeKind.Struct } => "struct",
            { TypeKind: TypeKind.Interface } => "interface",
            _ => "class",
        };

        private static string AccessibilityKeyword(Accessibility accessibility) => accessibility switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => "private",
        };
    }
}
