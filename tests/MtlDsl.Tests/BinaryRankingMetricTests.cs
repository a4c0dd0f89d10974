using MtlDsl.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// AUC and log-loss against their definitions: the AUC against counting every positive–negative pair (ties one half),
/// on random scores with many ties, missing labels and any batching; the log-loss against PyTorch's binary
/// cross-entropy in float64 and against the formula on logits far out where a probability would round to 0 or 1.
/// </summary>
public class BinaryRankingMetricTests
{
    // The definition: over every (positive, negative) pair, 1 if the positive scores higher, 1/2 if they tie.
    private static double PairwiseAuc(double[] scores, double[] labels)
    {
        double sum = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Length; i++)
            for (int j = 0; j < scores.Length; j++)
            {
                if (double.IsNaN(labels[i]) || double.IsNaN(labels[j]) || labels[i] != 1 || labels[j] != 0) continue;
                sum += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                pairs++;
            }
        return pairs == 0 ? double.NaN : sum / pairs;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void TheAucIsThePairwiseProbabilityWhateverTheTiesMissingLabelsAndBatches(int seed)
    {
        var random = new Random(seed);
        int n = random.Next(1, 400);
        int levels = random.Next(1, 12);   // few distinct scores: many ties
        double[] scores = Enumerable.Range(0, n).Select(_ => (double)(float)(random.Next(levels) * 0.7 - 2)).ToArray();
        double[] labels = Enumerable.Range(0, n).Select(_ => random.NextDouble() < 0.1 ? double.NaN : random.NextDouble() < 0.3 ? 1.0 : 0.0).ToArray();
        Tensor output = tensor(scores.Select(s => (float)s).ToArray()).reshape(n, 1);
        Tensor target = tensor(labels.Select(l => (float)l).ToArray()).reshape(n, 1);

        var whole = new AreaUnderCurve();
        whole.Update(output, target);
        var batched = new AreaUnderCurve();
        for (int start = 0; start < n;)
        {
            int length = Math.Min(random.Next(1, 40), n - start);
            batched.Update(output.narrow(0, start, length), target.narrow(0, start, length));
            start += length;
        }
        double expected = PairwiseAuc(scores, labels);
        if (double.IsNaN(expected))
        {
            Assert.True(double.IsNaN(whole.Compute()));
            return;
        }
        Assert.Equal(expected, whole.Compute(), 12);
        Assert.Equal(whole.Compute(), batched.Compute());
    }

    [Fact]
    public void TheAucOfPerfectReversedAndTiedScores()
    {
        Tensor labels = tensor(new float[] { 0, 0, 1, 1 }).reshape(4, 1);
        Assert.Equal(1.0, Auc(tensor(new float[] { -3, -1, 2, 5 }), labels));
        Assert.Equal(0.0, Auc(tensor(new float[] { 3, 1, -2, -5 }), labels));
        Assert.Equal(0.5, Auc(tensor(new float[] { 7, 7, 7, 7 }), labels));
        // Large logits that a float32 sigmoid would round to 1 keep their order.
        Assert.Equal(1.0, Auc(tensor(new float[] { 20, 21, 30, 31 }), labels));
    }

    [Fact]
    public void OneClassGivesNaNAndNothingAddedIsAnError()
    {
        Assert.True(double.IsNaN(Auc(tensor(new float[] { 1, 2 }), tensor(new float[] { 1, 1 }).reshape(2, 1))));
        Assert.True(double.IsNaN(Auc(tensor(new float[] { 1, 2 }), tensor(new float[] { 0, float.NaN }).reshape(2, 1))));
        Assert.Throws<InvalidOperationException>(() => new AreaUnderCurve().Compute());
        Assert.Throws<InvalidOperationException>(() => new LogLoss().Compute());
        var auc = new AreaUnderCurve();
        auc.Update(tensor(new float[] { 1, 2 }).reshape(2, 1), tensor(new float[] { 0, 1 }).reshape(2, 1));
        auc.Reset();
        Assert.Throws<InvalidOperationException>(() => auc.Compute());
    }

