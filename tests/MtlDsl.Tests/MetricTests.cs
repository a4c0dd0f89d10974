using MtlDsl.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

public class MetricTests
{
    private static Tensor Scores(params long[] predicted) =>
        nn.functional.one_hot(tensor(predicted), 3).to_type(ScalarType.Float32);

    [Fact]
    public void AccuracyAndMacroF1OnAHandComputedExample()
    {
        // targets 0 0 1 1 2 2, predictions 0 1 1 1 2 0:
        // class 0: TP 1, FP 1, FN 1 → F1 1/2; class 1: TP 2, FP 1, FN 0 → 4/5; class 2: TP 1, FP 0, FN 1 → 2/3.
        Tensor targets = tensor(new long[] { 0, 0, 1, 1, 2, 2 });
        Tensor output = Scores(0, 1, 1, 1, 2, 0);
        var accuracy = new Accuracy();
        var f1 = new MacroF1(3);
        accuracy.Update(output, targets);
        f1.Update(output, targets);
        Assert.Equal(4.0 / 6, accuracy.Compute(), 12);
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, f1.Compute(), 12);
    }

    [Fact]
    public void MetricsDoNotDependOnTheBatching()
    {
        torch.manual_seed(1);
        Tensor scores = randn(100, 4), labels = randint(0, 4, [100]);
        Tensor output = randn(100, 3), target = randn(100, 3);
        TaskMetric[] whole = [new Accuracy(), new MacroF1(4), new MeanAbsoluteError(), new RootMeanSquaredError()];
        TaskMetric[] batched = [new Accuracy(), new MacroF1(4), new MeanAbsoluteError(), new RootMeanSquaredError()];
        void Feed(TaskMetric[] metrics, long start, long length)
        {
            metrics[0].Update(scores.narrow(0, start, length), labels.narrow(0, start, length));
            metrics[1].Update(scores.narrow(0, start, length), labels.narrow(0, start, length));
            metrics[2].Update(output.narrow(0, start, length), target.narrow(0, start, length));
            metrics[3].Update(output.narrow(0, start, length), target.narrow(0, start, length));
        }
        Feed(whole, 0, 100);
        Feed(batched, 0, 30);
        Feed(batched, 30, 33);
        Feed(batched, 63, 37);
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i].Compute(), batched[i].Compute(), 12);
        Assert.Equal((output - target).abs().mean().item<float>(), whole[2].Compute(), 5);
        Assert.Equal(Math.Sqrt((output - target).square().mean().item<float>()), whole[3].Compute(), 5);
    }

    [Fact]
    public void MissingLabelsAreLeftOut()
    {
        var accuracy = new Accuracy();
        accuracy.Update(Scores(0, 1, 2, 2), tensor(new long[] { 0, MtlDsl.Losses.TaskLosses.MissingClass, 1, 2 }));
        Assert.Equal(2.0 / 3, accuracy.Compute(), 12);
        var mae = new MeanAbsoluteError();
        mae.Update(tensor(new float[] { 1, 2, 3 }).reshape(3, 1), tensor(new float[] { 2, float.NaN, 5 }).reshape(3, 1));
        Assert.Equal(1.5, mae.Compute(), 6);
    }

    [Fact]
    public void EmptyMetricsAndMismatchedBatchesAreClearErrors()
    {
        Assert.Throws<InvalidOperationException>(() => new Accuracy().Compute());
        var error = Assert.Throws<ArgumentException>(() => new MeanAbsoluteError().Update(zeros(4, 1), zeros(5, 1)));
        Assert.Contains("[4, 1]", error.Message);
        Assert.Throws<ArgumentException>(() => new MacroF1(3).Update(Scores(0, 1), tensor(new long[] { 0, 7 })));
    }

    [Fact]
    public void DeltaMFollowsLibMtlsSignConvention()
    {
        // Accuracy up from 0.90 to 0.99 (+10 %), error down from 2.0 to 1.0 (+50 % for a lower-is-better metric).
        double delta = DeltaM.Compute([new MetricComparison(0.99, 0.90, HigherIsBetter: true), new MetricComparison(1.0, 2.0, HigherIsBetter: false)]);
        Assert.Equal(30.0, delta, 10);
        Assert.Equal(-5.0, DeltaM.Compute([new MetricComparison(0.95, 1.0, true)]), 10);
        Assert.Throws<ArgumentException>(() => DeltaM.Compute([new MetricComparison(1, 0, true)]));
    }
}
