using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>Where a gradient-based strategy takes the task gradients.</summary>
public enum GradientMode
{
    /// <summary>With respect to the shared parameters: one backward pass through the shared part per task (LibMTL's default).</summary>
    Parameters,

    /// <summary>
    /// With respect to the representation: one backward pass through each head per task and a single one through
    /// the shared part. Cheaper; not every strategy allows it. Where every task has its own representation (MMoE,
    /// CGC, PLE, Cross-stitch, MTAN), task k's gradient is taken with respect to its own, as LibMTL does; they must
    /// all have one shape.
    /// </summary>
    Representation,
}

/// <summary>A representation in representation mode: the shared part's output, and the detached copy of it the heads read.</summary>
/// <param name="Output">The representation as the shared part computed it (its graph reaches the shared parameters).</param>
/// <param name="HeadInput">The detached copy, requiring gradients, that the heads read.</param>
public readonly record struct RepresentationPair(Tensor Output, Tensor HeadInput);

/// <summary>
/// What a strategy sees of the training step: the shared parameters or the representations, and the per-epoch
/// average losses so far (for strategies that weight by loss history).
/// </summary>
public sealed class WeightingContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="sharedParameters">The shared parameters, in the order the gradients are flattened.</param>
    /// <param name="representations">
    /// In <see cref="GradientMode.Representation"/>: one representation every task reads, or one per task
    /// (declaration order, all of one shape); else null.
    /// </param>
    /// <param name="epoch">The current epoch, counted from 0.</param>
    /// <param name="epochLosses">Each finished epoch's average loss of every task: <c>epochLosses[e][k]</c>.</param>
    /// <param name="present">Whether the batch held each task's labels (a task without any has a loss of 0 and no gradient); null: every task's.</param>
    public WeightingContext(IReadOnlyList<Parameter> sharedParameters, IReadOnlyList<RepresentationPair>? representations = null,
        int epoch = 0, IReadOnlyList<double[]>? epochLosses = null, IReadOnlyList<bool>? present = null)
    {
        SharedParameters = sharedParameters;
        Representations = representations;
        Epoch = epoch;
        EpochLosses = epochLosses ?? [];
        Present = present;
    }

    /// <summary>Whether the batch held each task's labels; null when every task's were there.</summary>
    public IReadOnlyList<bool>? Present { get; }

    /// <summary>Whether the batch held task <paramref name="task"/>'s labels.</summary>
    public bool IsPresent(int task) => Present is null || Present[task];

    /// <summary>The shared parameters.</summary>
    public IReadOnlyList<Parameter> SharedParameters { get; }

    /// <summary>In representation mode, the representation every task reads or one per task; else null.</summary>
    public IReadOnlyList<RepresentationPair>? Representations { get; }

    /// <summary>The current epoch, counted from 0.</summary>
    public int Epoch { get; }

    /// <summary>Each finished epoch's average loss per task.</summary>
    public IReadOnlyList<double[]> EpochLosses { get; }
}

/// <summary>
/// A way to turn the tasks' losses into gradients: a weighted sum of the losses (loss weighting) or a combination
/// of the tasks' gradients on the trunk (gradient weighting). One class per method; each follows LibMTL's
/// implementation, and its documentation says where LibMTL departs from the paper.
/// </summary>
public abstract class WeightingStrategy
{
    /// <summary>The method's short name, as in the literature (EW, UW, PCGrad, …).</summary>
    public abstract string Name { get; }

    /// <summary>The number of tasks, known after <see cref="Initialize"/>.</summary>
    public int TaskCount { get; private set; }

    /// <summary>Whether the method can take gradients with respect to the representation.</summary>
    public virtual bool SupportsRepresentation => false;

    /// <summary>Whether the method needs the task gradients (and so a gradient mode).</summary>
    public virtual bool UsesGradients => false;

    /// <summary>
    /// The weights when they never change (static weights, EW); null for every method that adapts them. Only such a
    /// strategy can train one task per step (round-robin or proportional interleaving of per-task datasets).
    /// </summary>
    public virtual IReadOnlyList<double>? FixedWeights => null;

