using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// What the papers prove of UPGrad, DualProj, Nash-MTL, FairGrad, FAMO, ConFIG and GradVac, checked on random and
/// adversarial task gradients (K = 2…6: random, conflicting, aligned, rank-deficient, with tiny and huge norms, a zero
/// gradient, a duplicated task) through each strategy's own backward pass, with fixed seeds.
/// </summary>
public class GradientMethodPropertyTests
{
    // K linear losses L_k = g_k·θ + 1 + k on one shared parameter vector θ, so that the task gradients are exactly g_k.
    private static double[] Run(WeightingStrategy strategy, double[][] gradients, out double[] weights)
    {
        var theta = new Parameter(zeros(gradients[0].Length, dtype: ScalarType.Float64));
        Tensor[] losses = gradients.Select((g, k) => (theta * tensor(g)).sum() + 1.0 + k).ToArray();
        strategy.Initialize(gradients.Length, ScalarType.Float64, CPU);
        weights = strategy.Backward(losses, new WeightingContext([theta]));
        return theta.grad!.data<double>().ToArray();
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double[,] Gram(double[][] g)
    {
        var gram = new double[g.Length, g.Length];
        for (int i = 0; i < g.Length; i++) for (int j = 0; j < g.Length; j++) gram[i, j] = Dot(g[i], g[j]);
        return gram;
    }

    /// <summary>A family of task gradients and its name.</summary>
    internal static IEnumerable<(string Name, double[][] Gradients)> Problems(int seed)
    {
        var random = new Random(seed);
        double[] Vector(int size, double scale = 1) => Enumerable.Range(0, size).Select(_ => scale * (random.NextDouble() * 2 - 1)).ToArray();
        for (int k = 2; k <= 6; k++)
        {
            int size = 3 + k;
            yield return ($"random K={k}", Enumerable.Range(0, k).Select(_ => Vector(size)).ToArray());
            // Conflicting: around a common direction with opposite large components.
            double[] common = Vector(size);
            yield return ($"conflicting K={k}", Enumerable.Range(0, k).Select(i => common.Zip(Vector(size, 3), (c, v) => 0.2 * c + v * (i % 2 == 0 ? 1 : -1)).ToArray()).ToArray());
            // Aligned: positive multiples of one direction plus a little noise.
            yield return ($"aligned K={k}", Enumerable.Range(0, k).Select(i => common.Zip(Vector(size, 0.01), (c, v) => (1 + i) * c + v).ToArray()).ToArray());
            // Rank-deficient: K gradients in a space of dimension 2.
            double[] a = Vector(size), b = Vector(size);
            yield return ($"rank 2 K={k}", Enumerable.Range(0, k).Select(_ => { double x = random.NextDouble() * 2 - 1, y = random.NextDouble() * 2 - 1; return a.Zip(b, (p, q) => x * p + y * q).ToArray(); }).ToArray());
            yield return ($"tiny K={k}", Enumerable.Range(0, k).Select(_ => Vector(size, 1e-9)).ToArray());
            yield return ($"huge K={k}", Enumerable.Range(0, k).Select(_ => Vector(size, 1e9)).ToArray());
            double[][] duplicated = Enumerable.Range(0, k).Select(_ => Vector(size)).ToArray();
            duplicated[k - 1] = (double[])duplicated[0].Clone();
            yield return ($"duplicated K={k}", duplicated);
            double[][] zero = Enumerable.Range(0, k).Select(_ => Vector(size)).ToArray();
            zero[1] = new double[size];
            yield return ($"zero gradient K={k}", zero);
            // Tasks of very different scales (a regression target in thousands beside a classification): norms from 1e-4 to 1e4.
            yield return ($"scales K={k}", Enumerable.Range(0, k).Select(i => Vector(size, Math.Pow(10, -4 + 8.0 * i / (k - 1)))).ToArray());
        }
    }

    // Whether the origin is in the convex hull of the tasks' gradients (their min-norm point, by Frank–Wolfe, vanishes):
    // a Pareto-stationary point, where no positive weights solve Nash-MTL's or FairGrad's system.
    private static bool ParetoStationary(double[][] g, int[] tasks)
    {
        // Whether the origin is in their cone does not depend on their norms: decide it on the unit gradients.
        double[][] unit = g.Select(x => { double n = Math.Sqrt(Dot(x, x)); return n == 0 ? x : x.Select(v => v / n).ToArray(); }).ToArray();
        double[,] gram = Gram(unit);
        var w = tasks.Select(_ => 1.0 / tasks.Length).ToArray();
        for (int iteration = 0; iteration < 20000; iteration++)
        {
            double[] gradient = tasks.Select(i => tasks.Select((j, b) => gram[i, j] * w[b]).Sum()).ToArray();
            int best = Array.IndexOf(gradient, gradient.Min());
            double step = 2.0 / (iteration + 3);
            for (int b = 0; b < w.Length; b++) w[b] = (1 - step) * w[b] + (b == best ? step : 0);
        }
        double norm = tasks.Select((i, a) => tasks.Select((j, b) => w[a] * gram[i, j] * w[b]).Sum()).Sum();
        return norm < 1e-6;
    }

    public static TheoryData<string> Strategies => ["UPGrad", "DualProj", "Nash-MTL", "FairGrad", "ConFIG", "GradVac", "FAMO"];

    [Theory]
    [MemberData(nameof(Strategies))]
    public void NoProblemGivesANaNOrAnInfinity(string name)
    {
        foreach (var (problem, g) in Problems(seed: 1))
        {
            double[] update = Run(WeightingStrategies.Create(name, seed: 2), g, out double[] weights);
            Assert.True(update.All(double.IsFinite) && weights.All(double.IsFinite), $"{name}, {problem}: update {string.Join(", ", update)}, weights {string.Join(", ", weights)}");
        }
    }

    [Theory]
    [InlineData("UPGrad")]
    [InlineData("DualProj")]
    public void TheUpdateConflictsWithNoTaskAndIsTheMeanWhenNoneConflict(string name)
    {
        foreach (var (problem, g) in Problems(seed: 3))
        {
            double[] update = Run(WeightingStrategies.Create(name), g, out double[] weights);
            int k = g.Length;
            double trace = g.Sum(x => Dot(x, x));
            if (trace < 1e-4)
            {
                // Below torchjd's norm_eps the Gram matrix counts as zero: the update is the mean.
                Assert.All(weights, w => Assert.Equal(1.0 / k, w, 12));
                continue;
            }
            for (int j = 0; j < k; j++)
            {
                // Non-negative up to the regularisation ε_reg = 1e-4 of the normalised Gram matrix.
                double allowed = 1e-4 * trace * Math.Abs(weights[j]) + 1e-12 * trace;
                Assert.True(Dot(g[j], update) >= -allowed, $"{name}, {problem}: task {j}'s gradient has {Dot(g[j], update):G4} with the update");
            }
            bool conflict = false;
            for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) conflict |= Dot(g[i], g[j]) < 0;
            if (!conflict)
                Assert.All(weights, w => Assert.Equal(1.0 / k, w, 12));
        }
    }

