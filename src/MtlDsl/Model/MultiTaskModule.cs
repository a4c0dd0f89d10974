using MtlDsl.Losses;
using MtlDsl.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// The base of every generated multi-task model: a TorchSharp module whose <c>forward</c> runs the shared part once,
/// which gives every task its own representation (hard parameter sharing: the output of the trunk block its head
/// reads; MMoE, CGC and PLE: the task's mixture of experts; Cross-stitch: its column; MTAN: its attended features),
/// and then every task head on its representation, returning one output per task.
/// </summary>
/// <typeparam name="TOutputs">The generated outputs record: one tensor per task.</typeparam>
/// <typeparam name="TTargets">The generated targets record: one tensor per task.</typeparam>
public abstract class MultiTaskModule<TOutputs, TTargets> : nn.Module<Tensor, TOutputs>
    where TOutputs : ITaskTensors<TOutputs>
    where TTargets : ITaskTensors<TTargets>
{
    /// <summary>Creates the module; makes sure TorchSharp's native library is loaded first.</summary>
    protected MultiTaskModule(string name) : base(name) => TorchNative.EnsureLoaded();

    /// <summary>The tasks in declaration order.</summary>
    public abstract IReadOnlyList<TaskDefinition> Tasks { get; }

    /// <summary>The shape of one input sample, without the batch dimension.</summary>
    public abstract IReadOnlyList<int> InputShape { get; }

    /// <summary>The architecture the model was declared with.</summary>
    public abstract ModelArchitecture Architecture { get; }

    /// <summary>
    /// The state-dict names of the modules and parameters every task shares: what gradient-based weighting takes
    /// the task gradients of (see docs/architectures.md for each architecture).
    /// </summary>
    public abstract IReadOnlyList<string> SharedModules { get; }

    /// <summary>The shared parameters (<see cref="SharedModules"/>), in state-dict order.</summary>
    public IReadOnlyList<Parameter> SharedParameters() =>
        named_parameters().Where(p => SharedModules.Any(m => p.name == m || p.name.StartsWith(m + ".", StringComparison.Ordinal))).Select(p => p.parameter).ToList();

    /// <summary>
    /// Runs the shared part on a checked input and returns every task's representation (declaration order). Tasks
    /// that read the same representation get the same tensor.
    /// </summary>
    protected abstract Tensor[] RunShared(Tensor input);

    /// <summary>The representation of one task only; by default all of them are computed.</summary>
    protected virtual Tensor RunShared(Tensor input, int task) => RunShared(input)[task];

    /// <summary>Runs the head of task <paramref name="task"/> on its representation.</summary>
    protected abstract Tensor RunHead(int task, Tensor representation);

    /// <summary>Runs the shared part once and every head on its task's representation.</summary>
    public override TOutputs forward(Tensor input) => ForwardHeads(ForwardRepresentations(input));

    /// <summary>Runs every head on its task's representation (<paramref name="representations"/>: one per task, declaration order).</summary>
    public TOutputs ForwardHeads(IReadOnlyList<Tensor> representations)
    {
        ArgumentNullException.ThrowIfNull(representations);
        if (representations.Count != Tasks.Count)
            throw new ArgumentException($"{GetName()} has {Tasks.Count} tasks; got {representations.Count} representations.", nameof(representations));
        var outputs = new Tensor[Tasks.Count];
        for (int task = 0; task < outputs.Length; task++)
            outputs[task] = RunHead(task, representations[task]);
        return TOutputs.Create(outputs);
    }

    /// <summary>Every task's representation (declaration order); tasks that read the same one get the same tensor.</summary>
    public Tensor[] ForwardRepresentations(Tensor input)
    {
        CheckInput(input);
        return RunShared(input);
    }

    /// <summary>Runs the shared part and one task's head only (to train or evaluate a task on its own data).</summary>
    public Tensor ForwardTask(int task, Tensor input)
    {
        if ((uint)task >= (uint)Tasks.Count)
            throw new ArgumentOutOfRangeException(nameof(task), task, $"{GetName()} has {Tasks.Count} tasks (0 to {Tasks.Count - 1}).");
        CheckInput(input);
        return RunHead(task, RunShared(input, task));
    }

    /// <summary>
    /// The joint loss Σ λ·L with the tasks' static weights, and each task's own loss. Every target is checked
    /// against its head's output first (see <see cref="TaskLosses.Compute(TaskDefinition, Tensor, Tensor)"/>).
    /// </summary>
    public JointLoss ComputeJointLoss(TOutputs outputs, TTargets targets)
    {
        Tensor[] losses = ComputeTaskLosses(outputs, targets);
        return new JointLoss(JointLoss.WeightedSum(losses, Tasks.Select(t => t.Weight).ToArray()), losses);
    }

    /// <summary>Each task's own loss (declaration order), every target checked against its head's output first.</summary>
    public Tensor[] ComputeTaskLosses(TOutputs outputs, TTargets targets) => ComputeTaskLosses(outputs, targets, out _);

    // The losses, and for each task whether the batch holds any of its labels.
    internal Tensor[] ComputeTaskLosses(TOutputs outputs, TTargets targets, out bool[] present)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(targets);
        var losses = new Tensor[Tasks.Count];
        present = new bool[Tasks.Count];
        for (int task = 0; task < losses.Length; task++)
            losses[task] = TaskLosses.Compute(Tasks[task], outputs[task], targets[task], out present[task]);
        return losses;
    }

    private void CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        IReadOnlyList<int> expected = InputShape;
        long[] shape = input.shape;
        bool fits = shape.Length == expected.Count + 1;
        for (int d = 0; fits && d < expected.Count; d++)
            fits = shape[d + 1] == expected[d];
        if (!fits)
            throw new ArgumentException(
                $"{GetName()}: the input has shape {TaskLosses.Format(input.shape)}, expected [N, {string.Join(", ", expected)}] " +
                $"(a batch of samples of the declared input shape {ModelSummary.FormatShape(expected)}).", nameof(input));

        // The type, checked here rather than deep in libtorch ("mat1 and mat2 must have the same dtype").
        // A model without parameters (only pooling and activations) computes in whatever type it is given.
        if (parameters().FirstOrDefault()?.dtype is not ScalarType model) return;
        if (input.dtype != model)
            throw new ArgumentException(
                $"{GetName()}: the input is {input.dtype}, the model computes in {model}. " +
                (input.is_floating_point()
                    ? $"Convert the input (input.to(ScalarType.{model})), or the model (model.to(ScalarType.{input.dtype}))."
                    : $"Convert the input to {model} (input.to(ScalarType.{model})), scaled as the model expects (8-bit images usually to [0, 1])."),
                nameof(input));
    }
}
