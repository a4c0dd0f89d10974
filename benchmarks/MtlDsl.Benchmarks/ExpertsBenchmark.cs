using System.Diagnostics;
using MtlDsl.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MtlDsl.Benchmarks;

/// <summary>A recommendation-sized MMoE: 8 experts of two layers on 256 dense features, two towers (click, watch time).</summary>
[MultiTaskModel]
[Input(256)]
[MMoE(8)]
public partial class BenchmarkMMoE
{
    [Trunk]
    [Linear(128), ReLU, Linear(64), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential WatchTime { get; }
}

/// <summary>The same network as CGC: 4 shared experts and 2 per task.</summary>
[MultiTaskModel]
[Input(256)]
[CGC(4, 2)]
public partial class BenchmarkCGC
{
    [Trunk]
    [Linear(128), ReLU, Linear(64), ReLU]
    public partial Sequential Expert { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError, Weight = 0.5)]
    [Linear(32), ReLU, Linear(1)]
    public partial Sequential WatchTime { get; }
}

/// <summary>
/// MMoE and CGC written by hand in plain TorchSharp, as a careful user would without MtlDsl: shared experts, each
/// task's own experts (none for MMoE), a softmax gate per task on the input, the towers, and the joint loss
/// BCE + 0.5·MSE. The state-dict names are the generated model's, so both start from the same weights.
/// </summary>
public sealed class HandWrittenExperts : Module<Tensor, (Tensor Click, Tensor WatchTime)>
{
    private readonly ModuleList<Sequential> shared;
    private readonly ModuleList<Sequential> clickExperts, watchExperts;
    private readonly Sequential clickGate, watchGate, click, watchTime;

    public HandWrittenExperts(int sharedExperts, int taskExperts) : base(nameof(HandWrittenExperts))
    {
        static Sequential Expert() => Sequential(Linear(256, 128), ReLU(), Linear(128, 64), ReLU());
        shared = new ModuleList<Sequential>(Enumerable.Range(0, sharedExperts).Select(_ => Expert()).ToArray());
        clickExperts = new ModuleList<Sequential>(Enumerable.Range(0, taskExperts).Select(_ => Expert()).ToArray());
        watchExperts = new ModuleList<Sequential>(Enumerable.Range(0, taskExperts).Select(_ => Expert()).ToArray());
        clickGate = Sequential(Linear(256, sharedExperts + taskExperts), Softmax(-1));
        watchGate = Sequential(Linear(256, sharedExperts + taskExperts), Softmax(-1));
        click = Sequential(Linear(64, 32), ReLU(), Linear(32, 1));
        watchTime = Sequential(Linear(64, 32), ReLU(), Linear(32, 1));
        RegisterComponents();
    }

    /// <summary>The generated model's parameters, by their state-dict names, copied into this one's.</summary>
    public void CopyFrom(nn.Module generated, bool perTaskGates)
    {
        var source = generated.state_dict();
        string Gate(string task) => perTaskGates ? $"gates.{task}" : "gate";
        var map = new Dictionary<string, string>();
        foreach (string name in state_dict().Keys)
        {
            string[] parts = name.Split('.');
            map[name] = parts[0] switch
            {
                "shared" => $"expert.shared.{string.Join('.', parts[1..])}",
                "clickExperts" => $"expert.tasks.click.{string.Join('.', parts[1..])}",
                "watchExperts" => $"expert.tasks.watch_time.{string.Join('.', parts[1..])}",
                "clickGate" => $"{Gate("click")}.{string.Join('.', parts[1..])}",
                "watchGate" => $"{Gate("watch_time")}.{string.Join('.', parts[1..])}",
                "click" => name,
                _ => $"watch_time.{string.Join('.', parts[1..])}",
            };
        }
        using var noGrad = no_grad();
        foreach (var (name, tensor) in state_dict()) tensor.copy_(source[map[name]]);
    }

    private static Tensor Mix(Sequential gate, Tensor input, Tensor experts)
    {
        Tensor weights = gate.forward(input);                         // [N, E]
        return (experts * weights.t().unsqueeze(-1)).sum(dim: 0);     // Σ_e w[n, e] · expert_e[n, :]
    }

    public override (Tensor Click, Tensor WatchTime) forward(Tensor input)
    {
        Tensor sharedOut = stack(shared.Select(e => e.forward(input)).ToArray());
        Tensor Own(ModuleList<Sequential> experts) => experts.Count == 0 ? sharedOut : cat([sharedOut, stack(experts.Select(e => e.forward(input)).ToArray())], 0);
        return (click.forward(Mix(clickGate, input, Own(clickExperts))), watchTime.forward(Mix(watchGate, input, Own(watchExperts))));
    }

