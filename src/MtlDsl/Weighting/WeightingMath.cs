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

    private static void Swap(double[,] a, int r1, int r2)
    {
        if (r1 == r2) return;
        for (int j = 0; j < a.GetLength(1); j++) (a[r1, j], a[r2, j]) = (a[r2, j], a[r1, j]);
    }
}
