using System.Reflection;
using MtlDsl.Generators.Layers;
using Xunit;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The layer registry against the runtime's attributes: every attribute has its definition and every definition its
/// attribute, and a definition reads exactly the arguments its attribute lets a user write, so that renaming or adding
/// one on either side fails here and never drops a value silently in a user's build.
/// </summary>
public class LayerRegistryTests
{
    private static readonly Type[] Attributes = typeof(MtlDsl.LayerAttribute).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && t.IsSubclassOf(typeof(MtlDsl.LayerAttribute))).ToArray();

    [Fact]
    public void EveryAttributeHasItsDefinitionAndEveryDefinitionItsAttribute()
    {
        Assert.Equal(Attributes.Select(t => t.Name[..^"Attribute".Length]).Order(StringComparer.Ordinal),
            LayerRegistry.All.Select(d => d.Name).Order(StringComparer.Ordinal));
        Assert.Equal(LayerRegistry.All.Count, LayerRegistry.All.Select(d => d.Name).Distinct().Count());
    }

    public static TheoryData<string> Kinds() => [.. LayerRegistry.All.Select(d => d.Name)];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ADefinitionReadsExactlyItsAttributesArguments(string kind)
    {
        Type attribute = Attributes.Single(t => t.Name == kind + "Attribute");
        // What a user can write: every constructor's parameters (positional or by name) and every public property.
        var writable = attribute.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => char.ToUpperInvariant(p.Name![0]) + p.Name[1..])
            .Concat(attribute.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.DeclaringType != typeof(Attribute)).Select(p => p.Name))
            .Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(writable, LayerRegistry.Get(kind).Arguments.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheDefaultsADefinitionAppliesAreTheAttributesDocumentedOnes()
    {
        // An argument not written takes the definition's default; the attribute a user reads shows the same one.
        Assert.Equal(Dropout.DefaultP, typeof(MtlDsl.DropoutAttribute).GetConstructors().Single().GetParameters().Single().DefaultValue);
        Assert.Equal(LeakyReLU.DefaultSlope, new MtlDsl.LeakyReLUAttribute().NegativeSlope);
    }

    [Fact]
    public void ReadingAnArgumentADefinitionDoesNotListIsABug()
    {
        var layer = new Model.LayerSpec("Linear", null);
        var error = Assert.Throws<InvalidOperationException>(() => layer.Int("OutChannels"));
        Assert.Contains("'OutChannels'", error.Message);
    }
}
