namespace MtlDsl.Weighting;

/// <summary>
/// Conflict-averse gradient descent (CAGrad; Liu et al., NeurIPS 2021), as in LibMTL: w minimises
/// wᵀ(GGᵀ)b + c·√(wᵀ GGᵀ w + 1e-8) over the simplex, with b = 1/K and c = α·√(mean(GGᵀ) + 1e-8) + 1e-8; the trunk's
/// gradient is (ḡ + λ g_w) / s with g_w = Σ w_k g_k, λ = c / (‖g_w‖ + 1e-8), and s = 1 + α² (rescale 1, the
/// default), 1 + α (rescale 2) or 1 (rescale 0). The reported weights are w. LibMTL solves for w with SciPy's
/// SLSQP at default tolerances, which stops about 1e-4 from the optimum; this class solves the same convex problem
/// to 1e-12 by projected gradient descent, so its w is the exact minimiser. Parameter mode only.
/// </summary>
/// <param name="alpha">α (LibMTL's <c>calpha</c>); 0.5 by default.</param>
/// <param name="rescale">0, 1 or 2, as above; 1 by default.</param>
public sealed class CAGrad(double alpha = 0.5, int rescale = 1) : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "CAGrad";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("alpha", Twin(Alpha)), ("rescale", Rescale.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>α.</summary>
    public double Alpha { get; } = alpha >= 0 && double.IsFinite(alpha) ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "CAGrad's alpha must be a finite number ≥ 0.");

    /// <summary>The rescale type.</summary>
    public int Rescale { get; } = rescale is 0 or 1 or 2 ? rescale : throw new ArgumentOutOfRangeException(nameof(rescale), rescale, "CAGrad's rescale is 0, 1 or 2.");

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        int n = TaskCount;
        double mean = 0;
        foreach (double v in info.Gram) mean += v;
        mean /= n * n;
        double c = Alpha * Math.Sqrt(mean + 1e-8) + 1e-8;
        double[] w = Solve(info.Gram, c);
        double gwNorm = Math.Sqrt(Math.Max(0, WeightingMath.Quadratic(w, info.Gram, w)));
        double lambda = c / (gwNorm + 1e-8);
        double scale = Rescale switch { 0 => 1, 1 => 1 + Alpha * Alpha, _ => 1 + Alpha };
        return (w.Select(wk => (1.0 / n + lambda * wk) / scale).ToArray(), w);
    }

    /// <summary>The objective wᵀ A b + c √(wᵀ A w + 1e-8).</summary>
    internal static double Objective(double[] w, double[,] a, double c)
    {
        int n = w.Length;
        double[] b = Enumerable.Repeat(1.0 / n, n).ToArray();
        return WeightingMath.Quadratic(w, a, b) + c * Math.Sqrt(WeightingMath.Quadratic(w, a, w) + 1e-8);
    }

    /// <summary>
    /// The minimiser over the simplex: for two tasks, bisection on the derivative along the simplex's one
    /// direction (the objective is convex, so its derivative is monotone; 200 halvings reach machine precision);
    /// for more, projected gradient descent with backtracking from the simplex's centre.
    /// </summary>
    internal static double[] Solve(double[,] a, double c)
    {
        int n = a.GetLength(0);
        if (n == 2) return SolveTwo(a, c);
        double[] w = Enumerable.Repeat(1.0 / n, n).ToArray();
        double[] ab = WeightingMath.Multiply(a, Enumerable.Repeat(1.0 / n, n).ToArray());
        double value = Objective(w, a, c), step = 1.0;
        for (int iteration = 0; iteration < 100_000; iteration++)
        {
            double[] aw = WeightingMath.Multiply(a, w);
            double root = Math.Sqrt(WeightingMath.Quadratic(w, a, w) + 1e-8);
            double[] gradient = ab.Select((v, k) => v + c * aw[k] / root).ToArray();
            double[] next;
            double nextValue;
            step *= 2;
            while (true)
            {
                next = WeightingMath.ProjectToSimplex(w.Select((v, k) => v - step * gradient[k]).ToArray());
                nextValue = Objective(next, a, c);
                double decrease = gradient.Select((g, k) => g * (w[k] - next[k])).Sum();
                double distance = next.Select((v, k) => (v - w[k]) * (v - w[k])).Sum();
                if (nextValue <= value - decrease + distance / (2 * step) + 1e-15 || step < 1e-30) break;
                step /= 2;
            }
            double change = next.Select((v, k) => Math.Abs(v - w[k])).Sum();
            w = next;
            value = nextValue;
            if (change < 1e-13) break;
        }
        return w;
    }

    // w = (t, 1 − t); f'(t) = dᵀA b + c · dᵀA w / √(wᵀA w + 1e-8) with d = (1, −1), non-decreasing in t.
    private static double[] SolveTwo(double[,] a, double c)
    {
        double Derivative(double t)
        {
            double w0 = t, w1 = 1 - t;
            double aw0 = a[0, 0] * w0 + a[0, 1] * w1, aw1 = a[1, 0] * w0 + a[1, 1] * w1;
            double dab = 0.5 * (a[0, 0] + a[0, 1]) - 0.5 * (a[1, 0] + a[1, 1]);
            return dab + c * (aw0 - aw1) / Math.Sqrt(Math.Max(0, w0 * aw0 + w1 * aw1) + 1e-8);
        }
        if (Derivative(0) >= 0) return [0, 1];
        if (Derivative(1) <= 0) return [1, 0];
        double low = 0, high = 1;
        for (int i = 0; i < 200 && high - low > 1e-16; i++)
        {
            double middle = 0.5 * (low + high);
            if (Derivative(middle) > 0) high = middle;
            else low = middle;
        }
        double t = 0.5 * (low + high);
        return [t, 1 - t];
    }
}
