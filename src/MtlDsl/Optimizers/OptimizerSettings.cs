using System.Globalization;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;

namespace MtlDsl.Optimizers;

/// <summary>
/// The checks of optimizer settings. TorchSharp 0.107 checks its optimizers' settings with comparisons that a NaN
/// passes (<c>lr &lt; 0</c>), and checks none of a parameter group's own: <c>Adam(lr: NaN)</c> (or ∞) was accepted
/// and turned every parameter NaN at the first step, behind a finite reported loss.
/// </summary>
internal static class OptimizerSettings
{
    /// <summary>A learning rate: finite and ≥ 0.</summary>
    public static ArgumentOutOfRangeException? LearningRate(string optimizer, double lr) => double.IsFinite(lr) && lr >= 0 ? null
        : new ArgumentOutOfRangeException("lr", lr,
            $"{optimizer}: the learning rate lr is {Format(lr)}; it must be a finite number ≥ 0 (1e-3 is usual for Adam, 0.01–0.1 for SGD).");

    /// <summary>An exponential decay rate of Adam's moments: in [0, 1).</summary>
    public static ArgumentOutOfRangeException? Beta(string optimizer, string name, double beta) => beta >= 0 && beta < 1 ? null
        : new ArgumentOutOfRangeException(name, beta,
            $"{optimizer}: {name} is {Format(beta)}; it must lie in [0, 1) (0.9 for beta1 and 0.999 for beta2 are usual).");

    /// <summary>The term that keeps a denominator from zero: finite and &gt; 0.</summary>
    public static ArgumentOutOfRangeException? Epsilon(string optimizer, double eps) => double.IsFinite(eps) && eps > 0 ? null
        : new ArgumentOutOfRangeException("eps", eps,
            $"{optimizer}: eps is {Format(eps)}; it must be a finite number > 0 (1e-8 is usual): it keeps the update's denominator from zero.");

    /// <summary>A setting that is 0 when off (weight decay, momentum, dampening): finite and ≥ 0.</summary>
    public static ArgumentOutOfRangeException? NonNegative(string optimizer, string name, double value) => double.IsFinite(value) && value >= 0 ? null
        : new ArgumentOutOfRangeException(name, value, $"{optimizer}: {name} is {Format(value)}; it must be a finite number ≥ 0 (0 turns it off).");

    /// <summary>
    /// Throws <paramref name="error"/>, if any, once the optimizer is constructed, after disposing it. A derived
    /// optimizer must not throw before its base constructor has run: TorchSharp's <c>Optimizer</c> has a finalizer, and
    /// its <c>Dispose</c> on an object whose base constructor never ran threw a NullReferenceException on the
    /// finalizer thread, which ended the process. So the constructor hands TorchSharp valid stand-ins and no
    /// parameters, and throws here.
    /// </summary>
    public static void ThrowIfInvalid(torch.optim.Optimizer optimizer, ArgumentOutOfRangeException? error)
    {
        if (error is null) return;
        optimizer.Dispose();
        throw error;
    }

    /// <summary>
    /// Checks every parameter group of any optimizer: its learning rate finite and ≥ 0, every other number among its
    /// settings finite.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A group's setting is NaN, infinite or (the learning rate) negative; names the group and the setting.</exception>
    public static void CheckGroups(torch.optim.Optimizer optimizer, string parameter)
    {
        int index = 0;
        foreach (ParamGroup group in optimizer.ParamGroups)
        {
            double lr = group.LearningRate;
            if (!(double.IsFinite(lr) && lr >= 0))
                throw new ArgumentOutOfRangeException(parameter, lr,
                    $"The optimizer's parameter group {index} ({optimizer.GetType().Name}) has the learning rate {Format(lr)}; it must be a finite number ≥ 0. " +
                    "Create the optimizer with a finite learning rate (and set ParamGroup.LearningRate only to such).");
            if (group.Options is { } options)
                foreach (var (name, value) in Numbers(options))
                    if (!double.IsFinite(value))
                        throw new ArgumentOutOfRangeException(parameter, value,
                            $"The optimizer's parameter group {index} ({optimizer.GetType().Name}) has {name} = {Format(value)}; every setting must be a finite number.");
            index++;
        }
    }

    // Every number among an optimizer's options (TorchSharp keeps them as public fields and properties of
    // double or double?, one Options class per optimizer).
    private static IEnumerable<(string Name, double Value)> Numbers(OptimizerOptions options)
    {
        foreach (FieldInfo field in options.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
            if (Number(field.GetValue(options)) is double value) yield return (field.Name, value);
        foreach (PropertyInfo property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (property.GetIndexParameters().Length == 0 && (property.PropertyType == typeof(double) || property.PropertyType == typeof(double?))
                && Number(property.GetValue(options)) is double value)
                yield return (property.Name, value);
    }

    private static double? Number(object? value) => value is double d ? d : null;

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
