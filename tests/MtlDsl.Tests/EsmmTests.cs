using MtlDsl.Data;
using MtlDsl.Losses;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Tasks built from tasks (tests/Models/EsmmModel.cs, ESMM): the product logit against its definition and at logits
/// where σ rounds to 1, the forward pass and ForwardTask of the product task, the weight-0 factor trained only through
/// the product (static weights and PCGrad), and ESMM on a synthetic impression → click → conversion funnel.
/// </summary>
public class EsmmTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    // −logsumexp over the non-empty subsets S of −Σ_S aᵢ, and its gradient (the softmax weights of the subsets that
    // hold i), in float64 with the largest term taken out.
    private static (double Logit, double[] Gradient) Reference(double[] a)
    {
        int n = a.Length;
        var terms = new double[(1 << n) - 1];
        for (int s = 1; s < 1 << n; s++)
            for (int i = 0; i < n; i++)
                if ((s & (1 << i)) != 0) terms[s - 1] -= a[i];
        double max = terms.Max();
        double total = terms.Sum(t => Math.Exp(t - max));
        var gradient = new double[n];
        for (int s = 1; s < 1 << n; s++)
            for (int i = 0; i < n; i++)
                if ((s & (1 << i)) != 0) gradient[i] += Math.Exp(terms[s - 1] - max) / total;
        return (-(max + Math.Log(total)), gradient);
    }

    [Fact]
    public void TheProductLogitIsTheLogitOfTheProductOfProbabilities()
    {
        var random = new Random(3);
        for (int n = 2; n <= 4; n++)
        {
            double[][] values = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 200).Select(_ => random.NextDouble() * 12 - 6).ToArray()).ToArray();
            Tensor result = TaskCombination.ProductLogit(values.Select(v => tensor(v, ScalarType.Float64)).ToArray());
            Assert.Equal(ScalarType.Float64, result.dtype);
            double[] got = result.data<double>().ToArray();
            for (int j = 0; j < 200; j++)
            {
                double p = 1;
                for (int i = 0; i < n; i++) p *= Sigmoid(values[i][j]);
                double expected = Math.Log(p / (1 - p));
                Assert.True(Math.Abs(got[j] - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"{n} factors, sample {j}: {got[j]} against {expected}");
            }
        }
    }

    [Theory]
    [InlineData(80, 80)]
    [InlineData(80, 20)]
    [InlineData(30, 17)]
    [InlineData(-80, 80)]
    [InlineData(80, -80)]
    [InlineData(-80, -80)]
    [InlineData(0, 80)]
    [InlineData(-40, 3)]
    public void TheProductLogitAndItsGradientAreFiniteAndExactInFloat32(double a, double b)
    {
        // σ(80) is 1 in float32: the naive logit of σ(a)·σ(b) is +∞ there, and its gradient NaN.
        Tensor left = tensor(new[] { (float)a }).requires_grad_(true), right = tensor(new[] { (float)b }).requires_grad_(true);
        Tensor logit = TaskCombination.ProductLogit([left, right]);
        logit.sum().backward();
        var (expected, gradient) = Reference([a, b]);
        float got = logit.item<float>();
        Assert.True(float.IsFinite(got));
        Assert.True(Math.Abs(got - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"logit {got} against {expected}");
        float gotLeft = left.grad!.item<float>(), gotRight = right.grad!.item<float>();
        Assert.True(Math.Abs(gotLeft - gradient[0]) <= 1e-6, $"∂/∂a {gotLeft} against {gradient[0]}");
        Assert.True(Math.Abs(gotRight - gradient[1]) <= 1e-6, $"∂/∂b {gotRight} against {gradient[1]}");
    }

    [Fact]
    public void TheProductRefusesFewerThanTwoFactorsAndShapesThatDiffer()
    {
        Assert.Throws<ArgumentException>(() => TaskCombination.ProductLogit([zeros(3)]));
        Assert.Throws<ArgumentException>(() => TaskCombination.ProductLogit([zeros(3), zeros(4)]));
        Assert.Throws<ArgumentException>(() => new TaskDefinition("P", Loss.BinaryCrossEntropyWithLogits, 1, [1]) { Factors = [0, 0] });
    }

    // Impressions: a user, an item and four dense features each. A click's logit comes from the user and the item;
    // a conversion's (whether the user would convert once on the item's page) from the dense features and the item.
    // Observed: the click on every impression, the conversion only after a click. Targets as ESMM trains them: click,
    // click ∧ conversion on every impression, and the conversion on the clicked rows only (NaN elsewhere). The last
    // item is the conversion itself on every impression, which the data knows and a real log would not.
    internal static (EsmmModel.Inputs Inputs, EsmmModel.Targets Targets, Tensor Converts) Funnel(int count, int seed)
    {
        var world = new Random(11);
        double[] userClick = Enumerable.Range(0, EsmmModel.Users).Select(_ => world.NextDouble() * 3 - 1.5).ToArray();
        double[] itemClick = Enumerable.Range(0, EsmmModel.Items).Select(_ => world.NextDouble() * 3 - 1.5).ToArray();
        double[] itemConvert = Enumerable.Range(0, EsmmModel.Items).Select(_ => world.NextDouble() * 2 - 1).ToArray();
        double[] weights = [2.0, -1.5, 1.0, 0.5];

        var random = new Random(seed);
        var dense = new float[count * 4];
        var users = new long[count];
        var items = new long[count];
        var clicks = new float[count];
        var conversions = new float[count];
        var both = new float[count];
        var converts = new float[count];
        for (int i = 0; i < count; i++)
        {
            users[i] = random.Next(EsmmModel.Users);
            items[i] = random.Next(EsmmModel.Items);
            double convertLogit = itemConvert[items[i]] - 0.5;
            for (int f = 0; f < 4; f++)
            {
                double x = random.NextDouble() * 2 - 1;
                dense[i * 4 + f] = (float)x;
                convertLogit += weights[f] * x;
            }
            bool clicked = random.NextDouble() < Sigmoid(userClick[users[i]] + itemClick[items[i]] - 0.5);
            bool converted = random.NextDouble() < Sigmoid(convertLogit);
            clicks[i] = clicked ? 1 : 0;
            converts[i] = converted ? 1 : 0;
            conversions[i] = clicked ? converts[i] : float.NaN;
            both[i] = clicked && converted ? 1 : 0;
        }
        return (new EsmmModel.Inputs(tensor(dense, [count, 4]), tensor(users), tensor(items)),
            new EsmmModel.Targets(tensor(clicks, [count, 1]), tensor(conversions, [count, 1]), tensor(both, [count, 1])),
            tensor(converts, [count, 1]));
    }

    [Fact]
    public void TheProductTaskIsComputedFromItsFactorsAndHasNoLayers()
    {
        torch.manual_seed(2);
        using var model = new EsmmModel();
        model.eval();
        var (inputs, _, _) = Funnel(50, seed: 5);
        Assert.Equal([0, 1], model.Tasks[2].Factors!);
        Assert.True(model.Tasks[2].IsProduct);
        Assert.True(model.Tasks[1].ScoredOnly);
        Assert.Null(model.Tasks[0].Factors);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("click_and_conversion", StringComparison.Ordinal));
        Assert.DoesNotContain(EsmmModel.Summary.Layers, l => l.Block == "click_and_conversion");
        Assert.Equal(EsmmModel.ParameterCount, model.parameters().Sum(p => p.numel()));
        using (no_grad())
        {
            var outputs = model.forward(inputs);
            Tensor expected = TaskCombination.ProductLogit([outputs.Click, outputs.Conversion]);
            Assert.True(outputs.ClickAndConversion.eq(expected).all().item<bool>());
            Assert.True(model.ForwardClickAndConversion(inputs).allclose(expected));
            Assert.True(model.ForwardConversion(inputs).allclose(outputs.Conversion));
            // The probability is the product of the factors' probabilities.
            Assert.True(outputs.ClickAndConversion.sigmoid().allclose(outputs.Click.sigmoid() * outputs.Conversion.sigmoid(), rtol: 1e-5, atol: 1e-7));
        }
    }

    public static TheoryData<string> Strategies => new() { "static", "PCGrad" };

    private static WeightingStrategy? Strategy(string name) => name == "PCGrad" ? new PCGrad(seed: 1) : null;

    [Theory]
    [MemberData(nameof(Strategies))]
    public void TheWeightZeroTaskIsTrainedOnlyThroughTheProduct(string strategy)
    {
        var (inputs, targets, _) = Funnel(64, seed: 9);
        // Every conversion label given, no product label: the conversion tower must not move.
        var conversionOnly = targets with { ClickAndConversion = full([64, 1], float.NaN) };
        torch.manual_seed(4);
        using var model = new EsmmModel();
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, 0.5), Strategy(strategy));
        Dictionary<string, Tensor> Tower() => model.named_parameters().Where(p => p.name.StartsWith("conversion.", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var before = Tower();
        var losses = trainer.Step(inputs, conversionOnly);
        Assert.True(double.IsNaN(losses.Conversion), $"the training loss of a weight-0 task is NaN (no labels), got {losses.Conversion}");
        Assert.True(double.IsNaN(losses.ClickAndConversion));
        Assert.False(double.IsNaN(losses.Click));
        foreach (var (name, value) in Tower())
            Assert.True(value.eq(before[name]).all().item<bool>(), $"{strategy}: {name} moved without a product label");
        // The click tower and the shared block did learn.
        Assert.Contains(model.named_parameters(), p => p.name.StartsWith("click.", StringComparison.Ordinal) && p.parameter.grad is { } g && g.abs().sum().item<float>() > 0);

        // With the product's labels, the conversion tower gets the product's gradient alone: the same as a step whose
        // conversion labels are all missing.
        torch.manual_seed(4);
        using var twin = new EsmmModel();
        var twinTrainer = twin.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, 0.5), Strategy(strategy));
        torch.manual_seed(4);
        using var again = new EsmmModel();
        var againTrainer = again.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, 0.5), Strategy(strategy));
        var withLabels = twinTrainer.Step(inputs, targets);
        againTrainer.Step(inputs, targets with { Conversion = full([64, 1], float.NaN) });
        Assert.True(double.IsNaN(withLabels.Conversion));
        var moved = twin.named_parameters().Where(p => p.name.StartsWith("conversion.", StringComparison.Ordinal)).ToList();
        var reference = again.named_parameters().Where(p => p.name.StartsWith("conversion.", StringComparison.Ordinal)).ToList();
        Assert.Contains(moved, p => !p.parameter.eq(before[p.name]).all().item<bool>());
        for (int i = 0; i < moved.Count; i++)
            Assert.True(moved[i].parameter.allclose(reference[i].parameter, rtol: 1e-6, atol: 1e-7), $"{strategy}: {moved[i].name} learned from its own labels");
    }

    // Every strategy: a step whose batch holds conversion labels but no product label leaves the conversion tower as
    // it was, and reports no training loss for it, exactly as for a task without labels.
    public static TheoryData<string> AllStrategies => new(WeightingStrategies.Names);

    [Theory]
    [MemberData(nameof(AllStrategies))]
    public void NoStrategyTrainsTheWeightZeroTaskByItsOwnLoss(string strategy)
    {
        var (inputs, targets, _) = Funnel(64, seed: 9);
        torch.manual_seed(4);
        using var model = new EsmmModel();
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, 0.5), WeightingStrategies.Create(strategy, seed: 2));
        var before = model.named_parameters().Where(p => p.name.StartsWith("conversion.", StringComparison.Ordinal)).ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var losses = trainer.Step(inputs, targets with { ClickAndConversion = full([64, 1], float.NaN) });
        Assert.True(double.IsNaN(losses.Conversion));
        foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.StartsWith("conversion.", StringComparison.Ordinal)))
            Assert.True(parameter.eq(before[name]).all().item<bool>(), $"{strategy}: {name} moved");
    }

    // DWA weighs the tasks by their last two epochs' losses: the weight-0 factor has none, keeps 1 (its loss is a 0),
    // and the others share their count as without it.
    [Fact]
    public void DwaLeavesTheWeightZeroTaskOut()
    {
        var (inputs, targets, _) = Funnel(256, seed: 4);
        torch.manual_seed(5);
        using var model = new EsmmModel();
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2), new DynamicWeightAverage());
        TrainingHistory history = trainer.Fit(MultiTaskData<EsmmModel.Targets>.Shared(inputs, targets), new FitOptions { Epochs = 4, BatchSize = 64, Seed = 1 });
        IReadOnlyList<double> weights = history.Epochs[^1].Weights;
        Assert.All(weights, w => Assert.True(double.IsFinite(w)));
        Assert.Equal(1.0, weights[1]);
        Assert.Equal(2.0, weights[0] + weights[2], 10);
        Assert.NotEqual(1.0, weights[0]);
    }

    [Fact]
    public void EsmmLearnsTheConversionRateOverTheEntireSpace()
    {
        var (trainInputs, trainTargets, _) = Funnel(4000, seed: 1);
        var (testInputs, testTargets, testConverts) = Funnel(2000, seed: 2);
        torch.manual_seed(3);
        using var model = new EsmmModel();
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2));
        TrainingHistory history = trainer.Fit(MultiTaskData<EsmmModel.Targets>.Shared(trainInputs, trainTargets),
            new FitOptions { Epochs = 12, BatchSize = 128, Seed = 7 }, MultiTaskData<EsmmModel.Targets>.Shared(testInputs, testTargets));

        IReadOnlyList<double> first = history.Epochs[0].TrainLosses, last = history.Epochs[^1].TrainLosses;
        output.WriteLine($"train losses {string.Join(", ", first.Select(v => v.ToString("F4")))} → {string.Join(", ", last.Select(v => v.ToString("F4")))}");
        Assert.True(last[0] < first[0] && last[2] < first[2], "the click and click-and-conversion losses fall");
        Assert.True(double.IsNaN(first[1]) && double.IsNaN(last[1]), "the conversion tower has no training loss of its own");

        // Scored on the clicked rows (its targets), and over the entire space against the conversion itself.
        EvaluationResult clicked = trainer.Evaluate(MultiTaskData<EsmmModel.Targets>.Shared(testInputs, testTargets));
        EvaluationResult entire = trainer.Evaluate(MultiTaskData<EsmmModel.Targets>.Shared(testInputs, testTargets with { Conversion = testConverts }));
        double clickAuc = entire["Click", "auc"], cvrAuc = entire["Conversion", "auc"], ctcvrAuc = entire["ClickAndConversion", "auc"];
        output.WriteLine($"AUC: click {clickAuc:F3}, CVR on clicks {clicked["Conversion", "auc"]:F3}, CVR entire space {cvrAuc:F3}, CTCVR {ctcvrAuc:F3}; validation loss of Conversion {clicked["Conversion", "loss"]:F4}");
        Assert.False(double.IsNaN(clicked["Conversion", "loss"]));
        Assert.True(clickAuc > 0.72, $"click AUC {clickAuc}");
        Assert.True(cvrAuc > 0.75, $"entire-space CVR AUC {cvrAuc}");
        Assert.True(ctcvrAuc > 0.72, $"CTCVR AUC {ctcvrAuc}");
        Assert.False(double.IsNaN(history.Epochs[^1].Validation!.Losses[1]));
    }
}
