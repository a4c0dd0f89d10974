using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The defining property of each method, on random problems with fixed seeds.</summary>
public class WeightingPropertyTests
{
    /// <summary>A trunk (one shared parameter vector θ) and K linear task losses L_k = a_k·θ + b_k, so that g_k = a_k exactly.</summary>
    private static (Parameter Theta, Tensor[] Losses, double[][] Gradients) LinearProblem(double[][] gradients)
    {
        var theta = new Parameter(zeros(gradients[0].Length, dtype: ScalarType.Float64));
        Tensor[] losses = gradients.Select((g, k) => (theta * tensor(g)).sum() + 1.0 + k).ToArray();
        return (theta, losses, gradients);
    }

    private static double[][] RandomGradients(Random random, int tasks, int size) =>
        Enumerable.Range(0, tasks).Select(_ => Enumerable.Range(0, size).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double[] Run(WeightingStrategy strategy, double[][] gradients)
    {
        var (theta, losses, _) = LinearProblem(gradients);
        strategy.Initialize(gradients.Length, ScalarType.Float64, CPU);
        strategy.Backward(losses, new WeightingContext([theta]));
        return theta.grad!.data<double>().ToArray();
    }

    [Fact]
    public void PCGradLeavesNoConflictBetweenTwoTasks()
    {
        var random = new Random(1);
        int conflicts = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            double[][] g = RandomGradients(random, 2, 6);
            if (Dot(g[0], g[1]) < 0) conflicts++;
            var strategy = new PCGrad(trial);
            var (theta, losses, _) = LinearProblem(g);
            strategy.Initialize(2, ScalarType.Float64, CPU);
            double[] beta = strategy.Backward(losses, new WeightingContext([theta]));
            // Σ_i pc_i with pc_0 ⟂ g_1 and pc_1 ⟂ g_0 when they conflicted: the combined step never opposes either task.
            double[] combined = theta.grad!.data<double>().ToArray();
            Assert.True(Dot(combined, combined) > 1e-6, $"trial {trial}: the combined gradient vanished");
            Assert.True(Dot(combined, g[0]) >= -1e-9 && Dot(combined, g[1]) >= -1e-9, $"trial {trial}: the combined gradient conflicts with a task");
            if (Dot(g[0], g[1]) >= 0) Assert.Equal([1.0, 1.0], beta);
        }
        Assert.InRange(conflicts, 50, 150);
    }

    [Fact]
    public void MgdaFindsTheMinimumNormPointOfTheConvexHull()
    {
        var random = new Random(2);
        for (int trial = 0; trial < 30; trial++)
        {
            double[][] g = RandomGradients(random, 3, 5);
            double[] combined = Run(new Mgda(), g);
            double norm = Dot(combined, combined);
            Assert.True(norm > 0, $"trial {trial}: MGDA's point is zero");
            double best = double.MaxValue;
            for (int a = 0; a <= 200; a++)
                for (int b = 0; a + b <= 200; b++)
                {
                    double w0 = a / 200.0, w1 = b / 200.0, w2 = 1 - w0 - w1;
                    double[] point = Enumerable.Range(0, 5).Select(p => w0 * g[0][p] + w1 * g[1][p] + w2 * g[2][p]).ToArray();
                    best = Math.Min(best, Dot(point, point));
                }
            Assert.True(norm <= best + 1e-4, $"trial {trial}: MGDA's point has squared norm {norm}, the grid finds {best}");
        }
    }

    [Fact]
    public void UncertaintyWeightingIsStationaryAtTheLogOfTheLoss()
    {
        double[] loss = [0.3, 2.5];
        var strategy = new UncertaintyWeighting();
        strategy.Initialize(2, ScalarType.Float64, CPU);
        strategy.LoadState(new Dictionary<string, double[]> { ["loss_scale"] = loss.Select(l => Math.Log(l)).ToArray() });
        Tensor[] losses = loss.Select(l => tensor(l, dtype: ScalarType.Float64, requires_grad: true)).ToArray();
        double[] weights = strategy.Backward(losses, new WeightingContext([]));
        Assert.All(strategy.Scale.grad!.data<double>().ToArray(), g => Assert.Equal(0, g, 12));
        for (int k = 0; k < loss.Length; k++) Assert.Equal(1 / (2 * loss[k]), weights[k], 12);
    }