    [Fact]
    public void TheLogLossIsTheBinaryCrossEntropyOfThePresentLabels()
    {
        torch.manual_seed(3);
        Tensor logits = randn(300, 2, dtype: ScalarType.Float64) * 4;
        Tensor labels = randint(0, 2, [300, 2]).to_type(ScalarType.Float64);
        Tensor missing = rand(300, 2, dtype: ScalarType.Float64).lt(0.2);
        Tensor target = labels.masked_fill(missing, double.NaN);
        var metric = new LogLoss();
        metric.Update(logits.narrow(0, 0, 120).to_type(ScalarType.Float32), target.narrow(0, 0, 120));
        metric.Update(logits.narrow(0, 120, 180).to_type(ScalarType.Float32), target.narrow(0, 120, 180));
        Tensor present = missing.logical_not();
        double expected = nn.functional.binary_cross_entropy_with_logits(
            logits.to_type(ScalarType.Float32).to_type(ScalarType.Float64).masked_select(present), labels.masked_select(present)).item<double>();
        Assert.Equal(expected, metric.Compute(), 12);
        Assert.False(metric.HigherIsBetter);
    }

    [Fact]
    public void TheLogLossOfLogitsFarOutIsFinite()
    {
        // σ(40) is 1 in float32 and float64: log(1 − σ(40)) would be −∞; the formula on logits gives 40 + log(1 + e^−40).
        var metric = new LogLoss();
        metric.Update(tensor(new float[] { 40, -40 }).reshape(2, 1), tensor(new float[] { 0, 0 }).reshape(2, 1));
        Assert.Equal((40 + Math.Log(1 + Math.Exp(-40)) + Math.Log(1 + Math.Exp(-40))) / 2, metric.Compute(), 12);
    }

    [Fact]
    public void BinaryTasksAreScoredByAccuracyAucAndLogLossByDefault()
    {
        var task = new TaskDefinition("Click", Loss.BinaryCrossEntropyWithLogits, 1, [1]);
        Assert.Equal(["accuracy", "auc", "log_loss"], TaskMetrics.Default(task).Select(m => m.Name));
    }

