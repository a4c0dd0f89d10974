using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// AITM's transfer points ([Transfer], <see cref="TransferUnit"/>): the formula in float64, what reads what in the
/// forward pass (and in ForwardTask), the gradients that pass back up the funnel, and training.
/// </summary>
public class TransferTests(ITestOutputHelper output)
{
    private static AitmModel.Inputs Inputs(int count, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return new AitmModel.Inputs(randn([count, 6], generator: generator), randint(0, AitmModel.Users, [count], generator: generator),
            randint(0, AitmModel.Items, [count], generator: generator));
    }

    // The unit's output by its definition, in float64 from its own weights: p = ReLU(W z + b); u ∈ {q, p};
    // a = softmax_u(⟨Q u, K u⟩ / √D); Σ a_u V u.
    private static double[,] ByDefinition(TransferUnit unit, Tensor q, Tensor z)
    {
        var w = unit.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().to(ScalarType.Float64));
        double[,] Matrix(string name) { var t = w[name]; var m = new double[t.shape[0], t.shape[1]]; for (int i = 0; i < t.shape[0]; i++) for (int j = 0; j < t.shape[1]; j++) m[i, j] = t[i, j].item<double>(); return m; }
        double[] bias = w["info.bias"].data<double>().ToArray();
        double[,] info = Matrix("info.weight"), wq = Matrix("query.weight"), wk = Matrix("key.weight"), wv = Matrix("value.weight");
        int n = (int)q.shape[0], d = (int)q.shape[1];
        double[] Map(double[,] m, double[] x, double[]? b = null) => Enumerable.Range(0, d).Select(i => Enumerable.Range(0, d).Sum(j => m[i, j] * x[j]) + (b?[i] ?? 0)).ToArray();
        var result = new double[n, d];
        Tensor q64 = q.to(ScalarType.Float64), z64 = z.to(ScalarType.Float64);
        for (int r = 0; r < n; r++)
        {
            double[] own = q64[r].data<double>().ToArray(), source = z64[r].data<double>().ToArray();
            double[] passed = Map(info, source, bias).Select(v => Math.Max(0, v)).ToArray();
            double[][] candidates = [own, passed];
            double[] scores = candidates.Select(u => Map(wq, u).Zip(Map(wk, u), (a, b) => a * b).Sum() / Math.Sqrt(d)).ToArray();
            double top = scores.Max();
            double[] weights = scores.Select(s => Math.Exp(s - top)).ToArray();
            double total = weights.Sum();
            for (int k = 0; k < 2; k++)
            {
                double[] v = Map(wv, candidates[k]);
                for (int i = 0; i < d; i++) result[r, i] += weights[k] / total * v[i];
            }
        }
        return result;
    }

    [Fact]
    public void TheUnitComputesAitmsAttentionOfTheTowerAndWhatPasses()
    {
        torch.manual_seed(3);
        using var unit = new TransferUnit(5, "Click");
        Assert.Equal(4 * 25 + 5, unit.parameters().Sum(p => p.numel()));
        Assert.Equal(["info.weight", "info.bias", "query.weight", "key.weight", "value.weight"], unit.named_parameters().Select(p => p.name).OrderBy(n => n == "info.weight" ? 0 : n == "info.bias" ? 1 : n == "query.weight" ? 2 : n == "key.weight" ? 3 : 4));
        Tensor q = randn(7, 5) * 2, z = randn(7, 5) * 2;
        Tensor got = unit.Forward(q, z);
        double[,] expected = ByDefinition(unit, q, z);
        for (int r = 0; r < 7; r++)
            for (int i = 0; i < 5; i++)
                Assert.True(Math.Abs(got[r, i].item<float>() - expected[r, i]) < 1e-5, $"[{r}, {i}]: {got[r, i].item<float>()} against {expected[r, i]}");
        // In float64, to rounding.
        unit.to(ScalarType.Float64);
        Tensor exact = unit.Forward(q.to(ScalarType.Float64), z.to(ScalarType.Float64));
        for (int r = 0; r < 7; r++)
            for (int i = 0; i < 5; i++)
                Assert.True(Math.Abs(exact[r, i].item<double>() - expected[r, i]) < 1e-12);
        // A point with a source does not run as a plain layer; one without passes its input on.
        Assert.Contains("reads task 'Click''s point too", Assert.Throws<InvalidOperationException>(() => unit.forward(q.to(ScalarType.Float64))).Message);
        using var plain = new TransferUnit(5, null);
        Assert.Empty(plain.parameters());
        Assert.True(plain.forward(q).eq(q).all().item<bool>());
        Assert.Throws<ArgumentException>(() => new TransferUnit(5, "Click").Forward(randn(3, 5), randn(3, 4)));
    }

    [Fact]
    public void EachTowerReadsTheOneBeforeItAndForwardTaskAgreesWithForward()
    {
        torch.manual_seed(5);
        using var model = new AitmModel();
        model.eval();
        var inputs = Inputs(9, seed: 1);
        Assert.Equal(AitmModel.ParameterCount, model.parameters().Sum(p => p.numel()));
        Assert.Equal(2 * (4 * 16 * 16 + 16), model.named_parameters().Where(p => p.name.Contains(".2.", StringComparison.Ordinal)).Sum(p => p.parameter.numel()));
        using var noGrad = no_grad();
        var outputs = model.forward(inputs);
        Assert.True(model.ForwardClick(inputs).eq(outputs.Click).all().item<bool>());
        Assert.True(model.ForwardConversion(inputs).allclose(outputs.Conversion));
        Assert.True(model.ForwardPurchase(inputs).allclose(outputs.Purchase));
        // The click tower's first layer moves the conversion's and the purchase's outputs; the purchase tower moves no other.
        model.named_parameters().Single(p => p.name == "click.0.weight").parameter.add_(0.5);
        var moved = model.forward(inputs);
        Assert.False(moved.Conversion.allclose(outputs.Conversion));
        Assert.False(moved.Purchase.allclose(outputs.Purchase));
        model.named_parameters().Single(p => p.name == "purchase.0.weight").parameter.add_(0.5);
        var again = model.forward(inputs);
        Assert.True(again.Click.eq(moved.Click).all().item<bool>() && again.Conversion.eq(moved.Conversion).all().item<bool>());
        Assert.False(again.Purchase.allclose(moved.Purchase));
        // The head alone (its Sequential) refuses to run without the point it reads.
        Assert.Throws<InvalidOperationException>(() => model.Conversion.forward(randn(2, 32)));
    }

    [Fact]
    public void ThePurchaseLossReachesEveryTowerBeforeIt()
    {
        torch.manual_seed(6);
        using var model = new AitmModel();
        var inputs = Inputs(16, seed: 2);
        var outputs = model.forward(inputs);
        outputs.Purchase.sum().backward();
        foreach (string tower in new[] { "click.0.weight", "conversion.0.weight", "conversion.2.info.weight", "purchase.2.query.weight", "shared.0.weight" })
            Assert.True(model.named_parameters().Single(p => p.name == tower).parameter.grad is { } g && g.abs().sum().item<float>() > 0, $"{tower} has no gradient from the purchase's output");
        Tensor? unused = model.named_parameters().Single(p => p.name == "click.3.weight").parameter.grad;
        Assert.True(unused is null || unused.abs().sum().item<float>() == 0, "the click's output layer is not on the purchase's path");
    }

    // A funnel whose later steps happen only after the earlier ones: click, then conversion, then purchase, each rare.
    private static (AitmModel.Inputs Inputs, AitmModel.Targets Targets) Funnel(int count, int seed)
    {
        var inputs = Inputs(count, seed);
        using var generator = new Generator((ulong)seed + 100);
        Tensor score = inputs.Dense[.., 0] + 0.5 * inputs.Dense[.., 1] + (inputs.User % 3).to(ScalarType.Float32) * 0.3 - 0.2;
        Tensor click = (score + randn([count], generator: generator) * 0.5).gt(0).to(ScalarType.Float32);
        Tensor conversion = click * (inputs.Dense[.., 2] + score * 0.5 + randn([count], generator: generator) * 0.5).gt(0.3).to(ScalarType.Float32);
        Tensor purchase = conversion * (inputs.Dense[.., 3] + randn([count], generator: generator) * 0.5).gt(0).to(ScalarType.Float32);
        return (inputs, new AitmModel.Targets(click.unsqueeze(1), conversion.unsqueeze(1), purchase.unsqueeze(1)));
    }

    public static TheoryData<string> Strategies => new() { "static", "PCGrad", "MGDA in representation mode" };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void AitmLearnsTheFunnel(string strategy)
    {
        var (trainInputs, trainTargets) = Funnel(3000, seed: 1);
        var (testInputs, testTargets) = Funnel(1000, seed: 2);
        torch.manual_seed(7);
        using var model = new AitmModel();
        var trainer = strategy switch
        {
            "PCGrad" => model.CreateTrainer(p => new MtlDsl.Optimizers.Adam(p, lr: 1e-2), new PCGrad(seed: 1)),
            "static" => model.CreateTrainer(p => new MtlDsl.Optimizers.Adam(p, lr: 1e-2)),
            _ => new MultiTaskTrainer<AitmModel.Outputs, AitmModel.Targets, AitmModel.LossValues>(model, p => new MtlDsl.Optimizers.Adam(p, lr: 1e-2), new Mgda(), GradientMode.Representation),
        };
        TrainingHistory history = trainer.Fit(MultiTaskData<AitmModel.Targets>.Shared(trainInputs, trainTargets), new FitOptions { Epochs = 6, BatchSize = 128, Seed = 3 });
        EvaluationResult result = trainer.Evaluate(MultiTaskData<AitmModel.Targets>.Shared(testInputs, testTargets));
        output.WriteLine($"{strategy}: losses {string.Join(", ", history.Epochs[0].TrainLosses.Select(v => v.ToString("F3")))} → {string.Join(", ", history.Epochs[^1].TrainLosses.Select(v => v.ToString("F3")))}; " +
            $"AUC click {result["Click", "auc"]:F3}, conversion {result["Conversion", "auc"]:F3}, purchase {result["Purchase", "auc"]:F3}");
        for (int t = 0; t < 3; t++) Assert.True(history.Epochs[^1].TrainLosses[t] < history.Epochs[0].TrainLosses[t]);
        Assert.True(result["Click", "auc"] > 0.85 && result["Conversion", "auc"] > 0.85 && result["Purchase", "auc"] > 0.8);
    }
}
