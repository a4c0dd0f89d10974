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

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Diagnostics.DiagnosticDescriptors.ById(Id), Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None,
            Fix is null ? null : ImmutableDictionary<string, string?>.Empty.Add(Fixes.Key, Fix), [.. Arguments]);
}

/// <summary>The code fixes a diagnostic can name in its properties, for MtlDsl's code-fix provider.</summary>
public static class Fixes
{
    /// <summary>The diagnostic property that names the fix.</summary>
    public const string Key = "MtlDsl.Fix";

    /// <summary>Insert a <c>Flatten</c> layer before the layer the diagnostic is on.</summary>
    public const string InsertFlatten = nameof(InsertFlatten);
}
