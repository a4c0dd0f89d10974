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
/// run: its name and train_ddp.py's arguments for the same training. Two more runs: the declared weights with the
/// gradients clipped to a norm that binds, and PCGrad with them; and six with one dataset per task of 120, 80 and 50
/// samples: every task in every step (the declared weights, UW, PCGrad, FAMO), round-robin and proportional. run.sh trains each with torchrun --nproc_per_node=2;
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

        string factors = string.Join(",", Enumerable.Range(0, Epochs).Select(e => Schedule.Factor(e).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var lines = new List<string>();
        foreach (var (name, strategy, clip, interleaving) in Runs())
        {
            using var fresh = new StrategyModel();
            fresh.to(ScalarType.Float64);
            SafeTensors.Load(fresh, Path.Combine(folder, "StrategyModel.safetensors"));
            var trainer = fresh.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate),
                strategy == "declared" ? null : WeightingStrategies.Create(strategy, StrategySeed));
            trainer.MaxGradientNorm = clip;
            trainer.Fit(interleaving is null ? data : perTask,
                new FitOptions { Epochs = Epochs, BatchSize = BatchSize, Shuffle = true, Seed = Seed, Schedule = Schedule, Interleaving = interleaving ?? TaskInterleaving.AllTasks });
            SafeTensors.Save(fresh, Path.Combine(folder, $"reference_{name}.safetensors"));
            string dataArguments = interleaving switch
            {
                null => "",
                TaskInterleaving.AllTasks => " --data train_per_task.safetensors --interleaving all-tasks",
                TaskInterleaving.RoundRobin => " --data train_per_task.safetensors --interleaving round-robin",
                _ => " --data train_per_task.safetensors --interleaving proportional",
            };
            lines.Add($"{name} --weighting {strategy} --strategy-seed {StrategySeed} --epochs {Epochs} --batch-size {BatchSize} --lr {LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} " +
                      $"--lr-factors {factors} --shuffle --seed {Seed} --dtype float64{dataArguments}" + (clip is double c ? $" --max-grad-norm {c.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}" : ""));
        }
        File.WriteAllLines(Path.Combine(folder, "runs.txt"), lines);
        return 0;
    }

    public static int Check(string folder)
    {
        int failed = 0;
        using var initial = Load(folder, "StrategyModel.safetensors");
        var start = initial.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, strategy, clip, interleaving) in Runs())
        {
            string trainedFile = Path.Combine(folder, $"trained_{name}.safetensors");
            if (!File.Exists(trainedFile))
            {
                Console.WriteLine($"FAIL torchrun --nproc_per_node=2 with {name}: it wrote no weights (see its log above)");
                failed++;
                continue;
            }
            using var trained = Load(folder, $"trained_{name}.safetensors");
            using var reference = Load(folder, $"reference_{name}.safetensors");
            var mine = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            double worst = 0, moved = 0;
            foreach (var (parameterName, parameter) in trained.named_parameters())
            {
                worst = Math.Max(worst, (parameter - mine[parameterName]).abs().max().item<double>());
                moved = Math.Max(moved, (mine[parameterName] - start[parameterName]).abs().max().item<double>());
            }
            bool pass = worst < 1e-12 && moved > 1e-3;
            Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun --nproc_per_node=2 trained StrategyModel's twin with {(strategy == "declared" ? "the declared weights" : strategy)}" +
                              $"{(clip is null ? "" : $", gradients clipped to {clip}")}{(interleaving is { } i ? $", one dataset per task interleaved {i}" : "")} as Fit did on one process (3 epochs, shuffled, cosine schedule): " +
                              $"largest parameter difference {worst:E1} (training moved them by up to {moved:E1})");
            if (!pass) failed++;
        }
        return failed == 0 ? 0 : 1;
    }

    private static StrategyModel Load(string folder, string file)
    {
        var model = new StrategyModel();
        model.to(ScalarType.Float64);
        SafeTensors.Load(model, Path.Combine(folder, file));
        return model;
    }
}
