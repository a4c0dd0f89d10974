using MtlDsl.Data;
using MtlDsl.Weighting;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

public class DataTests
{
    private static long[] Indices(IEnumerable<Tensor> batches) => batches.SelectMany(b => b.data<long>().ToArray()).ToArray();

    [Fact]
    public void AnEpochVisitsEverySampleOnceInARepeatableOrderOfItsOwn()
    {
        var epoch0 = Batches.Epoch(103, 10, seed: 4, epoch: 0);
        Assert.Equal(11, epoch0.Count);
        Assert.Equal(3, epoch0[^1].shape[0]);
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), Indices(epoch0).Order());
        Assert.Equal(Indices(epoch0), Indices(Batches.Epoch(103, 10, seed: 4, epoch: 0)));
        Assert.NotEqual(Indices(epoch0), Indices(Batches.Epoch(103, 10, seed: 4, epoch: 1)));
        Assert.Equal(10, Batches.Epoch(103, 10, seed: 4, epoch: 0, dropLast: true).Count);
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), Indices(Batches.Epoch(103, 10, seed: 4, epoch: 0, shuffle: false)));
    }

    [Fact]
    public void APerTaskEpochLastsForTheLargestDatasetAndCyclesTheSmallerOnes()
    {
        var steps = Batches.PerTaskEpoch([10, 25], batchSize: 4, seed: 1, epoch: 0);
        Assert.Equal(7, steps.Count);
        long[] large = Indices(steps.Select(s => s[1]));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), large.Order());
        long[] small = Indices(steps.Select(s => s[0]));
        Assert.Equal(24, small.Length); // passes of 4 + 4 + 2, cycled: 10 + 10 + 4
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), small.Distinct().Order());
    }

    [Fact]
    public void TasksTrainOnTheirOwnDatasets()
    {
        torch.manual_seed(3);
        var (classImages, classes, _) = SyntheticVision.Generate(256, seed: 1);
        var (boxImages, _, boxes) = SyntheticVision.Generate(128, seed: 2);
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, 1e-3), new EqualWeighting());
        var history = new List<VisionModel.LossValues>();
        for (int epoch = 0; epoch < 6; epoch++)
        {
            foreach (Tensor[] batch in Batches.PerTaskEpoch([classImages.shape[0], boxImages.shape[0]], 64, seed: 5, epoch))
                history.Add(trainer.Step([classImages[batch[0]], boxImages[batch[1]]], new VisionModel.Targets(classes[batch[0]], boxes[batch[1]])));
            trainer.EndEpoch();
        }
        Assert.Equal(24, history.Count);
        double first = history.Take(3).Average(h => h.Classification), last = history.TakeLast(3).Average(h => h.Classification);
        Assert.True(last < 0.9 * first, $"classification {first} → {last}");
        Assert.True(history.TakeLast(3).Average(h => h.Detection) < history.Take(3).Average(h => h.Detection));

        var representation = model.CreateTrainer(optim.SGD(model.parameters(), 0.1), new Mgda(), GradientMode.Representation);
        Assert.Throws<NotSupportedException>(() => representation.Step([classImages[arange(4)], boxImages[arange(4)]], new VisionModel.Targets(classes[arange(4)], boxes[arange(4)])));
    }
}