    public void Step(optim.Optimizer optimizer, Tensor input, Tensor clicks, Tensor watch)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var (c, w) = forward(input);
        Tensor total = functional.binary_cross_entropy_with_logits(c, clicks) + functional.mse_loss(w, watch) * 0.5;
        total.detach().cpu().item<float>();
        total.backward();
        optimizer.step();
    }
}

/// <summary>The generated MMoE and CGC against the hand-written ones: step time side by side, interleaved rounds.</summary>
internal static class ExpertsBenchmark
{
    public static void Run(int rounds, int stepsPerRound, int batch)
    {
        torch.manual_seed(0);
        Tensor features = randn(batch * 8, 256), clicks = randint(0, 2, [batch * 8, 1]).to(ScalarType.Float32), watch = randn(batch * 8, 1);
        Tensor[] x = features.split(batch), c = clicks.split(batch), w = watch.split(batch);
        Console.WriteLine($"MMoE and CGC on 256 features, batch {batch}, Adam; {torch.get_num_threads()} thread(s)");
        Compare("MMoE (8 experts)", new BenchmarkMMoE(), () => new HandWrittenExperts(8, 0), perTaskGates: true, x, c, w, rounds, stepsPerRound,
            (m, o) => { var t = ((BenchmarkMMoE)m).CreateTrainer(o); return (i, a, b) => t.Step(i, new BenchmarkMMoE.Targets(a, b)); });
        Compare("CGC (4 shared, 2 per task)", new BenchmarkCGC(), () => new HandWrittenExperts(4, 2), perTaskGates: true, x, c, w, rounds, stepsPerRound,
            (m, o) => { var t = ((BenchmarkCGC)m).CreateTrainer(o); return (i, a, b) => t.Step(i, new BenchmarkCGC.Targets(a, b)); });
    }

    private static void Compare(string name, nn.Module generated, Func<HandWrittenExperts> handWritten, bool perTaskGates, Tensor[] x, Tensor[] c, Tensor[] w,
        int rounds, int stepsPerRound, Func<nn.Module, optim.Optimizer, Action<Tensor, Tensor, Tensor>> trainer)
    {
        using var _ = generated;
        // Two hand-written copies: the second, measured like the first, shows how far apart two identical networks
        // land on this machine (the noise floor of the ratio).
        using HandWrittenExperts first = handWritten(), second = handWritten();
        first.CopyFrom(generated, perTaskGates);
        second.CopyFrom(generated, perTaskGates);
        Action<Tensor, Tensor, Tensor> generatedStep = trainer(generated, optim.Adam(generated.parameters(), lr: 1e-3));
        optim.Optimizer firstOptimizer = optim.Adam(first.parameters(), lr: 1e-3), secondOptimizer = optim.Adam(second.parameters(), lr: 1e-3);
        int cursor = 0;
        Action[] candidates =
        [
            () => { int b = cursor++ % x.Length; first.Step(firstOptimizer, x[b], c[b], w[b]); },
            () => { int b = cursor++ % x.Length; second.Step(secondOptimizer, x[b], c[b], w[b]); },
            () => { int b = cursor++ % x.Length; generatedStep(x[b], c[b], w[b]); },
        ];

        // Same weights, same outputs: the two compute the same network.
        using (no_grad())
        {
            generated.eval();
            first.eval();
            dynamic outputs = ((dynamic)generated).forward(x[0]);
            var (hc, hw) = first.forward(x[0]);
            double difference = Math.Max(((Tensor)outputs[0] - hc).abs().max().item<float>(), ((Tensor)outputs[1] - hw).abs().max().item<float>());
            Console.WriteLine($"{name}: {generated.parameters().Sum(p => p.numel()):N0} parameters; largest output difference on the same weights {difference:E1}");
            generated.train();
            first.train();
        }
        for (int i = 0; i < 20; i++) foreach (Action step in candidates) step();
        var (values, ratios) = Statistics.Interleaved(candidates.Length, rounds, k =>
        {
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < stepsPerRound; s++) candidates[k]();
            return watch.Elapsed.TotalMilliseconds / stepsPerRound;
        });
        Console.WriteLine($"  hand-written {Statistics.Median(values[0]),7:F3} ms   generated {Statistics.Median(values[2]),7:F3} ms   " +
                          $"ratio generated / hand-written {Statistics.Median(ratios[2]):F3} (goal <= 1.02); hand-written copy / hand-written {Statistics.Median(ratios[1]):F3} " +
                          $"(the noise floor); medians of {rounds} interleaved rounds of {stepsPerRound} steps");
    }
}