    // GAUC's definition: every group's pairwise AUC (groups with one class left out), weighted by its present labels.
    private static double PairwiseGroupAuc(double[] scores, double[] labels, long[] groups, int labelsPerSample)
    {
        double weighted = 0, weights = 0;
        foreach (long group in groups.Distinct())
        {
            int[] members = Enumerable.Range(0, labels.Length).Where(i => groups[i / labelsPerSample] == group && !double.IsNaN(labels[i])).ToArray();
            double auc = PairwiseAuc(members.Select(i => scores[i]).ToArray(), members.Select(i => labels[i]).ToArray());
            if (double.IsNaN(auc)) continue;
            weighted += members.Length * auc;
            weights += members.Length;
        }
        return weights == 0 ? double.NaN : weighted / weights;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 1)]
    [InlineData(5, 3)]
    public void TheGroupAucIsEachGroupsPairwiseAucWeightedByItsLabelsWhateverTheBatches(int seed, int labelsPerSample)
    {
        var random = new Random(seed);
        int n = random.Next(20, 300);
        int levels = random.Next(2, 10), users = random.Next(1, 15);
        double[] scores = Enumerable.Range(0, n * labelsPerSample).Select(_ => (double)(float)(random.Next(levels) * 0.7 - 2)).ToArray();
        double[] labels = Enumerable.Range(0, n * labelsPerSample).Select(_ => random.NextDouble() < 0.1 ? double.NaN : random.NextDouble() < 0.3 ? 1.0 : 0.0).ToArray();
        long[] groups = Enumerable.Range(0, n).Select(_ => (long)random.Next(users) * 1000 - 7).ToArray();
        Tensor output = tensor(scores.Select(v => (float)v).ToArray()).reshape(n, labelsPerSample);
        Tensor target = tensor(labels.Select(v => (float)v).ToArray()).reshape(n, labelsPerSample);
        // Ids as a model takes them: [N] for one per sample, or [N, 1].
        Tensor ids = seed % 2 == 0 ? tensor(groups) : tensor(groups).reshape(n, 1);

        var whole = new GroupedAreaUnderCurve("User");
        whole.Update(output, target, new Dictionary<string, Tensor> { ["User"] = ids, ["Dense"] = zeros(n, 3) });
        var batched = new GroupedAreaUnderCurve("User");
        for (int start = 0; start < n;)
        {
            int length = Math.Min(random.Next(1, 40), n - start);
            batched.Update(output.narrow(0, start, length), target.narrow(0, start, length), new Dictionary<string, Tensor> { ["User"] = ids.narrow(0, start, length) });
            start += length;
        }
        double expected = PairwiseGroupAuc(scores, labels, groups, labelsPerSample);
        if (double.IsNaN(expected))
        {
            Assert.True(double.IsNaN(whole.Compute()));
            return;
        }
        Assert.Equal(expected, whole.Compute(), 12);
        Assert.Equal(whole.Compute(), batched.Compute());
    }

    [Fact]
    public void TheGroupAucRanksWithinGroupsOnly()
    {
        // Group 1's scores are all above group 2's: the AUC over all rewards telling the groups apart, GAUC does not.
        Tensor scores = tensor(new float[] { 5, 6, 7, 8, -8, -7, -6, -5 }).reshape(8, 1);
        Tensor labels = tensor(new float[] { 1, 0, 1, 0, 1, 0, 1, 0 }).reshape(8, 1);
        var gauc = new GroupedAreaUnderCurve("User");
        gauc.Update(scores, labels, new Dictionary<string, Tensor> { ["User"] = tensor(new long[] { 1, 1, 1, 1, 2, 2, 2, 2 }) });
        Assert.Equal(0.25, gauc.Compute(), 15);
        // One group with one class only is left out; none with both classes is NaN.
        var oneClass = new GroupedAreaUnderCurve("User");
        oneClass.Update(scores, tensor(new float[] { 1, 1, 1, 1, 1, 0, 1, 0 }).reshape(8, 1), new Dictionary<string, Tensor> { ["User"] = tensor(new long[] { 1, 1, 1, 1, 2, 2, 2, 2 }) });
        Assert.Equal(0.25, oneClass.Compute(), 15);
        var none = new GroupedAreaUnderCurve("User");
        none.Update(scores, ones(8, 1), new Dictionary<string, Tensor> { ["User"] = tensor(new long[] { 1, 1, 1, 1, 2, 2, 2, 2 }) });
        Assert.True(double.IsNaN(none.Compute()));
    }

    [Fact]
    public void TheGroupAucNamesTheInputItNeeds()
    {
        var gauc = new GroupedAreaUnderCurve("User");
        Tensor scores = zeros(4, 1), labels = ones(4, 1);
        Assert.Contains("groups the samples by input 'User', which this call does not give", Assert.Throws<InvalidOperationException>(() => gauc.Update(scores, labels)).Message);
        Assert.Contains("the model's inputs are 'Dense', 'Tags'; name one of them",
            Assert.Throws<ArgumentException>(() => gauc.Update(scores, labels, new Dictionary<string, Tensor> { ["Dense"] = zeros(4, 2), ["Tags"] = zeros(4, 2, dtype: ScalarType.Int64) })).Message);
        Assert.Contains("must hold one integral id per sample ([N] or [N, 1] of N = 4), but it is Float32 [4]",
            Assert.Throws<ArgumentException>(() => gauc.Update(scores, labels, new Dictionary<string, Tensor> { ["User"] = zeros(4) })).Message);
        Assert.Contains("but it is Int64 [4, 2]",
            Assert.Throws<ArgumentException>(() => gauc.Update(scores, labels, new Dictionary<string, Tensor> { ["User"] = zeros(4, 2, dtype: ScalarType.Int64) })).Message);
        Assert.Throws<InvalidOperationException>(() => gauc.Compute());
    }

    [Fact]
    public void EvaluationGivesTheGroupAucTheBatchsInputs()
    {
        var (inputs, targets) = CategoricalInputTests.Problem(300, seed: 21);
        torch.manual_seed(2);
        using var model = new TestModels.RecommenderModel();
        var trainer = model.CreateTrainer(p => new Optimizers.Adam(p, lr: 1e-2));
        var result = trainer.Evaluate(Data.MultiTaskData<TestModels.RecommenderModel.Targets>.Shared(inputs, targets), batchSize: 37,
            metrics: t => t.Loss == Loss.BinaryCrossEntropyWithLogits ? [.. TaskMetrics.Default(t), new GroupedAreaUnderCurve("User")] : TaskMetrics.Default(t));
        // The same metric on the whole set in one call, from the model's outputs in evaluation mode.
        model.eval();
        using var noGrad = no_grad();
        var direct = new GroupedAreaUnderCurve("User");
        direct.Update(model.forward(inputs).Click, targets.Click, new Dictionary<string, Tensor> { ["Dense"] = inputs.Dense, ["User"] = inputs.User, ["Tags"] = inputs.Tags });
        Assert.Equal(direct.Compute(), result["Click", "gauc"], 12);
        Assert.InRange(result["Click", "gauc"], 0.0, 1.0);
    }

    private static double Auc(Tensor scores, Tensor labels)
    {
        var metric = new AreaUnderCurve();
        metric.Update(scores.reshape(-1, 1), labels.reshape(-1, 1));
        return metric.Compute();
    }
}
