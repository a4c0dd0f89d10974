using System.Collections.Concurrent;
using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>One kernel's check on this CPU: its float32 result against float64, as TorchSharp runs it and as MtlDsl does.</summary>
/// <param name="Kernel">The layer, with its channel counts and sizes (<c>Conv2d 10→20 k5×5 s1×1</c>).</param>
/// <param name="TorchSharpError">The largest difference of TorchSharp's own float32 kernel from float64 (output, input and weight gradients), relative to the value's magnitude.</param>
/// <param name="MtlDslError">The same for the path MtlDsl runs (for a convolution, with its channels padded).</param>
public sealed record KernelCheck(string Kernel, double TorchSharpError, double MtlDslError)
{
    /// <summary>The largest relative difference from float64 that counts as right: float32 rounding stays below 1e-5 on these tensors; the faults seen are above 1e-2.</summary>
    public const double Tolerance = 1e-3;

    /// <summary>Whether TorchSharp's own kernel is right on this CPU.</summary>
    public bool TorchSharpRight => TorchSharpError <= Tolerance;

    /// <summary>Whether the path MtlDsl runs is right on this CPU.</summary>
    public bool MtlDslRight => MtlDslError <= Tolerance;
}

/// <summary>What <see cref="BackendCheck.Run"/> found.</summary>
/// <param name="Kernels">Every kernel checked, once per configuration.</param>
/// <param name="OneDnnDisabled">Whether MtlDsl turned libtorch's oneDNN off for the process because a kernel was wrong even as MtlDsl runs it.</param>
/// <param name="Elapsed">What the check cost.</param>
public sealed record BackendReport(IReadOnlyList<KernelCheck> Kernels, bool OneDnnDisabled, TimeSpan Elapsed)
{
    /// <summary>One line: how many kernels, which of TorchSharp's own are wrong on this CPU, what MtlDsl did, the cost.</summary>
    public string Summary
    {
        get
        {
            var wrong = Kernels.Where(k => !k.TorchSharpRight).Select(k => k.Kernel).ToList();
            string plain = wrong.Count == 0
                ? "TorchSharp's own kernels are right too"
                : $"TorchSharp's own are wrong on this CPU for {string.Join(", ", wrong.Take(3))}{(wrong.Count > 3 ? $" and {wrong.Count - 3} more" : "")}, which MtlDsl {(OneDnnDisabled ? "runs with oneDNN turned off" : "pads")}";
            return $"backend check: {Kernels.Count} kernel{(Kernels.Count == 1 ? "" : "s")} right as MtlDsl runs them ({plain}); {Elapsed.TotalMilliseconds:F0} ms";
        }
    }
}

/// <summary>A kernel that computes wrong numbers on this CPU, also as MtlDsl runs it, and also with oneDNN turned off.</summary>
public sealed class BackendFaultException(string message) : Exception(message);

/// <summary>
/// Checks, on this CPU, the kernels a model's layers run: each convolution and linear layer's configuration on fixed
/// random tensors in float32 against float64 (forward pass, input and weight gradients), TorchSharp's own kernel and the
/// path MtlDsl runs. libtorch 2.10's oneDNN computes wrong numbers on some CPUs (docs/known-issues); MtlDsl's
/// convolutions pad their channels so that it does not, and this check proves it on the machine at hand. Where MtlDsl's
/// path is wrong too (a CPU or a configuration not seen before), it turns oneDNN off for the process (libtorch's own
/// kernels, 1.3–6 times slower on convolutions) and checks again; where that is wrong too it throws
/// <see cref="BackendFaultException"/>. Each configuration is checked once per process; a fit runs it before its first step.
/// </summary>
public static class BackendCheck
{
    private static readonly ConcurrentDictionary<string, KernelCheck> s_checked = new();
    private static readonly object s_gate = new();

    /// <summary>Checks every convolution and linear layer of <paramref name="model"/> (each configuration once per process).</summary>
    /// <exception cref="BackendFaultException">A kernel is wrong on this CPU even with oneDNN turned off; the message names it.</exception>
    public static BackendReport Run(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (s_gate)
        {
            var clock = Stopwatch.StartNew();
            var kernels = Kernels(model).DistinctBy(k => k.Key).ToList();
            var results = kernels.Select(k => s_checked.GetOrAdd(k.Key, _ => k.Check())).ToList();
            bool disabled = OneDnn.Disabled;
            if (results.Any(r => !r.MtlDslRight) && !disabled)
            {
                string first = results.First(r => !r.MtlDslRight).Kernel;
                if (!OneDnn.TryDisable(out string? why))
                    throw Fault(first, results, $"oneDNN could not be turned off here ({why})");
                disabled = true;
                s_checked.Clear();
                results = kernels.Select(k => s_checked.GetOrAdd(k.Key, _ => k.Check())).ToList();
            }
            if (results.FirstOrDefault(r => !r.MtlDslRight) is KernelCheck fault)
                throw Fault(fault.Kernel, results, "also with oneDNN turned off");
            return new BackendReport(results, disabled, clock.Elapsed);
        }
    }

