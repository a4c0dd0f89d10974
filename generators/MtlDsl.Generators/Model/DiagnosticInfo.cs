using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Model;

/// <summary>
/// A diagnostic as plain data: its descriptor's ID, its location, its message arguments, and the code fix that
/// applies to it, if any (see <see cref="Fixes"/>).
/// </summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments, string? Fix = null)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
        new(descriptor.Id, location, arguments.ToEquatableArray());

    /// <summary>
    /// The diagnostic, located in <paramref name="trees"/>' syntax tree of its file when there is one: only a
    /// location in a syntax tree is checked against the file's <c>#pragma warning disable</c> and
    /// <c>[SuppressMessage]</c>; a location made from a path alone escapes both (dotnet/roslyn#68291).
    /// </summary>
    public Diagnostic ToDiagnostic(IReadOnlyDictionary<string, SyntaxTree>? trees = null) =>
        Diagnostic.Create(Diagnostics.DiagnosticDescriptors.ById(Id), Location?.ToLocation(trees) ?? Microsoft.CodeAnalysis.Location.None,
            Fix is null ? null : ImmutableDictionary<string, string?>.Empty.Add(Fixes.Key, Fix), [.. Arguments]);

    /// <summary>The compilation's syntax trees by file path, for <see cref="ToDiagnostic"/>.</summary>
    public static IReadOnlyDictionary<string, SyntaxTree> TreesByPath(Compilation compilation)
    {
        var trees = new Dictionary<string, SyntaxTree>(StringComparer.Ordinal);
        foreach (SyntaxTree tree in compilation.SyntaxTrees) trees[tree.FilePath] = tree;
        return trees;
    }
}

/// <summary>The code fixes a diagnostic can name in its properties, for MtlDsl's code-fix provider.</summary>
public static class Fixes
{
    /// <summary>The diagnostic property that names the fix.</summary>
    public const string Key = "MtlDsl.Fix";

    /// <summary>Insert a <c>Flatten</c> layer before the layer the diagnostic is on.</summary>
    public const string InsertFlatten = nameof(InsertFlatten);
}
