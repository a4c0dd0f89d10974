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

    /// <summary>The shape of one sample of the model's first (or only) input, without the batch dimension.</summary>
    public abstract IReadOnlyList<int> InputShape { get; }

    /// <summary>The model's inputs in declaration order (one, named <c>input</c>, unless the model names several).</summary>
    public abstract IReadOnlyList<InputDefinition> DeclaredInputs { get; }

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
    /// Runs the shared part on checked inputs (one tensor per declared input) and returns every task's
    /// representation (declaration order). Tasks that read the same representation get the same tensor.
    /// </summary>
    protected abstract Tensor[] RunShared(Tensor[] inputs);

    /// <summary>The representation of one task only; by default all of them are computed.</summary>
    protected virtual Tensor RunShared(Tensor[] inputs, int task) => RunShared(inputs)[task];

    /// <summary>Runs the head of task <paramref name="task"/> on its representation.</summary>
    protected abstract Tensor RunHead(int task, Tensor representation);

    /// <summary>Runs the shared part once and every head on its task's representation.</summary>
    /// <exception cref="InputTensorException">The input does not fit the model's declared input.</exception>
    public override TOutputs forward(Tensor input) => ForwardHeads(ForwardRepresentations(input));

    /// <summary>Runs the shared part once on every input and every head on its task's representation.</summary>
    /// <exception cref="InputTensorException">An input does not fit its declaration (shape, type, ids out of range).</exception>
    public TOutputs forward(IModelInputs inputs) => ForwardHeads(ForwardRepresentations(inputs));

    /// <summary>Runs every head on its task's representation (<paramref name="representations"/>: one per task, declaration order).</summary>
    public TOutputs ForwardHeads(IReadOnlyList<Tensor> representations)
    {
        ArgumentNullException.ThrowIfNull(representations);
        if (representations.Count != Tasks.Count)
            throw new ArgumentException($"{GetName()} has {Tasks.Count} tasks; got {representations.Count} representations.", nameof(representations));
        var outputs = new Tensor[Tasks.Count];
        int depth = OwnModuleContext.Depth;
        try
        {
            for (int task = 0; task < outputs.Length; task++)
                outputs[task] = RunHead(task, representations[task]);
        }
        catch (Exception e) when (OwnModuleContext.Depth > depth)
        {
            throw OwnModuleFailed(e, depth);
        }
        return TOutputs.Create(outputs);
    }

    /// <summary>Every task's representation (declaration order); tasks that read the same one get the same tensor.</summary>
    public Tensor[] ForwardRepresentations(Tensor input) => ForwardRepresentations(One(input));

    /// <summary>Every task's representation from every input (declaration order).</summary>
    public Tensor[] ForwardRepresentations(IModelInputs inputs) => ForwardRepresentations(InputChecks.Tensors(GetName(), DeclaredInputs, inputs));

    internal TOutputs Forward(Tensor[] inputs) => ForwardHeads(ForwardRepresentations(inputs));

    internal Tensor[] ForwardRepresentations(Tensor[] inputs)
    {
        CheckInputs(inputs);
        int depth = OwnModuleContext.Depth;
        try
        {
            return RunShared(inputs);
        }
        catch (Exception e) when (OwnModuleContext.Depth > depth)
        {
            throw OwnModuleFailed(e, depth);
        }
    }

    // A module of the user's own threw (its forward hook never ran): the error names it and its input.
    private static OwnModuleException OwnModuleFailed(Exception e, int depth)
    {
        var (label, input) = OwnModuleContext.Failed(depth);
        return new OwnModuleException(label, input, e);
    }

    /// <summary>Runs the shared part and one task's head only (to train or evaluate a task on its own data).</summary>
    public Tensor ForwardTask(int task, Tensor input) => ForwardTask(task, One(input));

    /// <summary>Runs the shared part on every input and one task's head only.</summary>
    public Tensor ForwardTask(int task, IModelInputs inputs) => ForwardTask(task, InputChecks.Tensors(GetName(), DeclaredInputs, inputs));

    internal Tensor ForwardTask(int task, Tensor[] inputs)
    {
        if ((uint)task >= (uint)Tasks.Count)
            throw new ArgumentOutOfRangeException(nameof(task), task, $"{GetName()} has {Tasks.Count} tasks (0 to {Tasks.Count - 1}).");
        CheckInputs(inputs);
        int depth = OwnModuleContext.Depth;
        try
        {
            return RunHead(task, RunShared(inputs, task));
        }
        catch (Exception e) when (OwnModuleContext.Depth > depth)
        {
            throw OwnModuleFailed(e, depth);
        }
    }

    // A single tensor for a model of one input.
    internal Tensor[] One(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        IReadOnlyList<InputDefinition> declared = DeclaredInputs;
        if (declared.Count != 1)
            throw new ArgumentException(
                $"{GetName()} reads {declared.Count} inputs ({string.Join(", ", declared)}); pass them together, one tensor each, as a {GetName()}.Inputs record.", nameof(input));
        return [input];
    }

    internal void CheckInputs(Tensor[] inputs) =>
        InputChecks.Check(GetName(), DeclaredInputs, inputs, parameters().FirstOrDefault()?.dtype);

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
}