    [Fact]
    public void UPGradIsTheMeanOfEachTasksProjection()
    {
        // Against a brute-force solve of each task's quadratic program (coordinate descent to convergence).
        foreach (var (problem, g) in Problems(seed: 4).Where(p => p.Name.StartsWith("conflicting", StringComparison.Ordinal)))
        {
            Run(new UPGrad(), g, out double[] weights);
            int k = g.Length;
            double[,] gram = WeightingMath.NormalizedGram(Gram(g), 1e-4, 1e-4);
            var expected = new double[k];
            for (int i = 0; i < k; i++)
            {
                var v = new double[k];
                v[i] = 1.0 / k;
                for (int sweep = 0; sweep < 20000; sweep++)
                    for (int m = 0; m < k; m++)
                    {
                        double rest = 0;
                        for (int l = 0; l < k; l++) if (l != m) rest += gram[m, l] * v[l];
                        v[m] = Math.Max(m == i ? 1.0 / k : 0, -rest / gram[m, m]);
                    }
                for (int m = 0; m < k; m++) expected[m] += v[m];
            }
            for (int m = 0; m < k; m++) Assert.True(Math.Abs(expected[m] - weights[m]) < 1e-8, $"{problem}: weight {m} is {weights[m]}, coordinate descent {expected[m]}");
        }
    }

