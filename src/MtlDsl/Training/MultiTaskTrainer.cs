using MtlDsl.Losses;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Training;

/// <summary>
/// Trains a multi-task model one batch at a time: forward, task losses, the weighting strategy's backward
/// (the declared static weights unless another strategy is given), and the optimizer step, all inside one
/// dispose scope so that native memory stays flat over any number of steps.
/// </summary>
/// <typeparam name="TOutputs">The model's outputs record.</typeparam>
/// <typeparam name="TTargets">The model's targets record.</typeparam>
/// <typeparam name="TLossValues">The model's loss-values record, returned by every step.</typeparam>
public sealed partial class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
    where TOutputs : ITaskTensors<TOutputs>
    where TTargets : ITaskTensors<TTargets>
    where TLossValues : ITaskLossValues<TLossValues>
{
    private readonly MultiTaskModule<TOutputs, TTargets> _model;
    private readonly optim.Optimizer _optimizer;
    private readonly IReadOnlyList<Parameter> _shared;
    private readonly Parameter[] _guarded; // every parameter the optimizer updates: the model's and the strategy's
    private readonly GradientBuffer _gradients; // their gradients, zeroed and checked as one tensor
    private readonly bool _optimizerHasOthers; // the optimizer updates parameters beyond the guarded ones
    private readonly BufferSnapshot _buffers; // the model's buffers as they were before the current step
    private readonly bool _strategyHasState; // the strategy keeps a state of its own that its backward changes
    private readonly List<double[]> _epochLosses = [];
    private double[] _epochSums;
    private long[] _epochCounts;

    /// <summary>
    /// Creates a trainer that updates <paramref name="model"/> with <paramref name="optimizer"/>. A strategy with
    /// learnable parameters (UW, GradNorm, IMTL) needs them in the optimizer: use the overload that builds it.
    /// </summary>
    /// <exception cref="ArgumentException">The strategy's parameters are not in the optimizer.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter group's learning rate is NaN, infinite or negative, or another of its settings NaN or infinite.</exception>
    /// <exception cref="NotSupportedException">The strategy cannot run in <paramref name="mode"/>.</exception>
    public MultiTaskTrainer(MultiTaskModule<TOutputs, TTargets> model, optim.Optimizer optimizer, WeightingStrategy? weighting = null, GradientMode mode = GradientMode.Parameters)
        : this(model, weighting, mode, _ => optimizer ?? throw new ArgumentNullException(nameof(optimizer)))
    {
        var optimized = new HashSet<Parameter>(optimizer.parameters(), ReferenceEqualityComparer.Instance);
        if (Weighting.Parameters.Any(p => !optimized.Contains(p)))
            throw new ArgumentException(
                $"{Weighting.Name} learns parameters of its own, which the optimizer does not update. Let the trainer build the optimizer: " +
                "model.CreateTrainer(parameters => torch.optim.Adam(parameters, lr: 1e-3), weighting).", nameof(optimizer));
    }

    /// <summary>
    /// Creates a trainer whose optimizer <paramref name="optimizer"/> builds over the model's parameters and the
    /// strategy's own learnable ones.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter group's learning rate is NaN, infinite or negative, or another of its settings NaN or infinite.</exception>
    /// <exception cref="NotSupportedException">The strategy cannot run in <paramref name="mode"/>.</exception>
    public MultiTaskTrainer(MultiTaskModule<TOutputs, TTargets> model, Func<IEnumerable<Parameter>, optim.Optimizer> optimizer,
        WeightingStrategy? weighting = null, GradientMode mode = GradientMode.Parameters)
        : this(model, weighting, mode, optimizer)
    {
    }

    private MultiTaskTrainer(MultiTaskModule<TOutputs, TTargets> model, WeightingStrategy? weighting, GradientMode mode,
        Func<IEnumerable<Parameter>, optim.Optimizer> optimizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentNullException.ThrowIfNull(optimizer);
        Weighting = weighting ?? new StaticWeighting(model.Tasks.Select(t => t.Weight));
        Mode = mode;
        if (mode == GradientMode.Representation && Weighting.UsesGradients && !Weighting.SupportsRepresentation)
            throw new NotSupportedException($"{Weighting.Name} cannot take gradients with respect to the representation; create the trainer with GradientMode.Parameters.");
        if (mode == GradientMode.Representation && Weighting.UsesGradients && RepresentationProblem(model) is { } problem)
            throw new NotSupportedException(problem);
        _shared = model.SharedParameters();
        Parameter first = model.parameters().First();
        Weighting.Initialize(model.Tasks.Count, first.dtype, first.device);
        _guarded = [.. model.parameters(), .. Weighting.Parameters];
        _optimizer = optimizer(_guarded);
        Optimizers.OptimizerSettings.CheckGroups(_optimizer, nameof(optimizer));
        _gradients = new GradientBuffer(_guarded);
        var guarded = new HashSet<Parameter>(_guarded, ReferenceEqualityComparer.Instance);
        _optimizerHasOthers = _optimizer.parameters().Any(p => !guarded.Contains(p));
        _buffers = new BufferSnapshot(model);
        // The base class's state is the learnable scales, which only the optimizer step changes; a strategy that
        // overrides GetState keeps more (Nash-MTL's last solution, GradVac's target cosines, PCGrad's shuffle count),
        // written by its backward before the step is known to be good.
        _strategyHasState = Weighting.GetType().GetMethod(nameof(WeightingStrategy.GetState), Type.EmptyTypes)?.DeclaringType != typeof(WeightingStrategy);
        _epochSums = new double[model.Tasks.Count];
        _epochCounts = new long[model.Tasks.Count];
    }

    // Representation mode compares the tasks' gradients of one representation every task reads, or, in the
    // architectures that give every task a representation of its own (all but hard sharing), of each task's own when
    // they all have one shape (LibMTL's form). Hard sharing whose heads read different blocks has neither: the
    // blocks' gradients live in different spaces even where their shapes agree.
    private static string? RepresentationProblem(MultiTaskModule<TOutputs, TTargets> model)
    {
        IReadOnlyList<TaskDefinition> tasks = model.Tasks;
        int distinct = tasks.Select(t => t.Representation).Distinct(StringComparer.Ordinal).Count();
        if (distinct == 1) return null;
        // A transfer point reads another task's tower, so a task's loss depends on the other task's representation too.
        if (model.NetworkPlan is { } plan && Enumerable.Range(0, tasks.Count).FirstOrDefault(t => plan.TransferOf(t)?.Source is not null, -1) is int reader and >= 0)
            return $"{model.GetName()}: the head of '{tasks[reader].Name}' has a transfer point that reads another task's tower, so its loss depends on that task's representation as well as its own, " +
                   "and representation mode, which takes each task's gradient of its own representation, would miss that part; create the trainer with GradientMode.Parameters.";
        bool oneShape = tasks.All(t => t.RepresentationShape is { } shape && tasks[0].RepresentationShape is { } first && shape.SequenceEqual(first));
        if (model.Architecture != ModelArchitecture.HardSharing && distinct == tasks.Count && oneShape) return null;
        string reads = string.Join(", ", tasks.Select(t => $"'{t.Name}' reads {t.Representation} {ModelSummary.FormatShape(t.RepresentationShape ?? [])}"));
        return $"{model.GetName()} has no one representation to take gradients of: {reads}. Representation mode needs every task to read " +
               "the same representation (in hard sharing: the same trunk block), or, in MMoE, CGC, PLE, Cross-stitch and MTAN, each its own of one shape; " +
               "create the trainer with GradientMode.Parameters.";
    }

    /// <summary>The model being trained.</summary>
    public MultiTaskModule<TOutputs, TTargets> Model => _model;

    /// <summary>
    /// When set, every step rescales the gradients (model and strategy parameters together) so that their global
    /// L2 norm is at most this value, after the strategy's backward and before the optimizer step.
    /// </summary>
    public double? MaxGradientNorm
    {
        get => _maxGradientNorm;
        set => _maxGradientNorm = value is null || (double.IsFinite(value.Value) && value.Value > 0) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The maximum gradient norm must be a positive, finite number (or null for no clipping).");
    }

    private double? _maxGradientNorm;

    /// <summary>The weighting strategy.</summary>
    public WeightingStrategy Weighting { get; }

    /// <summary>Where gradient-based strategies take the task gradients.</summary>
    public GradientMode Mode { get; }

    /// <summary>The optimizer.</summary>
    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>
    /// The number of training steps taken, skipped ones (<see cref="SkippedSteps"/>) included; a step that throws is not
    /// counted.
    /// </summary>
    public long StepCount { get; private set; }

    /// <summary>The current epoch, counted from 0 (advanced by <see cref="EndEpoch"/>).</summary>
    public int Epoch => _epochLosses.Count;

    /// <summary>Each finished epoch's average training loss per task, over the steps that took their optimizer step.</summary>
    public IReadOnlyList<double[]> EpochLosses => _epochLosses;

    /// <summary>The task weights the strategy reported in the last step that took its optimizer step.</summary>
    public IReadOnlyList<double> LastWeights { get; private set; } = [];

    // The weights of the step just run, taken or skipped: the joint loss Step returns is weighted with them.
    private IReadOnlyList<double> _stepWeights = [];

    /// <summary>
    /// One training step on a batch: the model in training mode, the strategy's backward, one optimizer step.
    /// Returns the joint loss (Σ weight·loss with the strategy's weights) and each task's own loss (NaN, and left out of the joint loss, for a task without any label in the batch).
    /// A step that throws, or that a fit skips, leaves the model (its buffers too: BatchNorm's running statistics),
    /// the optimizer, the strategy and the trainer's statistics as they were.
    /// </summary>
    /// <exception cref="TaskTensorException">A target does not fit its head's output.</exception>
    /// <exception cref="NonFiniteLossException">A loss is NaN or infinite; the optimizer step is skipped.</exception>
    /// <exception cref="NonFiniteGradientException">A gradient is NaN or infinite; the optimizer step is skipped.</exception>
    public TLossValues Step(Tensor input, TTargets targets) => Values(StepLosses(_model.One(input), targets));

    /// <summary>One training step on a batch of a model of several inputs (its generated <c>Inputs</c> record); see <see cref="Step(Tensor, TTargets)"/>.</summary>
    /// <exception cref="InputTensorException">An input does not fit its declaration.</exception>
    public TLossValues Step(IModelInputs inputs, TTargets targets) => Values(StepLosses(_model.TensorsOf(inputs), targets));

    // Step, returning each task's loss.
    internal double[] StepLosses(Tensor[] input, TTargets targets) => AllOrNothing(() =>
    {
        using var scope = torch.NewDisposeScope();
        if (!_model.training) _model.train();
        ZeroGradients();

        TOutputs outputs;
        List<RepresentationPair>? representation = null;
        if (Mode == GradientMode.Representation && Weighting.UsesGradients)
        {
            // The heads read detached copies; tasks that share a representation share one copy.
            Tensor[] shared = _model.ForwardRepresentations(input);
            representation = [];
            var headInputs = new Tensor[shared.Length];
            for (int task = 0; task < shared.Length; task++)
            {
                int known = representation.FindIndex(r => ReferenceEquals(r.Output, shared[task]));
                if (known < 0)
                {
                    representation.Add(new RepresentationPair(shared[task], shared[task].detach().requires_grad_(true)));
                    known = representation.Count - 1;
                }
                headInputs[task] = representation[known].HeadInput;
            }
            outputs = _model.ForwardHeads(headInputs);
        }
        else
        {
            outputs = _model.Forward(input);
        }

        bool[] present = [];
        Tensor[] losses = AtNextStep(() => _model.ComputeTaskLosses(outputs, targets, out present));
        WithoutScoredOnly(losses, present);
        return Finish(losses, present, representation, () => _model.ComputeTaskLosses(_model.Forward(input), targets, out _));
    });

    // Runs one step so that it either takes its optimizer step or leaves no trace. A training-mode forward pass writes
    // the model's buffers (BatchNorm's running statistics) and the strategy's backward its own state before anything
    // can tell that the batch is bad: a NaN feature made the running statistics NaN for good, and every later
    // prediction in evaluation mode with them, although the step was refused. So the buffers and the strategy's state
    // are saved first and put back when the step is skipped (a fit's SkipStep) or throws (a target that does not fit, a
    // non-finite loss or gradient), and a step that throws is not counted. Once the optimizer step has run, the step
    // happened: an error after it (FAMO's update, say) rolls nothing back.
    private T AllOrNothing<T>(Func<T> step)
    {
        (long steps, long skipped, int skippedInFit) = (StepCount, SkippedSteps, _skippedInFit);
        IReadOnlyDictionary<string, double[]>? strategy = _strategyHasState ? Weighting.GetState() : null;
        _buffers.Save();
        _optimizerStepped = false;
        try
        {
            T result = step();
            if (!_optimizerStepped) Rollback(strategy);
            return result;
        }
        catch when (!_optimizerStepped)
        {
            Rollback(strategy);
            (StepCount, SkippedSteps, _skippedInFit) = (steps, skipped, skippedInFit);
            throw;
        }
    }

    private void Rollback(IReadOnlyDictionary<string, double[]>? strategy)
    {
        _buffers.Restore();
        if (strategy is not null) Weighting.LoadState(strategy);
    }

    // Whether the current step has run its optimizer step.
    private bool _optimizerStepped;

    // A target that does not fit, found while computing the losses, is reported with the step it belongs to.
    private T AtNextStep<T>(Func<T> computeLosses)
    {
        try
        {
            return computeLosses();
        }
        catch (TaskTensorException e)
        {
            throw e.AtStep(StepCount + 1);
        }
    }

    // The joint loss with the last step's weights, and each task's loss (NaN, and nothing in the joint loss, for a
    // task without any label in the batch).
    private TLossValues Values(double[] losses) => Values(losses, _stepWeights);

    private static TLossValues Values(double[] losses, IReadOnlyList<double> weights) =>
        TLossValues.Create(losses.Select((v, k) => double.IsNaN(v) ? 0 : v * weights[k]).Sum(), losses);

    // The strategy's backward and the optimizer step, after the losses were read and checked; returns each task's loss.
    // lossesAfterStep computes the batch's losses again, for a strategy that needs them after the optimizer step (FAMO).
    private double[] Finish(Tensor[] losses, bool[] present, IReadOnlyList<RepresentationPair>? representation, Func<Tensor[]> lossesAfterStep)
    {
        StepCount++;
        double[] values = ReadValues(losses, present, StepCount);
        double[] weights = Weighting.Backward(losses, new WeightingContext(_shared, representation, Epoch, _epochLosses, present));
        _stepWeights = weights;
        if (!ClipAndStep(task: null, NonFiniteWeight(weights))) return values;
        if (Weighting.NeedsLossesAfterStep)
        {
            using var noGrad = torch.no_grad();
            Tensor[] after = lossesAfterStep();
            Weighting.AfterStep(after.Select((l, k) => present[k] ? l.to(ScalarType.Float64).item<double>() : double.NaN).ToArray());
        }

        // A skipped step returned above: its losses are the batch's, but they did not train the model, so the epoch's
        // means (which DWA and GradNorm read) leave them out.
        for (int k = 0; k < values.Length; k++) AddToEpoch(k, values[k]);
        LastWeights = weights;
        return values;
    }

    // A task's loss joins the epoch's mean only from a batch that held its labels.
    private void AddToEpoch(int task, double value)
    {
        if (double.IsNaN(value)) return;
        _epochSums[task] += value;
        _epochCounts[task]++;
    }

    // The optimizer step, after the gradient guard: a non-finite gradient (or task weight, given as weightError) never
    // reaches the parameters. Returns whether the step was taken; false when a fit skips it.
    private bool ClipAndStep(int? task, NonFiniteGradientException? weightError = null)
    {
        if (weightError is not null || !GradientsAreFinite())
        {
            NonFiniteGradientException error = weightError ?? NonFiniteGradient(task);
            ZeroGradients();
            if (_nonFiniteGradients != NonFiniteGradientAction.SkipStep) throw error;
            SkippedSteps++;
            if (++_skippedInFit > _maxSkippedSteps)
                throw new NonFiniteGradientException(error.Parameter, error.Task, StepCount,
                    $"{_skippedInFit} steps of this fit had non-finite gradients, more than FitOptions.MaxSkippedSteps = {_maxSkippedSteps}; the last: {error.Message}");
            return false;
        }
        if (_maxGradientNorm is double max)
            nn.utils.clip_grad_norm_(_guarded, max);
        _optimizerStepped = true;
        _optimizer.step();
        return true;
    }

    // Whether the last step's gradients are all in the gradient buffer (for tests).
    internal bool GradientsInBuffer => _gradients.Intact();

    /// <summary>Steps whose optimizer step was skipped for non-finite gradients (only a fit with <see cref="NonFiniteGradientAction.SkipStep"/> skips).</summary>
    public long SkippedSteps { get; private set; }

    // Set by Fit for its duration; a step outside a fit throws.
    private NonFiniteGradientAction _nonFiniteGradients = NonFiniteGradientAction.Throw;
    private int _maxSkippedSteps;
    private int _skippedInFit;

    // Every gradient of the step, the guarded parameters' as slices of one buffer, any other parameter's the
    // optimizer updates on its own.
    private void ZeroGradients()
    {
        _gradients.Zero();
        if (_optimizerHasOthers) _optimizer.zero_grad();
    }

    // Every gradient, model and strategy parameters, in one reduction and one copy to the host: over the gradient
    // buffer, or, where something replaced a gradient tensor in this step, over each gradient's own sum. A finite
    // sum means every value is finite; a non-finite one may also be an overflow of large finite values, so the
    // exact count decides then (rarely: it reads every parameter).
    private bool GradientsAreFinite()
    {
        using var scope = torch.NewDisposeScope();
        bool? buffered = _gradients.SumIsFinite();
        if (buffered is bool finite) return finite || NonFiniteParameters().Count == 0;
        var sums = new List<Tensor>(_guarded.Length);
        foreach (Parameter p in _guarded)
            if (p.grad is Tensor g) sums.Add(g.sum());
        return sums.Count == 0 || torch.stack(sums).sum().isfinite().cpu().item<bool>() || NonFiniteParameters().Count == 0;
    }

    // The parameters whose gradient holds NaN or infinite values, with their counts.
    private List<(string Name, long NaN, long Infinite, long Count)> NonFiniteParameters()
    {
        using var scope = torch.NewDisposeScope();
        var named = _model.named_parameters().Select(p => (p.name, p.parameter))
            .Concat(Weighting.Parameters.Select((p, i) => ($"{Weighting.Name} parameter {i}", p)));
        var bad = new List<(string, long, long, long)>();
        foreach (var (name, p) in named)
        {
            if (p.grad is not Tensor g) continue;
            long nan = g.isnan().sum().item<long>(), infinite = g.isinf().sum().item<long>();
            if (nan + infinite > 0) bad.Add((name, nan, infinite, g.numel()));
        }
        return bad;
    }

    // The slow path, only after the guard fired: which parameters, how many values.
    private NonFiniteGradientException NonFiniteGradient(int? task)
    {
        var bad = NonFiniteParameters();
        string source = task is int k ? $"task '{_model.Tasks[k].Name}'" : "the joint loss";
        string where = string.Join(", ", bad.Take(4).Select(b => $"'{b.Name}' ({b.NaN} NaN and {b.Infinite} infinite of {b.Count} values)"));
        string more = bad.Count > 4 ? $" and {bad.Count - 4} more parameters" : "";
        return new NonFiniteGradientException(bad[0].Name, task is int t ? _model.Tasks[t].Name : null, StepCount,
            $"the gradient of {source} is not finite in {where}{more}, while every task's loss was finite");
    }

    // A strategy's task weight that is NaN or infinite would make every gradient so: the step is refused or skipped
    // as a non-finite gradient is.
    private NonFiniteGradientException? NonFiniteWeight(double[] weights)
    {
        int bad = Array.FindIndex(weights, w => !double.IsFinite(w));
        return bad < 0 ? null : new NonFiniteGradientException("task weights", _model.Tasks[bad].Name, StepCount,
            $"{Weighting.Name} gave task '{_model.Tasks[bad].Name}' the weight {weights[bad]}");
    }

    /// <summary>
    /// One training step on one task alone, with a batch of that task's own data: the trunk and that task's head,
    /// its loss times its fixed weight, one optimizer step. This is what round-robin and proportional
    /// interleaving of per-task datasets take; only a strategy with <see cref="WeightingStrategy.FixedWeights"/>
    /// (static weights, EW) can weight one task on its own. Returns the task's weighted and unweighted loss (NaN when
    /// the batch holds no label of the task).
    /// </summary>
    /// <exception cref="NotSupportedException">The strategy adapts its weights from all tasks' losses or gradients.</exception>
    public (double Weighted, double Loss) StepTask(int task, Tensor input, Tensor target) => StepTask(task, _model.One(input), target);

    /// <summary>One training step on one task alone, for a model of several inputs; see <see cref="StepTask(int, Tensor, Tensor)"/>.</summary>
    public (double Weighted, double Loss) StepTask(int task, IModelInputs inputs, Tensor target) =>
        StepTask(task, _model.TensorsOf(inputs), target);

    internal (double Weighted, double Loss) StepTask(int task, Tensor[] input, Tensor target)
    {
        IReadOnlyList<double> fixedWeights = Weighting.FixedWeights ?? throw OneTaskUnsupported();
        if ((uint)task >= (uint)_model.Tasks.Count)
            throw new ArgumentOutOfRangeException(nameof(task), task, $"The model has {_model.Tasks.Count} tasks (0 to {_model.Tasks.Count - 1}).");
        return AllOrNothing(() =>
        {
            using var scope = torch.NewDisposeScope();
            if (!_model.training) _model.train();
            ZeroGradients();
            bool present = false;
            Tensor loss = AtNextStep(() => TaskLosses.Compute(_model.Tasks[task], _model.ForwardTask(task, input), target, out present));
            (loss, present) = WithoutScoredOnly(task, loss, present);
            StepCount++;
            double value = loss.detach().to(ScalarType.Float64).cpu().item<double>();
            if (!double.IsFinite(value)) throw new NonFiniteLossException(_model.Tasks[task].Name, StepCount, value);
            TensorMath.Scaled(loss, fixedWeights[task]).backward();
            if (!present) value = double.NaN;
            if (ClipAndStep(task))
            {
                AddToEpoch(task, value);
                LastWeights = fixedWeights.ToArray();
            }
            return (value * fixedWeights[task], value);
        });
    }

    // A task scored only (weight 0: a factor of a product task, ESMM's conversion tower) is trained through the product
    // alone: every training step counts it as without labels, its loss a 0 still connected to the graph (as a batch
    // without labels gives), so that its training loss is NaN and every weighting strategy leaves it out. Evaluation
    // scores it as any task.
    private (Tensor Loss, bool Present) WithoutScoredOnly(int task, Tensor loss, bool present) =>
        _model.Tasks[task].ScoredOnly ? (loss.mul(torch.zeros_like(loss)), false) : (loss, present);

    // The same for every task's loss of a step, in place.
    private void WithoutScoredOnly(Tensor[] losses, bool[] present)
    {
        for (int task = 0; task < losses.Length; task++)
            (losses[task], present[task]) = WithoutScoredOnly(task, losses[task], present[task]);
    }

    private NotSupportedException OneTaskUnsupported() => new(
        $"{Weighting.Name} weights the tasks from all of their losses or gradients at once, so it cannot train one task per step. " +
        "Interleave per-task datasets with TaskInterleaving.AllTasks (one batch of every task per step), or use static weights or EW.");

    /// <summary>
    /// One training step with one batch per task, each from that task's own dataset (LibMTL's multi-input mode):
    /// task k's batch runs through the trunk and head k, its loss is task k's, and the strategy combines the K
    /// losses as usual. The trunk runs once per task, so gradients are taken with respect to its parameters; a
    /// trainer in representation mode refuses this step.
    /// </summary>
    /// <exception cref="NotSupportedException">The trainer uses <see cref="GradientMode.Representation"/> with a gradient method.</exception>
    public TLossValues Step(IReadOnlyList<Tensor> inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Values(StepLosses(inputs.Select(_model.One).ToArray(), targets));
    }

    /// <summary>One training step with one batch per task, for a model of several inputs: one <c>Inputs</c> record per task; see <see cref="Step(IReadOnlyList{Tensor}, TTargets)"/>.</summary>
    public TLossValues Step(IReadOnlyList<IModelInputs> inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Values(StepLosses(inputs.Select(_model.TensorsOf).ToArray(), targets));
    }

    // Step with one batch per task, returning each task's loss.
    // With indices (a fit's step), a bad input is placed in its task's data: the step and the row.
    internal double[] StepLosses(IReadOnlyList<Tensor[]> inputs, TTargets targets, IReadOnlyList<Tensor>? indices = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != _model.Tasks.Count)
            throw new ArgumentException($"One input batch per task is needed: {_model.Tasks.Count} tasks, {inputs.Count} batches.", nameof(inputs));
        if (Mode == GradientMode.Representation && Weighting.UsesGradients)
            throw new NotSupportedException("With one dataset per task every task has its own representation; create the trainer with GradientMode.Parameters.");
        return AllOrNothing(() =>
        {
            using var scope = torch.NewDisposeScope();
            if (!_model.training) _model.train();
            ZeroGradients();
            var present = new bool[inputs.Count];
            Tensor Output(int task) => indices is null
                ? _model.ForwardTask(task, inputs[task])
                : InBatch(StepCount + 1, indices[task], () => _model.ForwardTask(task, inputs[task]));
            Tensor[] losses = AtNextStep(() => inputs.Select((_, task) =>
                TaskLosses.Compute(_model.Tasks[task], Output(task), targets[task], out present[task])).ToArray());
            WithoutScoredOnly(losses, present);
            return Finish(losses, present, null, () => Enumerable.Range(0, inputs.Count).Select(task => TaskLosses.Compute(_model.Tasks[task], _model.ForwardTask(task, inputs[task]), targets[task], out _)).ToArray());
        });
    }

    /// <summary>
    /// Ends the current epoch: its average loss per task over the steps whose batch held the task's labels joins
    /// <see cref="EpochLosses"/> (which DWA and GradNorm read; NaN for a task without any), and the epoch counter
    /// advances.
    /// </summary>
    public void EndEpoch()
    {
        _epochLosses.Add(_epochSums.Select((s, k) => _epochCounts[k] == 0 ? double.NaN : s / _epochCounts[k]).ToArray());
        _epochSums = new double[_epochSums.Length];
        _epochCounts = new long[_epochCounts.Length];
    }

    /// <summary>
    /// The losses on a batch in evaluation mode, without gradients, with the declared weights; the training mode is
    /// restored after. A NaN or infinite feature, prediction or (not a missing label's NaN) target is an error naming the
    /// sample of the batch.
    /// </summary>
    /// <exception cref="InputTensorException">An input does not fit its declaration, or a feature is NaN or infinite.</exception>
    /// <exception cref="TaskTensorException">A target does not fit its task or is infinite, or a prediction is NaN or infinite.</exception>
    public TLossValues Evaluate(Tensor input, TTargets targets) => Evaluate(_model.One(input), targets);

    /// <summary>The losses on a batch of a model of several inputs; see <see cref="Evaluate(Tensor, TTargets)"/>.</summary>
    public TLossValues Evaluate(IModelInputs inputs, TTargets targets) => Evaluate(_model.TensorsOf(inputs), targets);

    private TLossValues Evaluate(Tensor[] input, TTargets targets)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            TOutputs outputs = _model.Forward(input);
            CheckFinite(input, [.. Enumerable.Range(0, _model.Tasks.Count).Select(task => (task, outputs[task], targets[task]))], indices: null, ownData: null);
            Tensor[] losses = _model.ComputeTaskLosses(outputs, targets, out bool[] present);
            double[] values = ReadValues(losses, present, StepCount);
            return Values(values, _model.Tasks.Select(t => t.Weight).ToArray());
        }
        finally
        {
            if (wasTraining) _model.train();
        }
    }

    /// <summary>The trainer's state for a checkpoint: step, epoch history and the strategy's state.</summary>
    public TrainerState GetState() => new(StepCount, [.. _epochLosses.Select(e => (double[])e.Clone())],
        (double[])_epochSums.Clone(), (long[])_epochCounts.Clone(), Weighting.Name, Weighting.GetState());

    /// <summary>
    /// Restores a state from <see cref="GetState"/> (the optimizer's state is saved with the optimizer). The whole
    /// state, the strategy's included, is checked first: a state it refuses changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The state is not one of this trainer (another strategy or task count, or values out of range).</exception>
    public void LoadState(TrainerState state)
    {
        CheckState(state);
        StepCount = state.StepCount;
        _epochLosses.Clear();
        _epochLosses.AddRange(state.EpochLosses.Select(e => (double[])e.Clone()));
        _epochSums = (double[])state.EpochSums.Clone();
        _epochCounts = (long[])state.EpochCounts.Clone();
        Weighting.LoadState(state.WeightingState);
    }

    // Everything LoadState needs, checked without changing anything.
    private void CheckState(TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        int tasks = _model.Tasks.Count;
        ArgumentException Bad(string why) => new($"The trainer state {why}.", nameof(state));
        if (state.Weighting != Weighting.Name)
            throw Bad($"was saved with {state.Weighting ?? "no strategy"}; this trainer uses {Weighting.Name}");
        if (state.StepCount < 0) throw Bad($"has {state.StepCount} steps; expected a count ≥ 0");
        if (state.EpochLosses is null) throw Bad("has no epoch losses; expected one array per finished epoch");
        for (int e = 0; e < state.EpochLosses.Count; e++)
        {
            double[]? losses = state.EpochLosses[e];
            if (losses is null || losses.Length != tasks)
                throw Bad($"has {losses?.Length.ToString() ?? "no"} losses for epoch {e}; expected one per task, {tasks}");
            if (losses.Any(double.IsInfinity)) throw Bad($"has an infinite loss in epoch {e}; expected finite losses (NaN for a task without labels)");
        }
        if (state.EpochSums is null || state.EpochSums.Length != tasks)
            throw Bad($"has {state.EpochSums?.Length.ToString() ?? "no"} running loss sums; expected one per task, {tasks}");
        if (!state.EpochSums.All(double.IsFinite)) throw Bad("has a running loss sum that is not finite");
        if (state.EpochCounts is null || state.EpochCounts.Length != tasks)
            throw Bad($"has {state.EpochCounts?.Length.ToString() ?? "no"} running step counts; expected one per task, {tasks}");
        if (state.EpochCounts.Any(c => c < 0)) throw Bad("has a negative running step count");
        if (state.WeightingState is null) throw Bad($"has no state of {Weighting.Name}");
        Weighting.CheckState(state.WeightingState);
    }

    // Every task's loss in one copy to the CPU (one synchronisation, not one per task), checked finite; NaN for a
    // task without any label in the batch (its loss of 0 was not learned).
    private double[] ReadValues(Tensor[] losses, bool[] present, long step)
    {
        double[] values = torch.stack(losses).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int task = 0; task < values.Length; task++)
        {
            if (!double.IsFinite(values[task])) throw new NonFiniteLossException(_model.Tasks[task].Name, step, values[task]);
            if (!present[task]) values[task] = double.NaN;
        }
        return values;
    }
}

/// <summary>What a checkpoint keeps of a trainer.</summary>
/// <param name="StepCount">Training steps taken.</param>
/// <param name="EpochLosses">Each finished epoch's average loss per task.</param>
/// <param name="EpochSums">The current epoch's running loss sums per task.</param>
/// <param name="EpochCounts">The current epoch's steps so far per task.</param>
/// <param name="Weighting">The strategy's name.</param>
/// <param name="WeightingState">The strategy's state.</param>
public sealed record TrainerState(long StepCount, IReadOnlyList<double[]> EpochLosses, double[] EpochSums, long[] EpochCounts,
    string Weighting, IReadOnlyDictionary<string, double[]> WeightingState);
