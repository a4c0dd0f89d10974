using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Data;

/// <summary>
/// Batches of sample indices. Index a data tensor with them (<c>images[batch]</c>): each batch gathers its rows, and
/// the data itself is never copied or reordered per epoch.
/// </summary>
public static class Batches
{
    /// <summary>
    /// One epoch over <paramref name="count"/> samples: every sample exactly once, in batches of
    /// <paramref name="batchSize"/> (the last one smaller unless <paramref name="dropLast"/>). Shuffled with a
    /// generator seeded from <paramref name="seed"/> and <paramref name="epoch"/>, so a run repeats exactly and
    /// every epoch has its own order.
    /// </summary>
    public static IReadOnlyList<Tensor> Epoch(long count, int batchSize, int seed, int epoch, bool shuffle = true, bool dropLast = false)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "There must be at least one sample.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        Tensor order;
        if (shuffle)
        {
            using var generator = new Generator((ulong)seed * 1_000_003UL + (ulong)epoch);
            order = randperm(count, generator: generator);
        }
        else
        {
            order = arange(count, dtype: ScalarType.Int64);
        }
        var batches = new List<Tensor>();
        for (long start = 0; start < count; start += batchSize)
        {
            long length = Math.Min(batchSize, count - start);
            if (dropLast && length < batchSize) break;
            batches.Add(order.narrow(0, start, length));
        }
        return batches;
    }

    /// <summary>
    /// One epoch over one dataset per task, LibMTL's way: every step takes one batch from every task; the epoch
    /// lasts as many steps as the largest dataset needs, and a smaller dataset starts again (reshuffled) when it
    /// runs out. No dataset is cut to the smallest: every sample of every task is seen at least once per epoch.
    /// </summary>
    /// <returns>For each step, one index batch per task.</returns>
    public static IReadOnlyList<Tensor[]> PerTaskEpoch(IReadOnlyList<long> counts, int batchSize, int seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0) throw new ArgumentException("There must be at least one task.", nameof(counts));
        long steps = counts.Max(c => (c + batchSize - 1) / batchSize);
        var perTask = counts.Select((count, task) =>
        {
            var batches = new List<Tensor>();
            for (int pass = 0; batches.Count < steps; pass++)
                batches.AddRange(Epoch(count, batchSize, seed + 7919 * (task + 1), epoch * 1000 + pass));
            return batches;
        }).ToList();
        return Enumerable.Range(0, (int)steps).Select(step => perTask.Select(b => b[step]).ToArray()).ToList();
    }
}