    [Fact]
    public void NashMtlsWeightsSolveTheBargainingSystem()
    {
        foreach (var (problem, g) in Problems(seed: 5))
        {
            var strategy = new NashMtl(maxNorm: 0);
            Run(strategy, g, out double[] alpha);
            double[,] gram = Gram(g);
            double frobenius = Math.Sqrt(gram.Cast<double>().Sum(v => v * v));
            double largest = Math.Sqrt(Enumerable.Range(0, g.Length).Max(k => gram[k, k]));
            int[] bargaining = Enumerable.Range(0, g.Length).Where(k => Math.Sqrt(gram[k, k]) > largest * 2.220446049250313e-16).ToArray();
            if (ParetoStationary(g, bargaining))
            {
                // The gradients span the origin positively: no α solves the system; the solve stays finite.
                Assert.True(alpha.All(a => a > 0 && double.IsFinite(a)), $"{problem}: α {string.Join(", ", alpha)}");
                continue;
            }
            foreach (int i in bargaining)
            {
                double lhs = bargaining.Sum(j => gram[i, j] / frobenius * alpha[j]);
                Assert.True(Math.Abs(lhs - 1 / alpha[i]) <= 1e-6 / alpha[i], $"{problem}: (Gα)_{i} = {lhs}, 1/α_{i} = {1 / alpha[i]}");
            }
            Assert.True(strategy.LastResidual < 1e-6, $"{problem}: residual {strategy.LastResidual}");
            foreach (int k in Enumerable.Range(0, g.Length).Except(bargaining)) Assert.Equal(1.0, alpha[k]);
            if (problem.StartsWith("scales", StringComparison.Ordinal)) Assert.Equal(g.Length, bargaining.Length);
        }
    }

