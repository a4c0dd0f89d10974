using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Optimizers;

/// <summary>
/// TorchSharp's Adam (same options, parameter groups, state, state-dict format and results, bit for bit), with a
/// step that keeps every Scalar it creates alive through the native call that reads it.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's own optimizers pass numbers as implicit Scalars that only the finalizer frees, without
/// keeping them alive: a garbage collection started by any thread during a step can free one in use, and the step
/// then fails or computes with a wrong value (measured in docs/known-issues/README.md). Use this class wherever
/// other threads allocate while training (servers, desktop apps, parallel tests).
/// </remarks>
public sealed class Adam : TorchSharp.Modules.Adam
{
    /// <summary>Creates the optimizer; the arguments are TorchSharp's, checked before TorchSharp sees them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="lr"/> or <paramref name="weight_decay"/> is NaN, infinite or negative, a beta lies outside [0, 1), or
    /// <paramref name="eps"/> is not a finite number &gt; 0; names the setting and its value.
    /// </exception>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : this(parameters, AdamSettings.Check(nameof(Adam), lr, beta1, beta2, eps, weight_decay), amsgrad, maximize)
    {
    }

    private Adam(IEnumerable<Parameter> parameters, AdamSettings s, bool amsgrad, bool maximize)
        : base(s.Error is null ? parameters : [], s.Lr, s.Beta1, s.Beta2, s.Eps, s.WeightDecay, amsgrad, maximize) =>
        OptimizerSettings.ThrowIfInvalid(this, s.Error);

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        AdamUpdate.Apply(group.Parameters, _state, options.beta1!.Value, options.beta2!.Value, options.eps!.Value,
            options.weight_decay!.Value, decoupledWeightDecay: false, options.amsgrad!.Value, options.maximize!.Value, options.LearningRate!.Value);
    }, closure);
}

/// <summary>
/// TorchSharp's AdamW (same options, state, state-dict format and results, bit for bit), with a step that keeps
/// every Scalar it creates alive through the native call that reads it (see <see cref="Adam"/>).
/// </summary>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    /// <summary>Creates the optimizer; the arguments are TorchSharp's, checked before TorchSharp sees them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="lr"/> or <paramref name="weight_decay"/> is NaN, infinite or negative, a beta lies outside [0, 1), or
    /// <paramref name="eps"/> is not a finite number &gt; 0; names the setting and its value.
    /// </exception>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : this(parameters, AdamSettings.Check(nameof(AdamW), lr, beta1, beta2, eps, weight_decay), amsgrad, maximize)
    {
    }

    private AdamW(IEnumerable<Parameter> parameters, AdamSettings s, bool amsgrad, bool maximize)
        : base(s.Error is null ? parameters : [], s.Lr, s.Beta1, s.Beta2, s.Eps, s.WeightDecay, amsgrad, maximize) =>
        OptimizerSettings.ThrowIfInvalid(this, s.Error);

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        AdamUpdate.Apply(group.Parameters, _state, options.beta1!.Value, options.beta2!.Value, options.eps!.Value,
            options.weight_decay!.Value, decoupledWeightDecay: true, options.amsgrad!.Value, options.maximize!.Value, options.LearningRate!.Value);
    }, closure);
}

// Adam's and AdamW's settings as checked: the values given, or, with the error to throw once the optimizer is
// constructed, TorchSharp's defaults as stand-ins (see OptimizerSettings.ThrowIfInvalid).
internal sealed record AdamSettings(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, ArgumentOutOfRangeException? Error)
{
    public static AdamSettings Check(string optimizer, double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        ArgumentOutOfRangeException? error = OptimizerSettings.LearningRate(optimizer, lr)
            ?? OptimizerSettings.Beta(optimizer, "beta1", beta1) ?? OptimizerSettings.Beta(optimizer, "beta2", beta2)
            ?? OptimizerSettings.Epsilon(optimizer, eps) ?? OptimizerSettings.NonNegative(optimizer, "weight_decay", weightDecay);
        return error is null ? new(lr, beta1, beta2, eps, weightDecay, null) : new(1e-3, 0.9, 0.999, 1e-8, 0, error);
    }
}

// The Adam and AdamW update, as TorchSharp 0.107 computes it, operation for operation.
internal static class AdamUpdate
{
    public static void Apply(IEnumerable<Parameter> parameters, TorchSharp.Utils.OrderedDict<IntPtr, TorchSharp.Modules.OptimizerState> states,
        double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay, bool amsgrad, bool maximize, double lr)
    {
        using Scalar b1 = beta1.ToScalar(), oneMinusB1 = (1 - beta1).ToScalar(), b2 = beta2.ToScalar(), oneMinusB2 = (1 - beta2).ToScalar(),
            epsilon = eps.ToScalar(), decay = weightDecay.ToScalar(), shrink = (1 - lr * weightDecay).ToScalar(), one = 1L.ToScalar();
        foreach (Parameter param in parameters)
        {
            Tensor? grad = param.grad;
            if (grad is null) continue;
            if (maximize) grad = -grad;

            long step;
            Tensor expAvg, expAvgSq;
            if (decoupledWeightDecay)
            {
                var state = (TorchSharp.Modules.AdamW.State)states[param.Handle];
                step = ++state.step;
                (expAvg, expAvgSq) = (state.exp_avg, state.exp_avg_sq);
                param.mul_(shrink);
            }
            else
            {
                var state = (TorchSharp.Modules.Adam.State)states[param.Handle];
                step = ++state.step;
                (expAvg, expAvgSq) = (state.exp_avg, state.exp_avg_sq);
                if (weightDecay != 0) grad = grad.add(param, alpha: decay);
            }

            double biasCorrection1 = 1 - Math.Pow(beta1, step);
            double biasCorrection2 = 1 - Math.Pow(beta2, step);
            expAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
            expAvgSq.mul_(b2).addcmul_(grad, decoupledWeightDecay ? grad : grad.conj(), value: oneMinusB2);

            using Scalar root = Math.Sqrt(biasCorrection2).ToScalar(), stepSize = (-(lr / biasCorrection1)).ToScalar();
            Tensor denom = (MaxSecondMoment(states[param.Handle], expAvgSq, amsgrad).sqrt() / root).add_(epsilon, one);
            param.addcdiv_(expAvg, denom, value: stepSize);
        }
    }

    // With AMSGrad, the running maximum of the second moment (kept in the state, as TorchSharp keeps it).
    private static Tensor MaxSecondMoment(TorchSharp.Modules.OptimizerState state, Tensor expAvgSq, bool amsgrad)
    {
        if (!amsgrad) return expAvgSq;
        switch (state)
        {
            case TorchSharp.Modules.Adam.State adam:
                Tensor previous = adam.max_exp_avg_sq;
                adam.max_exp_avg_sq = torch.maximum(previous, expAvgSq).DetachFromDisposeScope();
                previous.Dispose();
                return adam.max_exp_avg_sq;
            case TorchSharp.Modules.AdamW.State adamW:
                Tensor before = adamW.max_exp_avg_sq;
                adamW.max_exp_avg_sq = torch.maximum(before, expAvgSq).DetachFromDisposeScope();
                before.Dispose();
                return adamW.max_exp_avg_sq;
            default:
                throw new InvalidOperationException($"Unexpected optimizer state {state.GetType().Name}.");
        }
    }
}
