namespace MtlDsl.Training;

/// <summary>
/// The learning rate of each epoch as a factor of the optimizer's initial learning rate. A schedule is a pure
/// function of the epoch, so a resumed run gets exactly the rates it would have had.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The factor for <paramref name="epoch"/> (from 0): a finite number ≥ 0.</summary>
    public abstract double Factor(int epoch);

    /// <summary>The initial rate throughout.</summary>
    public static LearningRateSchedule Constant() => new FunctionSchedule("constant", _ => 1.0);

    /// <summary>Multiplies the rate by <paramref name="gamma"/> every <paramref name="every"/> epochs (PyTorch's StepLR).</summary>
    public static LearningRateSchedule Step(int every, double gamma)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "The step must be at least one epoch.");
        CheckFactor(gamma, nameof(gamma));
        return new FunctionSchedule($"step({every}, {gamma})", epoch => Math.Pow(gamma, epoch / every));
    }

    /// <summary>Multiplies the rate by <paramref name="gamma"/> every epoch (PyTorch's ExponentialLR).</summary>
    public static LearningRateSchedule Exponential(double gamma)
    {
        CheckFactor(gamma, nameof(gamma));
        return new FunctionSchedule($"exponential({gamma})", epoch => Math.Pow(gamma, epoch));
    }

    /// <summary>
    /// Cosine annealing from the initial rate to <paramref name="minFactor"/> times it over <paramref name="epochs"/>
    /// epochs (PyTorch's CosineAnnealingLR with T_max = epochs), then <paramref name="minFactor"/>.
    /// </summary>
    public static LearningRateSchedule Cosine(int epochs, double minFactor = 0)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Cosine annealing needs at least one epoch.");
        if (!(minFactor >= 0 && minFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(minFactor), minFactor, "The final factor must lie in [0, 1].");
        return new FunctionSchedule($"cosine({epochs}, {minFactor})",
            epoch => minFactor + (1 - minFactor) * (1 + Math.Cos(Math.PI * Math.Min(epoch, epochs) / epochs)) / 2);
    }

    /// <summary>A linear warm-up from 1/(<paramref name="epochs"/>+1) to 1 over the first epochs, then <paramref name="then"/> (counted from the end of the warm-up).</summary>
    public static LearningRateSchedule Warmup(int epochs, LearningRateSchedule? then = null)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "The warm-up must last at least one epoch.");
        LearningRateSchedule after = then ?? Constant();
        return new FunctionSchedule($"warmup({epochs}) then {after}",
            epoch => epoch < epochs ? (epoch + 1.0) / (epochs + 1) : after.Factor(epoch - epochs));
    }

    /// <summary>Any schedule: <paramref name="factor"/> maps the epoch to a finite factor ≥ 0 (a fit checks every epoch's before its first step).</summary>
    public static LearningRateSchedule Custom(Func<int, double> factor, string name = "custom")
    {
        ArgumentNullException.ThrowIfNull(factor);
        return new FunctionSchedule(name, factor);
    }

    private static void CheckFactor(double gamma, string name)
    {
        if (!(gamma > 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(name, gamma, "The factor must lie in (0, 1].");
    }

    private sealed class FunctionSchedule(string name, Func<int, double> factor) : LearningRateSchedule
    {
        public override double Factor(int epoch)
        {
            double value = factor(epoch);
            // 0 is a rate too: cosine annealing to minFactor 0 ends there, and a step or exponential decay underflows to it.
            return double.IsFinite(value) && value >= 0 ? value
                : throw new InvalidOperationException($"The learning-rate schedule {name} gave the factor {value} for epoch {epoch}; it must be a finite number ≥ 0.");
        }

        public override string ToString() => name;
    }
}
