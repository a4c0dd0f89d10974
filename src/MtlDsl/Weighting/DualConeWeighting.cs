namespace MtlDsl.Weighting;

/// <summary>
/// The base of UPGrad and DualProj (Quinton and Rey, 2024), as torchjd computes them: they project weighted task
/// gradients onto the dual cone of the task gradients, on the Gram matrix divided by its trace (all zeros below
/// <see cref="NormEpsilon"/>) plus <see cref="Regularization"/>·I. Parameter and representation modes.
/// </summary>
public abstract class DualConeWeighting : GradientWeighting
{
    /// <summary>Creates the strategy with torchjd's norm_eps and reg_eps.</summary>
    protected DualConeWeighting(double normEpsilon, double regularization)
    {
        NormEpsilon = normEpsilon >= 0 && double.IsFinite(normEpsilon) ? normEpsilon
            : throw new ArgumentOutOfRangeException(nameof(normEpsilon), normEpsilon, $"{GetType().Name}'s norm epsilon must be a finite number ≥ 0.");
        Regularization = regularization > 0 && double.IsFinite(regularization) ? regularization
            : throw new ArgumentOutOfRangeException(nameof(regularization), regularization, $"{GetType().Name}'s regularisation must be a positive, finite number (it makes the Gram matrix positive definite).");
    }

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <summary>Below this squared norm of the task gradients together, the Gram matrix counts as zero (torchjd's norm_eps).</summary>
    public double NormEpsilon { get; }

    /// <summary>ε_reg, added to the normalised Gram matrix's diagonal (torchjd's reg_eps).</summary>
    public double Regularization { get; }

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("norm_epsilon", Twin(NormEpsilon)), ("regularization", Twin(Regularization))];

    /// <summary>The normalised, regularised Gram matrix the projections are computed on.</summary>
    protected double[,] ProjectionGram(GradientInfo info) => WeightingMath.NormalizedGram(info.Gram, NormEpsilon, Regularization);
}
