using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// Tensor arithmetic with numbers whose native Scalars stay alive through the call that reads them. TorchSharp
/// 0.107 turns numbers (and the implicit alpha of 1 in <c>a + b</c>) into Scalars that only its finalizer frees,
/// without keeping them alive: a collection on another thread can free one in use. BannedSymbols.txt keeps the
/// runtime off those overloads.
/// </summary>
internal static class TensorMath
{
    /// <summary><paramref name="value"/> × <paramref name="factor"/>.</summary>
    public static Tensor Scaled(Tensor value, double factor)
    {
        using Scalar scalar = factor.ToScalar();
        return value.mul(scalar);
    }

    /// <summary><paramref name="left"/> + <paramref name="right"/>, element-wise (what <c>left + right</c> computes).</summary>
    public static Tensor Plus(Tensor left, Tensor right)
    {
        using Scalar one = 1L.ToScalar();
        return left.add(right, one);
    }

    /// <summary>The terms added from left to right (what <c>t0 + t1 + …</c> computes).</summary>
    public static Tensor Sum(IReadOnlyList<Tensor> terms)
    {
        using Scalar one = 1L.ToScalar();
        Tensor total = terms[0];
        for (int k = 1; k < terms.Count; k++) total = total.add(terms[k], one);
        return total;
    }
}
