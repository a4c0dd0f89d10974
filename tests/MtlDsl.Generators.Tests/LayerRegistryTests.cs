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

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryArgumentOfItsTypeIsWellTypedToTheReader(string kind)
    {
        // The reader types arguments by name; one it takes for another type makes the compiler "reject" a valid
        // declaration, which then gets stubs and no diagnostic. A value of each argument's own type must pass.
        Type attribute = Attributes.Single(t => t.Name == kind + "Attribute");
        var types = attribute.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => (Name: char.ToUpperInvariant(p.Name![0]) + p.Name[1..], Type: p.ParameterType))
            .Concat(attribute.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.DeclaringType != typeof(Attribute)).Select(p => (p.Name, Type: p.PropertyType)));
        foreach (var (name, type) in types.Where(t => t.Name is not ("Type" or "Arguments")))
        {
            object? value = type == typeof(bool) ? true : type == typeof(string) ? "Click" : type == typeof(double) ? 0.5 : type == typeof(int[]) ? new object?[] { 2 } : type.IsEnum || type == typeof(int) ? 1 : null;
            Assert.True(value is not null, $"{kind}.{name} is a {type.Name}, which this test does not know");
            var arguments = new AttributeArguments(new Dictionary<string, (object?, Model.LocationInfo?)> { [name] = (value, null) });
            Assert.True(arguments.WellTyped, $"{kind}.{name} ({type.Name}) is not well typed to the AttributeReader: add it to the names of its type there");
        }
    }

    [Fact]
    public void AKindWhosePyTorchClassIsMtlDslsHasItInTheSupportFile()
    {
        // The twin writes mtl.{Kind}(…) for these kinds (torch.nn has no class for them), so mtldsl_torch.py defines each.
        string support = GeneratorHarness.RepositoryFile("src/MtlDsl/PyTorch/mtldsl_torch.py").Replace("\r\n", "\n");
        var own = LayerRegistry.All.Where(d => d.PyTorchClass.StartsWith("mtldsl_torch.", StringComparison.Ordinal)).Select(d => d.Name).ToList();
        Assert.Equal(["Cross", "FactorizationMachine", "InnerProduct", "Transfer"], own.Order(StringComparer.Ordinal));
        foreach (string kind in own)
            Assert.Contains($"\nclass {kind}(nn.Module):", support);
        Assert.All(LayerRegistry.All.Where(d => !own.Contains(d.Name)), d => Assert.Equal("torch.nn." + d.Name, d.PyTorchClass));
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