    private static BackendFaultException Fault(string kernel, IReadOnlyList<KernelCheck> results, string what) =>
        new($"{kernel} computes wrong numbers on this CPU ({what}): its float32 result differs from float64 by " +
            $"{results.First(r => r.Kernel == kernel).MtlDslError:G3} of its magnitude. Train in float64 (model.to(ScalarType.Float64)) or on another machine, " +
            "and report the CPU (lscpu) and this message; docs/known-issues lists the faults known so far.");

    private sealed record Kernel(string Key, Func<KernelCheck> Check);

    private static IEnumerable<Kernel> Kernels(nn.Module model)
    {
        foreach (nn.Module module in model.modules())
        {
            switch (module)
            {
                case BlockAlignedConv conv:
                    yield return new Kernel(conv.Describe() + (conv.Bias is null ? " no bias" : ""), () => CheckConvolution(conv));
                    break;
                case Linear linear:
                    long inFeatures = linear.weight.shape[1], outFeatures = linear.weight.shape[0];
                    bool bias = linear.bias is not null;
                    yield return new Kernel($"Linear {inFeatures}→{outFeatures}{(bias ? "" : " no bias")}", () => CheckLinear(inFeatures, outFeatures, bias));
                    break;
            }
        }
    }

    // Batch 16: at batch 1 oneDNN takes other kernels, and the faults seen do not show there.
    private const long Batch = 16;

    private static KernelCheck CheckConvolution(BlockAlignedConv conv)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(20261206);
        long[] kernel = conv.Weight.shape[2..];
        // A few outputs per axis whatever the kernel, stride and dilation.
        long[] spatial = kernel.Select(k => Math.Max(9, 3 * k)).ToArray();
        Tensor input = randn([Batch, conv.InChannels, .. spatial], dtype: ScalarType.Float64, generator: generator);
        Tensor weight = randn(conv.Weight.shape, dtype: ScalarType.Float64, generator: generator);
        Tensor? bias = conv.Bias is null ? null : randn(conv.Bias.shape, dtype: ScalarType.Float64, generator: generator);
        var reference = Gradients(conv.Plain, input, weight, bias, null);
        var plain = Gradients(conv.Plain, input, weight, bias, reference.Upstream);
        var aligned = Gradients(conv.Forward, input, weight, bias, reference.Upstream);
        return new KernelCheck(conv.Describe(), Error(plain.Values, reference.Values), Error(aligned.Values, reference.Values));
    }

    private static KernelCheck CheckLinear(long inFeatures, long outFeatures, bool hasBias)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(20261206);
        Tensor input = randn([Batch, inFeatures], dtype: ScalarType.Float64, generator: generator);
        Tensor weight = randn([outFeatures, inFeatures], dtype: ScalarType.Float64, generator: generator);
        Tensor? bias = hasBias ? randn([outFeatures], dtype: ScalarType.Float64, generator: generator) : null;
        Tensor Run(Tensor x, Tensor w, Tensor? b) => nn.functional.linear(x, w, b);
        var reference = Gradients(Run, input, weight, bias, null);
        var float32 = Gradients(Run, input, weight, bias, reference.Upstream);
        double error = Error(float32.Values, reference.Values);
        // MtlDsl runs TorchSharp's Linear as it is.
        return new KernelCheck($"Linear {inFeatures}→{outFeatures}{(hasBias ? "" : " no bias")}", error, error);
    }

    // The output, input gradient and weight gradient of one pass: in float64 when upstream is null (the reference, whose
    // upstream gradient is returned), in float32 otherwise.
    private static (Tensor[] Values, Tensor Upstream) Gradients(Func<Tensor, Tensor, Tensor?, Tensor> run, Tensor input, Tensor weight, Tensor? bias, Tensor? upstream)
    {
        ScalarType type = upstream is null ? ScalarType.Float64 : ScalarType.Float32;
        // Fresh leaves of the fixed tensors, so that each pass has its own gradients.
        Tensor x = input.detach().to(type).requires_grad_(true), w = weight.detach().to(type).requires_grad_(true);
        Tensor? b = bias?.detach().to(type).requires_grad_(true);
        Tensor y = run(x, w, b);
        Tensor up = upstream?.to(type) ?? randn(y.shape, dtype: ScalarType.Float64, generator: new Generator(7));
        y.backward([up]);
        return ([y.detach(), x.grad!, w.grad!], up);
    }

    // The largest difference of any value, relative to the largest magnitude of its float64 counterpart (at least 1);
    // infinite where a value is not finite.
    private static double Error(Tensor[] actual, Tensor[] expected)
    {
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double[] a = actual[i].to(ScalarType.Float64).contiguous().data<double>().ToArray();
            double[] e = expected[i].contiguous().data<double>().ToArray();
            double scale = Math.Max(1, e.Max(Math.Abs)), most = 0;
            for (int j = 0; j < a.Length; j++)
            {
                if (!double.IsFinite(a[j])) return double.PositiveInfinity;
                most = Math.Max(most, Math.Abs(a[j] - e[j]));
            }
            worst = Math.Max(worst, most / scale);
        }
        return worst;
    }
}
