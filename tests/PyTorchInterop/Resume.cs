using MtlDsl.Checkpoints;
using MtlDsl.Data;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Interop;

/// <summary>
/// resume-export &lt;folder&gt;: a fit stopped after 2 of 4 epochs and resumed in the other engine, both ways, with
/// Adam (whose moments the checkpoint carries) and strategies that keep a state (UW's learnable scales in the
/// optimizer, GradVac's target cosines and shuffle count, FAMO's logits and moments, Nash-MTL's warm start, RLW's
/// generator). For each: the reference (Fit for all 4 epochs, reference_{name}.safetensors), Fit's checkpoint after 2
/// (csharp_{name}/checkpoints/last.ckpt), and in runs.txt the two torchrun runs: one resumes Fit's checkpoint to the
/// end (trained_from-csharp-{name}), one trains the first 2 epochs and writes its checkpoint (python_{name}).
/// resume-check &lt;folder&gt;: the first against the reference; Fit resumes the second to the end, and that against the
/// reference too; and a checkpoint of another strategy or a damaged one is refused by train_ddp.py (run.sh runs those).
/// </summary>
internal static class ResumeCheck
{
    private const int Samples = 120, BatchSize = 32, Epochs = 4, Half = 2, Seed = 3, StrategySeed = 5;
    private const double LearningRate = 0.01;
    private static readonly LearningRateSchedule Schedule = LearningRateSchedule.Cosine(Epochs, 0.2);
    private static readonly string[] Strategies = ["declared", "UW", "GradVac", "FAMO", "Nash-MTL", "RLW"];

    private static WeightingStrategy? Create(string name) => name == "declared" ? null : WeightingStrategies.Create(name, StrategySeed);

    private static FitOptions Options(int epochs, string? output = null, string? resume = null) => new()
    {
        Epochs = epochs, BatchSize = BatchSize, Shuffle = true, Seed = Seed, Schedule = Schedule, OutputDirectory = output, ResumeFrom = resume,
    };

    private static MultiTaskTrainer<StrategyModel.Outputs, StrategyModel.Targets, StrategyModel.LossValues> Trainer(StrategyModel model, string strategy) =>
        model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, LearningRate), Create(strategy));

    private static StrategyModel Load(string folder, string file)
    {
        var model = new StrategyModel();
        model.to(ScalarType.Float64);
        SafeTensors.Load(model, Path.Combine(folder, file));
        return model;
    }

    public static int Export(string folder)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed(43);
        using (var model = new StrategyModel())
        {
            model.to(ScalarType.Float64);
            model.ExportPyTorch(folder);
        }
        Tensor features = randn(Samples, 6, dtype: ScalarType.Float64);
        Tensor click = features[.., 0].sub(features[.., 1]).gt(0).to(ScalarType.Float64).unsqueeze(1);
        Tensor rating = features[.., 2..3] - features[.., 3..4] * 2 + randn(Samples, 1, dtype: ScalarType.Float64) * 0.3;
        Tensor genre = features[.., 4].gt(0.5).to(ScalarType.Int64) + features[.., 5].gt(0).to(ScalarType.Int64);
        var data = MultiTaskData<StrategyModel.Targets>.Shared(features, new StrategyModel.Targets(click, rating, genre));
        data.Save(Path.Combine(folder, "train.safetensors"));

        var lines = new List<string>();
        foreach (string name in Strategies)
        {
            using (var model = Load(folder, "StrategyModel.safetensors"))
            {
                var trainer = Trainer(model, name);
                // torchrun is given what the trainer says Fit does: on from Fit's checkpoint, and the first half alone.
                lines.Add($"from-csharp-{name} {string.Join(" ", trainer.TorchrunArguments(Options(Epochs, resume: $"csharp_{name}/checkpoints/last.ckpt"), "train.safetensors", output: $"trained_from-csharp-{name}.safetensors"))}");
                lines.Add($"to-csharp-{name} {string.Join(" ", trainer.TorchrunArguments(Options(Half, output: $"python_{name}"), "train.safetensors", output: $"trained_to-csharp-{name}.safetensors"))}");
                trainer.Fit(data, Options(Epochs));
                SafeTensors.Save(model, Path.Combine(folder, $"reference_{name}.safetensors"));
            }
            using (var model = Load(folder, "StrategyModel.safetensors"))
                Trainer(model, name).Fit(data, Options(Half, Path.Combine(folder, $"csharp_{name}")));
        }
        File.WriteAllLines(Path.Combine(folder, "runs.txt"), lines);
        return 0;
    }

    public static int Check(string folder)
    {
        int failed = 0;
        var tensors = SafeTensors.Deserialize(File.ReadAllBytes(Path.Combine(folder, "train.safetensors")), "train", new SafeTensorsLoadOptions { AllowNonFinite = true }).Tensors;
        var data = MultiTaskData<StrategyModel.Targets>.Shared(tensors["input.input"],
            new StrategyModel.Targets(tensors["target.Click"], tensors["target.Rating"], tensors["target.Genre"]));
        foreach (string name in Strategies)
        {
            using var reference = Load(folder, $"reference_{name}.safetensors");
            string fromCSharp = $"trained_from-csharp-{name}.safetensors";
            if (File.Exists(Path.Combine(folder, fromCSharp)))
            {
                using var trained = Load(folder, fromCSharp);
                failed += Report(trained, reference, $"torchrun resumed Fit's checkpoint of epoch {Half} with {Label(name)} and Adam, and trained to epoch {Epochs} as Fit did without stopping");
            }
            else
            {
                Console.WriteLine($"FAIL torchrun resuming Fit's checkpoint with {Label(name)} wrote no weights (see its log above)");
                failed++;
            }
            string pythonCheckpoint = Path.Combine(folder, $"python_{name}", "checkpoints", "last.ckpt");
            try
            {
                using var model = Load(folder, "StrategyModel.safetensors");
                Trainer(model, name).Fit(data, Options(Epochs, resume: pythonCheckpoint));
                failed += Report(model, reference, $"Fit resumed torchrun's checkpoint of epoch {Half} with {Label(name)} and Adam, and trained to epoch {Epochs} as it did without stopping");
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException)
            {
                Console.WriteLine($"FAIL Fit could not resume torchrun's checkpoint {pythonCheckpoint} with {Label(name)}: {e.Message}");
                failed++;
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static string Label(string name) => name == "declared" ? "the declared weights" : name;

    private static int Report(StrategyModel trained, StrategyModel reference, string what)
    {
        var mine = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double worst = trained.named_parameters().Max(p => (p.parameter - mine[p.name]).abs().max().item<double>());
        bool pass = worst < 1e-12;
        Console.WriteLine($"{(pass ? "PASS" : "FAIL")} {what}: largest parameter difference {worst:E1}");
        return pass ? 0 : 1;
    }
}
