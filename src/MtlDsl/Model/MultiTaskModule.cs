using MtlDsl.Losses;
using MtlDsl.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>
/// The base of every generated multi-task model: a TorchSharp module whose <c>forward</c> runs the shared
/// trunk once and every task head on its output (the representation), returning one output per task.
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

    /// <summary>The state-dict names of the trunk's blocks, in the order they run.</summary>
    public abstract IReadOnlyList<string> TrunkBlocks { get; }

    /// <summary>The trunk's parameters (the shared ones), in state-dict order: what gradient-based weighting combines.</summary>
    public IReadOnlyList<Parameter> TrunkParameters() =>
        named_parameters().Where(p => TrunkBlocks.Any(b => p.name.StartsWith(b + ".", StringComparison.Ordinal))).Select(p => p.parameter).ToList();

    /// <summary>Runs the trunk blocks in order on a checked input.</summary>
    protected abstract Tensor RunTrunk(Tensor input);

    /// <summary>Runs the head of task <paramref name="task"/> on the representation.</summary>
    protected abstract Tensor RunHead(int task, Tensor representation);

    /// <summary>Runs the trunk once and every head on the representation.</summary>
    public override TOutputs forward(Tensor input) => ForwardHeads(ForwardTrunk(input));

    /// <summary>Runs every head on a representation (the trunk's output).</summary>
    public TOutputs ForwardHeads(Tensor representation)
    {
        var outputs = new Tensor[Tasks.Count];
        for (int task = 0; task < outputs.Length; task++)
            outputs[task] = RunHead(task, representation);
        return TOutputs.Create(outputs);
    }

    /// <summary>The representation: the output of the last trunk block.</summary>
    public Tensor ForwardTrunk(Tensor input)
    {
        CheckInput(input);
        return RunTrunk(input);
    }

    /// <summary>Runs the trunk and one task's head only (to train or evaluate a task on its own data).</summary>
    public Tensor ForwardTask(int task, Tensor input)
    {
        if ((uint)task >= (uint)Tasks.Count)
            throw new ArgumentOutOfRangeException(nameof(task), task, $"{GetName()} has {Tasks.Count} tasks (0 to {Tasks.Count - 1}).");
        return RunHead(task, ForwardTrunk(input));
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
        bool fits = input.dim() == expected.Count + 1;
        for (int d = 0; fits && d < expected.Count; d++)
            fits = input.shape[d + 1] == expected[d];
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
