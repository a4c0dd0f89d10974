using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Optimizers;

/// <summary>
/// TorchSharp's SGD (same options, state, state-dict format and results, bit for bit), with a step that keeps
/// every Scalar it creates alive through the native call that reads it (see <see cref="Adam"/>).
/// </summary>
public sealed class SGD : TorchSharp.Modules.SGD
{
    /// <summary>Creates the optimizer; the arguments are TorchSharp's.</summary>
    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false)
        : base(parameters, lr, momentum, dampening, weight_decay, nesterov, maximize)
    {
    }

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double momentum = options.momentum!.Value, weightDecay = options.weight_decay!.Value, lr = options.LearningRate!.Value;
        using Scalar decay = weightDecay.ToScalar(), momentumScalar = momentum.ToScalar(),
            oneMinusDampening = (1 - options.dampening!.Value).ToScalar(), alpha = (options.maximize!.Value ? lr : -lr).ToScalar();
        foreach (Parameter param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            Tensor? grad = param.grad;
            if (grad is null) continue;
            if (weightDecay != 0) grad = grad.add(param, alpha: decay);
            if (momentum != 0)
            {
                Tensor? buffer = state.momentum_buffer;
                if (buffer is null)
                {
                    buffer = grad.clone().detach().DetachFromDisposeScope();
                    state.momentum_buffer = buffer;
                }
                else
                {
                    buffer.mul_(momentumScalar).add_(grad, alpha: oneMinusDampening);
                }
                grad = options.nesterov!.Value ? grad.add(buffer, alpha: momentumScalar) : buffer;
            }
            param.add_(grad, alpha: alpha);
        }
    }, closure);
}
