using System.Globalization;
using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The fit loop: learning, repeatability, schedule, clipping, early stopping, history and interleaving.</summary>
public class FitTests : TemporaryFolderTest
{
    private static (TabularModel Model, MultiTaskTrainer<TabularModel.Outputs, TabularModel.Targets, TabularModel.LossValues> Trainer) Create(
        int seed = 1, WeightingStrategy? weighting = null, double lr = 3e-3)
    {
        torch.manual_seed(seed);
        var model = new TabularModel();
        return (model, model.CreateTrainer(parameters => optim.Adam(parameters, lr: lr), weighting));
    }

    [Fact]
    public void FitLearnsEveryTaskAndWritesTheHistory()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var history = trainer.Fit(TabularProblem.Data(1024, seed: 1),
            new FitOptions { Epochs = 8, BatchSize = 64, Seed = 3, OutputDirectory = Folder },
            validation: TabularProblem.Data(512, seed: 2));

        Assert.Equal(8, history.Epochs.Count);
        EvaluationResult last = history.Epochs[^1].Validation!;
        Assert.True(last["Species", "accuracy"] > 0.85, $"species accuracy {last["Species", "accuracy"]}");
        Assert.True(last["IsMale", "accuracy"] > 0.9, $"flag accuracy {last["IsMale", "accuracy"]}");
        double firstMae = history.Epochs[0].Validation!["BodyMass", "mae"];
        Assert.True(last["BodyMass", "mae"] < 0.6 * firstMae, $"mass MAE {firstMae} → {last["BodyMass", "mae"]}");
        Assert.All(history.Epochs.Zip(history.Epochs.Skip(1)), pair => Assert.True(pair.Second.TrainLosses.Sum() < pair.First.TrainLosses.Sum() * 1.1));
        Assert.Equal(16, history.Epochs[0].Steps);

