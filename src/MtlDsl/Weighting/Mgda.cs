namespace MtlDsl.Weighting;

/// <summary>How MGDA normalises the task gradients before solving (LibMTL's <c>mgda_gn</c>).</summary>
public enum MgdaNormalization
{
    /// <summary>No normalisation.</summary>
    None,

    /// <summary>Each gradient divided by its L2 norm.</summary>
    L2,

    /// <summary>Each gradient divided by its task's loss.</summary>
    Loss,

    /// <summary>Each gradient divided by its task's loss times its L2 norm.</summary>
    LossPlus,
}

/// <summary>
/// The multiple-gradient descent algorithm (MGDA; Sener and Koltun, "Multi-Task Learning as Multi-Objective
/// Optimization", NeurIPS 2018): the trunk follows the minimum-norm point of the convex hull of the (normalised)
/// task gradients. As in LibMTL: the exact closed form for two tasks, with 0.999 / 0.001 instead of 1 / 0 at the
/// ends; for three or more, the pairwise start and the projected Frank–Wolfe iteration (at most 250 steps, stop
/// when the weights change by less than 1e-5). The trunk's gradient is Σ w_k g_k / n_k with the normalisers n_k,
/// not rescaled back (LibMTL's choice); the reported weights are w.
/// </summary>
/// <param name="normalization">The gradient normalisation; none by default, as LibMTL.</param>
public sealed class Mgda(MgdaNormalization normalization = MgdaNormalization.None) : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "MGDA";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("normalization", Normalization.ToString().ToLowerInvariant())];

    /// <summary>The gradient normalisation.</summary>
    public MgdaNormalization Normalization { get; } = normalization;

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        double[] normalizers = Enumerable.Range(0, n).Select(k => Normalization switch
        {
            MgdaNormalization.L2 => info.Norm(k),
            MgdaNormalization.Loss => info.Losses[k],
            MgdaNormalization.LossPlus => info.Losses[k] * info.Norm(k),
            _ => 1.0,
        }).ToArray();
        if (normalizers.Any(v => !(v > 0) || !double.IsFinite(v)))
            throw new InvalidOperationException($"MGDA ({Normalization}): a task's normaliser is {string.Join(", ", normalizers)}; a zero gradient or loss cannot be normalised.");
        var gram = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) gram[i, j] = info.Gram[i, j] / (normalizers[i] * normalizers[j]);
        double[] weights = MinNormSolver.Solve(gram);
        return (weights.Select((w, k) => w / normalizers[k]).ToArray(), weights);
    }
}

/// <summary>The minimum-norm point in the convex hull of vectors given by their Gram matrix (Sener and Koltun's solver).</summary>
public static class MinNormSolver
{
    private const int MaxIterations = 250;
    private const double StopCriterion = 1e-5;

    /// <summary>The convex weights of the minimum-norm element.</summary>
    public static double[] Solve(double[,] gram)
    {
        int n = gram.GetLength(0);
        if (n == 1) return [1.0];
        double best = 1e8;
        (int I, int J, double Gamma)? start = null;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var (gamma, cost) = FromTwo(gram[i, i], gram[i, j], gram[j, j]);
                if (cost < best) { best = cost; start = (i, j, gamma); }
            }
        var solution = new double[n];
        if (start is not { } s)
        {
            for (int k = 0; k < n; k++) solution[k] = 1.0 / n;
            return solution;
        }
        solution[s.I] = s.Gamma;
        solution[s.J] = 1 - s.Gamma;
        if (n < 3) return solution;

        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            double[] direction = WeightingMath.Multiply(gram, solution).Select(v => -v).ToArray();
            double[] next = NextPoint(solution, direction, n);
            double v1v1 = WeightingMath.Quadratic(solution, gram, solution);
            double v1v2 = WeightingMath.Quadratic(solution, gram, next);
            double v2v2 = WeightingMath.Quadratic(next, gram, next);
            var (gamma, _) = FromTwo(v1v1, v1v2, v2v2);
            double[] updated = solution.Select((v, k) => gamma * v + (1 - gamma) * next[k]).ToArray();
            if (updated.Select((v, k) => Math.Abs(v - solution[k])).Sum() < StopCriterion) return solution;
            solution = updated;
        }
        return solution;
    }

    /// <summary>The minimum-norm point on the segment between two vectors: (weight of the first, squared norm).</summary>
    internal static (double Gamma, double Cost) FromTwo(double v1v1, double v1v2, double v2v2)
    {
        if (v1v2 >= v1v1) return (0.999, v1v1);
        if (v1v2 >= v2v2) return (0.001, v2v2);
        double gamma = -1.0 * ((v1v2 - v2v2) / (v1v1 + v2v2 - 2 * v1v2));
        return (gamma, v2v2 + gamma * (v1v2 - v2v2));
    }

    private static double[] NextPoint(double[] current, double[] gradient, int n)
    {
        double mean = gradient.Sum() / n;
        double[] projected = gradient.Select(g => g - mean).ToArray();
        double t = 1;
        var down = Enumerable.Range(0, n).Where(k => projected[k] < 0).Select(k => -current[k] / projected[k]).Where(v => v > 1e-7).ToList();
        var up = Enumerable.Range(0, n).Where(k => projected[k] > 0).Select(k => (1 - current[k]) / projected[k]).Where(v => v > 1e-7).ToList();
        if (down.Count > 0) t = down.Min();
        if (up.Count > 0) t = Math.Min(t, up.Min());
        return WeightingMath.ProjectToSimplex(projected.Select((p, k) => p * t + current[k]).ToArray());
    }
}
