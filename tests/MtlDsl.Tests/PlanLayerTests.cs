namespace MtlDsl.Tests;

/// <summary>A plan layer's arguments read by name and type, and refused with the layer kind and argument named.</summary>
public class PlanLayerTests
{
    private static readonly PlanLayer Conv = new("Conv2d", [3, 8, 8], [4, 8, 8],
    [
        new("in_channels", 3L), new("out_channels", 4L), new("kernel_size", new long[] { 3, 3 }), new("bias", false),
    ]);

    private static readonly PlanLayer Upsample = new("Upsample", [4, 8, 8], [4, 16, 16],
        [new("scale_factor", new double[] { 2.0, 2.0 }), new("mode", "nearest"), new("align_corners", null), new("p", 0.5)]);

    [Fact]
    public void ArgumentsAreReadByNameAndType()
    {
        Assert.Equal(3, Conv.Int("in_channels"));
        Assert.Equal([3L, 3L], Conv.Ints("kernel_size"));
        Assert.False(Conv.Flag("bias"));
        Assert.Equal([2.0, 2.0], Upsample.Reals("scale_factor"));
        Assert.Equal("nearest", Upsample.Text("mode"));
        Assert.Equal(0.5, Upsample.Real("p"));
        // None is an argument whose value is null.
        Assert.True(Upsample.Has("align_corners"));
        Assert.Null(Upsample.Value("align_corners"));
        Assert.Null(Upsample["align_corners"]);
        Assert.False(Upsample.Has("size"));
        Assert.Equal(4L, Conv["out_channels"]);
    }

    [Fact]
    public void AMissingOrMistypedArgumentNamesTheKindAndTheArgument()
    {
        var missing = Assert.Throws<KeyNotFoundException>(() => Conv.Int("stride"));
        Assert.Equal("The Conv2d layer has no argument 'stride' (its arguments: in_channels, out_channels, kernel_size, bias).", missing.Message);
        var mistyped = Assert.Throws<InvalidCastException>(() => Conv.Int("kernel_size"));
        Assert.Equal("The Conv2d layer's argument 'kernel_size' is long[] { 3, 3 }, not an integer (long).", mistyped.Message);
        Assert.Contains("is None (null), not a bool", Assert.Throws<InvalidCastException>(() => Upsample.Flag("align_corners")).Message);
        Assert.Contains("is Double 0.5, not an integer (long)", Assert.Throws<InvalidCastException>(() => Upsample.Int("p")).Message);
        Assert.Throws<KeyNotFoundException>(() => Upsample.Value("size"));
    }

    [Fact]
    public void AnArgumentHoldsOnlyThePlansTypes()
    {
        // An int is not a long: the twin and the exporters read integers as long.
        var error = Assert.Throws<ArgumentException>(() => new PlanArgument("in_features", 3));
        Assert.Contains("Plan argument 'in_features' is Int32 3", error.Message);
        Assert.Throws<ArgumentException>(() => new PlanArgument("kernel_size", new[] { 3, 3 }));
        Assert.Throws<ArgumentException>(() => new PlanArgument("", 3L));
        Assert.Null(new PlanArgument("padding_idx", null).Value);
    }
}
