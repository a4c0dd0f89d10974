namespace MtlDsl;

/// <summary>
/// The limits of a task built from tasks (<c>[ProductOf]</c>), in one place for the runtime and the
/// generator, which compiles this file too and refuses a declaration beyond them (MTL038) before it can throw at run time.
/// </summary>
internal static class ProductLimits
{
    /// <summary>The most factors a product takes: its formula sums over every non-empty subset of them (2ⁿ − 1 terms).</summary>
    public const int MaxFactors = 16;
}
