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
    public void ASplitPartitionsTheRowsRepeatablyKeepingInputsAndTargetsTogether()
    {
        // The first feature of a row is its number, and so is its mass target: a row's pieces must stay together.
        Tensor x = torch.zeros(50, 12);
        x[.., 0] = torch.arange(50, dtype: ScalarType.Float32);
        var targets = new TestModels.TabularModel.Targets(torch.zeros(50, dtype: ScalarType.Int64), torch.zeros(50, 1), x[.., 0].unsqueeze(1).clone());
        var data = MultiTaskData<TestModels.TabularModel.Targets>.Shared(x, targets);

        var (train, validation) = data.Split(0.2, seed: 3);
        Assert.Equal(40, train.Count(0));
        Assert.Equal(10, validation.Count(0));
        float[] Rows(MultiTaskData<TestModels.TabularModel.Targets> d) => d.Inputs(0)[.., 0].data<float>().ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (float)i), Rows(train).Concat(Rows(validation)).Order());
        Assert.Equal(Rows(train), train.Targets.BodyMass.squeeze(1).data<float>().ToArray());
        Assert.Equal(Rows(validation), data.Split(0.2, seed: 3).Validation.Inputs(0)[.., 0].data<float>().ToArray());
        Assert.NotEqual(Rows(validation), data.Split(0.2, seed: 4).Validation.Inputs(0)[.., 0].data<float>().ToArray());

        var perTask = MultiTaskData<TestModels.TabularModel.Targets>.PerTask([x[..10], x, x[..20]],
            new TestModels.TabularModel.Targets(targets.Species[..10], targets.IsMale, targets.BodyMass[..20]));
        var (perTaskTrain, perTaskValidation) = perTask.Split(0.25, seed: 1);
        Assert.Equal([8L, 38L, 15L], Enumerable.Range(0, 3).Select(perTaskTrain.Count));
        Assert.Equal([2L, 12L, 5L], Enumerable.Range(0, 3).Select(perTaskValidation.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1.0, seed: 1));
    }

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
