using System.Diagnostics;

namespace MtlDsl.Training;

/// <summary>
/// When to rewrite an output (the history, the best checkpoint, plots, and the resume checkpoint with
/// <see cref="CheckpointCadence.WriteBudget"/>) during a fit so that writing it costs at most a given
/// share of the fit's time: the next write is due once the time since the last one (or since the fit started) is
/// large enough beside what that write took (or, before the first, an estimate). Short epochs are then written
/// every few epochs, long ones every epoch; the fit's end always writes, outside this budget.
/// </summary>
public sealed class WriteCadence
{
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
    private readonly double _share;
    private TimeSpan _lastCost;

    /// <summary>Creates the cadence at the start of a fit.</summary>
    /// <param name="share">The share of the fit's time the writes may take, between 0 and 1 (0.05: at most 5 %).</param>
    /// <param name="firstCost">What the first write is expected to take.</param>
    public WriteCadence(double share, TimeSpan firstCost)
    {
        if (!(share > 0 && share < 1)) throw new ArgumentOutOfRangeException(nameof(share), share, "The share must lie strictly between 0 and 1.");
        (_share, _lastCost) = (share, firstCost);
    }

    /// <summary>Whether a write is due now.</summary>
    public bool Due => _sinceLast.Elapsed.TotalSeconds * _share >= _lastCost.TotalSeconds * (1 - _share);

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
