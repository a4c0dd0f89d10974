using MtlDsl;
using MtlDsl.Checkpoints;
using MtlDsl.Data;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Interop;

/// <summary>
/// Three tasks of three losses over one trunk, for the strategies under torchrun: a flag, a rating with missing values
/// and a class with missing labels. Three tasks, so that PCGrad's and GradVac's shuffles change their result.
/// </summary>
[MultiTaskModel]
[Input(6)]
internal partial class StrategyModel
{
    [Trunk]
    [Linear(16), Tanh, Linear(8), Tanh]
    public partial Sequential Encoder { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Linear(4), Tanh, Linear(1)]
    public partial Sequential Rating { get; }

    [Task(Loss.CrossEntropy)]
    [Linear(3)]
    public partial Sequential Genre { get; }
}

/// <summary>
/// strategies-export &lt;folder&gt;: <see cref="StrategyModel"/>'s twin and initial weights in float64, 120 training
/// samples, and for every weighting strategy (the declared weights and each of <see cref="WeightingStrategies.Names"/>,
/// created with the seed 5) the single-process reference: Fit from those weights for 3 epochs of global batches of 32,
/// shuffled with Seed = 3, SGD at 0.05 under a cosine schedule (reference_{name}.safetensors); and runs.txt, one line per
/// run: its name and train_ddp.py's arguments for the same training, as the trainer gives them (TorchrunArguments). Two more runs: the declared weights with the
/// gradients clipped to a norm that binds, and PCGrad with them; and six with one dataset per task of 120, 80 and 50
/// samples: every task in every step (the declared weights, UW, PCGrad, FAMO), round-robin and proportional; and four
/// with validation after every epoch and early stopping (<see cref="Stopping"/>), whose histories are compared too. run.sh trains each with torchrun --nproc_per_node=2;
/// strategies-check &lt;folder&gt; compares what the two processes wrote with each reference.
/// </summary>
internal static class StrategyCheck
{
    private const int Samples = 120, BatchSize = 32, Epochs = 3, Seed = 3, StrategySeed = 5;
    private const double LearningRate = 0.05, ClipNorm = 0.05;
    private static readonly LearningRateSchedule Schedule = LearningRateSchedule.Cosine(Epochs, 0.2);

    // Every run: its name, the strategy's (WeightingStrategies' name, or "declared"), the gradient norm it clips to,
    // and, with one dataset per task, the interleaving (null: one dataset for all tasks).
    private static IEnumerable<(string Name, string Strategy, double? Clip, TaskInterleaving? Interleaving)> Runs() =>
    [
        ("declared", "declared", null, null),
        .. WeightingStrategies.Names.Select(name => (name, name, (double?)null, (TaskInterleaving?)null)),
        ("declared-clipped", "declared", ClipNorm, null),
        ("PCGrad-clipped", "PCGrad", ClipNorm, null),
        .. Stopping().Select(s => (s.Name, s.Strategy, (double?)null, (TaskInterleaving?)null)),
        // One dataset per task (120, 80 and 50 samples): every task in every step with a loss weighting, a gradient
        // method and FAMO (whose losses after the step come from each task's own batch); one task per step.
        ("per-task-declared", "declared", null, TaskInterleaving.AllTasks),
        ("per-task-UW", "UW", null, TaskInterleaving.AllTasks),
        ("per-task-PCGrad", "PCGrad", null, TaskInterleaving.AllTasks),
        ("per-task-FAMO", "FAMO", null, TaskInterleaving.AllTasks),
        ("per-task-round-robin", "declared", null, TaskInterleaving.RoundRobin),
        ("per-task-proportional", "EW", null, TaskInterleaving.Proportional),
    ];

    private static readonly long[] PerTaskSamples = [120, 80, 50];

    // Runs with validation after every epoch and early stopping (up to 8 epochs): on a loss, an AUC and a macro-F1, with
    // a least improvement that soon stops them; and one that watches the rating's RMSE to the end and keeps the last
    // weights. Their histories (every epoch's training losses and validation losses and metrics) are compared too.
    private static IEnumerable<(string Name, string Strategy, EarlyStopping Stop)> Stopping() =>
    [
        ("stopping-rating-loss", "declared", new EarlyStopping("Rating", "loss", Patience: 1, MinDelta: 0.2)),
        ("stopping-click-auc", "PCGrad", new EarlyStopping("Click", "auc", Patience: 2, MinDelta: 0.01)),
        ("stopping-genre-f1", "UW", new EarlyStopping("Genre", "macro_f1", Patience: 1, MinDelta: 0.02)),
        ("watching-rating-rmse", "FAMO", new EarlyStopping("Rating", "rmse", Patience: 8, RestoreBest: false)),
    ];

