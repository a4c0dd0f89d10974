using SeedExample;

namespace MtlDsl.Tests;

public class SampleTests
{
    [Fact]
    public void SeedSampleLearnsBothTasks()
    {
        var epochs = SeedTraining.Run(epochs: 2, seed: 42, log: _ => { });
        Assert.True(epochs[1].Classification < 0.5 * epochs[0].Classification, $"classification loss {epochs[0].Classification} then {epochs[1].Classification}");
        Assert.True(epochs[1].Detection < 0.8 * epochs[0].Detection, $"detection loss {epochs[0].Detection} then {epochs[1].Detection}");
        Assert.True(epochs[1].TestAccuracy > 0.9, $"test accuracy {epochs[1].TestAccuracy}");
        Assert.True(epochs[1].TestCellHits > 0.6, $"square found in {epochs[1].TestCellHits} of test images (chance: 1/49)");
    }
}
