namespace MtlDsl.Weighting;

/// <summary>The small dense linear algebra the gradient methods need, on K×K matrices of doubles.</summary>
internal static class WeightingMath
{
    /// <summary>Euclidean projection onto the probability simplex (sort-based).</summary>
    public static double[] ProjectToSimplex(double[] y)
    {
        int m = y.Length;
        double[] sorted = y.OrderByDescending(v => v).ToArray();
        double sum = 0, theta = (y.Sum() - 1.0) / m;
        for (int i = 0; i < m - 1; i++)
        {
            sum += sorted[i];
            double candidate = (sum - 1) / (i + 1.0);
            if (candidate > sorted[i + 1]) { theta = candidate; break; }
        }
        return y.Select(v => Math.Max(v - theta, 0)).ToArray();
    }

    /// <summary>xᵀ A y.</summary>
    public static double Quadratic(double[] x, double[,] a, double[] y)
    {
        double total = 0;
        for (int i = 0; i < x.Length; i++)
            for (int j = 0; j < y.Length; j++) total += x[i] * a[i, j] * y[j];
        return total;
    }

    /// <summary>A x.</summary>
    public static double[] Multiply(double[,] a, double[] x)
    {
        int n = x.Length;
        var result = new double[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) result[i] += a[i, j] * x[j];
        return result;
    }

    /// <summary>The inverse of a small square matrix (Gauss–Jordan with partial pivoting).</summary>
    public static double[,] Inverse(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var inverse = new double[n, n];
        for (int i = 0; i < n; i++) inverse[i, i] = 1;
        for (int column = 0; column < n; column++)
        {
            int pivot = column;
            for (int row = column + 1; row < n; row++)
                if (Math.Abs(a[row, column]) > Math.Abs(a[pivot, column])) pivot = row;
            if (a[pivot, column] == 0) throw new InvalidOperationException("The matrix is singular: two tasks have linearly dependent gradients.");
            Swap(a, pivot, column);
            Swap(inverse, pivot, column);
            double scale = a[column, column];
            for (int j = 0; j < n; j++) { a[column, j] /= scale; inverse[column, j] /= scale; }
            for (int row = 0; row < n; row++)
            {
                if (row == column) continue;
                double factor = a[row, column];
                for (int j = 0; j < n; j++) { a[row, j] -= factor * a[column, j]; inverse[row, j] -= factor * inverse[column, j]; }
            }
        }
        return inverse;
    }

