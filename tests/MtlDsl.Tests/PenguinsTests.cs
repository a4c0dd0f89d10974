using TorchSharp;
using Penguins;

namespace MtlDsl.Tests;

/// <summary>The Penguins sample: incomplete rows handled explicitly, and one network learning all three tasks.</summary>
public class PenguinsTests
{
    private static readonly Lazy<List<Penguin>> s_penguins = new(() => PenguinData.Read(PenguinData.DefaultPath));

    [Fact]
    public void IncompleteRowsAreDroppedOrMaskedAndReported()
    {
        var (train, test, report) = PenguinData.Load(s_penguins.Value, testFraction: 0.3, seed: 7);
        Assert.Equal(344, report.Total);
        Assert.Equal([4, 340], report.DroppedNoFeatures);        // the two records without any measurement
        Assert.Equal(9, report.SexMissing.Count);                 // 8 missing + 1 recorded as "." (the dropped two also lack sex)
        Assert.Contains(337, report.SexMissing);  // the record whose sex is "."
        Assert.Empty(report.MassMissing);
        Assert.Equal(342, train.Rows.Count + test.Rows.Count);
        Assert.Equal(103, test.Rows.Count);
        Assert.Empty(train.Rows.Select(p => p.Row).Intersect(test.Rows.Select(p => p.Row)));

        // Masked, not dropped: every kept penguin without a sex label has NaN as its sex target.
        long masked = train.Sex.isnan().sum().item<long>() + test.Sex.isnan().sum().item<long>();
        Assert.Equal(9L, masked);
        // Features standardised with the training rows only.
        Assert.Equal(0.0, train.Measurements[.., 0].mean().item<float>(), 4);
        Assert.Equal(1.0, train.Measurements[.., 0].std().item<float>(), 4);
        // The island as an id (int64), every island among the training rows.
        Assert.Equal([0L, 1, 2], train.Islands.unique().output.data<long>().ToArray());
        Assert.Equal(torch.ScalarType.Int64, train.Islands.dtype);
        Assert.Equal(0.0, train.BodyMass.mean().item<float>(), 4);  // no body mass is missing among the kept rows
    }

    [Fact]
    public void OneNetworkLearnsSpeciesSexAndBodyMass()
    {
        var (train, test, _) = PenguinData.Load(s_penguins.Value, testFraction: 0.3, seed: 7);
        var comparisons = PenguinExperiment.Run(train, test, epochs: 30, seed: 7, outputDirectory: null);
        TaskComparison Get(string task, string metric) => comparisons.Single(c => c.Task == task && c.Metric == metric);
        // Chance: 44 % (the largest species), 50 % (sex); predicting the mean mass gives an MAE of about 650 g.
        Assert.True(Get("Species", "accuracy").MultiTask > 0.93, $"species {Get("Species", "accuracy").MultiTask}");
        Assert.True(Get("Sex", "accuracy").MultiTask > 0.75, $"sex {Get("Sex", "accuracy").MultiTask}");
        Assert.True(Get("BodyMass", "mae (g)").MultiTask < 330, $"mass MAE {Get("BodyMass", "mae (g)").MultiTask} g");
        Assert.True(Get("Species", "accuracy").SingleTask > 0.93);
        Assert.Contains("Δm", PenguinExperiment.Format(comparisons));
    }
}
