using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Training while another thread allocates and forces garbage collections (a web server, a desktop app): TorchSharp
/// 0.107 frees implicit Scalars from the finalizer without keeping them alive through the native call, so any code
/// on the training path that lets one go can compute with freed memory. MtlDsl's own paths (losses, weighting,
/// metrics, the trainer) use explicit Scalars, and its optimizers replace TorchSharp's step; the run must be the
/// quiet run, bit for bit. With TorchSharp's own Adam the same stress broke this test (docs/known-issues/README.md).
/// </summary>
public class GarbageCollectionStressTests
{
    [Fact]
    public void TrainingUnderConstantCollectionsFromAnotherThreadIsTheQuietRunBitForBit()
    {
        const int Epochs = 30;
        var data = TabularProblem.Data(512, seed: 1);
        var validation = TabularProblem.Data(128, seed: 2);
        Tensor[] quiet = Train(data, validation, Epochs, out TrainingHistory quietHistory);

        // Stressed fits, each compared with the quiet one, until the collector has run at least 1,000 collections
        // (the amount does not depend on how fast this machine trains; one fit is about 2 s here).
        int fits = 0;
        long collections = UnderCollections(count => count < 1_000 && fits < 20, () =>
        {
            Tensor[] stressed = Train(data, validation, Epochs, out TrainingHistory stressedHistory);
            fits++;
            for (int i = 0; i < quiet.Length; i++)
                Assert.True(quiet[i].equal(stressed[i]).all().item<bool>(), $"parameter {i} differs from the quiet run (fit {fits})");
            Assert.Equal(quietHistory.Epochs.Select(e => e.TrainLosses.ToArray()), stressedHistory.Epochs.Select(e => e.TrainLosses.ToArray()));
            Assert.Equal(quietHistory.Epochs.Select(e => e.Validation!.Losses.ToArray()), stressedHistory.Epochs.Select(e => e.Validation!.Losses.ToArray()));
        });
        Assert.True(collections >= 1_000, $"only {collections} collections in {fits} fits");
    }

    /// <summary>The architectures' own modules (experts, gates, units, masks) under the same stress: the quiet run, bit for bit.</summary>
    [Theory]
    [InlineData("MMoE")]
    [InlineData("PLE")]
    [InlineData("CrossStitch")]
    [InlineData("MTAN")]
    public void ArchitecturesUnderConstantCollectionsAreTheQuietRunBitForBit(string architecture)
    {
        var (images, classes, positions) = ArchitectureTests.Squares(128, seed: 4);
        Tensor[] Run()
        {
            torch.manual_seed(3);
            ArchitectureTests.Built built = ArchitectureTests.Create(architecture);
            using var _ = built.Module;
            var step = built.Trainer(new UncertaintyWeighting(), GradientMode.Parameters);
            for (int epoch = 0; epoch < 3; epoch++)
                for (int b = 0; b < 4; b++)
                {
                    using var scope = NewDisposeScope();
                    var batch = arange(b * 32, (b + 1) * 32);
                    step(images[batch], classes[batch], positions[batch]);
                }
            return built.Module.parameters().Select(p => p.detach().clone()).ToArray();
        }
        AssertQuietRunUnderCollections(architecture, Run);
    }

    /// <summary>The dense-prediction layers (transposed convolution, bilinear upsampling, non-square kernels, per-pixel loss) under the same stress.</summary>
    [Fact]
    public void DenseLayersUnderConstantCollectionsAreTheQuietRunBitForBit()
    {
        var (images, targets) = DenseModelTests.Rectangles(96, seed: 4);
        Tensor[] Run()
        {
            torch.manual_seed(3);
            using var model = new DenseModel();
            var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-3));
            for (int b = 0; b < 6; b++)
            {
                using var scope = NewDisposeScope();
                var batch = arange(b * 16, (b + 1) * 16);
                trainer.Step(images[batch], new DenseModel.Targets(targets.Mask[batch], targets.Shape[batch]));
            }
            return model.parameters().Select(p => p.detach().clone()).ToArray();
        }
        AssertQuietRunUnderCollections("dense", Run);
    }

    /// <summary>
    /// Named inputs with ids (their range checks, the embedding, the pooled bag, the concatenation) and modules of
    /// one's own (their output checks in a forward hook) under the same stress.
    /// </summary>
    [Fact]
    public void InputsEmbeddingsAndOwnModulesUnderConstantCollectionsAreTheQuietRunBitForBit()
    {
        var (inputs, targets) = CategoricalInputTests.Problem(96, seed: 4);
        var (images, classes, positions) = ArchitectureTests.Squares(48, seed: 5);
        Tensor[] Run()
        {
            torch.manual_seed(3);
            using var recommender = new RecommenderModel();
            using var own = new OwnModuleModel();
            var first = recommender.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-3));
            var second = own.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-3));
            for (int b = 0; b < 6; b++)
            {
                using var scope = NewDisposeScope();
                var batch = arange(b * 16, (b + 1) * 16);
                first.Step(new RecommenderModel.Inputs(inputs.Dense[batch], inputs.User[batch], inputs.Tags[batch]), new RecommenderModel.Targets(targets.Click[batch], targets.Rating[batch]));
                var half = arange(b * 8, (b + 1) * 8);
                second.Step(images[half], new OwnModuleModel.Targets(classes[half], positions[half]));
            }
            return recommender.parameters().Concat(own.parameters()).Select(p => p.detach().clone()).ToArray();
        }
        AssertQuietRunUnderCollections("inputs and own modules", Run);
    }

    // A short training run, once quietly, then again and again under constant collections (until 200 collections or
    // 20 runs): every run's parameters must equal the quiet run's, bit for bit.
    private static void AssertQuietRunUnderCollections(string name, Func<Tensor[]> run)
    {
        Tensor[] quiet = run();
        int runs = 0;
        long collections = UnderCollections(count => count < 200 && runs < 20, () =>
        {
            Tensor[] stressed = run();
            runs++;
            for (int i = 0; i < quiet.Length; i++)
                Assert.True(quiet[i].equal(stressed[i]).all().item<bool>(), $"{name}: parameter {i} differs from the quiet run (run {runs})");
        });
        Assert.True(collections >= 200, $"only {collections} collections in {runs} runs");
    }

    // Runs the action again and again while another thread allocates and forces collections, as long as the
    // condition holds of the collections so far (and at least once); returns how many collections ran.
    private static long UnderCollections(Func<long, bool> again, Action action)
    {
        var stop = new CancellationTokenSource();
        long collections = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var junk = new object[256];
                for (int i = 0; i < junk.Length; i++) junk[i] = new byte[64];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            do action();
            while (again(Interlocked.Read(ref collections)));
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        return Interlocked.Read(ref collections);
    }

    // Uncertainty weighting (learned scales, Scalars of its own), dropout, BatchNorm, evaluation with metrics.
    private static Tensor[] Train(Data.MultiTaskData<TabularModel.Targets> data, Data.MultiTaskData<TabularModel.Targets> validation, int epochs, out TrainingHistory history)
    {
        torch.manual_seed(5);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, 1e-3), new UncertaintyWeighting());
        history = trainer.Fit(data, new FitOptions { Epochs = epochs, BatchSize = 16, Seed = 3 }, validation);
        return model.parameters().Select(p => p.detach().clone()).ToArray();
    }
}
