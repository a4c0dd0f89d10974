using System.Buffers;

namespace OnnxServing;

/// <summary>
/// At most <see cref="Limit"/> requests to /predict read, parse and run at once; another waits up to
/// <see cref="Wait"/> for a slot and is then turned away (503 with Retry-After). The slot is taken before the body is
/// read, so the bodies held at once are at most <see cref="Limit"/>.
/// </summary>
public sealed class RequestGate(int limit, TimeSpan wait) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(limit, limit);

    /// <summary>
    /// The arrays request bodies are read into: at most <see cref="Limit"/> of each size are kept for reuse, and no
    /// thread keeps one of its own (as the shared pool's per-thread cache does), so what stays allocated after a burst
    /// is bounded by the limit, not by the number of threads that served it.
    /// </summary>
    public ArrayPool<byte> Buffers { get; } = ArrayPool<byte>.Create(1 << 30, limit);

    /// <summary>The most requests answered at once (<c>--MaxConcurrentRequests</c>).</summary>
    public int Limit => limit;

    /// <summary>How long a request waits for a slot (<c>--MaxQueueMilliseconds</c>).</summary>
    public TimeSpan Wait => wait;

    /// <summary>The requests holding a slot now.</summary>
    public int InFlight => limit - _slots.CurrentCount;

    /// <summary>Takes a slot, waiting up to <see cref="Wait"/>; false when none came free.</summary>
    public Task<bool> EnterAsync(CancellationToken cancellationToken) => _slots.WaitAsync(wait, cancellationToken);

    /// <summary>Gives a slot taken by <see cref="EnterAsync"/> back.</summary>
    public void Leave() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}
