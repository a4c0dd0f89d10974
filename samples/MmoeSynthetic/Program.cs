using System.Diagnostics;
using System.Globalization;
using MmoeSynthetic;
using MtlDsl;
using ScottPlot;
using TorchSharp;
using static TorchSharp.torch;

// Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts" (KDD 2018), §4:
// Shared-Bottom, the one-gate mixture of experts (OMoE) and MMoE on two synthetic regression tasks whose correlation
// falls. The paper's finding: all three do about as well on perfectly correlated tasks, and as the correlation falls
// Shared-Bottom loses the most and MMoE the least.
//   dotnet run -c Release --project samples/MmoeSynthetic                 10 seeds per point (time in docs/samples.md)
//   options: --seeds N, --epochs N, --correlations 1,0.9,0.5,0, --out <folder>
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
int seeds = int.TryParse(Value("--seeds"), out int s) ? s : 10;
int epochs = int.TryParse(Value("--epochs"), out int e) ? e : 20;
double[] correlations = Value("--correlations")?.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray() ?? [1.0, 0.9, 0.5, 0.0];
string output = Value("--out") ?? Path.Combine("out", "mmoe-synthetic");
const int TrainingExamples = 10_000, TestExamples = 2_000, Batch = 128;
const double LearningRate = 1e-3;
string[] models = ["Shared-Bottom", "OMoE", "MMoE"];

Console.WriteLine($"parameters: Shared-Bottom {SharedBottom.ParameterCount:N0}, OMoE {OneGateMoE.ParameterCount:N0}, MMoE {MultiGateMoE.ParameterCount:N0}");
Console.WriteLine($"{TrainingExamples:N0} training and {TestExamples:N0} test examples per seed, Adam (rate {LearningRate}), batch {Batch}, {epochs} epochs, {seeds} seeds per point");
Console.WriteLine();
var clock = Stopwatch.StartNew();
// For every model, correlation and seed: the training loss of every epoch (mean of the two tasks) and the test MSE.
var curves = models.Select(_ => correlations.Select(_ => new double[seeds][]).ToArray()).ToArray();
var losses = models.Select(_ => correlations.Select(_ => new double[seeds]).ToArray()).ToArray();
var pearson = new double[correlations.Length];
for (int c = 0; c < correlations.Length; c++)
{
    for (int seed = 0; seed < seeds; seed++)
    {
        using var scope = NewDisposeScope();
        // The same seed at every correlation: the same directions, sines, inputs and noise, only p differs (common random
        // numbers: the comparison across correlations is paired, as the one across models).
        var data = SyntheticTasks.Generate(correlations[c], TrainingExamples, TestExamples, seed: seed);
        pearson[c] += SyntheticTasks.Pearson(data.Y1, data.Y2) / seeds;
        for (int m = 0; m < models.Length; m++)
        {
            torch.manual_seed(seed);
            (curves[m][c][seed], losses[m][c][seed]) = models[m] switch
            {
                "Shared-Bottom" => Train<SharedBottom.Outputs, SharedBottom.Targets, SharedBottom.LossValues>(new SharedBottom(), data, epochs, seed),
                "OMoE" => Train<OneGateMoE.Outputs, OneGateMoE.Targets, OneGateMoE.LossValues>(new OneGateMoE(), data, epochs, seed),
                _ => Train<MultiGateMoE.Outputs, MultiGateMoE.Targets, MultiGateMoE.LossValues>(new MultiGateMoE(), data, epochs, seed),
            };
        }
    }
    Console.WriteLine($"correlation score {correlations[c]:0.0#} (label Pearson {pearson[c]:0.00}): " +
        string.Join(", ", models.Select((m, k) => $"{m} {AreaUnder(curves[k][c]):0.000}")) + $"  [{clock.Elapsed.TotalSeconds:F0} s]");
}

// The paper plots the training loss over the steps, averaged over runs: its mean over all epochs (the area under
// that curve) is the table's first number; the test MSE after the last epoch the second. ± is the standard error of
// the mean over seeds; every model trains on the same data and seed.
Console.WriteLine();
Console.WriteLine("Training loss averaged over all epochs | test MSE after the last epoch (both the mean of the two tasks; mean ± standard error over seeds):");
Console.WriteLine();
Console.WriteLine($"| correlation score | label Pearson | {string.Join(" | ", models)} |");
Console.WriteLine($"|---|---|{string.Concat(models.Select(_ => "---|"))}");
for (int c = 0; c < correlations.Length; c++)
    Console.WriteLine($"| {correlations[c]:0.0#} | {pearson[c]:0.00} | {string.Join(" | ", models.Select((_, m) =>
        $"{AreaUnder(curves[m][c]):0.000} ± {Sem(curves[m][c].Select(Mean).ToArray()):0.000} \\| {Mean(losses[m][c]):0.000} ± {Sem(losses[m][c]):0.000}"))} |");

