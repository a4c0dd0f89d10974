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
        // Stressed fits, each compared with the quiet one, until the collector has run at least 1,000 collections
        // (the amount does not depend on how fast this machine trains; one fit is about 2 s here).
        int fits = 0;
        try
        {
            while (Interlocked.Read(ref collections) < 1_000 && fits < 20)
            {
                Tensor[] stressed = Train(data, validation, Epochs, out TrainingHistory stressedHistory);
                fits++;
                for (int i = 0; i < quiet.Length; i++)
                    Assert.True(quiet[i].equal(stressed[i]).all().item<bool>(), $"parameter {i} differs from the quiet run (fit {fits}, {collections} collections)");
                Assert.Equal(quietHistory.Epochs.Select(e => e.TrainLosses.ToArray()), stressedHistory.Epochs.Select(e => e.TrainLosses.ToArray()));
                Assert.Equal(quietHistory.Epochs.Select(e => e.Validation!.Losses.ToArray()), stressedHistory.Epochs.Select(e => e.Validation!.Losses.ToArray()));
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        Assert.True(collections >= 1_000, $"only {collections} collections in {fits} fits");
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
