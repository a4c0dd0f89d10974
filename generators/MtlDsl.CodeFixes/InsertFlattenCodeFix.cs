using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Model;

namespace MtlDsl.CodeFixes;

/// <summary>For MTL005 on a <c>Linear</c> that receives a multi-dimensional input: inserts <c>Flatten</c> before it.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InsertFlattenCodeFix)), Shared]
public sealed class InsertFlattenCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MTL005");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(Fixes.Key, out string? fix) || fix != Fixes.InsertFlatten) continue;
            if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<AttributeSyntax>() is not { Parent: AttributeListSyntax } attribute)
                continue;
            context.RegisterCodeFix(
                CodeAction.Create("Insert [Flatten] before this layer", token => InsertFlattenAsync(context.Document, attribute, token), nameof(InsertFlattenCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Document> InsertFlattenAsync(Document document, AttributeSyntax attribute, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var list = (AttributeListSyntax)attribute.Parent!;
        AttributeSyntax flatten = SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("Flatten"));
        int index = list.Attributes.IndexOf(attribute);
        // Inserted into the same attribute list, so the layers stay in one line and in source order.
        AttributeListSyntax updated = list.WithAttributes(list.Attributes.Insert(index, flatten));
        return document.WithSyntaxRoot(root.ReplaceNode(list, updated));
    }
}
