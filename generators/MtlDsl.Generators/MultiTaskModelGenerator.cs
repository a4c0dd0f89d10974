using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators;

/// <summary>What one generated file is made from: a valid model, or the declaration of one with errors (stubs).</summary>
internal sealed record EmitInput(ModelSpec Spec, ShapedModel? Model);

/// <summary>
/// Completes every <c>[MultiTaskModel]</c> partial class with its TorchSharp module, typed outputs, targets and
/// losses, a trainer factory and a compile-time summary. Data flows one way: Parser (Roslyn symbols to plain
/// records), Validation (structure and shape inference), Emitter (C# text). Diagnostics travel on their own output.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class MultiTaskModelGenerator : IIncrementalGenerator
{
    /// <summary>The names of the pipeline steps, for incremental-generation tests and diagnostics.</summary>
    public static class TrackingNames
    {
        /// <summary>Each [MultiTaskModel] class read, as the compiler bound it, into plain data (runs on every compilation change; what follows is cached).</summary>
        public const string Parse = nameof(Parse);
        /// <summary>The member names every model inherits, once per compilation.</summary>
        public const string InheritedMembers = nameof(InheritedMembers);
        /// <summary>Structure checks and shape inference.</summary>
        public const string Analyze = nameof(Analyze);
        /// <summary>The diagnostics of one model.</summary>
        public const string Diagnostics = nameof(Diagnostics);
        /// <summary>What the emitter writes for one model.</summary>
        public const string Source = nameof(Source);
        /// <summary>The hint names that collide ignoring case, once per compilation.</summary>
        public const string HintNames = nameof(HintNames);
        /// <summary>[Trunk] or [Task] members outside any model.</summary>
        public const string UnusedBlocks = nameof(UnusedBlocks);
        /// <summary>Calls of ExportOnnx and ExportPyTorch on a model type.</summary>
        public const string ExportCalls = nameof(ExportCalls);
        /// <summary>What each valid model cannot be exported to, once per compilation.</summary>
        public const string ExportLimits = nameof(ExportLimits);
        /// <summary>Whether the compilation declares any model (for the native-library initializer).</summary>
        public const string AnyModel = nameof(AnyModel);
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValueProvider<EquatableArray<string>> inherited = context.CompilationProvider
            .Select(static (compilation, _) => Parser.InheritedMemberNames(compilation))
            .WithTrackingName(TrackingNames.InheritedMembers);

        IncrementalValuesProvider<AnalysisResult> models = context.SyntaxProvider
            .ForAttributeWithMetadataName(ModelAttributeName,
                static (node, _) => node is TypeDeclarationSyntax, // records and structs too, to say why they cannot be models
                static (context, cancellationToken) => Parser.Parse(context, cancellationToken))
            .WithTrackingName(TrackingNames.Parse)
            .Combine(inherited)
            .Select(static (input, _) => Validation.Analyze(input.Left, input.Right))
            .WithTrackingName(TrackingNames.Analyze);

        // Diagnostics are reported in the compilation's syntax trees, so that #pragma and [SuppressMessage] apply to
        // them; the combine runs on every edit but does work only for a model that has diagnostics.
        context.RegisterSourceOutput(
            models.Select(static (model, _) => model.Diagnostics).WithTrackingName(TrackingNames.Diagnostics)
                .Where(static diagnostics => diagnostics.Count > 0)
                .Combine(context.CompilationProvider),
            static (output, input) =>
            {
                IReadOnlyDictionary<string, SyntaxTree> trees = DiagnosticInfo.TreesByPath(input.Right);
                foreach (DiagnosticInfo diagnostic in input.Left) output.ReportDiagnostic(diagnostic.ToDiagnostic(trees));
            });

        IncrementalValuesProvider<EmitInput> completed = models
            .Where(static model => model.Model is not null || model.Stubs is not null)
            .Select(static (model, _) => new EmitInput(model.Model?.Spec ?? model.Stubs!, model.Model))
            .WithTrackingName(TrackingNames.Source);

        // Hint names are compared ignoring case: models whose full names differ only in case (Net and NET) get a hash
        // of their exact spelling. The set stays equal across unrelated edits, so the per-model outputs stay cached.
        IncrementalValueProvider<EquatableArray<string>> caseCollisions = completed
            .Select(static (model, _) => model.Spec.HintKey)
            .Collect()
            .Select(static (keys, _) => keys.GroupBy(static k => k, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).OrderBy(k => k, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.HintNames);

        context.RegisterSourceOutput(
            completed.Combine(caseCollisions),
            static (output, input) =>
            {
                EmitInput model = input.Left;
                try
                {
                    string source = model.Model is { } valid ? Emitter.Emit(valid) : Emitter.EmitStubs(model.Spec);
                    output.AddSource(model.Spec.HintName(disambiguate: input.Right.Contains(model.Spec.HintKey)), source);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A crash here would surface only as warning CS8785 with every model's output silently missing.
                    output.ReportDiagnostic(DiagnosticInfo.Create(Diagnostics.DiagnosticDescriptors.InternalError, model.Spec.ClassLocation,
                        model.Spec.ClassName, e.GetType().Name + ": " + e.Message).ToDiagnostic());
                }
            });

        // [Trunk] or [Task] on a member of a class that is not a [MultiTaskModel]: a block nothing uses. Found
        // from syntax first (cheap, and only in edited files), confirmed with symbols for those few members.
        context.RegisterSourceOutput(
            context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => Parser.IsPossiblyUnusedBlock(node), static (syntax, cancellationToken) => Parser.UnusedBlock(syntax, cancellationToken))
                .Where(static diagnostic => diagnostic is not null)
                .WithTrackingName(TrackingNames.UnusedBlocks)
                .Combine(context.CompilationProvider),
            static (output, input) => output.ReportDiagnostic(input.Left!.ToDiagnostic(DiagnosticInfo.TreesByPath(input.Right))));

        // MTL035: ExportOnnx or ExportPyTorch called on a model that engine cannot hold (a module of one's own). The
        // calls are found from syntax (the method's name) and bound only there; the limits change only with a model.
        IncrementalValueProvider<EquatableArray<ExportLimits>> limits = models
            .Where(static model => model.Model is not null)
            .Select(static (model, _) => ExportLimits.Of(model.Model!))
            .Where(static limits => limits.Onnx is not null || limits.PyTorch is not null)
            .Collect()
            .Select(static (all, _) => all.ToEquatableArray())
            .WithTrackingName(TrackingNames.ExportLimits);
        context.RegisterSourceOutput(
            context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => Parser.IsPossiblyExportCall(node), static (syntax, cancellationToken) => Parser.ExportCall(syntax, cancellationToken))
                .Where(static call => call is not null)
                .WithTrackingName(TrackingNames.ExportCalls)
                .Combine(limits)
                .Where(static input => input.Right.Any(l => l.ModelFullName == input.Left!.ModelFullName && l.For(input.Left.Method) is not null))
                .Combine(context.CompilationProvider),
            static (output, input) =>
            {
                ExportCall call = input.Left.Left!;
                ExportLimits model = input.Left.Right.First(l => l.ModelFullName == call.ModelFullName);
                output.ReportDiagnostic(DiagnosticInfo.Create(Diagnostics.DiagnosticDescriptors.ExportRefused, call.Location, model.ModelName, call.Method, model.For(call.Method)!)
                    .ToDiagnostic(DiagnosticInfo.TreesByPath(input.Right)));
            });

        context.RegisterSourceOutput(
            models.Collect().Select(static (all, _) => all.Any(m => m.Model is not null)).WithTrackingName(TrackingNames.AnyModel),
            static (output, any) =>
            {
                if (any) output.AddSource("MtlDsl-NativeInitializer.g.cs", NativeInitializerSource);
            });
    }

    // Runs before Main in the user's assembly, so TorchSharp's native library is ready before any TorchSharp
    // call, even one that comes before the first model is created.
    // A property: static fields of a partial class in other files (GeneratedCode) have no defined initialization order.
    private static string NativeInitializerSource =>
        "// <auto-generated/>\n" +
        "#nullable enable\n" +
        "\n" +
        "namespace MtlDsl.Generated\n" +
        "{\n" +
        "    " + GeneratedCode + "\n" +
        "    // File-local: a type of the user's own called NativeInitializer, here or anywhere, cannot clash with it.\n" +
        "    file static class NativeInitializer\n" +
        "    {\n" +
        "#pragma warning disable CA2255 // Loading the native library before the first TorchSharp call is what a module initializer is for.\n" +
        "        [global::System.Runtime.CompilerServices.ModuleInitializer]\n" +
        "#pragma warning restore CA2255\n" +
        "        internal static void Initialize()\n" +
        "        {\n" +
        "            try\n" +
        "            {\n" +
        "                global::MtlDsl.Native.TorchNative.EnsureLoaded();\n" +
        "            }\n" +
        "            catch (global::MtlDsl.Native.TorchNativeLoadException)\n" +
        "            {\n" +
        "                // Rethrown with its explanation by the first model constructor.\n" +
        "            }\n" +
        "        }\n" +
        "    }\n" +
        "}\n";
}
