using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests.Oracle;

/// <summary>
/// The numerical truth of the tests: a module's float32 computation (the kernels a user's training runs) against the
/// same module in float64 with the same weights and inputs. libtorch computes float64 with its own kernels, not
/// oneDNN's, so a kernel that is wrong on a CPU (docs/known-issues) cannot be wrong on both sides in the same way.
/// Plain TorchSharp float32 is never the truth here: on some CPUs it is the wrong side.
/// </summary>
internal static class Float64Oracle
{
    /// <summary>
    /// The allowed difference, relative to the largest magnitude of the float64 value (at least 1; for a parameter's
    /// gradient, the largest of its module's gradients): float32 rounding mostly stays below 1e-4 of that, also where a
    /// gradient cancels to almost nothing (a bias before a normalisation). The worst case seen is a gradient that is 0
    /// in exact arithmetic and a sum of many terms of order 1 in float32: the weight of a one-channel 1×1 convolution
    /// right before a BatchNorm (which undoes any scaling of its one channel), summed over 64 × 15 × 19 positions, came
    /// out at 1.5e-3 (random declaration 1084, an MTAN attention mask). The faults seen (a wrong lane, a NaN) are 7e-2
    /// and above, so at least 35 times this.
    /// </summary>
    public const double Tolerance = 2e-3;

    /// <summary>A float64 copy of <paramref name="module"/>: the same structure from <paramref name="create"/>, its weights and buffers copied.</summary>
    public static T Twin<T>(T module, Func<T> create) where T : nn.Module
    {
        T twin = create();
        twin.to(ScalarType.Float64);
        var source = module.state_dict();
        using (no_grad())
        {
            foreach (var (name, tensor) in twin.state_dict())
                tensor.copy_(source[name]);
        }
        if (module.training) twin.train(); else twin.eval();
        return twin;
    }