    private const int StoppingEpochs = 8;

    private static EarlyStopping? StopOf(string name) => Stopping().Where(s => s.Name == name).Select(s => s.Stop).FirstOrDefault();

    public static int Export(string folder)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed(41);
        using (var model = new StrategyModel())
        {
            model.to(ScalarType.Float64);
            model.ExportPyTorch(folder);
        }
        Tensor features = randn(Samples, 6, dtype: ScalarType.Float64);
        Tensor click = features[.., 0].add(features[.., 1]).gt(0).to(ScalarType.Float64).unsqueeze(1);
        Tensor rating = features[.., 2..3] * 2 - features[.., 3..4] + randn(Samples, 1, dtype: ScalarType.Float64) * 0.3;
        rating = where(rand(Samples, 1).lt(0.15), full([Samples, 1], double.NaN, dtype: ScalarType.Float64), rating);
        Tensor genre = features[.., 4].gt(0.5).to(ScalarType.Int64) + features[.., 5].gt(0).to(ScalarType.Int64);
        genre = where(rand(Samples).lt(0.1), full(Samples, MtlDsl.Losses.TaskLosses.MissingClass, dtype: ScalarType.Int64), genre);
        var data = MultiTaskData<StrategyModel.Targets>.Shared(features, new StrategyModel.Targets(click, rating, genre));
        data.Save(Path.Combine(folder, "train.safetensors"));
        // Each task's own samples: the first 120, 80 and 50 of the same draw, its inputs shifted so that they differ.
        Tensor Rows(Tensor t, long k) => t[..(int)PerTaskSamples[k]];
        var perTask = MultiTaskData<StrategyModel.Targets>.PerTask(
            [.. Enumerable.Range(0, 3).Select(k => Rows(features, k) + 0.1 * k)],
            new StrategyModel.Targets(Rows(click, 0), Rows(rating, 1), Rows(genre, 2)));
        perTask.Save(Path.Combine(folder, "train_per_task.safetensors"));
        Tensor heldFeatures = randn(60, 6, dtype: ScalarType.Float64);
        var validation = MultiTaskData<StrategyModel.Targets>.Shared(heldFeatures, new StrategyModel.Targets(
            heldFeatures[.., 0].add(heldFeatures[.., 1]).gt(0).to(ScalarType.Float64).unsqueeze(1),
            heldFeatures[.., 2..3] * 2 - heldFeatures[.., 3..4] + randn(60, 1, dtype: ScalarType.Float64) * 0.3,
            heldFeatures[.., 4].gt(0.5).to(ScalarType.Int64) + heldFeatures[.., 5].gt(0).to(ScalarType.Int64)));
        validation.Save(Path.Combine(folder, "valid.safetensors"));