    [Fact]
    public void ImtlMakesTheCombinedGradientEquallyProjectedOnEveryTask()
    {
        var random = new Random(4);
        for (int trial = 0; trial < 20; trial++)
        {
            double[][] g = RandomGradients(random, 3, 7);
            var strategy = new Imtl();
            var (theta, _, _) = LinearProblem(g);
            strategy.Initialize(3, ScalarType.Float64, CPU);
            // Linear losses have ∂L/∂θ = a_k whatever the scale, so with s = 0 the gradients IMTL sees are the a_k.
            Tensor[] losses = g.Select((a, k) => (theta * tensor(a)).sum() + 1.0 + k).ToArray();
            strategy.Backward(losses, new WeightingContext([theta]));
            double[] combined = theta.grad!.data<double>().ToArray();
            double[] projections = g.Select(a => Dot(combined, a) / Math.Sqrt(Dot(a, a))).ToArray();
            Assert.True(projections.Max() - projections.Min() < 1e-9 * Math.Abs(projections[0]) + 1e-12, $"trial {trial}: projections {string.Join(", ", projections)}");
        }
    }

    [Fact]
    public void AlignedMtlMakesTheAlignedTaskGradientsOrthogonalWithEqualNorms()
    {
        // The combination is Σ_j (B 1)_j g_j with B = √λ_min V Λ^{-1/2} Vᵀ; the aligned system G' = B G has G'G'ᵀ = λ_min I.
        var random = new Random(5);
        double[][] g = RandomGradients(random, 3, 8);
        double[,] gram = new double[3, 3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) gram[i, j] = Dot(g[i], g[j]);
        var (values, vectors) = WeightingMath.SymmetricEigen(gram);
        double smallest = values.Min();
        var b = new double[3, 3];
        for (int r = 0; r < 3; r++) for (int c = 0; c < 3; c++) for (int k = 0; k < 3; k++) b[r, c] += Math.Sqrt(smallest) * vectors[r, k] * vectors[c, k] / Math.Sqrt(values[k]);
        double[][] aligned = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 8).Select(p => Enumerable.Range(0, 3).Sum(j => b[r, j] * g[j][p])).ToArray()).ToArray();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(i == j ? smallest : 0, Dot(aligned[i], aligned[j]), 9);
        double[] combined = Run(new AlignedMtl(), g);
        double[] expected = Enumerable.Range(0, 8).Select(p => aligned.Sum(row => row[p])).ToArray();
        Assert.All(Enumerable.Range(0, 8), p => Assert.Equal(expected[p], combined[p], 9));
    }

    [Fact]
    public void CAGradsWeightsMinimiseItsObjective()
    {
        var random = new Random(6);
        for (int trial = 0; trial < 10; trial++)
        {
            double[][] g = RandomGradients(random, 3, 6);
            double[,] gram = new double[3, 3];
            double mean = 0;
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) { gram[i, j] = Dot(g[i], g[j]); mean += gram[i, j] / 9; }
            double c = 0.5 * Math.Sqrt(mean + 1e-8) + 1e-8;
            double[] w = CAGrad.Solve(gram, c);
            double value = CAGrad.Objective(w, gram, c);
            for (int a = 0; a <= 100; a++)
                for (int b2 = 0; a + b2 <= 100; b2++)
                    Assert.True(value <= CAGrad.Objective([a / 100.0, b2 / 100.0, 1 - a / 100.0 - b2 / 100.0], gram, c) + 1e-12);
        }
    }

    [Fact]
    public void GeometricLossStrategyWeightsAreTheGradientOfTheGeometricMean()
    {
        var strategy = new GeometricLossStrategy();
        strategy.Initialize(3, ScalarType.Float64, CPU);
        Tensor[] losses = new[] { 0.5, 2.0, 8.0 }.Select(l => tensor(l, dtype: ScalarType.Float64, requires_grad: true)).ToArray();
        double[] weights = strategy.Backward(losses, new WeightingContext([]));
        double[] gradients = losses.Select(l => l.grad!.item<double>()).ToArray();
        for (int k = 0; k < 3; k++) Assert.Equal(gradients[k], weights[k], 12);
        Assert.Equal(2.0 / (3 * 0.5), weights[0], 12); // (0.5·2·8)^{1/3} = 2
    }
}
