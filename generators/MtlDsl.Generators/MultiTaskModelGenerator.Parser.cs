using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Architectures;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Layers;
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

    /// <summary>Reads a [MultiTaskModel] class into plain data. Never throws on malformed input.</summary>
    internal static class Parser
    {
        /// <summary>
        /// Reads a model as the compiler bound it: the class symbol, and every attribute's <see cref="AttributeData"/>
        /// (aliases, constants of any numeric type, explicit arrays, named and positional arguments resolved), into
        /// plain data right here, so that nothing after this step holds a symbol, a syntax node or the compilation.
        /// </summary>
        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            // [MultiTaskModel] on several partial declarations of one class (a copy-paste): one model, read where the
            // first of them is (the compiler reports the repeated attribute itself); the others produce nothing, so no
            // two outputs ever share a hint name.
            if (!IsFirstModelDeclaration(type, context.TargetNode, cancellationToken)) return new ParseResult(type.Name, null, EquatableArray<DiagnosticInfo>.Empty);
            try
            {
                TypeDeclarationSyntax[] declarations = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToArray();
                if (declarations.Length == 0) declarations = [(TypeDeclarationSyntax)context.TargetNode];
                return ParseCache.GetOrParse(declarations, context.SemanticModel.Compilation, () => ParseUncached(context, type, cancellationToken), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The cache itself failed (a compiler API that behaves otherwise in some host): parse without it
                // (ParseUncached turns its own failures into MTL999 and never throws).
                return ParseUncached(context, type, cancellationToken);
            }
        }

        private static bool HeaderIsIncomplete(TypeDeclarationSyntax declaration) =>
            declaration.Identifier.IsMissing || declaration.OpenBraceToken.IsMissing || declaration.Identifier.ContainsDiagnostics
            || declaration.Modifiers.Any(m => m.ContainsDiagnostics) || declaration.BaseList?.ContainsDiagnostics == true
            || declaration.TypeParameterList?.ContainsDiagnostics == true || declaration.ParameterList?.ContainsDiagnostics == true
            || declaration.ConstraintClauses.Any(c => c.ContainsDiagnostics);

        private static bool IsFirstModelDeclaration(INamedTypeSymbol type, SyntaxNode target, CancellationToken cancellationToken)
        {
            if (type.DeclaringSyntaxReferences.Length < 2) return true;
            var applications = type.GetAttributes().Where(a => a.AttributeClass?.ToDisplayString() == ModelAttributeName)
                .Select(a => a.ApplicationSyntaxReference).OfType<SyntaxReference>().ToList();
            foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration) continue;
                if (applications.Any(application => application.SyntaxTree == declaration.SyntaxTree && declaration.AttributeLists.Any(l => l.Span.Contains(application.Span))))
                    return ReferenceEquals(declaration, target);
            }
            return true;
        }

        // The parse, with any failure turned into MTL999 on the model (never an exception, which would be CS8785).
        private static ParseResult ParseUncached(GeneratorAttributeSyntaxContext context, INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            string name = type.Name;
            LocationInfo? location = LocationInfo.From(context.TargetNode.GetLocation());
            try
            {
                // A declaration still being typed (no class name yet, a base list half written): nothing is generated
                // and nothing reported until the compiler can bind it; its own errors say what is missing.
                if (type.Name.Length == 0 || type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().Any(HeaderIsIncomplete))
                    return new ParseResult(name, null, EquatableArray<DiagnosticInfo>.Empty);
                ClassFacts facts = ModelDeclaration.ReadFacts(type, (TypeDeclarationSyntax)context.TargetNode, cancellationToken);
                (name, location) = (facts.ClassName, facts.ClassLocation);
                if (facts.Failure is { } failure) return new ParseResult(facts.ClassName, null, new[] { failure }.ToEquatableArray());
                return ParseCore(type, context.SemanticModel, facts, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new ParseResult(name, null, new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, location, name, e.GetType().Name + ": " + e.Message),
                }.ToEquatableArray());
            }
        }

        /// <summary>
        /// The names of the members a model inherits (MultiTaskModule and TorchSharp's Module): a block must not hide
        /// one. The same for every model of a compilation, so the pipeline computes it once per compilation.
        /// </summary>
        public static EquatableArray<string> InheritedMemberNames(Compilation compilation)
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

        /// <summary>
        /// Syntax only: a [Trunk] or [Task] attribute whose type declaration carries no attribute named
        /// MultiTaskModel (another partial part may; <see cref="UnusedBlock"/> checks with symbols).
        /// </summary>
        public static bool IsPossiblyUnusedBlock(SyntaxNode node) =>
            node is AttributeSyntax attribute
            && AttributeReader.SimpleName(attribute) is "Trunk" or "Task"
            && attribute.Parent?.Parent is MemberDeclarationSyntax { Parent: TypeDeclarationSyntax type }
            && !type.AttributeLists.SelectMany(l => l.Attributes).Any(a => AttributeReader.SimpleName(a) == "MultiTaskModel");

        /// <summary>MTL020 for a [Trunk] or [Task] member whose type is not a [MultiTaskModel], else null.</summary>
        public static DiagnosticInfo? UnusedBlock(GeneratorSyntaxContext context, CancellationToken cancellationToken)
        {
            var attribute = (AttributeSyntax)context.Node;
            if (context.SemanticModel.GetSymbolInfo(attribute, cancellationToken).Symbol is not IMethodSymbol { ContainingType: var attributeType }
                || attributeType.ContainingNamespace?.ToDisplayString() != AttributeNamespace
                || attributeType.Name is not ("TrunkAttribute" or "TaskAttribute"))
                return null;
            var member = (MemberDeclarationSyntax)attribute.Parent!.Parent!;
            var typeSyntax = (TypeDeclarationSyntax)member.Parent!;
            if (context.SemanticModel.GetDeclaredSymbol(typeSyntax, cancellationToken) is not INamedTypeSymbol owner
                || owner.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ModelAttributeName))
                return null;
            string memberName = DeclaredNames(member).FirstOrDefault().Name ?? "?";
            string attributeName = attributeType.Name.Substring(0, attributeType.Name.Length - "Attribute".Length);
            return DiagnosticInfo.Create(DiagnosticDescriptors.UnusedBlock, LocationInfo.From(attribute), memberName, attributeName, owner.Name);
        }

        /// <summary>
        /// Whether the node may call ExportOnnx or ExportPyTorch (syntax only: the name of the method), in any form:
        /// <c>m.ExportOnnx(…)</c>, <c>m?.ExportPyTorch(…)</c>, <c>OnnxExtensions.ExportOnnx(m, …)</c>, or
        /// <c>ExportPyTorch(…)</c> inside the model.
        /// </summary>
        public static bool IsPossiblyExportCall(SyntaxNode node) =>
            node is InvocationExpressionSyntax invocation && CalledName(invocation) is "ExportOnnx" or "ExportPyTorch";

        private static string? CalledName(InvocationExpressionSyntax invocation) => invocation.Expression switch
        {
            MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            SimpleNameSyntax name => name.Identifier.ValueText,
            _ => null,
        };

        /// <summary>
        /// The call, if it is ExportOnnx or ExportPyTorch on a model type; else null. The generator sees the compilation
        /// without its own output, where a model does not yet derive from MultiTaskModule: such a call (ExportPyTorch, a
        /// method of MultiTaskModule, or ExportOnnx, MtlDsl.Onnx's extension of it) binds to nothing, and the receiver's
        /// type, a [MultiTaskModel] class, says what it is: the expression before the dot or '?.', the first argument of
        /// the static form, the enclosing class for a call without a receiver. A call that binds to another method is not it.
        /// </summary>
        public static ExportCall? ExportCall(GeneratorSyntaxContext context, CancellationToken cancellationToken)
        {
            var invocation = (InvocationExpressionSyntax)context.Node;
            SemanticModel semantic = context.SemanticModel;
            SymbolInfo bound = semantic.GetSymbolInfo(invocation, cancellationToken);
            bool Ours(ISymbol? symbol) => symbol is IMethodSymbol method
                && method.ContainingType?.OriginalDefinition is { Name: "MultiTaskModule" or "OnnxExtensions", ContainingNamespace: var ns } && ns.ToDisplayString() == AttributeNamespace;
            if (bound.Symbol is IMethodSymbol && !Ours(bound.Symbol)) return null;
            if (bound.Symbol is null && bound.CandidateSymbols.Length > 0 && !bound.CandidateSymbols.Any(Ours)) return null;

            ITypeSymbol? receiver;
            SyntaxNode name;
            switch (invocation.Expression)
            {
                case MemberAccessExpressionSyntax access:
                    name = access.Name;
                    // OnnxExtensions.ExportOnnx(m, …): the receiver is the first argument.
                    receiver = semantic.GetSymbolInfo(access.Expression, cancellationToken).Symbol is INamedTypeSymbol
                        ? invocation.ArgumentList.Arguments.FirstOrDefault() is { } first ? semantic.GetTypeInfo(first.Expression, cancellationToken).Type : null
                        : semantic.GetTypeInfo(access.Expression, cancellationToken).Type;
                    break;
                case MemberBindingExpressionSyntax binding:
                    name = binding.Name;
                    receiver = invocation.Ancestors().OfType<ConditionalAccessExpressionSyntax>().FirstOrDefault(c => c.WhenNotNull.Span.Contains(invocation.Span)) is { } conditional
                        ? semantic.GetTypeInfo(conditional.Expression, cancellationToken).Type : null;
                    break;
                default:
                    name = invocation.Expression;
                    receiver = invocation.Ancestors().OfType<TypeDeclarationSyntax>().FirstOrDefault() is { } enclosing
                        ? semantic.GetDeclaredSymbol(enclosing, cancellationToken) : null;
                    break;
            }
            if (receiver is not INamedTypeSymbol model || !model.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ModelAttributeName))
                return null;
            var parts = new List<string> { model.Name };
            for (INamedTypeSymbol? outer = model.ContainingType; outer is not null; outer = outer.ContainingType) parts.Insert(0, outer.Name);
            if (model.ContainingNamespace is { IsGlobalNamespace: false } space) parts.Insert(0, space.ToDisplayString());
            return new ExportCall(string.Join(".", parts).Replace("@", ""), CalledName(invocation)!, LocationInfo.From(name));
        }

        // One of MtlDsl's attributes as bound: its simple name, the syntax it was written as, and its arguments
        // (null when the compiler rejects it).
        private sealed record BoundAttribute(string Name, AttributeSyntax? Syntax, AttributeArguments? Arguments, AttributeData Data);

        // MtlDsl's attributes on a symbol, in source order, that were written on this declaration (a partial
        // member's other part carries its own).
        private static List<BoundAttribute> Attributes(ISymbol? symbol, SyntaxNode declaration, CancellationToken cancellationToken)
        {
            var found = new List<BoundAttribute>();
            if (symbol is null) return found;
            foreach (AttributeData data in symbol.GetAttributes())
            {
                if (AttributeReader.MtlDslName(data) is not { } name || data.ApplicationSyntaxReference is not { } reference) continue;
                if (reference.SyntaxTree != declaration.SyntaxTree || !declaration.Span.Contains(reference.Span)) continue;
                var syntax = reference.GetSyntax(cancellationToken) as AttributeSyntax;
                found.Add(new BoundAttribute(name, syntax, AttributeReader.Read(data, syntax), data));
            }
            return found.OrderBy(a => a.Syntax?.SpanStart ?? 0).ToList();
        }

        private static ParseResult ParseCore(INamedTypeSymbol type, SemanticModel targetModel, ClassFacts facts, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var declarations = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
            var models = new Dictionary<SyntaxTree, SemanticModel> { [targetModel.SyntaxTree] = targetModel };
            SemanticModel ModelOf(SyntaxNode node) =>
                models.TryGetValue(node.SyntaxTree, out SemanticModel? model) ? model : models[node.SyntaxTree] = targetModel.Compilation.GetSemanticModel(node.SyntaxTree);

            // An attribute the compiler rejects (a syntax error while typing, a missing or ill-typed argument, a value
            // that is not a constant) is the compiler's error alone: the model gets no MTL diagnostic and only stubs.
            bool compilerRejects = declarations.SelectMany(d => d.AttributeLists.Concat(d.Members.SelectMany(m => m.AttributeLists))).Any(l => l.ContainsDiagnostics);

            var inputs = new List<InputSpec>();
            foreach (TypeDeclarationSyntax declaration in declarations)
                foreach (BoundAttribute input in Attributes(type, declaration, cancellationToken).Where(a => a.Name == "Input"))
                {
                    if (input.Arguments is not { WellTyped: true } arguments) compilerRejects = true;
                    else inputs.Add(new InputSpec(arguments.Value("Name") as string, arguments.IntArray("Shape"), arguments.Int("Kind") ?? 0,
                        LocationInfo.From(input.Syntax), arguments.Locations));
                }

            var architectures = new List<ArchitectureSpec>();
            foreach (TypeDeclarationSyntax declaration in declarations)
                foreach (BoundAttribute attribute in Attributes(type, declaration, cancellationToken))
                {
                    if (ArchitectureDefinitions.ByAttribute(attribute.Name) is not { } architecture) continue;
                    if (attribute.Arguments is not { WellTyped: true } arguments) { compilerRejects = true; continue; }
                    architectures.Add(architecture.Read(arguments, attribute.Data, attribute.Syntax));
                }

            var blocks = new List<BlockSpec>();
            var others = new List<MemberInfo>();
            foreach (MemberDeclarationSyntax member in declarations.SelectMany(d => d.Members))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member.AttributeLists.Count == 0)
                {
                    foreach (var (name, kind, location) in DeclaredNames(member))
                        others.Add(new MemberInfo(name, kind, location, false, null));
                    continue;
                }
                ISymbol? symbol = DeclaredSymbol(ModelOf(member), member, cancellationToken);
                List<BoundAttribute> attributes = Attributes(symbol, member, cancellationToken);
                bool isBlock = attributes.Any(a => a.Name is "Trunk" or "Task");
                if (isBlock)
                {
                    if (ParseBlock(member, symbol, attributes, declarations, diagnostics, targetModel.Compilation, cancellationToken, ref compilerRejects) is { } block)
                    {
                        // A property pasted twice is the compiler's error (CS0102): one block of that name, and stubs only.
                        if (blocks.Any(b => b.Name == block.Name)) compilerRejects = true;
                        else blocks.Add(block);
                    }
                    continue;
                }
                BoundAttribute? firstLayer = attributes.FirstOrDefault(a => LayerRegistry.TryGet(a.Name, out _) || a.Name is "Residual" or "Concat" or "ProductOf");
                foreach (var (name, kind, location) in DeclaredNames(member))
                    others.Add(new MemberInfo(name, kind, location, firstLayer is not null, LocationInfo.From(firstLayer?.Syntax)));
            }

            // A block whose name another member also takes is the compiler's error (CS0102) too.
            if (blocks.Any(b => others.Any(o => o.Name == b.Name))) compilerRejects = true;

            var model = new ModelSpec(
                facts.Namespace,
                facts.ClassName,
                facts.Accessibility,
                facts.ContainingTypes,
                facts.ClassLocation,
                inputs.ToEquatableArray(),
                blocks.ToEquatableArray(),
                others.ToEquatableArray(),
                compilerRejects,
                architectures.ToEquatableArray());
            return new ParseResult(facts.ClassName, model, diagnostics.ToEquatableArray());
        }

        // The symbol a member declaration declares (the first variable of a field).
        private static ISymbol? DeclaredSymbol(SemanticModel model, MemberDeclarationSyntax member, CancellationToken cancellationToken) => member switch
        {
            BaseFieldDeclarationSyntax field when field.Declaration.Variables.Count > 0 => model.GetDeclaredSymbol(field.Declaration.Variables[0], cancellationToken),
            _ => model.GetDeclaredSymbol(member, cancellationToken),
        };

        private static BlockSpec? ParseBlock(MemberDeclarationSyntax member, ISymbol? symbol, List<BoundAttribute> attributes,
            List<TypeDeclarationSyntax> declarations, List<DiagnosticInfo> diagnostics, Compilation compilation, CancellationToken cancellationToken, ref bool compilerRejects)
        {
            BoundAttribute? trunk = attributes.FirstOrDefault(a => a.Name == "Trunk");
            BoundAttribute? task = attributes.FirstOrDefault(a => a.Name == "Task");
            var (name, _, memberLocation) = DeclaredNames(member).FirstOrDefault();
            name ??= member is IndexerDeclarationSyntax ? "this[]" : "?";
            // A member without a name of its own (an indexer) is reported at its [Trunk] or [Task] attribute.
            memberLocation ??= LocationInfo.From((trunk ?? task)!.Syntax);
            if (trunk is not null && task is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TrunkAndTask, LocationInfo.From(task.Syntax) ?? memberLocation, name));
                return null;
            }

            var layers = new List<LayerSpec>();
            foreach (BoundAttribute attribute in attributes)
            {
                if (!LayerRegistry.TryGet(attribute.Name, out LayerDefinition definition)) continue;
                if (attribute.Arguments is not { WellTyped: true } arguments) compilerRejects = true;
                else if (definition.Name == Layers.Module.Kind)
                    layers.Add(new LayerSpec(definition.Name, LocationInfo.From(attribute.Syntax), Arguments: arguments.Locations,
                        Module: OwnModules.Read(attribute.Data, attribute.Syntax, compilation, cancellationToken)));
                else layers.Add(new LayerSpec(definition.Name, LocationInfo.From(attribute.Syntax), arguments.LayerValues(), arguments.Locations));
            }

            BoundAttribute? residual = attributes.FirstOrDefault(a => a.Name == "Residual");
            if (residual is not null && residual.Arguments is not { WellTyped: true }) compilerRejects = true;

            // [Concat("a", nameof(B))]: a null array (Concat(null)) reads nothing, which validation reports.
            BoundAttribute? concat = attributes.FirstOrDefault(a => a.Name == "Concat");
            EquatableArray<string> concatSources = default;
            if (concat is not null)
            {
                if (concat.Arguments is not { WellTyped: true } arguments) compilerRejects = true;
                else concatSources = arguments.Value("Sources") is object?[] items ? items.Select(i => i as string ?? "").ToEquatableArray() : EquatableArray<string>.Empty;
            }

            // [ProductOf(nameof(A), nameof(B))]: each factor's location is its own argument where they are written one by
            // one, else the whole argument (new[] { … }, a constant array).
            BoundAttribute? productOf = attributes.FirstOrDefault(a => a.Name == "ProductOf");
            EquatableArray<string> factors = default;
            EquatableArray<ArgumentLocation> factorLocations = default;
            if (productOf is not null)
            {
                if (productOf.Arguments is not { WellTyped: true } arguments) compilerRejects = true;
                else
                {
                    string[] names = arguments.Value("Tasks") is object?[] items ? items.Select(i => i as string ?? "").ToArray() : [];
                    factors = names.ToEquatableArray();
                    var written = productOf.Syntax?.ArgumentList?.Arguments.Where(a => a.NameEquals is null).ToList() ?? [];
                    LocationInfo? whole = arguments.Location("Tasks") ?? LocationInfo.From(productOf.Syntax);
                    factorLocations = names.Select((n, i) => new ArgumentLocation(n,
                        written.Count == names.Length && names.Length != 1 ? LocationInfo.From(written[i]) : whole)).ToEquatableArray();
                }
            }

            int loss = 0;
            double weight = 1.0;
            int? classes = null;
            string? reads = null;
            EquatableArray<double>? positiveWeights = null, classWeights = null;
            LocationInfo? weightLocation = null, classesLocation = null, readsLocation = null, positiveWeightsLocation = null, classWeightsLocation = null, bottomLocation = null;
            if (trunk is not null)
            {
                if (trunk.Arguments is not { WellTyped: true } arguments) compilerRejects = true;
                else
                {
                    if (arguments.Value("Reads") is string r)
                    {
                        reads = r;
                        readsLocation = arguments.Location("Reads");
                    }
                    if (arguments.Value("Bottom") is true) bottomLocation = arguments.Location("Bottom") ?? LocationInfo.From(trunk.Syntax) ?? memberLocation;
                }
            }
            if (task is not null)
            {
                if (task.Arguments is not { WellTyped: true } arguments || arguments.Value("Loss") is not int l) compilerRejects = true;
                else
                {
                    loss = l;
                    if (arguments.Has("Weight"))
                    {
                        weight = arguments.Double("Weight") ?? double.NaN;
                        weightLocation = arguments.Location("Weight");
                    }
                    if (arguments.Int("Classes") is int c)
                    {
                        classes = c;
                        classesLocation = arguments.Location("Classes");
                    }
                    // Null (not written, or written null) is none: every weight 1.
                    if (arguments.DoubleArray("PositiveWeights") is { } positive)
                    {
                        positiveWeights = positive;
                        positiveWeightsLocation = arguments.Location("PositiveWeights");
                    }
                    if (arguments.DoubleArray("ClassWeights") is { } perClass)
                    {
                        classWeights = perClass;
                        classWeightsLocation = arguments.Location("ClassWeights");
                    }
                    if (arguments.Value("Reads") is string r)
                    {
                        reads = r;
                        readsLocation = arguments.Location("Reads");
                    }
                }
            }

            return new BlockSpec(
                name,
                task is not null ? BlockKind.Task : bottomLocation is not null ? BlockKind.Bottom : BlockKind.Trunk,
                AccessibilityKeyword(member.Modifiers),
                MemberProblem(member, symbol, name, declarations),
                loss,
                weight,
                classes,
                classesLocation,
                memberLocation,
                LocationInfo.From((trunk ?? task)!.Syntax),
                weightLocation,
                layers.ToEquatableArray(),
                reads,
                readsLocation,
                residual is null ? null : LocationInfo.From(residual.Syntax) ?? memberLocation,
                residual?.Arguments?.Value("ReLUAfterSum") is true,
                concatSources,
                concat is null ? null : LocationInfo.From(concat.Syntax) ?? memberLocation,
                bottomLocation,
                positiveWeights,
                positiveWeightsLocation,
                classWeights,
                classWeightsLocation,
                factors,
                productOf is null ? null : LocationInfo.From(productOf.Syntax) ?? memberLocation,
                factorLocations);
        }

        /// <summary>The names a member declaration introduces, with what it is and where.</summary>
        private static IEnumerable<(string Name, string Kind, LocationInfo? Location)> DeclaredNames(MemberDeclarationSyntax member)
        {
            switch (member)
            {
                case PropertyDeclarationSyntax property:
                    yield return (property.Identifier.ValueText, "property", LocationInfo.From(property.Identifier.GetLocation()));
                    break;
                case MethodDeclarationSyntax method:
                    yield return (method.Identifier.ValueText, "method", LocationInfo.From(method.Identifier.GetLocation()));
                    break;
                case ConstructorDeclarationSyntax constructor when !constructor.Modifiers.Any(SyntaxKind.StaticKeyword):
                    yield return (constructor.ParameterList.Parameters.Count == 0 ? ".ctor()" : ".ctor", "method", LocationInfo.From(constructor.Identifier.GetLocation()));
                    break;
                case BaseTypeDeclarationSyntax type:
                    yield return (type.Identifier.ValueText, "type", LocationInfo.From(type.Identifier.GetLocation()));
                    break;
                case DelegateDeclarationSyntax type:
                    yield return (type.Identifier.ValueText, "type", LocationInfo.From(type.Identifier.GetLocation()));
                    break;
                case BaseFieldDeclarationSyntax field:
                    foreach (VariableDeclaratorSyntax variable in field.Declaration.Variables)
                        yield return (variable.Identifier.ValueText, field is EventFieldDeclarationSyntax ? "event" : "field", LocationInfo.From(variable.Identifier.GetLocation()));
                    break;
                case EventDeclarationSyntax e:
                    yield return (e.Identifier.ValueText, "event", LocationInfo.From(e.Identifier.GetLocation()));
                    break;
            }
        }

        /// <summary>What keeps the generator from implementing this member, or null when it can.</summary>
        private static string? MemberProblem(MemberDeclarationSyntax member, ISymbol? symbol, string name, List<TypeDeclarationSyntax> declarations)
        {
            if (member is PropertyDeclarationSyntax { Type: RefTypeSyntax })
                return "returns by reference ('ref'); a block is a plain property, so remove 'ref'";
            if (member is not PropertyDeclarationSyntax property)
                return member switch
                {
                    BaseFieldDeclarationSyntax => "is a field, not a property",
                    MethodDeclarationSyntax => "is a method, not a property",
                    IndexerDeclarationSyntax => "is an indexer, not a property",
                    _ => "is not a property",
                };
            // The type as the compiler resolved it: an alias of TorchSharp.Modules.Sequential is Sequential.
            if ((symbol as IPropertySymbol)?.Type.ToDisplayString() != "TorchSharp.Modules.Sequential")
                return $"has type '{property.Type}', not Sequential";
            foreach (SyntaxKind modifier in new[] { SyntaxKind.StaticKeyword, SyntaxKind.VirtualKeyword, SyntaxKind.AbstractKeyword, SyntaxKind.OverrideKeyword, SyntaxKind.ExternKeyword, SyntaxKind.SealedKeyword, SyntaxKind.NewKeyword })
                if (property.Modifiers.FirstOrDefault(m => m.IsKind(modifier)) is { RawKind: not 0 } token)
                    return $"is {token.ValueText}; the generator implements a plain partial property";
            bool implemented(PropertyDeclarationSyntax p) => p.ExpressionBody is not null || p.AccessorList?.Accessors.Any(a => a.Body is not null || a.ExpressionBody is not null) == true;
            if (implemented(property)) return "is already implemented by hand";
            if (!property.Modifiers.Any(SyntaxKind.PartialKeyword)) return "is not partial";
            var accessors = property.AccessorList?.Accessors ?? default;
            if (accessors.Count != 1 || !accessors[0].IsKind(SyntaxKind.GetAccessorDeclaration)) return "must have a getter only";
            bool implementedElsewhere = declarations.SelectMany(d => d.Members).OfType<PropertyDeclarationSyntax>()
                .Any(p => p != property && p.Identifier.ValueText == name && implemented(p));
            return implementedElsewhere ? "is already implemented by hand" : null;
        }


        private static string AccessibilityKeyword(SyntaxTokenList modifiers)
        {
            var words = modifiers.Where(m => m.IsKind(SyntaxKind.PublicKeyword) || m.IsKind(SyntaxKind.InternalKeyword)
                || m.IsKind(SyntaxKind.ProtectedKeyword) || m.IsKind(SyntaxKind.PrivateKeyword)).Select(m => m.ValueText).ToList();
            return words.Count == 0 ? "private" : string.Join(" ", words);
        }

    }
}