        string[] csv = File.ReadAllLines(Path.Combine(Folder, "history.csv"));
        Assert.Equal(9, csv.Length);
        string[] header = csv[0].Split(',');
        Assert.Equal(["epoch", "learning_rate", "seconds", "steps", "skipped_steps", "train_loss_Species", "train_loss_IsMale", "train_loss_BodyMass",
            "weight_Species", "weight_IsMale", "weight_BodyMass", "val_loss_Species", "val_accuracy_Species", "val_macro_f1_Species",
            "val_loss_IsMale", "val_accuracy_IsMale", "val_auc_IsMale", "val_log_loss_IsMale", "val_loss_BodyMass", "val_mae_BodyMass", "val_rmse_BodyMass"], header);
        string[] row = csv[^1].Split(',');
        Assert.Equal(header.Length, row.Length);
        Assert.Equal(last["Species", "accuracy"], double.Parse(row[Array.IndexOf(header, "val_accuracy_Species")], CultureInfo.InvariantCulture));
        Assert.True(File.Exists(Path.Combine(Folder, "checkpoints", "last.ckpt")));
        Assert.StartsWith("Species: loss ", last.ToString());
        Assert.Contains(", accuracy ", last.ToString());
        Assert.Contains("BodyMass: loss ", last.ToString());
        Assert.StartsWith($"{history.Epochs.Count} epoch(s)", history.ToString());
    }

    [Fact]
    public void TheSameSeedsRepeatARunExactly()
    {
        TrainingHistory Run()
        {
            var (model, trainer) = Create(seed: 5);
            using var _ = model;
            return trainer.Fit(TabularProblem.Data(256, seed: 1), new FitOptions { Epochs = 3, BatchSize = 32, Seed = 9 }, TabularProblem.Data(128, seed: 2));
        }
        var (a, b) = (Run(), Run());
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(a.Epochs[e].TrainLosses, b.Epochs[e].TrainLosses);
            Assert.Equal(a.Epochs[e].Validation!.Losses, b.Epochs[e].Validation!.Losses);
        }
    }

    [Fact]
    public void TheScheduleSetsEachEpochsLearningRate()
    {
        var (model, trainer) = Create(lr: 0.01);
        using var _ = model;
        var history = trainer.Fit(TabularProblem.Data(128, seed: 1),
            new FitOptions { Epochs = 5, BatchSize = 64, Schedule = LearningRateSchedule.Step(every: 2, gamma: 0.5) });
        Assert.Equal([0.01, 0.01, 0.005, 0.005, 0.0025], history.Epochs.Select(e => Math.Round(e.LearningRate, 10)));
        Assert.Equal(0.0025, trainer.Optimizer.ParamGroups.First().LearningRate, 10);

        Assert.Equal(1.0, LearningRateSchedule.Cosine(10).Factor(0), 12);
        Assert.Equal(0.5, LearningRateSchedule.Cosine(10).Factor(5), 12);
        Assert.Equal(0.1, LearningRateSchedule.Cosine(10, minFactor: 0.1).Factor(10), 12);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], Enumerable.Range(0, 4).Select(LearningRateSchedule.Warmup(3).Factor));
        Assert.Throws<InvalidOperationException>(() => LearningRateSchedule.Custom(_ => -1).Factor(0));
        Assert.Throws<InvalidOperationException>(() => LearningRateSchedule.Custom(_ => double.NaN).Factor(0));
        Assert.Equal(0.0, LearningRateSchedule.Cosine(10).Factor(12)); // annealed to 0 and kept there, not refused
    }

    [Fact]
    public void ClippingBoundsTheGradientNormOfEveryStep()
    {
        torch.manual_seed(2);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), learningRate: 1.0));
        trainer.MaxGradientNorm = 1e-3;
        var (x, targets) = TabularProblem.Generate(64, seed: 1);
        Tensor before = torch.cat(model.parameters().Select(p => p.detach().flatten().clone()).ToList());
        trainer.Step(x, targets);
        Tensor after = torch.cat(model.parameters().Select(p => p.detach().flatten()).ToList());
        double moved = (after - before).norm().item<float>();
        Assert.True(moved <= 1e-3 * 1.0001 && moved > 1e-4, $"parameters moved {moved}; SGD with lr 1 and clip 1e-3 moves at most 1e-3");
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.MaxGradientNorm = 0);
    }

    [Fact]
    public void EarlyStoppingStopsOnAStalledMetricAndRestoresTheBestWeights()
    {
        var (model, trainer) = Create(lr: 1e-9);
        using var _ = model;
        var validation = TabularProblem.Data(256, seed: 2);
        var history = trainer.Fit(TabularProblem.Data(256, seed: 1), new FitOptions
        {
            Epochs = 20, BatchSize = 64,
            EarlyStopping = new EarlyStopping("Species", "accuracy", Patience: 2, MinDelta: 0.2),
            OutputDirectory = Folder,
        }, validation);
        Assert.True(history.StoppedEarly);
        Assert.Equal(3, history.Epochs.Count);
        Assert.Equal(0, history.BestEpoch);
        Assert.True(File.Exists(Path.Combine(Folder, "checkpoints", "best.ckpt")));
        Assert.Equal(history.Epochs[0].Validation!.Losses, trainer.Evaluate(validation).Losses);

        var (other, otherTrainer) = Create();
        using var __ = other;
        var noValidation = Assert.Throws<ArgumentException>(() => otherTrainer.Fit(TabularProblem.Data(64, 1), new FitOptions { EarlyStopping = new("Species", "accuracy") }));
        Assert.Contains("validation", noValidation.Message);
        var unknown = Assert.Throws<ArgumentException>(() => otherTrainer.Fit(TabularProblem.Data(64, 1), new FitOptions { EarlyStopping = new("Species", "auc") }, validation));
        Assert.Contains("accuracy, macro_f1", unknown.Message);
    }

    [Fact]
    public void EvaluationRunsInEvalModeWithoutGradientsAndIgnoresBatching()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var data = TabularProblem.Data(300, seed: 4);
        var whole = trainer.Evaluate(data, batchSize: 300);
        var batched = trainer.Evaluate(data, batchSize: 7);
        for (int k = 0; k < 3; k++) Assert.Equal(whole.Losses[k], batched.Losses[k], 5);
        Assert.Equal(whole["Species", "accuracy"], batched["Species", "accuracy"]);
        Assert.True(model.training, "Evaluate restores training mode");
        Assert.Equal(whole.Losses, trainer.Evaluate(data, batchSize: 300).Losses);  // dropout off: repeatable
    }

    [Fact]
    public void ATaskWithMissingLabelsStillTrainsTheOthers()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(1024, seed: 1);
        Tensor species = targets.Species.clone();
        species[arange(0, 1024, 2)] = tensor(Losses.TaskLosses.MissingClass);  // half of the species labels are missing
        Tensor flag = targets.IsMale.clone();
        flag[arange(0, 1024, 3)] = tensor(float.NaN);
        var data = MultiTaskData<TabularModel.Targets>.Shared(x, new TabularModel.Targets(species, flag, targets.BodyMass));
        var history = trainer.Fit(data, new FitOptions { Epochs = 6, BatchSize = 64 }, TabularProblem.Data(512, seed: 2));
        Assert.True(history.Epochs[^1].Validation!["Species", "accuracy"] > 0.8);
        Assert.True(history.Epochs[^1].Validation!["IsMale", "accuracy"] > 0.85);
    }

    [Fact]
    public void PerTaskDatasetsInterleaveAsChosenAndNeverCutAnEpoch()
    {
        var (x, t) = TabularProblem.Generate(600, seed: 1);
        // Task datasets of 100, 300 and 600 samples.
        var data = MultiTaskData<TabularModel.Targets>.PerTask([x[..100], x[..300], x],
            new TabularModel.Targets(t.Species[..100], t.IsMale[..300], t.BodyMass));
        var validation = TabularProblem.Data(256, seed: 2);

        foreach (var (interleaving, steps) in new[] { (TaskInterleaving.AllTasks, 10), (TaskInterleaving.RoundRobin, 2 + 5 + 10), (TaskInterleaving.Proportional, 17) })
        {
            var (model, trainer) = Create();
            using var _ = model;
            var seen = new StepCounter();
            // 12 epochs: with 6, the flag's accuracy under proportional interleaving (5 of 17 steps an epoch) was 0.797 on one
            // AMD EPYC and above 0.8 on another (float32 kernels differ by CPU, and the runs diverge): learning, but not with margin;
            // with 12 it is 0.88–0.89 for every interleaving.
            var history = trainer.Fit(data, new FitOptions { Epochs = 12, BatchSize = 60, Interleaving = interleaving, Observers = [seen] }, validation);
            Assert.Equal(steps, history.Epochs[0].Steps);
            if (interleaving == TaskInterleaving.AllTasks) Assert.Equal([10, 10, 10], seen.TaskSteps(0));
            else Assert.Equal([2, 5, 10], seen.TaskSteps(0));
            Assert.True(history.Epochs[^1].Validation!["IsMale", "accuracy"] > 0.8, $"{interleaving}: {history.Epochs[^1].Validation!["IsMale", "accuracy"]}");
        }

        var (uwModel, uw) = Create(weighting: new UncertaintyWeighting());
        using var __ = uwModel;
        var error = Assert.Throws<NotSupportedException>(() => uw.Fit(data, new FitOptions { Interleaving = TaskInterleaving.RoundRobin }));
        Assert.Contains("one task per step", error.Message);
        Assert.Equal(3, uw.Fit(data, new FitOptions { Epochs = 1, BatchSize = 60 }).Epochs[0].TrainLosses.Count);
        Assert.Throws<ArgumentException>(() => uw.Fit(validation, new FitOptions { Interleaving = TaskInterleaving.Proportional }));
    }

    [Fact]
    public void AScheduleWhoseFactorIsNotFiniteIsRefusedBeforeTheFirstStep()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var error = Assert.Throws<InvalidOperationException>(() => trainer.Fit(TabularProblem.Data(64, seed: 1),
            new FitOptions { Epochs = 4, BatchSize = 32, Schedule = LearningRateSchedule.Custom(epoch => epoch < 3 ? 1 : double.PositiveInfinity, "blows up") }));
        Assert.Contains($"blows up gave the factor {double.PositiveInfinity} for epoch 3", error.Message);
        Assert.Equal(0, trainer.StepCount);

        var own = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(TabularProblem.Data(64, seed: 1),
            new FitOptions { Epochs = 4, BatchSize = 32, Schedule = new NaNAfter(2) }));
        Assert.StartsWith("FitOptions.Schedule (NaN after 2) gives the factor NaN for epoch 2", own.Message);
        Assert.Equal(0, trainer.StepCount);

        var history = trainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions { Epochs = 4, BatchSize = 32, Schedule = LearningRateSchedule.Cosine(2) });
        Assert.Equal([1e-3 * 3, 1e-3 * 3 * 0.5, 0, 0], history.Epochs.Select(e => Math.Round(e.LearningRate, 12)));
    }

    // A schedule of one's own, which no factory checks.
    private sealed class NaNAfter(int epochs) : LearningRateSchedule
    {
        public override double Factor(int epoch) => epoch < epochs ? 1 : double.NaN;

        public override string ToString() => $"NaN after {epochs}";
    }

    [Fact]
    public void BadValuesStopTrainingNamingTheTaskTheStepAndTheTensor()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var (x, t) = TabularProblem.Generate(256, seed: 1);
        Tensor species = t.Species.clone();
        species[200] = tensor(7L);  // in the fourth batch of 64 (no shuffling)
        var options = new FitOptions { Epochs = 1, BatchSize = 64, Shuffle = false };
        var label = Assert.Throws<TaskTensorException>(() =>
            trainer.Fit(MultiTaskData<TabularModel.Targets>.Shared(x, new TabularModel.Targets(species, t.IsMale, t.BodyMass)), options));
        Assert.Equal("Species", label.Task);
        Assert.Equal("target", label.Tensor);
        Assert.Equal(4, label.Step);
        Assert.StartsWith("Training step 4: Task 'Species': class labels must lie in [0, 2]", label.Message);

        Tensor mass = t.BodyMass.clone();
        mass[70, 0] = tensor(float.PositiveInfinity);
        var loss = Assert.Throws<NonFiniteLossException>(() =>
            trainer.Fit(MultiTaskData<TabularModel.Targets>.Shared(x, new TabularModel.Targets(t.Species, t.IsMale, mass)), options));
        Assert.Equal("BodyMass", loss.Task);
        Assert.Equal(trainer.StepCount + 1, loss.Step); // the refused step is not counted

        var shape = Assert.Throws<TaskTensorException>(() =>
            trainer.Fit(MultiTaskData<TabularModel.Targets>.Shared(x, new TabularModel.Targets(t.Species, t.IsMale, t.BodyMass[..100])), options));
        Assert.Equal("BodyMass", shape.Task);
        Assert.StartsWith("Task 'BodyMass': the targets have shape [100, 1], expected 256 samples", shape.Message);
        var wide = Assert.Throws<TaskTensorException>(() =>
            trainer.Fit(MultiTaskData<TabularModel.Targets>.Shared(x, new TabularModel.Targets(t.Species, t.IsMale, t.BodyMass.expand(256, 2))), options));
        Assert.Contains("Task 'BodyMass': the target has shape [64, 2], expected [64, 1]", wide.Message);
    }

    [Fact]
    public void OnlyTaskTrainsOneTaskAloneAndLeavesTheOtherHeadsUntouched()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var data = TabularProblem.Data(512, seed: 1);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var history = trainer.Fit(data.OnlyTask("Species"), new FitOptions { Epochs = 4, BatchSize = 64 }, TabularProblem.Data(256, seed: 2));

        foreach (var (name, value) in model.state_dict())
        {
            bool same = value.eq(before[name]).all().item<bool>();
            if (name.StartsWith("is_male.", StringComparison.Ordinal) || name.StartsWith("body_mass.", StringComparison.Ordinal))
                Assert.True(same, $"'{name}' belongs to a masked task and must not move");
            else if (!name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                Assert.False(same, $"'{name}' (trunk or species head) must learn");
        }
        Assert.True(history.Epochs[^1].Validation!["Species", "accuracy"] > 0.8);
        Assert.All(history.Epochs, e => Assert.True(double.IsNaN(e.TrainLosses[1]), "a masked task's training loss is absent, not 0"));
        Assert.All(history.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1),
            row => Assert.Equal("", row.Split(',')[Array.IndexOf(history.ToCsv().Split('\n')[0].Split(','), "train_loss_IsMale")]));
        Assert.Equal(0, data.OnlyTask("Species").Targets.IsMale.isnan().logical_not().sum().item<long>());
        Assert.Equal(512, data.OnlyTask("Species").Targets.Species.ne(Losses.TaskLosses.MissingClass).sum().item<long>());
        Assert.Equal(0, data.OnlyTask("BodyMass").Targets.Species.ne(Losses.TaskLosses.MissingClass).sum().item<long>());
        Assert.Contains("the tasks are Species, IsMale, BodyMass", Assert.Throws<ArgumentException>(() => data.OnlyTask("Mass")).Message);
    }

    private sealed class StepCounter : ITrainingObserver
    {
        private readonly Dictionary<int, int[]> _counts = [];

        public void StepEnded(int epoch, int step, IReadOnlyList<double> taskLosses)
        {
            if (!_counts.TryGetValue(epoch, out int[]? counts)) _counts[epoch] = counts = new int[taskLosses.Count];
            for (int k = 0; k < counts.Length; k++) if (!double.IsNaN(taskLosses[k])) counts[k]++;
        }

        public int[] TaskSteps(int epoch) => _counts[epoch];
    }
}
