using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>
/// Gradient normalisation (GradNorm; Chen et al., ICML 2018), as LibMTL implements it. From the second epoch on,
/// the task weights are w = K · softmax(s) with learnable s (initialised at 1), the trunk's gradient is Σ w_k g_k,
/// and s receives the gradient of Σ_k | w_k ‖g_k‖ − mean_j(w_j ‖g_j‖) · r_k^α |, the target term held constant,
/// with r_k = (L_k / L̄_k(0)) / mean_j(L_j / L̄_j(0)) against the first epoch's average losses. The optimizer then
/// updates s with the model (LibMTL departs from the paper here: the paper renormalises the weights after every
/// step and takes ‖g_k‖ at the last shared layer only). In the first epoch the losses are summed, as EW.
/// Needs the trainer's per-epoch losses.
/// </summary>
/// <param name="alpha">α, the strength of the pull towards a common training rate; 1.5 by default.</param>
/// <param name="initialScale">The initial s_k; 1 as in LibMTL.</param>
public sealed class GradNorm(double alpha = 1.5, double initialScale = 1.0) : GradientWeighting
{
    /// <inheritdoc />
    public override string Name => "GradNorm";

    /// <inheritdoc />
    internal override IEnumerable<(string Name, string Value)> TwinOptions => [("alpha", Twin(Alpha)), .. base.TwinOptions];

    /// <summary>α.</summary>
    public double Alpha { get; } = alpha;

    /// <inheritdoc />
    public override bool SupportsRepresentation => true;

    /// <summary>The scales s_k.</summary>
    public Parameter Scale => RequireScale();

    /// <inheritdoc />
    protected override void OnInitialize(ScalarType dtype, Device device) =>
        CreateLearnableScale(initialScale, dtype, device);

    /// <inheritdoc />
    protected override bool UseGradients(WeightingContext context) => context.Epoch >= 1;

    /// <inheritdoc />
    protected override (double[] Coefficients, double[] Weights) Combine(GradientInfo info)
    {
        if (info.Context.EpochLosses.Count == 0)
            throw new InvalidOperationException("GradNorm needs the first epoch's average losses; end every epoch with the trainer's EndEpoch().");
        double[] first = info.Context.EpochLosses[0];
        Tensor weights = TensorMath.Scaled(nn.functional.softmax(Scale, 0), TaskCount);
        Tensor norms = tensor(Enumerable.Range(0, TaskCount).Select(info.Norm).ToArray(), dtype: Scale.dtype, device: Scale.device);
        Tensor perTask = weights * norms;
        double[] ratio = info.Losses.Select((loss, k) => loss / first[k]).ToArray();
        double meanRatio = ratio.Average();
        Tensor target = (perTask.mean() * tensor(ratio.Select(r => Math.Pow(r / meanRatio, Alpha)).ToArray(), dtype: Scale.dtype, device: Scale.device)).detach();
        (perTask - target).abs().sum().backward();
        double[] w = weights.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        return (w, (double[])w.Clone());
    }
}