    /// <summary>
    /// Runs <paramref name="run"/> on the float32 module and on its float64 twin with the same inputs (float inputs
    /// converted from <paramref name="inputs64"/>, integer inputs shared), then the backward pass of Σ output·upstream
    /// (the same random upstream on both sides). Returns every difference as a multiple of <see cref="Tolerance"/>: each
    /// output, each float input's gradient, each parameter's gradient and each buffer after the pass, by name.
    /// </summary>
    public static List<(string What, double Ratio)> Compare(nn.Module module32, nn.Module module64, Func<nn.Module, Tensor[], Tensor[]> run,
        Tensor[] inputs64, int seed, bool inputGradients = true)
    {
        using var scope = NewDisposeScope();
        Tensor[] in64 = inputs64.Select(t => t.is_floating_point() ? t.detach().clone().requires_grad_(inputGradients) : t).ToArray();
        Tensor[] in32 = inputs64.Select(t => t.is_floating_point() ? t.detach().to(ScalarType.Float32).requires_grad_(inputGradients) : t).ToArray();
        Poison(inputs64);
        Tensor[] out32 = run(module32, in32), out64 = run(module64, in64);
        var results = new List<(string, double)>();
        var generator = new Generator((ulong)seed);
        Tensor loss32 = zeros(1, dtype: ScalarType.Float32), loss64 = zeros(1, dtype: ScalarType.Float64);
        for (int k = 0; k < out64.Length; k++)
        {
            results.Add(($"output {k}", Ratio(out32[k], out64[k])));
            if (!out64[k].requires_grad) continue;
            Tensor upstream = randn(out64[k].shape, dtype: ScalarType.Float64, generator: generator);
            loss64 = loss64.add(out64[k].mul(upstream).sum());
            loss32 = loss32.add(out32[k].mul(upstream.to(ScalarType.Float32)).sum());
        }
        if (loss64.requires_grad)
        {
            loss64.backward();
            loss32.backward();
        }
        for (int i = 0; i < in64.Length; i++)
            if (in64[i].requires_grad) results.Add(($"input {i} gradient", Ratio(in32[i].grad, in64[i].grad)));
        var parameters32 = module32.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var parameters64 = module64.named_parameters().ToList();
        // A gradient that cancels to almost nothing is compared at the scale of its module's other gradients: its
        // float32 rounding is that of the terms that cancelled. One that is zero in exact arithmetic (a bias that a
        // normalisation removes; float64 leaves rounding, 1e-9 of the model's gradients) is compared at the model's
        // scale: a normalisation of a constant row multiplies its terms' rounding by 1/√ε.
        static string Owner(string name) => name.Contains('.') ? name[..name.LastIndexOf('.')] : "";
        var magnitudes = parameters64.Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.abs().max().item<double>());
        var scales = magnitudes.GroupBy(m => Owner(m.Key)).ToDictionary(g => g.Key, g => g.Max(m => m.Value));
        double modelScale = magnitudes.Count == 0 ? 0 : magnitudes.Values.Max();
        foreach (var (name, parameter) in parameters64)
        {
            double scale = magnitudes.TryGetValue(name, out double magnitude) && magnitude < 1e-9 * modelScale ? modelScale : scales.GetValueOrDefault(Owner(name));
            results.Add(($"{name} gradient", Ratio(parameters32[name].grad, parameter.grad, scale)));
        }
        var buffers32 = module32.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, buffer) in module64.named_buffers())
            if (buffer.is_floating_point()) results.Add((name, Ratio(buffers32[name], buffer)));
        return results;
    }

    /// <summary>
    /// Fills memory that the allocator will hand out next with NaN: a kernel that reads lanes it did not write (the
    /// padded channels of oneDNN's blocked layouts) then shows it on every run, not only when freed memory happens to
    /// hold garbage. Blocks from the operands' size up to 64 times it, freed at once.
    /// </summary>
    public static void Poison(IEnumerable<Tensor> operands)
    {
        long elements = Math.Max(1, operands.Max(t => t.numel()));
        var blocks = new List<Tensor>();
        for (long size = elements; size <= 64 * elements; size *= 2)
        {
            blocks.Add(full(size, float.NaN, dtype: ScalarType.Float32));
            blocks.Add(full(size + 1000, float.NaN, dtype: ScalarType.Float32));
        }
        foreach (Tensor block in blocks) block.Dispose();
    }

    /// <summary>
    /// The largest difference between <paramref name="actual"/> (float32) and <paramref name="expected"/> (float64) as a
    /// multiple of <see cref="Tolerance"/> × max(1, <paramref name="scale"/>, |expected|max); infinite where one is NaN or infinite and the other is not.
    /// </summary>
    public static double Ratio(Tensor? actual, Tensor? expected, double scale = 0)
    {
        if (actual is null || expected is null) return actual is null && expected is null ? 0 : double.PositiveInfinity;
        using var scope = NewDisposeScope();
        if (!actual.shape.SequenceEqual(expected.shape)) return double.PositiveInfinity;
        Tensor a = actual.detach().to(ScalarType.Float64), e = expected.detach().to(ScalarType.Float64);
        if (!a.isfinite().eq(e.isfinite()).all().item<bool>()) return double.PositiveInfinity;
        Tensor finite = e.isfinite();
        if (!finite.any().item<bool>()) return 0;
        double difference = a.masked_select(finite).sub(e.masked_select(finite)).abs().max().item<double>();
        scale = Math.Max(Math.Max(1, scale), e.masked_select(finite).abs().max().item<double>());
        return difference / (Tolerance * scale);
    }

    /// <summary>A failure message for every result above the tolerance, or null.</summary>
    public static string? Failures(string what, IEnumerable<(string What, double Ratio)> results)
    {
        var failed = results.Where(r => !(r.Ratio <= 1)).Select(r => $"{r.What}: {r.Ratio:G3}× the tolerance").ToList();
        return failed.Count == 0 ? null : $"{what}: {string.Join("; ", failed)}";
    }
}
