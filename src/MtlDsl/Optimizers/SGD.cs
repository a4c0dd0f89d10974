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
    /// <summary>Creates the optimizer; the arguments are TorchSharp's, checked before TorchSharp sees them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="lr"/>, <paramref name="momentum"/>, <paramref name="dampening"/> or <paramref name="weight_decay"/>
    /// is NaN, infinite or negative; names the setting and its value.
    /// </exception>
    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false)
        : this(parameters, SGDSettings.Check(lr, momentum, dampening, weight_decay), nesterov, maximize)
    {
    }

    // With an error, TorchSharp gets stand-ins (see OptimizerSettings.ThrowIfInvalid), and no Nesterov momentum, which
    // it would refuse with a momentum of 0 before the error could be thrown.
    private SGD(IEnumerable<Parameter> parameters, SGDSettings s, bool nesterov, bool maximize)
        : base(s.Error is null ? parameters : [], s.Lr, s.Momentum, s.Dampening, s.WeightDecay, nesterov && s.Error is null, maximize) =>
        OptimizerSettings.ThrowIfInvalid(this, s.Error);

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

// SGD's settings as checked: the values given, or stand-ins with the error to throw.
internal sealed record SGDSettings(double Lr, double Momentum, double Dampening, double WeightDecay, ArgumentOutOfRangeException? Error)
{
    public static SGDSettings Check(double lr, double momentum, double dampening, double weightDecay)
    {
        ArgumentOutOfRangeException? error = OptimizerSettings.LearningRate(nameof(SGD), lr)
            ?? OptimizerSettings.NonNegative(nameof(SGD), "momentum", momentum) ?? OptimizerSettings.NonNegative(nameof(SGD), "dampening", dampening)
            ?? OptimizerSettings.NonNegative(nameof(SGD), "weight_decay", weightDecay);
        return error is null ? new(lr, momentum, dampening, weightDecay, null) : new(0.01, 0, 0, 0, error);
    }
}
