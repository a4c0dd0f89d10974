using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Impartial multi-task learning (IMTL; Liu et al., ICLR 2021), as LibMTL implements it: the losses are first
/// replaced by e^{s_k} L_k − s_k with a learnable s (initialised at 0: IMTL-L), then the gradients g_k of those
/// scaled losses are combined with α = g_1 Uᵀ (D Uᵀ)⁻¹, α_1 = 1 − Σ α, where D and U hold the differences of the
/// gradients and of their unit vectors to the first task's (IMTL-G); every projection of the combination onto the
/// unit gradients is then equal. Heads receive e^{s_k} ∂L_k/∂head. The reported weights are α.
/// </summary>
/// <param name="initialScale">The initial s_k; 0 as in LibMTL.</param>
public sealed class Imtl(double initialScale = 0.0) : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "IMTL";

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <summary>The loss scales s_k.</summary>
    public Parameter Scale => RequireScale();

    /// <inheritdoc />
    protected override void OnInitialize(ScalarType dtype, Device device) =>
        CreateLearnableScale(initialScale, dtype, device);

    /// <inheritdoc />
    protected override IReadOnlyList<Tensor> TransformLosses(IReadOnlyList<Tensor> losses) =>
        losses.Select((loss, k) => Scale[k].exp() * loss - Scale[k]).ToList();

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        // A task without labels in the batch (or a weight-0 factor of a product task, which never has) is left out:
        // its gradient is zero and it gets no weight; the others are combined among themselves.
        int[] tasks = Enumerable.Range(0, TaskCount).Where(info.Context.IsPresent).ToArray();
        var full = new double[TaskCount];
        if (tasks.Length == 0) return (full, (double[])full.Clone());
        int n = tasks.Length;
        if (n == 1)
        {
            full[tasks[0]] = 1;
            return (full, (double[])full.Clone());
        }
        double[] norm = tasks.Select(info.Norm).ToArray();
        if (norm.Any(v => v == 0)) throw new InvalidOperationException("IMTL: a task's gradient is zero, so its direction is undefined.");
        var g = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) g[i, j] = info.Gram[tasks[i], tasks[j]];
        // Everything IMTL needs is an inner product of gradients and unit gradients, so it is read off the Gram matrix.
        var x = new double[n - 1];
        var m = new double[n - 1, n - 1];
        for (int j = 1; j < n; j++)
        {
            x[j - 1] = g[0, 0] / norm[0] - g[0, j] / norm[j];
            for (int i = 1; i < n; i++)
                m[i - 1, j - 1] = g[0, 0] / norm[0] - g[0, j] / norm[j] - g[i, 0] / norm[0] + g[i, j] / norm[j];
        }
        double[,] inverse = WeightingMath.Inverse(m);
        var alpha = new double[n];
        for (int j = 0; j < n - 1; j++)
            for (int i = 0; i < n - 1; i++) alpha[j + 1] += x[i] * inverse[i, j];
        alpha[0] = 1 - alpha.Skip(1).Sum();
        for (int i = 0; i < n; i++) full[tasks[i]] = alpha[i];
        return (full, (double[])full.Clone());
    }
}
