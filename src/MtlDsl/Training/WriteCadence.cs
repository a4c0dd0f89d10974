using System.Diagnostics;

namespace MtlDsl.Training;

/// <summary>
/// When to rewrite an output (history, checkpoint, plots) during a fit so that writing costs at most a tenth of the
/// fit's time: the next write is due once the time since the last one is nine times what that write took. Short
/// epochs are then written every few epochs, long ones every epoch; the fit's end always writes.
/// </summary>
public sealed class WriteCadence
{
    private readonly Stopwatch _sinceLast = new();
    private TimeSpan _lastCost;

    /// <summary>Whether a write is due now (always before the first).</summary>
    public bool Due => !_sinceLast.IsRunning || _sinceLast.Elapsed >= 9 * _lastCost;

    /// <summary>Runs <paramref name="write"/> and remembers its cost.</summary>
    public void Write(Action write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var clock = Stopwatch.StartNew();
        write();
        _lastCost = clock.Elapsed;
        _sinceLast.Restart();
    }
}
