using MtlDsl.Generators.Tests;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// The random declarations both checks of this project run (ONNX Runtime and the float64 oracle), compiled and loaded
/// once: an assembly of one name loads once per process.
/// </summary>
internal static class CompiledRandomDeclarations
{
    private static readonly Lazy<(List<RandomModel> Models, List<Type> Types, bool Enough)> s_forty = new(() => RandomDeclarations.Build(wanted: 40));

    /// <summary>At least 40 declarations with every form and architecture (<see cref="RandomDeclarations.Build"/>).</summary>
    public static (List<RandomModel> Models, List<Type> Types, bool Enough) Forty => s_forty.Value;
}