        var lines = new List<string>();
        foreach (var (name, strategy, clip, interleaving) in Runs())
        {
            using var fresh = new StrategyModel();
            fresh.to(ScalarType.Float64);
            SafeTensors.Load(fresh, Path.Combine(folder, "StrategyModel.safetensors"));
            var trainer = fresh.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate),
                strategy == "declared" ? null : WeightingStrategies.Create(strategy, StrategySeed));
            trainer.MaxGradientNorm = clip;
            EarlyStopping? stop = StopOf(name);
            var options = new FitOptions
            {
                Epochs = stop is null ? Epochs : StoppingEpochs, BatchSize = BatchSize, Shuffle = true, Seed = Seed, Schedule = Schedule,
                Interleaving = interleaving ?? TaskInterleaving.AllTasks, EarlyStopping = stop, OutputDirectory = stop is null ? null : $"torchrun_{name}",
            };
            // What torchrun is given is what the trainer says Fit does (before it trains: a trainer that has trained refuses).
            lines.Add($"{name} {string.Join(" ", trainer.TorchrunArguments(options, interleaving is null ? "train.safetensors" : "train_per_task.safetensors",
                stop is null ? null : "valid.safetensors", $"trained_{name}.safetensors"))}");
            trainer.Fit(interleaving is null ? data : perTask, options with { OutputDirectory = stop is null ? null : Path.Combine(folder, $"fit_{name}") },
                stop is null ? null : validation);
            SafeTensors.Save(fresh, Path.Combine(folder, $"reference_{name}.safetensors"));
        }
        File.WriteAllLines(Path.Combine(folder, "runs.txt"), lines);
        return 0;
    }

    public static int Check(string folder)
    {
        int failed = 0;
        foreach (var (name, strategy, clip, interleaving) in Runs())
        {
            string what = $"with {(strategy == "declared" ? "the declared weights" : strategy)}{(clip is null ? "" : $", gradients clipped to {clip}")}" +
                          $"{(interleaving is { } i ? $", one dataset per task interleaved {i}" : "")}, " +
                          $"{(StopOf(name) is { } st ? $"validation, early stopping on {st.Task} {st.Metric}" : $"{Epochs} epochs")}, shuffled, cosine schedule";
            failed += DistributedCheck.CheckReference(folder, () => new StrategyModel(), what, name, tolerance: 1e-12);
            if (StopOf(name) is { } stop) failed += CheckHistory(folder, name, strategy, stop);
        }
        return failed == 0 ? 0 : 1;
    }

    // The epochs both engines recorded, read back by resuming each one's last checkpoint in a fit that has nothing left
    // to do: the same epochs, best epoch and early stop, and every training loss, validation loss and metric within 1e-12.
    private static int CheckHistory(string folder, string name, string strategy, EarlyStopping stop)
    {
        TrainingHistory Read(string output)
        {
            using var model = Load(folder, "StrategyModel.safetensors");
            var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate),
                strategy == "declared" ? null : WeightingStrategies.Create(strategy, StrategySeed));
            var validation = MultiTaskData<StrategyModel.Targets>.Shared(randn(4, 6, dtype: ScalarType.Float64),
                new StrategyModel.Targets(zeros(4, 1, dtype: ScalarType.Float64), zeros(4, 1, dtype: ScalarType.Float64), zeros(4, dtype: ScalarType.Int64)));
            return trainer.Fit(validation, new FitOptions { Epochs = StoppingEpochs, BatchSize = BatchSize, EarlyStopping = stop,
                ResumeFrom = Path.Combine(folder, output, "checkpoints", "last.ckpt") }, validation);
        }
        try
        {
            TrainingHistory fit = Read($"fit_{name}"), torchrun = Read($"torchrun_{name}");
            double worst = 0;
            int values = 0;
            void Compare(double a, double b)
            {
                worst = Math.Max(worst, double.IsNaN(a) && double.IsNaN(b) ? 0 : Math.Abs(a - b));
                values++;
            }
            bool same = fit.Epochs.Count == torchrun.Epochs.Count && fit.BestEpoch == torchrun.BestEpoch && fit.StoppedEarly == torchrun.StoppedEarly;
            for (int e = 0; same && e < fit.Epochs.Count; e++)
            {
                EpochResult a = fit.Epochs[e], b = torchrun.Epochs[e];
                for (int k = 0; k < a.TrainLosses.Count; k++) Compare(a.TrainLosses[k], b.TrainLosses[k]);
                for (int k = 0; k < a.Validation!.Losses.Count; k++)
                {
                    Compare(a.Validation.Losses[k], b.Validation!.Losses[k]);
                    same &= a.Validation.Metrics[k].Keys.Order().SequenceEqual(b.Validation.Metrics[k].Keys.Order());
                    foreach (var (metric, value) in a.Validation.Metrics[k])
                        if (b.Validation.Metrics[k].TryGetValue(metric, out double other)) Compare(value, other);
                }
            }
            bool pass = same && worst < 1e-12;
            Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun's validation and early stopping on {stop.Task} {stop.Metric} recorded what Fit's did: " +
                              $"{torchrun.Epochs.Count} epochs (Fit {fit.Epochs.Count}), best epoch {torchrun.BestEpoch} (Fit {fit.BestEpoch}), " +
                              $"stopped early {torchrun.StoppedEarly} (Fit {fit.StoppedEarly}), {values} losses and metrics within {worst:E1}");
            return pass ? 0 : 1;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
        {
            Console.WriteLine($"FAIL reading the histories of {name}: {e.Message}");
            return 1;
        }
    }

    private static StrategyModel Load(string folder, string file)
    {
        var model = new StrategyModel();
        model.to(ScalarType.Float64);
        SafeTensors.Load(model, Path.Combine(folder, file));
        return model;
    }
}
