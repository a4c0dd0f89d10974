using MtlDsl.Data;
using MtlDsl.Losses;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>ImbalanceModel's network without class or positive weights, to see what the weights change.</summary>
[MultiTaskModel]
[Input(2, 8)]
public partial class UnweightedImbalanceModel
{
    [Trunk, Conv1d(8, 3, Padding = 1), ReLU] public partial Sequential Encoder { get; }
    [Task(Loss.CrossEntropy), Flatten, Linear(3)] public partial Sequential Kind { get; }
    [Task(Loss.BinaryCrossEntropyWithLogits), Flatten, Linear(1)] public partial Sequential Alarm { get; }
    [Task(Loss.BinaryCrossEntropyWithLogits), Conv1d(3, 1)] public partial Sequential Events { get; }
    [Task(Loss.CrossEntropy), Conv1d(2, 1)] public partial Sequential Segments { get; }
}

/// <summary>
/// A model declared with class weights and positive weights (tests/Models/ImbalanceModel.cs; it compiles with no
/// diagnostic, as every test model: warnings are errors here) trains on a small imbalanced problem with fixed seeds:
/// every loss falls, the rare classes and flags are found more often than by the same network without weights,
/// every step (static weights, a gradient method, uncertainty weighting) scores the weighted losses, and Evaluate's
/// loss is the weighted mean over all the data however it is batched.
/// </summary>
public class ImbalanceTrainingTests
{
    // Signals [N, 2, 8]; the rare targets follow from them, with about 15 % of the labels missing.
    private static (Tensor Signals, ImbalanceModel.Targets Targets) Problem(int count, int seed)
    {
        using var generator = new Generator((ulong)seed);
        Tensor signals = randn([count, 2, 8], generator: generator);
        Tensor Missing(Tensor labels) =>
            where(rand(labels.shape, generator: generator).lt(0.15), full(labels.shape, TaskLosses.MissingClass, dtype: ScalarType.Int64), labels);
        Tensor NaNWhere(Tensor values) =>
            where(rand(values.shape, generator: generator).lt(0.15), full(values.shape, float.NaN), values);
        // Each label from the signals and as much noise again: no classifier is sure, so where the rare labels weigh
        // more, it says "rare" more often.
        Tensor Noise(params long[] shape) => randn(shape, generator: generator);
        Tensor level = signals[.., 0].mean(new long[] { 1 }) + Noise(count) * 0.35;                  // sd 0.5
        Tensor kind = level.gt(0.5).to_type(ScalarType.Int64) + level.gt(0.9).to_type(ScalarType.Int64);   // about 84 %, 12 %, 4 %
        Tensor alarm = (signals[.., 1].mean(new long[] { 1 }) + Noise(count) * 0.35).gt(0.5).to_type(ScalarType.Float32).unsqueeze(1);   // about 1 in 6
        Tensor events = stack([signals[.., 0] + Noise(count, 8), signals[.., 0] + Noise(count, 8), signals[.., 1] + Noise(count, 8)], 1)
            .gt(tensor(new float[] { 1.4f, 2.3f, -0.7f }).reshape(3, 1)).to_type(ScalarType.Float32);     // about 16 %, 5 %, 31 %
        Tensor segments = (signals[.., 0] + signals[.., 1] + Noise(count, 8)).gt(1.8).to_type(ScalarType.Int64);   // about 15 %
        return (signals, new ImbalanceModel.Targets(Missing(kind), NaNWhere(alarm), NaNWhere(events), Missing(segments)));
    }

    private static FitOptions Options => new() { Epochs = 25, BatchSize = 64, Seed = 7 };