    [Fact]
    public void NashMtlClipsTheTrunkGradientAndWeightsTheHeads()
    {
        var random = new Random(6);
        double[][] g = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 5).Select(_ => 10 * random.NextDouble()).ToArray()).ToArray();
        double[] update = Run(new NashMtl(maxNorm: 1.0), g, out double[] alpha);
        Assert.Equal(1.0, Math.Sqrt(Dot(update, update)), 9);
        double[] unclipped = Enumerable.Range(0, 5).Select(p => Enumerable.Range(0, 3).Sum(k => alpha[k] * g[k][p])).ToArray();
        for (int p = 0; p < 5; p++) Assert.Equal(unclipped[p] / Math.Sqrt(Dot(unclipped, unclipped)), update[p], 9);

        // Heads: each gets α_k times its task's gradient (the step back-propagates Σ α_k L_k).
        var theta = new Parameter(zeros(5, dtype: ScalarType.Float64));
        var heads = Enumerable.Range(0, 3).Select(_ => new Parameter(ones(1, dtype: ScalarType.Float64))).ToArray();
        Tensor[] losses = g.Select((gk, k) => (theta * tensor(gk)).sum() * heads[k].sum() + heads[k].sum() * (k + 1)).ToArray();
        var strategy = new NashMtl(maxNorm: 0);
        strategy.Initialize(3, ScalarType.Float64, CPU);
        double[] weights = strategy.Backward(losses, new WeightingContext([theta]));
        for (int k = 0; k < 3; k++) Assert.Equal(weights[k] * (k + 1), heads[k].grad!.item<double>(), 9);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(5.0)]
    public void FairGradsWeightsSolveItsFairnessEquation(double alpha)
    {
        foreach (var (problem, g) in Problems(seed: 7).Where(p => !p.Name.StartsWith("zero", StringComparison.Ordinal)))
        {
            Run(new FairGrad(alpha), g, out double[] w);
            double[,] gram = Gram(g);
            if (ParetoStationary(g, Enumerable.Range(0, g.Length).ToArray()))
            {
                Assert.True(w.All(x => x > 0 && double.IsFinite(x)), $"α={alpha}, {problem}: w {string.Join(", ", w)}");
                continue;
            }
            for (int i = 0; i < g.Length; i++)
            {
                double lhs = Enumerable.Range(0, g.Length).Sum(j => gram[i, j] * w[j]), rhs = Math.Pow(w[i], -1 / alpha);
                Assert.True(Math.Abs(lhs - rhs) <= 1e-6 * rhs, $"α={alpha}, {problem}: (GGᵀw)_{i} = {lhs:G6}, w_{i}^(−1/α) = {rhs:G6}");
            }
        }
    }

    [Fact]
    public void ConFIGsUpdateMakesTheSameAcuteAngleWithEveryTask()
    {
        foreach (var (problem, g) in Problems(seed: 8).Where(p => !p.Name.StartsWith("rank", StringComparison.Ordinal) && !p.Name.StartsWith("duplicated", StringComparison.Ordinal)))
        {
            double[] update = Run(new ConFIG(), g, out _);
            double norm = Math.Sqrt(Dot(update, update));
            int[] active = Enumerable.Range(0, g.Length).Where(k => Dot(g[k], g[k]) > 0).ToArray();
            double[] cosines = active.Select(k => Dot(g[k], update) / (Math.Sqrt(Dot(g[k], g[k])) * norm)).ToArray();
            Assert.True(cosines.All(c => c > 0), $"{problem}: cosines {string.Join(", ", cosines)}");
            Assert.True(cosines.Max() - cosines.Min() < 1e-9, $"{problem}: cosines {string.Join(", ", cosines)}");
            // Its length is the sum of the task gradients' projections on its direction.
            Assert.True(Math.Abs(norm - active.Sum(k => Dot(g[k], update) / norm)) <= 1e-9 * norm, $"{problem}: length {norm}");
        }
    }

    [Fact]
    public void ConFIGSharesTheDirectionAmongDuplicatedTasks()
    {
        foreach (var (problem, g) in Problems(seed: 9).Where(p => p.Name.StartsWith("duplicated", StringComparison.Ordinal)))
        {
            double[] update = Run(new ConFIG(), g, out _);
            double norm = Math.Sqrt(Dot(update, update));
            double[] cosines = g.Select(x => Dot(x, update) / (Math.Sqrt(Dot(x, x)) * norm)).ToArray();
            Assert.True(cosines.Max() - cosines.Min() < 1e-9 && cosines.Min() > 0, $"{problem}: cosines {string.Join(", ", cosines)}");
        }
    }

    [Fact]
    public void FamosWeightsAndLogitsFollowItsClosedFormUpdate()
    {
        // Three steps on fixed losses before and after: weights z_k / (c L_k), then one Adam step on ξ along
        // (diag(z) − z zᵀ) δ + γ ξ with δ = log L_before − log L_after.
        var strategy = new Famo(learningRate: 0.025, weightDecay: 1e-3);
        strategy.Initialize(3, ScalarType.Float64, CPU);
        double[] xi = new double[3], m = new double[3], v = new double[3];
        double[][] before = [[2.0, 0.5, 0.01], [1.5, 0.45, 0.009], [1.2, 0.44, 0.002]];
        double[][] after = [[1.5, 0.45, 0.009], [1.2, 0.44, 0.002], [1.0, 0.43, 0.0019]];
        for (int t = 0; t < 3; t++)
        {
            double[] z = Softmax(xi);
            Tensor[] losses = before[t].Select(l => tensor(l, dtype: ScalarType.Float64, requires_grad: true)).ToArray();
            double[] weights = strategy.Backward(losses, new WeightingContext([]));
            double c = Enumerable.Range(0, 3).Sum(k => z[k] / (before[t][k] + 1e-8));
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(z[k] / (c * (before[t][k] + 1e-8)), weights[k], 12);
                Assert.Equal(weights[k], losses[k].grad!.item<double>(), 12);
            }
            strategy.AfterStep(after[t]);
            double[] delta = Enumerable.Range(0, 3).Select(k => Math.Log(before[t][k] + 1e-8) - Math.Log(after[t][k] + 1e-8)).ToArray();
            double zDelta = Dot(z, delta);
            for (int k = 0; k < 3; k++)
            {
                double gradient = z[k] * (delta[k] - zDelta) + 1e-3 * xi[k];
                m[k] = 0.9 * m[k] + 0.1 * gradient;
                v[k] = 0.999 * v[k] + 0.001 * gradient * gradient;
                xi[k] -= 0.025 * (m[k] / (1 - Math.Pow(0.9, t + 1))) / (Math.Sqrt(v[k] / (1 - Math.Pow(0.999, t + 1))) + 1e-8);
            }
            double[] logits = strategy.GetState()["logits"];
            for (int k = 0; k < 3; k++) Assert.Equal(xi[k], logits[k], 14);
        }
        // The task whose loss fell least (relatively) gains weight: the second.
        Assert.True(strategy.Distribution[1] > strategy.Distribution[0] && strategy.Distribution[1] > strategy.Distribution[2]);
    }

    private static double[] Softmax(double[] x)
    {
        double max = x.Max();
        double[] e = x.Select(v => Math.Exp(v - max)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    [Theory]
    [InlineData("GradVac")]
    [InlineData("PCGrad")]
    public void AShufflingStrategyCreatedWithoutASeedResumesWithTheSavedOne(string name)
    {
        var random = new Random(11);
        double[][] g = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 4).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        WeightingStrategy Make(int? seed) => name == "GradVac" ? new GradVac(seed: seed) : new PCGrad(seed);
        WeightingStrategy first = Make(null);
        Run(first, g, out _);
        IReadOnlyDictionary<string, double[]> saved = first.GetState();

        WeightingStrategy resumed = Make(null);
        resumed.Initialize(3, ScalarType.Float64, CPU);
        resumed.LoadState(saved);
        Assert.Equal(saved.Keys.Order(), resumed.GetState().Keys.Order());
        foreach (var (key, value) in saved) Assert.Equal(value, resumed.GetState()[key]);
        // The next steps shuffle alike.
        Assert.Equal(Run(first, g, out _), Run(resumed, g, out _));

        WeightingStrategy other = Make((int)saved["shuffle"][0] + 1);
        other.Initialize(3, ScalarType.Float64, CPU);
        var error = Assert.Throws<ArgumentException>(() => other.LoadState(saved));
        Assert.Contains($"saved with the seed {(int)saved["shuffle"][0]}", error.Message);
    }

    [Fact]
    public void FamoLeavesATaskWithoutLabelsOutOfTheStep()
    {
        var strategy = new Famo();
        strategy.Initialize(2, ScalarType.Float64, CPU);
        Tensor[] losses = [tensor(0.7, dtype: ScalarType.Float64, requires_grad: true), tensor(0.0, dtype: ScalarType.Float64, requires_grad: true)];
        double[] weights = strategy.Backward(losses, new WeightingContext([], present: [true, false]));
        Assert.Equal(1.0, weights[0], 9);  // alone: z_0 / (c (L_0 + ε)) with c = z_0 / (L_0 + ε)
        Assert.Equal(0, weights[1]);
        strategy.AfterStep([0.6, double.NaN]);
        double[] logits = strategy.GetState()["logits"];
        Assert.True(logits.All(double.IsFinite));
    }

    [Fact]
    public void GradVacsFirstStepAdjustsOnlyConflictingPairsAndTracksTheirCosines()
    {
        var random = new Random(10);
        for (int trial = 0; trial < 50; trial++)
        {
            double[][] g = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 6).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
            var strategy = new GradVac(beta: 0.5, shuffle: false);
            double[] update = Run(strategy, g, out double[] weights);
            double cosine = Dot(g[0], g[1]) / (Math.Sqrt(Dot(g[0], g[0]) * Dot(g[1], g[1])) + 1e-8);
            if (cosine >= 0)
            {
                Assert.All(weights, w => Assert.Equal(1.0, w, 12));
            }
            else
            {
                // Target 0: pc_0 = g_0 + w g_1 is moved until it is orthogonal to g_1, and pc_1 likewise to g_0.
                double[] pc0 = g[0].Zip(g[1], (a, b) => a + (weights[1] - 1) * b).ToArray();
                double[] pc1 = g[1].Zip(g[0], (a, b) => a + (weights[0] - 1) * b).ToArray();
                Assert.True(Math.Abs(Dot(pc0, g[1])) < 1e-6 * Math.Sqrt(Dot(pc0, pc0) * Dot(g[1], g[1])), $"trial {trial}: pc_0·g_1 = {Dot(pc0, g[1])}");
                Assert.True(Math.Abs(Dot(pc1, g[0])) < 1e-6 * Math.Sqrt(Dot(pc1, pc1) * Dot(g[0], g[0])), $"trial {trial}: pc_1·g_0 = {Dot(pc1, g[0])}");
                for (int p = 0; p < 6; p++) Assert.Equal(pc0[p] + pc1[p], update[p], 9);
            }
            Assert.Equal(0.5 * cosine, strategy.Targets[1, 0], 9);
            Assert.Equal(0.5 * cosine, strategy.Targets[0, 1], 9);
        }
    }
}
