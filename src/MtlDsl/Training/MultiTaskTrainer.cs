using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Training;

/// <summary>
/// Trains a multi-task model one batch at a time: forward, joint loss, backward and optimizer step, all inside
/// one dispose scope so that native memory stays flat over any number of steps.
/// </summary>
/// <typeparam name="TOutputs">The model's outputs record.</typeparam>
/// <typeparam name="TTargets">The model's targets record.</typeparam>
/// <typeparam name="TLossValues">The model's loss-values record, returned by every step.</typeparam>
public sealed class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
    where TOutputs : ITaskTensors
    where TTargets : ITaskTensors
    where TLossValues : ITaskLossValues<TLossValues>
{
    private readonly MultiTaskModule<TOutputs, TTargets> _model;
    private readonly optim.Optimizer _optimizer;

    /// <summary>Creates a trainer for <paramref name="model"/> that updates it with <paramref name="optimizer"/>.</summary>
    public MultiTaskTrainer(MultiTaskModule<TOutputs, TTargets> model, optim.Optimizer optimizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
    }

    /// <summary>The number of training steps taken.</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// One training step on a batch: the model in training mode, the joint loss back-propagated, one optimizer
    /// step. Returns the joint loss and each task's loss.
    /// </summary>
    /// <exception cref="TaskTensorException">A target does not fit its head's output.</exception>
    /// <exception cref="NonFiniteLossException">A loss is NaN or infinite; the optimizer step is skipped.</exception>
    public TLossValues Step(Tensor input, TTargets targets)
    {
        using var scope = torch.NewDisposeScope();
        if (!_model.training) _model.train();
        _optimizer.zero_grad();
        JointLoss joint = _model.ComputeJointLoss(_model.forward(input), targets);
        StepCount++;
        double[] values = ReadValues(joint, StepCount);
        joint.Total.backward();
        _optimizer.step();
        return TLossValues.Create(values[0], values[1..]);
    }

    /// <summary>The losses on a batch in evaluation mode, without gradients; the training mode is restored after.</summary>
    public TLossValues Evaluate(Tensor input, TTargets targets)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            double[] values = ReadValues(_model.ComputeJointLoss(_model.forward(input), targets), StepCount);
            return TLossValues.Create(values[0], values[1..]);
        }
        finally
        {
            if (wasTraining) _model.train();
        }
    }

    // The joint loss and every task's loss in one copy to the CPU (one synchronisation, not one per task).
    private double[] ReadValues(JointLoss joint, long step)
    {
        var scalars = new Tensor[joint.TaskLosses.Count + 1];
        scalars[0] = joint.Total;
        for (int task = 0; task < joint.TaskLosses.Count; task++) scalars[task + 1] = joint.TaskLosses[task];
        double[] values = torch.stack(scalars).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int task = 0; task < joint.TaskLosses.Count; task++)
            if (!double.IsFinite(values[task + 1])) throw new NonFiniteLossException(_model.Tasks[task].Name, step, values[task + 1]);
        if (!double.IsFinite(values[0])) throw new NonFiniteLossException("joint loss", step, values[0]);
        return values;
    }
}
