namespace MtlDsl;

// One source for the runtime and the generator: the generator compiles this file too (linked in
// MtlDsl.Generators.csproj, where MTLDSL_GENERATOR makes it internal), reads [Task]'s loss as this enum's value and
// writes global::MtlDsl.Loss.{name}. Keep it free of usings and of anything but the enum (netstandard2.0, no implicit usings there).

/// <summary>The loss of a task. Every loss is averaged over the batch (mean reduction).</summary>
#if MTLDSL_GENERATOR
internal
#else
public
#endif
enum Loss
{
    /// <summary>
    /// Cross-entropy over class scores (logits). Output <c>[N, C]</c> or <c>[N, C, d…]</c>; target: class
    /// indices (int64) of shape <c>[N]</c> or <c>[N, d…]</c>, each in <c>[0, C)</c>.
    /// </summary>
    CrossEntropy,

    /// <summary>Binary cross-entropy on logits. Target: probabilities in [0, 1], the output's shape.</summary>
    BinaryCrossEntropyWithLogits,

    /// <summary>Mean squared error. Target: the output's shape.</summary>
    MeanSquaredError,

    /// <summary>Mean absolute error. Target: the output's shape.</summary>
    L1,

    /// <summary>Smooth L1 (Huber with β = 1). Target: the output's shape.</summary>
    SmoothL1,
}
