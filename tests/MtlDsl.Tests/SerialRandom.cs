namespace MtlDsl.Tests;

/// <summary>
/// Tests that compare runs bit for bit. TorchSharp's global random generator (initial weights, dropout) is shared
/// by the whole process, so a test running in parallel would draw from it between a seed and its use; xunit runs
/// this collection alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialRandom
{
    /// <summary>The collection's name.</summary>
    public const string Name = "TorchSharp's global random generator";
}
