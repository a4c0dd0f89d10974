using System;
using System.Collections.Generic;
using System.Linq;

namespace MtlDsl.Generators.Architectures;

/// <summary>The architectures the generator knows: one definition per value of the runtime's <c>ModelArchitecture</c>.</summary>
internal static class ArchitectureDefinitions
{
    /// <summary>
    /// Every definition (every concrete <see cref="ArchitectureDefinition"/> of this assembly, as the layer registry
    /// finds the layer kinds: a new architecture is its file), in the order of the enum.
    /// </summary>
    public static readonly IReadOnlyList<ArchitectureDefinition> All = Check(typeof(ArchitectureDefinition).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(ArchitectureDefinition)) && !t.IsAbstract)
        .Select(t => (ArchitectureDefinition)Activator.CreateInstance(t)!)
        .OrderBy(d => d.Kind)
        .ToArray());

    private static readonly Dictionary<string, ArchitectureDefinition> ByAttributeName =
        All.Where(d => d.Attribute is not null).ToDictionary(d => d.Attribute!, d => d, StringComparer.Ordinal);

    /// <summary>The definition of an architecture.</summary>
    public static ArchitectureDefinition Of(ModelArchitecture kind) => All[(int)kind];

    /// <summary>The architecture an attribute declares, by the attribute's simple name (<c>MMoE</c>); null for any other attribute.</summary>
    public static ArchitectureDefinition? ByAttribute(string name) => ByAttributeName.TryGetValue(name, out ArchitectureDefinition? definition) ? definition : null;

    // The list must hold each value of the enum once, at its index: Of indexes it.
    private static IReadOnlyList<ArchitectureDefinition> Check(ArchitectureDefinition[] definitions)
    {
        var kinds = (ModelArchitecture[])Enum.GetValues(typeof(ModelArchitecture));
        if (definitions.Length != kinds.Length || definitions.Where((d, i) => (int)d.Kind != i).Any())
            throw new InvalidOperationException("ArchitectureDefinitions.All must list one definition per ModelArchitecture, in the enum's order.");
        return definitions;
    }
}
