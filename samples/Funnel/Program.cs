using System.Diagnostics;
using System.Globalization;
using Funnel;
using MtlDsl;
using static TorchSharp.torch;

// An advertising funnel, impression → click → conversion, with a known selection bias (FunnelWorld.cs): conversions
// are observed only after a click. Five models learn it from the same impressions and are scored on unseen ones:
//   CVR alone      the conversion model as usually trained: on the clicked impressions only (ESMM's paper's baseline)
//   Shared-bottom  click and conversion, hard sharing (the conversion on the clicked impressions, missing elsewhere)
//   MMoE, PLE      the same two tasks, experts over a shared bottom of embeddings
//   ESMM           the conversion trained over every impression through pCTR × pCVR (Ma et al., SIGIR 2018)
//   AITM           the click and the click followed by a conversion over every impression, the second tower reading the
//                  first's through a transfer point (Xi et al., KDD 2021); its conversion rate is pCTCVR / pCTR
// The conversion models are scored where they are used: over every impression (the entire space), against whether the
// user would convert after a click, which the synthetic world knows for every impression and a log does not.
//   dotnet run -c Release --project samples/Funnel                       5 seeds (time in docs/samples.md)
//   options: --seeds N, --epochs N (at most), --models "CVR alone,ESMM", --impressions N (training), --out <folder> (pictures and PyTorch twins)
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
int seeds = int.TryParse(Value("--seeds"), out int s) ? s : 5;
int epochs = int.TryParse(Value("--epochs"), out int e) ? e : 30;
int impressions = int.TryParse(Value("--impressions"), out int n) ? n : 40_000;
string output = Value("--out") ?? Path.Combine("out", "funnel");
const int TestImpressions = 20_000;

var world = new FunnelWorld(seed: 2018);
Impressions testSet = world.Draw(TestImpressions, seed: 1_000_000);
Console.WriteLine($"{impressions:N0} training impressions per seed ({testSet.Click.mean().item<float>():P1} clicked in the test set; " +
    $"{testSet.Converts[testSet.Click > 0.5].mean().item<float>():P1} of the clicks convert, {testSet.Converts.mean().item<float>():P1} of all impressions would), " +
    $"{TestImpressions:N0} test impressions; Adam {FunnelExperiment.LearningRate}, batch {FunnelExperiment.Batch}, at most {epochs} epochs (early stopping on the conversion loss of the held-out clicked impressions), {seeds} seeds");
Console.WriteLine($"parameters: Shared-bottom and CVR alone {FunnelSharedBottom.ParameterCount:N0}, MMoE {FunnelMmoe.ParameterCount:N0}, PLE {FunnelPle.ParameterCount:N0}, ESMM {FunnelEsmm.ParameterCount:N0}, AITM {FunnelAitm.ParameterCount:N0}");
Console.WriteLine();

string[] models = Value("--models")?.Split(',') ?? FunnelExperiment.Models;
string[] columns = ["click AUC", "CVR AUC, clicked", "CVR AUC, entire space", "CTCVR AUC"];
var scores = models.Select(_ => columns.Select(_ => new double[seeds]).ToArray()).ToArray();
var seconds = new double[models.Length];
var clock = Stopwatch.StartNew();
for (int seed = 0; seed < seeds; seed++)
{
    using var scope = NewDisposeScope();
    Impressions train = world.Draw(impressions, seed: seed + 1);
    for (int m = 0; m < models.Length; m++)
    {
        var watch = Stopwatch.StartNew();
        double[] values = FunnelExperiment.Run(models[m], train, testSet, epochs, seed).Values;
        seconds[m] += watch.Elapsed.TotalSeconds / seeds;
        for (int c = 0; c < columns.Length; c++) scores[m][c][seed] = values[c];
    }
    Console.WriteLine($"seed {seed}: entire-space CVR AUC " + string.Join(", ", models.Select((name, m) => $"{name} {scores[m][2][seed]:F3}")) + $"  [{clock.Elapsed.TotalSeconds:F0} s]");
}

Console.WriteLine();
Console.WriteLine($"Test AUCs, mean ± standard error over {seeds} seeds (every model sees the same impressions and starts from the same seed):");
Console.WriteLine();
Console.WriteLine($"| model | {string.Join(" | ", columns)} | time s |");
Console.WriteLine($"|---|{string.Concat(columns.Select(_ => "---|"))}---|");
for (int m = 0; m < models.Length; m++)
    Console.WriteLine($"| {models[m]} | {string.Join(" | ", scores[m].Select(Cell))} | {seconds[m]:F1} |");
// The labels were drawn from the world's own probabilities: scored by them, the test set gives the best AUC any model can.
Console.WriteLine($"| the world's own probabilities (the ceiling) | {string.Join(" | ", FunnelScores.Of(testSet.ClickLogit, testSet.ConversionLogit, testSet).Values.Select(v => v.ToString("F3")))} | |");

// ESMM's claim (and AITM's), checked seed by seed against the conversion model trained on the clicked impressions
// (and against the shared-bottom model, which sees the unclicked impressions through its click task only).
Console.WriteLine();
foreach (string model in new[] { "ESMM", "AITM" }.Where(models.Contains))
    foreach (string baseline in new[] { "CVR alone", "Shared-bottom" }.Where(models.Contains))
    {
        double[] difference = scores[Array.IndexOf(models, model)][2].Zip(scores[Array.IndexOf(models, baseline)][2], (a, b) => a - b).ToArray();
        Console.WriteLine($"{model} − {baseline}, entire-space CVR AUC: {difference.Average():+0.000;−0.000} ± {Sem(difference):0.000}, higher in {difference.Count(d => d > 0)} of {seeds} seeds");
    }
Directory.CreateDirectory(output);
Write(new FunnelSharedBottom());
Write(new FunnelMmoe());
Write(new FunnelPle());
Write(new FunnelEsmm());
Write(new FunnelAitm());
Console.WriteLine($"total {clock.Elapsed.TotalSeconds:F0} s; the five networks drawn (.svg) and as PyTorch modules (pytorch/) in {Path.GetFullPath(output)}");
return 0;

// The network's picture and its PyTorch twin (module, mtldsl_torch.py, weights, train_ddp.py for torchrun).
void Write<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
    where TOutputs : ITaskTensors<TOutputs>
    where TTargets : ITaskTensors<TTargets>
{
    using var _ = model;
    string name = model.GetName();
    File.WriteAllText(Path.Combine(output, name + ".svg"), ModelDiagram.Svg(model));
    model.ExportPyTorch(Path.Combine(output, "pytorch", name));
}

string Cell(double[] values) => values.All(double.IsNaN) ? "—" : $"{values.Average():F3} ± {Sem(values):F3}";

static double Sem(double[] values)
{
    double mean = values.Average();
    return values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1) / values.Length);
}