    /// <summary>Prepares the strategy for <paramref name="taskCount"/> tasks; creates its learnable parameters, if any, with this type and device.</summary>
    public void Initialize(int taskCount, ScalarType dtype, Device device)
    {
        if (taskCount < 1) throw new ArgumentOutOfRangeException(nameof(taskCount), taskCount, "A weighting strategy needs at least one task.");
        if (TaskCount != 0 && TaskCount != taskCount)
            throw new InvalidOperationException($"{Name} was initialised for {TaskCount} tasks and cannot be reused for {taskCount}.");
        if (TaskCount == taskCount) return;
        TaskCount = taskCount;
        OnInitialize(dtype, device);
    }

    /// <summary>Creates the strategy's parameters.</summary>
    protected virtual void OnInitialize(ScalarType dtype, Device device)
    {
    }

    /// <summary>
    /// The options the strategy's Python twin (<c>mtldsl_weighting.py</c>, which <c>train_ddp.py</c> trains with) is
    /// created with, by their Python names, as text; a <c>seed</c> is the strategy's seed. By default the learnable
    /// scales' initial value (they must all be equal: a strategy that has trained travels in a checkpoint), else none.
    /// </summary>
    /// <exception cref="NotSupportedException">The learnable scales differ (the strategy has trained).</exception>
    internal virtual IEnumerable<(string Name, string Value)> TwinOptions
    {
        get
        {
            if (LearnableScale is null) yield break;
            double[] scale = LearnableScale.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
            if (scale.Any(v => v != scale[0]))
                throw new NotSupportedException($"{Name}'s learnable scales differ ({string.Join(", ", scale)}): it has trained, and its state travels to train_ddp.py in a checkpoint (--resume-from).");
            yield return ("initial_scale", Twin(scale[0]));
        }
    }

    /// <summary>A number as <see cref="TwinOptions"/> writes it (round-trip, invariant).</summary>
    internal static string Twin(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The strategy's learnable parameters (UW's log-variances, GradNorm's and IMTL's scales); the optimizer must update them.</summary>
    public IReadOnlyList<Parameter> Parameters => LearnableScale is null ? [] : [LearnableScale];

    /// <summary>One learnable value per task, for the methods that learn task scales; null for the others.</summary>
    protected Parameter? LearnableScale { get; private set; }

    /// <summary>Creates <see cref="LearnableScale"/>, every value <paramref name="initial"/> (call from <see cref="OnInitialize"/>).</summary>
    protected void CreateLearnableScale(double initial, ScalarType dtype, Device device)
    {
        using Scalar value = initial.ToScalar();
        LearnableScale = new Parameter(full(TaskCount, value, dtype: dtype, device: device).DetachFromDisposeScope(), requires_grad: true);
    }

    /// <summary><see cref="LearnableScale"/>, or a clear error before <see cref="Initialize"/>.</summary>
    protected Parameter RequireScale() => LearnableScale ?? throw new InvalidOperationException($"{Name} is not initialised yet.");

    /// <summary>
    /// Back-propagates the task losses: leaves the gradients on the trunk and on the heads, and returns the task
    /// weights the method reports (as LibMTL returns them; see each method's documentation).
    /// </summary>
    public abstract double[] Backward(IReadOnlyList<Tensor> losses, WeightingContext context);

    /// <summary>
    /// Whether the method needs every task's loss on the step's batch after the optimizer step (FAMO): the trainer then
    /// runs the model once more on that batch, without gradients, and calls <see cref="AfterStep"/>.
    /// </summary>
    public virtual bool NeedsLossesAfterStep => false;

    /// <summary>The losses of the step's batch after the optimizer step (NaN for a task without labels in it), for a method that <see cref="NeedsLossesAfterStep"/>.</summary>
    public virtual void AfterStep(IReadOnlyList<double> lossesAfter)
    {
    }

    /// <summary>The strategy's state for a checkpoint (learnable scales and anything else that changes while training).</summary>
    public virtual IReadOnlyDictionary<string, double[]> GetState() =>
        LearnableScale is null ? new Dictionary<string, double[]>()
            : new Dictionary<string, double[]> { ["loss_scale"] = LearnableScale.detach().to(ScalarType.Float64).cpu().data<double>().ToArray() };

