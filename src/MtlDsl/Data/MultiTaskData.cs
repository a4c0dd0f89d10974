using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Data;

/// <summary>How a dataset gives each task its samples.</summary>
public enum DataLayout
{
    /// <summary>One dataset for all tasks: every sample has an input and a target for every task (a missing label is marked, see <see cref="Losses.TaskLosses.MissingClass"/>).</summary>
    Shared,

    /// <summary>One dataset per task: task k has its own inputs and targets, of its own size.</summary>
    PerTask,
}

/// <summary>
/// Training or evaluation data held as tensors: the samples are the first dimension, and a batch is gathered by
/// indexing (<see cref="Batches"/>), so the data is never copied or reordered per epoch. Build it with
/// <see cref="Shared(Tensor, TTargets)"/> (one dataset for all tasks) or <see cref="PerTask(IReadOnlyList{Tensor}, TTargets)"/> (one dataset per task).
/// </summary>
/// <typeparam name="TTargets">The model's targets record.</typeparam>
public sealed class MultiTaskData<TTargets> where TTargets : ITaskTensors<TTargets>
{
    // One set of input tensors per dataset (one dataset, or one per task); each set holds one tensor per model input.
    private readonly Tensor[][] _inputs;
    private readonly TTargets _targets;

    private MultiTaskData(DataLayout layout, Tensor[][] inputs, TTargets targets, IReadOnlyList<string>? inputNames)
    {
        Layout = layout;
        _inputs = inputs;
        _targets = targets;
        InputNames = inputNames;
    }

