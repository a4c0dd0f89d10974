using TorchSharp;
using static TorchSharp.torch;

namespace MmoeSynthetic;

/// <summary>
/// The synthetic data of Ma et al. (KDD 2018) §4.2: two regression tasks whose correlation is controlled. With
/// orthogonal unit vectors u₁, u₂ ∈ ℝ^d, scale c and correlation score p: w₁ = c·u₁, w₂ = c·(p·u₁ + √(1−p²)·u₂);
/// x ~ N(0, I_d); y_k = w_kᵀx + Σ_{i=1..m} sin(α_i·w_kᵀx + β_i) + ε_k, with α_i, β_i ~ N(0, 1) and ε_k ~ N(0, 0.01).
/// The paper's values: d = 100, c = 1, m = 10. The Pearson correlation of the labels falls with p (not linearly:
/// the sines make it a non-linear function of p), which is why the paper controls p.
/// </summary>
public static class SyntheticTasks
{
    public const int Dimension = 100;
    private const int Sines = 10;
    private const double Scale = 1.0, NoiseVariance = 0.01;

    /// <summary>Training and test sets for correlation score <paramref name="p"/>, drawn from one seed.</summary>
    public static (Tensor X, Tensor Y1, Tensor Y2, Tensor TestX, Tensor TestY1, Tensor TestY2) Generate(double p, int train, int test, int seed)
    {
        if (p < -1 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "The correlation score is in [-1, 1].");
        using var generator = new torch.Generator((ulong)seed);
        // Two orthonormal vectors: the QR decomposition of a Gaussian d×2 matrix.
        var (q, _) = linalg.qr(randn(Dimension, 2, dtype: ScalarType.Float64, generator: generator));
        Tensor u1 = q[.., 0], u2 = q[.., 1];
        // Scalars are disposed by their using, which also keeps them alive through the native calls that read them.
        using Scalar c = Scale.ToScalar(), pc = (Scale * p).ToScalar(), qc = (Scale * Math.Sqrt(1 - p * p)).ToScalar();
        using Scalar one = 1.0.ToScalar(), noiseScale = Math.Sqrt(NoiseVariance).ToScalar();
        Tensor w1 = u1.mul(c), w2 = u1.mul(pc).add(u2.mul(qc), one);
        Tensor alpha = randn(Sines, dtype: ScalarType.Float64, generator: generator), beta = randn(Sines, dtype: ScalarType.Float64, generator: generator);

        (Tensor X, Tensor Y1, Tensor Y2) Draw(int n)
        {
            Tensor x = randn(n, Dimension, dtype: ScalarType.Float64, generator: generator);
            Tensor Label(Tensor w)
            {
                Tensor z = x.matmul(w);                                           // [n]
                Tensor sines = z.unsqueeze(1).mul(alpha).add(beta, one).sin().sum(1);
                Tensor noise = randn(n, dtype: ScalarType.Float64, generator: generator).mul(noiseScale);
                return z.add(sines, one).add(noise, one).unsqueeze(1).to(ScalarType.Float32);
            }
            return (x.to(ScalarType.Float32), Label(w1), Label(w2));
        }

        var (trainX, trainY1, trainY2) = Draw(train);
        var (testX, testY1, testY2) = Draw(test);
        return (trainX, trainY1, trainY2, testX, testY1, testY2);
    }

    /// <summary>The Pearson correlation of two label vectors.</summary>
    public static double Pearson(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        using Scalar minusOne = (-1.0).ToScalar();
        Tensor x = a.flatten().to(ScalarType.Float64), y = b.flatten().to(ScalarType.Float64);
        x = x.add(x.mean(), minusOne);
        y = y.add(y.mean(), minusOne);
        return (x * y).sum().item<double>() / Math.Sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
    }
}