    /// <summary>Restores a state from <see cref="GetState"/>, after <see cref="CheckState"/>: a state it refuses changes nothing.</summary>
    /// <exception cref="ArgumentException">The state is not one this strategy can load; the message says what is expected.</exception>
    public virtual void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        CheckState(state);
        if (LearnableScale is null) return;
        double[] scale = state["loss_scale"];
        using (no_grad()) LearnableScale.copy_(tensor(scale).to(LearnableScale.dtype));
    }

    /// <summary>
    /// Checks that <paramref name="state"/> is one <see cref="LoadState"/> accepts (every value it needs, of the
    /// right length, finite and in range), without changing anything. A checkpoint is checked whole before any of it
    /// is loaded, so a strategy that overrides <see cref="LoadState"/> overrides this too, and its
    /// <see cref="LoadState"/> calls it first.
    /// </summary>
    /// <exception cref="ArgumentException">The state is not one this strategy can load; the message says what is expected.</exception>
    public virtual void CheckState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var (key, values) in state)
            if (values is null) throw new ArgumentException($"{Name}: the state's '{key}' is null; expected an array of numbers.", nameof(state));
        if (LearnableScale is not null) StateValues(state, "loss_scale", TaskCount);
    }

    /// <summary>
    /// The values under <paramref name="key"/> of a state: exactly <paramref name="length"/> of them, each finite (for
    /// <see cref="CheckState"/>).
    /// </summary>
    /// <exception cref="ArgumentException">They are missing, of another length or not finite.</exception>
    protected double[] StateValues(IReadOnlyDictionary<string, double[]> state, string key, int length) =>
        OptionalStateValues(state, key, length)
        ?? throw new ArgumentException($"{Name}: the state needs '{key}' with {length} finite values; it has none.", nameof(state));

    /// <summary>Like <see cref="StateValues"/>, for a value the state may leave out: null when it does.</summary>
    /// <exception cref="ArgumentException">They are of another length or not finite.</exception>
    protected double[]? OptionalStateValues(IReadOnlyDictionary<string, double[]> state, string key, int length)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.TryGetValue(key, out double[]? values)) return null;
        if (values is null || values.Length != length)
            throw new ArgumentException($"{Name}: the state's '{key}' has {values?.Length.ToString() ?? "no"} values; expected {length} (this strategy has {TaskCount} tasks).", nameof(state));
        int bad = Array.FindIndex(values, v => !double.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"{Name}: the state's '{key}' holds {values[bad]} at {bad}; expected finite values.", nameof(state));
        return values;
    }

    /// <summary>A count kept in a state as a number: a whole number from 0 to 2^53 (for <see cref="CheckState"/>).</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    protected long StateCount(double value, string what) =>
        value >= 0 && value <= 9007199254740992 && value == Math.Floor(value) ? (long)value
            : throw new ArgumentException($"{Name}: the state's {what} is {value}; expected a whole number ≥ 0.", "state");

    /// <summary>A seed kept in a state as a number: a whole number in the range of <see cref="int"/> (for <see cref="CheckState"/>).</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    protected int StateSeed(double value, string what) =>
        value >= int.MinValue && value <= int.MaxValue && value == Math.Floor(value) ? (int)value
            : throw new ArgumentException($"{Name}: the state's {what} is {value}; expected a whole number in the range of a 32-bit seed.", "state");

    /// <summary>Checks the losses: one scalar per task.</summary>
    protected void CheckLosses(IReadOnlyList<Tensor> losses)
    {
        ArgumentNullException.ThrowIfNull(losses);
        if (TaskCount == 0) throw new InvalidOperationException($"{Name} is not initialised: call Initialize(taskCount, …) first (the trainer does).");
        if (losses.Count != TaskCount)
            throw new ArgumentException($"{Name} was initialised for {TaskCount} tasks but got {losses.Count} losses.", nameof(losses));
    }
}
