using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// Tasks built from tasks (<see cref="ProductOfAttribute"/>): the output of a product task from its factors' outputs.
/// </summary>
public static class TaskCombination
{
    /// <summary>The most factors a product takes: its formula sums over every non-empty subset of them (2ⁿ − 1 terms).</summary>
    public const int MaxFactors = ProductLimits.MaxFactors;

    /// <summary>
    /// The logit of σ(a₁)·σ(a₂)·…·σ(aₙ) for the factors' logits aᵢ (one shape), element by element:
    /// 1/p = Π(1 + e^(−aᵢ)), so 1/p − 1 = Σ over the non-empty subsets S of e^(−Σ_{i∈S} aᵢ), and
    /// logit(p) = −log(1/p − 1) = −logsumexp over S of (−Σ_{i∈S} aᵢ). For two factors, −logsumexp(−a, −b, −(a + b)).
    /// Finite and exact where σ rounds to 1 (large logits) and where the product underflows; differentiable everywhere.
    /// </summary>
    /// <param name="factors">Two or more logits of one shape, dtype and device.</param>
    /// <exception cref="ArgumentException">Fewer than two factors, more than <see cref="MaxFactors"/>, or shapes that differ.</exception>
    public static Tensor ProductLogit(IReadOnlyList<Tensor> factors)
    {
        ArgumentNullException.ThrowIfNull(factors);
        if (factors.Count < 2 || factors.Count > MaxFactors)
            throw new ArgumentException($"A product takes 2 to {MaxFactors} factors; got {factors.Count}.", nameof(factors));
        for (int i = 1; i < factors.Count; i++)
            if (!factors[i].shape.SequenceEqual(factors[0].shape))
                throw new ArgumentException($"The factors' shapes differ: [{string.Join(", ", factors[0].shape)}] and [{string.Join(", ", factors[i].shape)}].", nameof(factors));

        using var scope = NewDisposeScope();
        var terms = new Tensor[(1 << factors.Count) - 1];
        for (int subset = 1; subset < 1 << factors.Count; subset++)
        {
            Tensor? sum = null;
            for (int i = 0; i < factors.Count; i++)
                if ((subset & (1 << i)) != 0) sum = sum is null ? factors[i] : TensorMath.Plus(sum, factors[i]);
            terms[subset - 1] = sum!.neg();
        }
        return stack(terms, -1).logsumexp(-1).neg().MoveToOuterDisposeScope();
    }
}
