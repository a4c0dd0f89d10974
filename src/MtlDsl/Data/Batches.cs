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
            using Scalar stop = count.ToScalar();
            order = arange(stop, dtype: ScalarType.Int64);
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
                batches.AddRange(Epoch(count, batchSize, TaskSeed(seed, task), epoch * 1000 + pass));
            return batches;
        }).ToList();
        return Enumerable.Range(0, (int)steps).Select(step => perTask.Select(b => b[step]).ToArray()).ToList();
    }

    /// <summary>
    /// One epoch over one dataset per task, one task per step: every task's samples exactly once, in shuffled
    /// batches, the tasks interleaved. Round-robin (<paramref name="proportional"/> false): the tasks take turns,
    /// a task whose batches are used up drops out. Proportional: each step draws a task with probability
    /// proportional to the batches it has left (a seeded shuffle of all batches), so a larger dataset comes up
    /// more often. Either way the epoch has Σ_k ⌈N_k / batch⌉ steps.
    /// </summary>
    public static IReadOnlyList<(int Task, Tensor Indices)> Interleave(IReadOnlyList<long> counts, int batchSize, int seed, int epoch, bool proportional)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0) throw new ArgumentException("There must be at least one task.", nameof(counts));
        var queues = counts.Select((count, task) => new Queue<Tensor>(Epoch(count, batchSize, TaskSeed(seed, task), epoch))).ToList();
        var steps = new List<(int, Tensor)>();
        if (!proportional)
        {
            while (queues.Any(q => q.Count > 0))
                for (int task = 0; task < queues.Count; task++)
                    if (queues[task].Count > 0) steps.Add((task, queues[task].Dequeue()));
            return steps;
        }
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        long left = queues.Sum(q => (long)q.Count);
        while (left > 0)
        {
            long pick = random.NextInt64(left);
            int task = 0;
            while (pick >= queues[task].Count) pick -= queues[task++].Count;
            steps.Add((task, queues[task].Dequeue()));
            left--;
        }
        return steps;
    }

    // Each task's dataset is shuffled from a seed of its own, derived from the fit's seed.
    private static int TaskSeed(int seed, int task) => seed + 7919 * (task + 1);
}
