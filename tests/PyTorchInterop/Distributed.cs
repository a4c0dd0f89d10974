using MtlDsl;
using MtlDsl.Checkpoints;
using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// distributed-export &lt;folder&gt;: the recommendation model (three named inputs, ids, a bag, missing labels) in
/// float64: its twin, training script and initial weights (ExportPyTorch), 128 training samples (MultiTaskData.Save),
/// and the reference: the same model trained by MtlDsl's Fit in one process, 2 epochs of global batches of 32 in file
/// order, SGD at 0.05 (reference.safetensors). run.sh then trains the twin with torchrun --nproc_per_node=2 (DDP, gloo).
/// distributed-check &lt;folder&gt;: loads what the two processes wrote back into the C# model and compares it with
/// the reference, parameter by parameter.
/// </summary>
internal static class DistributedCheck
{
    private const int Samples = 128, BatchSize = 32, Epochs = 2;
    private const double LearningRate = 0.05;

    public static int Export(string folder)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed(31);
        using var model = new RecommenderModel();
        model.to(ScalarType.Float64);
        model.ExportPyTorch(folder);

        Tensor dense = randn(Samples, 6, dtype: ScalarType.Float64);
        Tensor users = randint(0, RecommenderModel.Users, [Samples], dtype: ScalarType.Int64);
        Tensor tags = randint(0, RecommenderModel.Tags, [Samples, 5], dtype: ScalarType.Int64) * randint(0, 2, [Samples, 5], dtype: ScalarType.Int64);
        Tensor NaNWhere(Tensor values) => where(rand(values.shape).lt(0.15), full(values.shape, double.NaN, dtype: ScalarType.Float64), values);
        Tensor clicks = NaNWhere(randint(0, 2, [Samples, 1], dtype: ScalarType.Int64).to(ScalarType.Float64));
        Tensor ratings = NaNWhere(randn(Samples, 1, dtype: ScalarType.Float64));
        var data = MultiTaskData<RecommenderModel.Targets>.Shared(new RecommenderModel.Inputs(dense, users, tags), new RecommenderModel.Targets(clicks, ratings));
        data.Save(Path.Combine(folder, "train.safetensors"));

        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate));
        trainer.Fit(data, new FitOptions { Epochs = Epochs, BatchSize = BatchSize, Shuffle = false });
        SafeTensors.Save(model, Path.Combine(folder, "reference.safetensors"));
        Console.WriteLine($"exported RecommenderModel's twin, {Samples} samples and the single-process reference ({Epochs} epochs of global batches of {BatchSize}, SGD {LearningRate})");
        return 0;
    }

    public static int Check(string folder)
    {
        using var trained = new RecommenderModel();
        trained.to(ScalarType.Float64);
        SafeTensors.Load(trained, Path.Combine(folder, "trained.safetensors"));
        using var reference = new RecommenderModel();
        reference.to(ScalarType.Float64);
        SafeTensors.Load(reference, Path.Combine(folder, "reference.safetensors"));
        using var initial = new RecommenderModel();
        initial.to(ScalarType.Float64);
        SafeTensors.Load(initial, Path.Combine(folder, "RecommenderModel.safetensors"));

        var mine = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var start = initial.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double worst = 0, moved = 0;
        foreach (var (name, parameter) in trained.named_parameters())
        {
            worst = Math.Max(worst, (parameter - mine[name]).abs().max().item<double>());
            moved = Math.Max(moved, (mine[name] - start[name]).abs().max().item<double>());
        }
        bool pass = worst < 1e-10 && moved > 1e-3;
        Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun --nproc_per_node=2 (DDP, gloo) trained RecommenderModel's generated twin as MtlDsl's single-process Fit did: " +
                          $"largest parameter difference {worst:E1} after {Samples / BatchSize * Epochs} steps (training moved them by up to {moved:E1}), weights loaded back into C#");
        return pass ? 0 : 1;
    }
}
