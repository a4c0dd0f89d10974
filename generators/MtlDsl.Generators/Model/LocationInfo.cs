using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MtlDsl.Generators.Model;

/// <summary>A source location as plain data (a <see cref="Location"/> holds its syntax tree and must not enter the pipeline).</summary>
internal sealed record LocationInfo(string FilePath, int Start, int Length, int StartLine, int StartCharacter, int EndLine, int EndCharacter)
{
    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());

    public static LocationInfo? From(Location? location)
    {
        if (location is null || location.SourceTree is null) return null;
        FileLinePositionSpan lines = location.GetLineSpan();
        return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan.Start, location.SourceSpan.Length,
            lines.StartLinePosition.Line, lines.StartLinePosition.Character, lines.EndLinePosition.Line, lines.EndLinePosition.Character);
    }

    /// <summary>The location in its syntax tree when <paramref name="trees"/> holds the file (so that suppressions apply), else by path.</summary>
    public Location ToLocation(IReadOnlyDictionary<string, SyntaxTree>? trees = null) =>
        trees is not null && trees.TryGetValue(FilePath, out SyntaxTree? tree) && tree.Length >= Start + Length
            ? Location.Create(tree, new TextSpan(Start, Length))
            : Location.Create(FilePath, new TextSpan(Start, Length),
                new LinePositionSpan(new LinePosition(StartLine, StartCharacter), new LinePosition(EndLine, EndCharacter)));
}