// The paper's findings, checked on the numbers above (training loss averaged over the epochs): (1) every model
// does better on more correlated tasks; (2) MMoE's loss varies less across correlations than OMoE's; (3) both
// mixtures do better than Shared-Bottom at every correlation.
Console.WriteLine();
int[] order = Enumerable.Range(0, correlations.Length).OrderByDescending(c => correlations[c]).ToArray();
double Area(int m, int c) => AreaUnder(curves[m][c]);
bool falls = Enumerable.Range(0, models.Length).All(m => order.Zip(order.Skip(1)).All(pair => Area(m, pair.Second) >= Area(m, pair.First)));
double Spread(int m) => order.Max(c => Area(m, c)) - order.Min(c => Area(m, c));
bool robust = Spread(2) < Spread(1);
bool mixturesBetter = order.All(c => Area(1, c) < Area(0, c) && Area(2, c) < Area(0, c));
Console.WriteLine($"(1) every model's loss grows as the correlation falls: {(falls ? "yes" : "no")}");
Console.WriteLine($"(2) spread of the loss across correlations: OMoE {Spread(1):0.000}, MMoE {Spread(2):0.000}: {(robust ? "MMoE is the more robust, as in the paper" : "not as in the paper")}");
Console.WriteLine($"(3) OMoE and MMoE below Shared-Bottom at every correlation: {(mixturesBetter ? "yes" : "no")}");

Directory.CreateDirectory(output);
for (int c = 0; c < correlations.Length; c++)
{
    var curve = new Plot();
    double[] xs = Enumerable.Range(1, epochs).Select(x => (double)x).ToArray();
    for (int m = 0; m < models.Length; m++)
    {
        int model = m, correlation = c;
        var line = curve.Add.Scatter(xs, xs.Select((_, epoch) => curves[model][correlation].Average(run => run[epoch])).ToArray());
        line.LegendText = models[m];
    }
    curve.Title($"Training loss, correlation score {correlations[c]:0.0#} (mean of {seeds} runs)");
    curve.XLabel("epoch");
    curve.YLabel("training loss (mean of the two tasks)");
    curve.Axes.SetLimitsY(0, curves.Max(model => model[c].Max(run => run.Skip(Math.Min(2, epochs - 1)).Max())) * 1.1);
    curve.ShowLegend(Alignment.UpperRight);
    curve.SavePng(Path.Combine(output, $"training-loss-{correlations[c].ToString("0.0#", CultureInfo.InvariantCulture)}.png"), 900, 540);
}
var plot = new Plot();
double[] scores = order.Select(c => correlations[c]).ToArray();
for (int m = 0; m < models.Length; m++)
{
    int model = m;
    double[] ys = order.Select(c => Area(model, c)).ToArray();
    var line = plot.Add.Scatter(scores, ys);
    line.LegendText = models[m];
    var bars = plot.Add.ErrorBar(scores, ys, order.Select(c => Sem(curves[model][c].Select(Mean).ToArray())).ToArray());
    bars.Color = line.Color;
}
plot.Title("Ma et al. 2018, §4: training loss as the task correlation falls");
plot.XLabel("correlation score p");
plot.YLabel("training loss averaged over the epochs");
plot.ShowLegend(Alignment.UpperRight);
plot.SavePng(Path.Combine(output, "correlation.png"), 900, 540);
Console.WriteLine($"total {clock.Elapsed.TotalSeconds:F0} s; plots in {Path.GetFullPath(output)}");
return 0;

static double Mean(double[] values) => values.Average();

// The training loss averaged over every epoch and run.
static double AreaUnder(double[][] runs) => runs.Average(Mean);

static double Sem(double[] values)
{
    double mean = values.Average();
    return values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1) / values.Length);
}

// Trains one model with the declared (equal) weights; returns every epoch's training loss and the test MSE, each
// averaged over the two tasks.
static (double[] Curve, double TestMse) Train<TOutputs, TTargets, TLossValues>(MultiTaskModule<TOutputs, TTargets> model,
    (Tensor X, Tensor Y1, Tensor Y2, Tensor TestX, Tensor TestY1, Tensor TestY2) data, int epochs, int seed)
    where TOutputs : ITaskTensors<TOutputs>
    where TTargets : ITaskTensors<TTargets>
    where TLossValues : ITaskLossValues<TLossValues>
{
    using var _ = model;
    var trainer = new MtlDsl.Training.MultiTaskTrainer<TOutputs, TTargets, TLossValues>(model, optim.Adam(model.parameters(), lr: LearningRate));
    var shuffle = new torch.Generator((ulong)seed);
    long n = data.X.shape[0];
    for (int epoch = 0; epoch < epochs; epoch++)
    {
        Tensor order = randperm(n, generator: shuffle);
        for (long start = 0; start < n; start += Batch)
        {
            using var scope = NewDisposeScope();
            Tensor batch = order.narrow(0, start, Math.Min(Batch, n - start));
            trainer.Step(data.X[batch], TTargets.Create([data.Y1[batch], data.Y2[batch]]));
        }
        trainer.EndEpoch();
    }
    double[] curve = trainer.EpochLosses.Select(l => l.Average()).ToArray();
    model.eval();
    using var noGrad = no_grad();
    using var evaluation = NewDisposeScope();
    TOutputs outputs = model.forward(data.TestX);
    double mse1 = nn.functional.mse_loss(outputs[0], data.TestY1).item<float>(), mse2 = nn.functional.mse_loss(outputs[1], data.TestY2).item<float>();
    return (curve, (mse1 + mse2) / 2);
}
