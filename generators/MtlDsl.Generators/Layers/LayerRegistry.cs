using System;
using System.Collections.Generic;
using System.Linq;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// Every layer kind the generator knows, by name: the one list the parser, shape inference, the emitter and the
/// plan read, and the tests walk (each kind has its runtime attribute, its ONNX lowering, its row in the docs).
/// </summary>
internal static class LayerRegistry
{
    /// <summary>
    /// The definitions, found in this assembly (every concrete <see cref="LayerDefinition"/>: a new kind is its file
    /// alone), in the order the docs list them: by family, then by name.
    /// </summary>
    public static readonly IReadOnlyList<LayerDefinition> All = typeof(LayerDefinition).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(LayerDefinition)) && !t.IsAbstract)
        .Select(t => (LayerDefinition)Activator.CreateInstance(t)!)
        .OrderBy(d => d.Family).ThenBy(d => d.Name, StringComparer.Ordinal)
        .ToArray();

    private static readonly Dictionary<string, LayerDefinition> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>The definition of the kind an attribute names (<c>Linear</c> for MtlDsl.LinearAttribute), if it is a layer.</summary>
    public static bool TryGet(string name, out LayerDefinition definition) => ByName.TryGetValue(name, out definition!);

    /// <summary>The definition of a kind the parser accepted.</summary>
    public static LayerDefinition Get(string name) =>
        ByName.TryGetValue(name, out LayerDefinition? definition) ? definition : throw new InvalidOperationException($"'{name}' is not a layer kind of the registry.");
}