    /// <summary>Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi rotations.</summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) off += a[i, j] * a[i, j];
            if (off < 1e-300) break;
            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }

    /// <summary>
    /// The minimiser of ½ xᵀ A x + bᵀ x over x ≥ 0 for a symmetric positive definite A, by the primal active-set method
    /// (Lawson and Hanson's for least squares, on a quadratic): exact to rounding once the free set is found, in at most
    /// a few passes per task for the K of multi-task learning.
    /// </summary>
    public static double[] NonNegativeQuadratic(double[,] a, double[] b)
    {
        int n = b.Length;
        var x = new double[n];
        var free = new bool[n];
        double scale = 0;
        for (int i = 0; i < n; i++) scale = Math.Max(scale, Math.Abs(a[i, i]) + Math.Abs(b[i]));
        double tolerance = 1e-14 * Math.Max(scale, double.Epsilon);
        for (int outer = 0; outer < 10 * n + 10; outer++)
        {
            // The most negative partial derivative among the bound variables enters the free set.
            double[] gradient = Multiply(a, x);
            int entering = -1;
            double best = tolerance;
            for (int j = 0; j < n; j++)
            {
                double descent = -(gradient[j] + b[j]);
                if (!free[j] && descent > best) (best, entering) = (descent, j);
            }
            if (entering < 0) return x;
            free[entering] = true;
            for (int inner = 0; inner <= n; inner++)
            {
                double[] z = SolveFree(a, b, free);
                int blocking = -1;
                double step = 1;
                for (int j = 0; j < n; j++)
                    if (free[j] && z[j] <= 0 && x[j] - z[j] > 0)
                    {
                        double t = x[j] / (x[j] - z[j]);
                        if (t < step) (step, blocking) = (t, j);
                    }
                if (blocking < 0)
                {
                    for (int j = 0; j < n; j++) x[j] = free[j] ? Math.Max(z[j], 0) : 0;
                    break;
                }
                for (int j = 0; j < n; j++) x[j] += step * (z[j] - x[j]);
                x[blocking] = 0;
                for (int j = 0; j < n; j++)
                    if (free[j] && x[j] <= 0) { free[j] = false; x[j] = 0; }
            }
        }
        return x;
    }

    // The minimiser over the free variables with the others at 0: A_FF z_F = −b_F.
    private static double[] SolveFree(double[,] a, double[] b, bool[] free)
    {
        int[] index = Enumerable.Range(0, b.Length).Where(j => free[j]).ToArray();
        var sub = new double[index.Length, index.Length];
        for (int i = 0; i < index.Length; i++)
            for (int j = 0; j < index.Length; j++) sub[i, j] = a[index[i], index[j]];
        double[] rhs = index.Select(i => -b[i]).ToArray();
        double[] solved = Solve(sub, rhs);
        var z = new double[b.Length];
        for (int i = 0; i < index.Length; i++) z[index[i]] = solved[i];
        return z;
    }

    /// <summary>A⁻¹ y for a small square matrix.</summary>
    public static double[] Solve(double[,] matrix, double[] y) => Multiply(Inverse(matrix), y);

    /// <summary>
    /// <see cref="FairSolve(double[,], double, double, double[])"/> among the tasks whose gradient is not zero
    /// (<see cref="GradientInfo.IsZero"/>); the others keep weight 1 and a start of 0. <paramref name="previous"/> is the
    /// last solve's scale-free u for every task, taken as the warm start where it is positive for every task that solves.
    /// </summary>
    public static (double[] W, double[] Start, double Residual) FairWeights(GradientInfo info, double alpha, double scale, double[]? previous)
    {
        int n = info.Gram.GetLength(0);
        int[] active = Enumerable.Range(0, n).Where(k => !info.IsZero(k)).ToArray();
        double[] w = Enumerable.Repeat(1.0, n).ToArray();
        var start = new double[n];
        if (active.Length == 0) return (w, start, 0);
        var gram = new double[active.Length, active.Length];
        for (int i = 0; i < active.Length; i++)
            for (int j = 0; j < active.Length; j++) gram[i, j] = info.Gram[active[i], active[j]];
        double[]? warm = previous is not null && active.All(k => previous[k] > 0) ? active.Select(k => previous[k]).ToArray() : null;
        var (solution, u, residual) = FairSolve(gram, alpha, scale, warm);
        for (int i = 0; i < active.Length; i++)
        {
            w[active[i]] = solution[i];
            start[active[i]] = u[i];
        }
        return (w, start, residual);
    }

    /// <summary>
    /// The positive w with G w = c · w^(−1/α) (elementwise) for a Gram matrix G of non-zero gradients: Nash-MTL's
    /// bargaining system (α = 1) and FairGrad's α-fair allocation. Written with the norms d_k and the cosine matrix C
    /// (G = D C D) and w = u / d, it is C u = s ⊙ u^(−1/α) with s_k = c · d_k^(1/α − 1): a system on the unit-diagonal
    /// C whatever the gradients' scales (norms 1e-4 beside 1e4 happen: a classification beside a regression whose
    /// targets are in thousands). u minimises the strictly convex
    /// ½ uᵀCu − Σ s_k φ(u_k), φ′(u) = u^(−1/α), found by Newton's method with a backtracking line search that keeps u
    /// positive. Where the gradients span the origin positively (a Pareto-stationary point) no positive solution
    /// exists and u would run off to infinity: there a second solve adds a ridge of 1e-10 to C, which keeps u finite.
    /// </summary>
    /// <param name="gram">The Gram matrix of the tasks taking part (none of them zero).</param>
    /// <param name="alpha">α &gt; 0.</param>
    /// <param name="scale">c &gt; 0, the right-hand side's factor (Nash-MTL's normalisation).</param>
    /// <param name="start">A starting point for u (positive), e.g. the last step's; null for ones.</param>
    /// <returns>w, u (the scale-free solution, for the next warm start), and the largest residual |Gw − c w^(−1/α)| relative to c w^(−1/α).</returns>
    public static (double[] W, double[] U, double Residual) FairSolve(double[,] gram, double alpha, double scale, double[]? start)
    {
        // Without the ridge first; with it only where that finds no solution (it would bias tasks whose right-hand
        // side is small).
        var plain = FairSolve(gram, alpha, scale, start, ridge: 0);
        return plain.Residual <= 1e-7 && plain.U.All(v => v > 0 && double.IsFinite(v)) ? plain : FairSolve(gram, alpha, scale, start, ridge: 1e-10);
    }

    private static (double[] W, double[] U, double Residual) FairSolve(double[,] gram, double alpha, double scale, double[]? start, double ridge)
    {
        int n = gram.GetLength(0);
        double[] d = Enumerable.Range(0, n).Select(k => Math.Sqrt(gram[k, k])).ToArray();
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) c[i, j] = gram[i, j] / (d[i] * d[j]) + (i == j ? ridge : 0);
        // G (u/d) = scale (u/d)^(−1/α)  ⇔  C u = scale · d^(1/α − 1) ⊙ u^(−1/α).
        double[] s = d.Select(dk => scale * Math.Pow(dk, 1 / alpha - 1)).ToArray();
        double[] u = start is { } given && given.Length == n && given.All(v => v > 0 && double.IsFinite(v)) ? (double[])given.Clone() : Enumerable.Repeat(1.0, n).ToArray();
        double Phi(double v) => alpha == 1 ? Math.Log(v) : Math.Pow(v, 1 - 1 / alpha) / (1 - 1 / alpha);
        double Objective(double[] v) => 0.5 * Quadratic(v, c, v) - Enumerable.Range(0, n).Sum(k => s[k] * Phi(v[k]));
        // The largest residual relative to its right-hand side: the measure of convergence, and the line search's
        // second test near the solution, where the objective's changes fall below its rounding.
        double Relative(double[] v)
        {
            double[] cv = Multiply(c, v);
            return Enumerable.Range(0, n).Max(k => Math.Abs(cv[k] - s[k] * Math.Pow(v[k], -1 / alpha)) / (s[k] * Math.Pow(v[k], -1 / alpha)));
        }
        for (int iteration = 0; iteration < 200; iteration++)
        {
            double[] cu = Multiply(c, u);
            double[] gradient = Enumerable.Range(0, n).Select(k => cu[k] - s[k] * Math.Pow(u[k], -1 / alpha)).ToArray();
            double relative = Relative(u);
            if (relative <= 1e-13) break;
            var hessian = (double[,])c.Clone();
            for (int k = 0; k < n; k++) hessian[k, k] += s[k] * Math.Pow(u[k], -1 / alpha - 1) / alpha;
            double[] step = Solve(hessian, gradient);
            double t = 1;
            // Stay positive: at most 99 % of the way to the boundary.
            for (int k = 0; k < n; k++)
                if (step[k] > 0) t = Math.Min(t, 0.99 * u[k] / step[k]);
            double f = Objective(u), slope = -gradient.Zip(step, (g, x) => g * x).Sum();
            double[] next = new double[n];
            for (int backtrack = 0; backtrack < 60; backtrack++)
            {
                for (int k = 0; k < n; k++) next[k] = u[k] - t * step[k];
                if (Objective(next) <= f + 1e-4 * t * slope || Relative(next) < (1 - 1e-4 * t) * relative || t < 1e-12) break;
                t /= 2;
            }
            bool moved = false;
            for (int k = 0; k < n; k++) moved |= next[k] != u[k];
            Array.Copy(next, u, n);
            if (!moved) break;
        }
        double[] w = u.Zip(d, (uk, dk) => uk / dk).ToArray();
        double[] gw = Multiply(gram, w);
        double residual = Enumerable.Range(0, n).Max(k => Math.Abs(gw[k] - scale * Math.Pow(w[k], -1 / alpha)) / (scale * Math.Pow(w[k], -1 / alpha)));
        return (w, u, residual);
    }

    /// <summary>
    /// The Gram matrix as UPGrad and DualProj (torchjd) solve with it: divided by its trace (the squared Frobenius norm
    /// of the gradients; all zeros when that is below <paramref name="normEpsilon"/>), plus <paramref name="regularization"/>·I,
    /// which makes it positive definite.
    /// </summary>
    public static double[,] NormalizedGram(double[,] gram, double normEpsilon, double regularization)
    {
        int n = gram.GetLength(0);
        double trace = 0;
        for (int i = 0; i < n; i++) trace += gram[i, i];
        var result = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) result[i, j] = trace < normEpsilon ? 0 : gram[i, j] / trace;
            result[i, i] += regularization;
        }
        return result;
    }

    /// <summary>
    /// The weights v of the projection of Jᵀu onto the dual cone of the task gradients (Jᵀv, every task gradient at a
    /// non-negative inner product with it), given their Gram matrix G = J Jᵀ: the minimiser of vᵀ G v subject to v ≥ u
    /// (Quinton and Rey's Proposition 1), solved as v = u + x with x ≥ 0 minimising ½ xᵀ G x + (G u)ᵀ x.
    /// </summary>
    public static double[] ProjectOntoDualCone(double[] u, double[,] gram)
    {
        double[] x = NonNegativeQuadratic(gram, Multiply(gram, u));
        return u.Zip(x, (a, b) => a + b).ToArray();
    }

    private static void Swap(double[,] a, int r1, int r2)
    {
        if (r1 == r2) return;
        for (int j = 0; j < a.GetLength(1); j++) (a[r1, j], a[r2, j]) = (a[r2, j], a[r1, j]);
    }
}