    [Fact]
    public void EveryLossFallsAndEvaluationIsTheWeightedMeanHoweverItIsBatched()
    {
        var (signals, targets) = Problem(640, seed: 1);
        var data = MultiTaskData<ImbalanceModel.Targets>.Shared(signals, targets);
        torch.manual_seed(1);
        using var model = new ImbalanceModel();
        Assert.Equal(new[] { 1.0, 4, 12 }, model.Tasks[0].ClassWeights!);
        Assert.Equal(new[] { 9.0 }, model.Tasks[1].PositiveWeights!);
        Assert.Equal(new[] { 2.0, 6, 0.5 }, model.Tasks[2].PositiveWeights!);
        Assert.Equal(new[] { 0.5, 3.0 }, model.Tasks[3].ClassWeights!);
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2));
        TrainingHistory history = trainer.Fit(data, Options);

        IReadOnlyList<double> first = history.Epochs[0].TrainLosses, last = history.Epochs[^1].TrainLosses;
        for (int k = 0; k < model.Tasks.Count; k++)
            Assert.True(last[k] < 0.7 * first[k], $"{model.Tasks[k].Name}: {first[k]:F4} → {last[k]:F4}");

        // The loss over all the data in one batch, and in batches of 7: each batch's weighted mean is added up by its
        // labels' total class weight, not by their count (which would differ here by up to the weights' ratio).
        EvaluationResult whole = trainer.Evaluate(data, batchSize: 640), batched = trainer.Evaluate(data, batchSize: 7);
        for (int k = 0; k < model.Tasks.Count; k++)
            Assert.True(Math.Abs(whole.Losses[k] - batched.Losses[k]) <= 1e-5 * whole.Losses[k], $"{model.Tasks[k].Name}: {whole.Losses[k]} and {batched.Losses[k]}");
        // …and the whole batch's is TaskLosses' of it.
        model.eval();
        using (no_grad())
        {
            var outputs = model.forward(signals);
            Assert.Equal(TaskLosses.Compute(model.Tasks[0], outputs.Kind, targets.Kind).item<float>(), whole.Losses[0], 5);
        }
    }

    // The recall of the rare labels (Kind's classes 1 and 2, Alarm's positives, Events' second label) on the data.
    private static double[] Recalls<TOutputs>(TOutputs outputs, ImbalanceModel.Targets targets) where TOutputs : ITaskTensors
    {
        using var scope = NewDisposeScope();
        double Recall(Tensor predicted, Tensor actual) => (predicted & actual).sum().item<long>() / (double)actual.sum().item<long>();
        Tensor kind = outputs[0].argmax(1);
        Tensor alarm = outputs[1].gt(0), alarmed = targets.Alarm.eq(1);
        Tensor events = outputs[2][.., 1].gt(0), rareEvents = targets.Events[.., 1].eq(1);
        return [Recall(kind.ge(1), targets.Kind.ge(1)), Recall(alarm, alarmed), Recall(events, rareEvents)];
    }

    [Fact]
    public void TheWeightsFindTheRareLabelsMoreOftenThanTheSameNetworkWithout()
    {
        var (signals, targets) = Problem(640, seed: 1);
        torch.manual_seed(2);
        using var weighted = new ImbalanceModel();
        torch.manual_seed(2);
        using var unweighted = new UnweightedImbalanceModel();
        Assert.True(weighted.parameters().Zip(unweighted.parameters()).All(p => p.First.eq(p.Second).all().item<bool>()), "the same initial weights");
        weighted.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2))
            .Fit(MultiTaskData<ImbalanceModel.Targets>.Shared(signals, targets), Options);
        unweighted.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2))
            .Fit(MultiTaskData<UnweightedImbalanceModel.Targets>.Shared(signals, new UnweightedImbalanceModel.Targets(targets.Kind, targets.Alarm, targets.Events, targets.Segments)), Options);
        weighted.eval();
        unweighted.eval();
        using var noGrad = no_grad();
        // Measured: 76.7 % against 25.6 % (Kind), 93.8 % against 41.7 % (Alarm), 54.3 % against 2.2 % (Events).
        double[] withWeights = Recalls(weighted.forward(signals), targets), without = Recalls(unweighted.forward(signals), targets);
        string[] names = ["Kind's classes 1 and 2", "Alarm's positives", "Events' second label"];
        for (int i = 0; i < names.Length; i++)
            Assert.True(withWeights[i] > without[i] + 0.2, $"{names[i]}: recall {withWeights[i]:P1} with the weights, {without[i]:P1} without");
    }

    [Theory]
    [InlineData("Static")]
    [InlineData("PCGrad")]
    [InlineData("UW")]
    public void EveryStepScoresTheWeightedLosses(string strategy)
    {
        var (signals, targets) = Problem(48, seed: 3);
        torch.manual_seed(4);
        using var model = new ImbalanceModel();
        WeightingStrategy weighting = strategy == "Static" ? new StaticWeighting([1.0, 1, 1, 1]) : WeightingStrategies.Create(strategy, seed: 3);
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, 0.01), weighting);
        model.train();
        double[] expected, unweighted;
        using (no_grad())
        {
            var outputs = model.forward(signals);
            expected = [.. model.Tasks.Select((t, k) => TaskLosses.Compute(t, outputs[k], targets[k]).item<float>())];
            unweighted = [.. model.Tasks.Select((t, k) => TaskLosses.Compute(t with { ClassWeights = null, PositiveWeights = null }, outputs[k], targets[k]).item<float>())];
        }
        ImbalanceModel.LossValues step = trainer.Step(signals, targets);
        double[] stepped = [step.Kind, step.Alarm, step.Events, step.Segments];
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], stepped[k], 5);
            Assert.True(Math.Abs(unweighted[k] - stepped[k]) > 1e-3, $"{model.Tasks[k].Name}: the weights changed nothing ({unweighted[k]})");
        }
    }
}