    /// <summary>One dataset for all tasks: <paramref name="inputs"/> <c>[N, …]</c>, and every task's targets with the same N.</summary>
    /// <exception cref="TaskTensorException">A task's targets do not have N samples.</exception>
    public static MultiTaskData<TTargets> Shared(Tensor inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.dim() == 0) throw new ArgumentException("The inputs need the samples as their first dimension; got a scalar.", nameof(inputs));
        for (int task = 0; task < targets.Count; task++)
            CheckSamples(task, targets[task], inputs.shape[0], "the inputs");
        return new MultiTaskData<TTargets>(DataLayout.Shared, [[inputs]], targets, null);
    }

    /// <summary>
    /// One dataset for all tasks, for a model of several inputs: <paramref name="inputs"/> holds every input's
    /// tensor <c>[N, …]</c> (the generated <c>Inputs</c> record), every task's targets have the same N.
    /// </summary>
    /// <exception cref="InputTensorException">An input is missing or does not have N samples.</exception>
    /// <exception cref="TaskTensorException">A task's targets do not have N samples.</exception>
    public static MultiTaskData<TTargets> Shared(IModelInputs inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        Tensor[] set = InputSet(inputs, null);
        for (int task = 0; task < targets.Count; task++)
            CheckSamples(task, targets[task], set[0].shape[0], $"input '{inputs.InputNames[0]}'");
        return new MultiTaskData<TTargets>(DataLayout.Shared, [set], targets, [.. inputs.InputNames]);
    }

    /// <summary>
    /// One dataset per task, for a model of several inputs: task k's inputs are <paramref name="inputs"/>[k] (a
    /// generated <c>Inputs</c> record, every tensor <c>[N_k, …]</c>) and its targets <paramref name="targets"/>[k].
    /// </summary>
    /// <exception cref="InputTensorException">An input is missing or its tensors differ in the number of samples.</exception>
    /// <exception cref="TaskTensorException">A task's targets and inputs differ in the number of samples.</exception>
    public static MultiTaskData<TTargets> PerTask(IReadOnlyList<IModelInputs> inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Count != targets.Count)
            throw new ArgumentException($"One inputs record per task is needed: {targets.Count} tasks, {inputs.Count} records.", nameof(inputs));
        var sets = new Tensor[inputs.Count][];
        for (int task = 0; task < sets.Length; task++)
        {
            if (inputs[task] is null) throw new ArgumentNullException(nameof(inputs), $"Task '{TTargets.TaskNames[task]}' has no inputs record.");
            if (!inputs[task].InputNames.SequenceEqual(inputs[0].InputNames))
                throw new ArgumentException($"Task '{TTargets.TaskNames[task]}''s inputs are {string.Join(", ", inputs[task].InputNames)}, task '{TTargets.TaskNames[0]}''s {string.Join(", ", inputs[0].InputNames)}; every task's record must be the model's Inputs.", nameof(inputs));
            sets[task] = InputSet(inputs[task], TTargets.TaskNames[task]);
            CheckSamples(task, targets[task], sets[task][0].shape[0], $"task '{TTargets.TaskNames[task]}''s inputs");
        }
        return new MultiTaskData<TTargets>(DataLayout.PerTask, sets, targets, [.. inputs[0].InputNames]);
    }

    // A record's tensors, each present with the samples as its first dimension, all of one sample count.
    private static Tensor[] InputSet(IModelInputs inputs, string? task)
    {
        string of = task is null ? "" : $"Task '{task}': ";
        var set = new Tensor[inputs.Count];
        for (int i = 0; i < set.Length; i++)
        {
            string name = inputs.InputNames[i];
            set[i] = inputs[i] ?? throw new InputTensorException(name, $"{of}input '{name}' is missing (null).");
            if (set[i].dim() == 0) throw new InputTensorException(name, $"{of}input '{name}' needs the samples as its first dimension; got a scalar.");
            if (set[i].shape[0] != set[0].shape[0])
                throw new InputTensorException(name, $"{of}input '{name}' has {set[i].shape[0]} samples, input '{inputs.InputNames[0]}' {set[0].shape[0]}; every input holds the same samples.");
        }
        if (set.Length == 0) throw new ArgumentException("The inputs record holds no input.", nameof(inputs));
        return set;
    }

    /// <summary>
    /// One dataset per task: task k's inputs are <paramref name="inputs"/>[k] <c>[N_k, …]</c> and its targets are
    /// <paramref name="targets"/>[k] with the same N_k. The datasets may have different sizes.
    /// </summary>
    /// <exception cref="TaskTensorException">A task's targets and inputs differ in the number of samples.</exception>
    public static MultiTaskData<TTargets> PerTask(IReadOnlyList<Tensor> inputs, TTargets targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Count != targets.Count)
            throw new ArgumentException($"One input tensor per task is needed: {targets.Count} tasks, {inputs.Count} input tensors.", nameof(inputs));
        for (int task = 0; task < targets.Count; task++)
        {
            if (inputs[task] is null || inputs[task].dim() == 0)
                throw new TaskTensorException(TTargets.TaskNames[task], "input", $"Task '{TTargets.TaskNames[task]}': its inputs need the samples as their first dimension.");
            CheckSamples(task, targets[task], inputs[task].shape[0], $"task '{TTargets.TaskNames[task]}''s inputs");
        }
        return new MultiTaskData<TTargets>(DataLayout.PerTask, inputs.Select(x => new[] { x }).ToArray(), targets, null);
    }

    /// <summary>Whether the tasks share one dataset or each has its own.</summary>
    public DataLayout Layout { get; }

    /// <summary>The number of tasks.</summary>
    public int TaskCount => _targets.Count;

    /// <summary>The inputs' names, when the data was built from an inputs record; null for a single tensor.</summary>
    public IReadOnlyList<string>? InputNames { get; }

    /// <summary>The number of samples of task <paramref name="task"/> (all tasks alike for <see cref="DataLayout.Shared"/>).</summary>
    public long Count(int task) => InputTensors(task)[0].shape[0];

    /// <summary>The input task <paramref name="task"/> trains on (the one shared tensor for <see cref="DataLayout.Shared"/>), for data of one input.</summary>
    /// <exception cref="InvalidOperationException">The data holds several inputs (use <see cref="InputTensors"/>).</exception>
    public Tensor Inputs(int task)
    {
        Tensor[] set = InputTensors(task);
        return set.Length == 1 ? set[0]
            : throw new InvalidOperationException($"This data holds {set.Length} inputs ({string.Join(", ", InputNames!)}); take them with InputTensors({task}).");
    }

    /// <summary>Every input tensor task <paramref name="task"/> trains on, in declaration order.</summary>
    public Tensor[] InputTensors(int task) => Layout == DataLayout.Shared ? _inputs[0] : _inputs[task];

    /// <summary>The targets of every task, whole.</summary>
    public TTargets Targets => _targets;

    /// <summary>
    /// The same data with every other task's labels marked missing, so that training the multi-task model on it
    /// trains <paramref name="task"/> alone: the other tasks have no loss (absent, NaN in the history) and no gradient,
    /// so only the trunk and that task's head learn, as a single-task network of the same layers (the other heads still run forward, and their
    /// dropout draws random numbers). This is how a single-task baseline comes from the same declaration. The inputs
    /// are shared, not copied.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no task of that name.</exception>
    public MultiTaskData<TTargets> OnlyTask(string task)
    {
        int keep = TTargets.TaskNames.ToList().IndexOf(task);
        if (keep < 0) throw new ArgumentException($"There is no task '{task}'; the tasks are {string.Join(", ", TTargets.TaskNames)}.", nameof(task));
        var targets = new Tensor[TaskCount];
        using Scalar nan = double.NaN.ToScalar(), missingClass = Losses.TaskLosses.MissingClass.ToScalar();
        for (int k = 0; k < targets.Length; k++)
        {
            Tensor target = _targets[k];
            targets[k] = k == keep ? target : full_like(target, target.is_floating_point() ? nan : missingClass);
        }
        return new MultiTaskData<TTargets>(Layout, _inputs, TTargets.Create(targets), InputNames);
    }

    /// <summary>
    /// A seeded random split into training and validation data (for early stopping and model choice, so that the
    /// test data stays unseen): <paramref name="validationFraction"/> of the samples, at least one, go to
    /// validation; with one dataset per task, each task's dataset is split so.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not strictly between 0 and 1.</exception>
    /// <exception cref="ArgumentException">A dataset has fewer than 2 samples.</exception>
    public (MultiTaskData<TTargets> Train, MultiTaskData<TTargets> Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must lie strictly between 0 and 1.");
        (Tensor Train, Tensor Validation) Indices(int dataset)
        {
            long count = Count(dataset);
            if (count < 2)
                throw new ArgumentException($"{(Layout == DataLayout.Shared ? "The dataset" : $"Task '{TTargets.TaskNames[dataset]}'")} has {count} sample(s); a split needs at least 2.");
            long validation = Math.Clamp((long)Math.Round(count * validationFraction), 1, count - 1);
            using var generator = new Generator((ulong)seed * 1_000_003UL + (ulong)dataset);
            Tensor order = randperm(count, generator: generator);
            return (order.narrow(0, validation, count - validation), order.narrow(0, 0, validation));
        }
        if (Layout == DataLayout.Shared)
        {
            var (train, validation) = Indices(0);
            return (Subset(_ => train), Subset(_ => validation));
        }
        var splits = Enumerable.Range(0, TaskCount).Select(Indices).ToArray();
        return (Subset(k => splits[k].Train), Subset(k => splits[k].Validation));
    }

    // The rows of each task at its indices (with one shared dataset, every task's indices are the same).
    private MultiTaskData<TTargets> Subset(Func<int, Tensor> indices)
    {
        var targets = Enumerable.Range(0, TaskCount).Select(k => _targets[k].index_select(0, indices(k))).ToArray();
        Tensor[][] rows = _inputs.Select((set, k) => set.Select(x => x.index_select(0, indices(k))).ToArray()).ToArray();
        return new MultiTaskData<TTargets>(Layout, rows, TTargets.Create(targets), InputNames);
    }

    /// <summary>
    /// Writes the data as one safetensors file, the format the PyTorch twins' training script reads
    /// (<c>train_ddp.py</c>): <c>target.{task}</c> for every task, the samples as the first dimension, missing labels as
    /// they are (−100 or NaN), and the inputs: for one dataset for all tasks <c>input.{name}</c> for every input
    /// (<c>input.input</c> for a model's one unnamed input), for one dataset per task <c>task.{task}.input.{name}</c>, each
    /// task's inputs as many as its targets. Write each split to its own file.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var tensors = new Dictionary<string, Tensor>();
        for (int task = 0; task < TaskCount; task++)
        {
            if (Layout == DataLayout.PerTask || task == 0)
            {
                Tensor[] inputs = _inputs[task];
                string prefix = Layout == DataLayout.PerTask ? $"task.{TTargets.TaskNames[task]}.input." : "input.";
                for (int i = 0; i < inputs.Length; i++) tensors[prefix + (InputNames?[i] ?? "input")] = inputs[i];
            }
            tensors["target." + TTargets.TaskNames[task]] = _targets[task];
        }
        Checkpoints.AtomicFile.WriteAllBytes(path, Checkpoints.SafeTensors.Serialize(tensors));
    }

    /// <summary>A batch of the shared dataset of one input: the input and every task's targets at <paramref name="indices"/>.</summary>
    public (Tensor Input, TTargets Targets) Batch(Tensor indices)
    {
        var (inputs, targets) = BatchInputs(indices);
        return (inputs.Length == 1 ? inputs[0] : throw new InvalidOperationException($"This data holds {inputs.Length} inputs; take a batch of all of them with BatchInputs."), targets);
    }

    /// <summary>A batch of the shared dataset: every input and every task's targets at <paramref name="indices"/>.</summary>
    public (Tensor[] Inputs, TTargets Targets) BatchInputs(Tensor indices)
    {
        if (Layout != DataLayout.Shared) throw new InvalidOperationException("This data has one dataset per task; take a batch of one task with TaskBatch.");
        var targets = new Tensor[TaskCount];
        for (int task = 0; task < targets.Length; task++) targets[task] = _targets[task].index_select(0, indices);
        return (_inputs[0].Select(x => x.index_select(0, indices)).ToArray(), TTargets.Create(targets));
    }

    /// <summary>A batch of one task of one input: its input and targets at <paramref name="indices"/>.</summary>
    public (Tensor Input, Tensor Target) TaskBatch(int task, Tensor indices) =>
        (Inputs(task).index_select(0, indices), _targets[task].index_select(0, indices));

    /// <summary>A batch of one task: every input and its targets at <paramref name="indices"/>.</summary>
    public (Tensor[] Inputs, Tensor Target) TaskBatchInputs(int task, Tensor indices) =>
        (InputTensors(task).Select(x => x.index_select(0, indices)).ToArray(), _targets[task].index_select(0, indices));

    private static void CheckSamples(int task, Tensor target, long expected, string what)
    {
        string name = TTargets.TaskNames[task];
        if (target is null) throw new TaskTensorException(name, "target", $"Task '{name}' has no targets.");
        if (target.dim() == 0 || target.shape[0] != expected)
            throw new TaskTensorException(name, "target",
                $"Task '{name}': the targets have shape [{string.Join(", ", target.shape)}], expected {expected} samples (the size of {what}) as the first dimension.");
    }
}
