using MtlDsl.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Weighting;

/// <summary>What a gradient method combines: the Gram matrix of the task gradients and the losses.</summary>
/// <param name="Gram">g_i · g_j for every pair of tasks (float64).</param>
/// <param name="Losses">Each task's loss value, as back-propagated (after any scaling of the method's own).</param>
/// <param name="Context">The training step's context.</param>
/// <param name="Epsilon">The machine epsilon of the gradients' type (for rank decisions).</param>
public sealed record GradientInfo(double[,] Gram, double[] Losses, WeightingContext Context, double Epsilon)
{
    /// <summary>‖g_k‖.</summary>
    public double Norm(int task) => Math.Sqrt(Math.Max(0, Gram[task, task]));

    /// <summary>
    /// Whether task k's gradient is zero as far as the gradients' type can tell: its norm is at most ε (the machine
    /// epsilon) times the largest task's, so it is rounding next to that one. Tasks of very different scales are not
    /// zero: a norm a million times smaller than another is still a gradient.
    /// </summary>
    public bool IsZero(int task)
    {
        double largest = 0;
        for (int k = 0; k < Gram.GetLength(0); k++) largest = Math.Max(largest, Norm(k));
        return Norm(task) <= Epsilon * largest;
    }
}

/// <summary>
/// A method that combines the tasks' gradients on the trunk. Every task loss is back-propagated with weight 1, so
/// each head receives its own task's plain gradient; the trunk's gradient is then replaced by Σ β_k g_k, with the
/// coefficients β the method computes from the Gram matrix of the task gradients (as LibMTL does).
/// </summary>
public abstract class GradientWeighting : WeightingStrategy
{
    /// <inheritdoc />
    public override bool UsesGradients => true;

    /// <inheritdoc />
    public sealed override double[] Backward(IReadOnlyList<Tensor> losses, WeightingContext context)
    {
        CheckLosses(losses);
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<Tensor> scaled = TransformLosses(losses);
        if (!UseGradients(context))
        {
            TensorMath.Sum(scaled).backward();
            return Enumerable.Repeat(1.0, TaskCount).ToArray();
        }

        Tensor perTask, flat;
        if (context.Representations is { } representations)
        {
            if (!SupportsRepresentation)
                throw new NotSupportedException($"{Name} does not support gradients with respect to the representation; use GradientMode.Parameters.");
            perTask = TaskGradients.OfRepresentations(scaled, representations.Select(r => r.HeadInput).ToList());
            // LibMTL sums each task's representation gradient over the batch before comparing tasks.
            flat = perTask.reshape(TaskCount, perTask.shape[1], -1).sum(1);
        }
        else
        {
            perTask = flat = TaskGradients.OfParameters(scaled, context.SharedParameters, retainGraph: WeightsHeads);
        }

        using var gramTensor = flat.mm(flat.t()).to(ScalarType.Float64).cpu();
        double[] gramValues = gramTensor.data<double>().ToArray();
        var gram = new double[TaskCount, TaskCount];
        for (int i = 0; i < TaskCount; i++)
            for (int j = 0; j < TaskCount; j++) gram[i, j] = gramValues[i * TaskCount + j];
        double[] lossValues = stack(scaled).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();

        double epsilon = perTask.dtype switch { ScalarType.Float64 => 2.220446049250313e-16, ScalarType.Float16 => 9.765625e-4, ScalarType.BFloat16 => 7.8125e-3, _ => 1.1920928955078125e-7 };
        var (coefficients, weights) = Combine(new GradientInfo(gram, lossValues, context, epsilon));
        Tensor beta = tensor(coefficients, dtype: perTask.dtype, device: perTask.device);
        Tensor combined = (beta.reshape([TaskCount, .. Enumerable.Repeat(1L, (int)perTask.dim() - 1)]) * perTask).sum(dim: 0);
        if (WeightsHeads)
        {
            if (context.Representations is not null)
                throw new NotSupportedException($"{Name} weights the heads too, which it can only do with GradientMode.Parameters.");
            // Each head already holds its task's plain gradient: Σ (w_k − 1) L_k brings it to w_k times that. The
            // trunk's gradient this leaves is replaced just below.
            JointLoss.WeightedSum(scaled, weights.Select(w => w - 1).ToArray()).backward();
        }
        if (context.Representations is [var shared])
            shared.Output.backward([combined]);
        else if (context.Representations is { } own)
            // Each task's representation receives its own weighted gradient β_k g_k (LibMTL's form for per-task ones).
            torch.autograd.backward(own.Select(r => r.Output).ToList(), own.Select((_, k) => beta[k] * perTask[k]).ToList());
        else
            TaskGradients.SetShared(context.SharedParameters, combined);
        return weights;
    }

    /// <summary>
    /// Whether the heads receive the reported weights too: head k's gradient is w_k ∂L_k (the method back-propagates
    /// Σ w_k L_k, as Nash-MTL's and FairGrad's implementations do); otherwise each head gets its task's plain gradient.
    /// </summary>
    protected virtual bool WeightsHeads => false;

    /// <summary>The losses to back-propagate (IMTL scales them; the others take them as they are).</summary>
    protected virtual IReadOnlyList<Tensor> TransformLosses(IReadOnlyList<Tensor> losses) => losses;

    /// <summary>False where the method, at this point of training, simply sums the losses (GradNorm's first epoch).</summary>
    protected virtual bool UseGradients(WeightingContext context) => true;

    /// <summary>The coefficients β of the trunk gradient Σ β_k g_k, and the weights to report.</summary>
    protected abstract (double[] Coefficients, double[] Weights) Combine(GradientInfo info);
}

/// <summary>Per-task gradients of the trunk, as LibMTL computes them.</summary>
public static class TaskGradients
{
    /// <summary>
    /// Back-propagates each loss in turn (the graph retained until the last) and returns each task's gradient of
    /// the shared parameters, flattened in parameter order: <c>[tasks, parameters]</c>. The heads' gradients
    /// accumulate as usual; the shared parameters' gradients are left at zero.
    /// </summary>
    public static Tensor OfParameters(IReadOnlyList<Tensor> losses, IReadOnlyList<Parameter> shared) => OfParameters(losses, shared, retainGraph: false);

    /// <summary>As <see cref="OfParameters(IReadOnlyList{Tensor}, IReadOnlyList{Parameter})"/>; with <paramref name="retainGraph"/> the graph outlives the last pass.</summary>
    public static Tensor OfParameters(IReadOnlyList<Tensor> losses, IReadOnlyList<Parameter> shared, bool retainGraph)
    {
        if (shared.Count == 0) throw new ArgumentException("There are no shared parameters to take task gradients of.", nameof(shared));
        var rows = new Tensor[losses.Count];
        for (int k = 0; k < losses.Count; k++)
        {
            ZeroGrad(shared);
            losses[k].backward(null, retain_graph: retainGraph || k + 1 < losses.Count);
            // Copied: a lone parameter's flattened gradient would alias its .grad, which the next task zeroes.
            rows[k] = cat(shared.Select(p => p.grad is null ? zeros(p.numel(), dtype: p.dtype, device: p.device) : p.grad.flatten()).ToArray(), 0);
            if (shared.Count == 1) rows[k] = rows[k].clone();
        }
        ZeroGrad(shared);
        return stack(rows);
    }

    /// <summary>Each task's gradient of the representation the heads read: <c>[tasks, batch, …]</c>.</summary>
    public static Tensor OfRepresentation(IReadOnlyList<Tensor> losses, Tensor headInput) => OfRepresentations(losses, [headInput]);

    /// <summary>
    /// Each task's gradient of its representation: the one every head reads (<paramref name="headInputs"/> of one
    /// tensor) or its own (one per task, all of one shape): <c>[tasks, batch, …]</c>.
    /// </summary>
    public static Tensor OfRepresentations(IReadOnlyList<Tensor> losses, IReadOnlyList<Tensor> headInputs)
    {
        if (headInputs.Count != 1 && headInputs.Count != losses.Count)
            throw new ArgumentException($"One representation for every task or one per task is needed: {losses.Count} tasks, {headInputs.Count} representations.", nameof(headInputs));
        if (headInputs.Any(h => !h.requires_grad)) throw new ArgumentException("The heads' input must require gradients (a detached copy of the representation).", nameof(headInputs));
        if (headInputs.Any(h => !h.shape.SequenceEqual(headInputs[0].shape)))
            throw new ArgumentException($"The tasks' representations differ in shape ({string.Join(", ", headInputs.Select(h => TaskLosses.Format(h.shape)))}); their gradients cannot be compared.", nameof(headInputs));
        var rows = new Tensor[losses.Count];
        for (int k = 0; k < losses.Count; k++)
        {
            Tensor headInput = headInputs[headInputs.Count == 1 ? 0 : k];
            headInput.grad?.zero_();
            losses[k].backward(null, retain_graph: k + 1 < losses.Count);
            rows[k] = headInput.grad is null ? zeros_like(headInput) : headInput.grad.clone();
        }
        return stack(rows);
    }

    /// <summary>Sets the shared parameters' gradients to the slices of a flat gradient (parameter order).</summary>
    public static void SetShared(IReadOnlyList<Parameter> shared, Tensor flat)
    {
        long offset = 0;
        foreach (Parameter p in shared)
        {
            long size = p.numel();
            Tensor slice = flat.narrow(0, offset, size).reshape(p.shape).to(p.dtype);
            if (p.grad is null) p.grad = slice.detach().clone().MoveToOuterDisposeScope();
            else using (no_grad()) p.grad.copy_(slice);
            offset += size;
        }
        if (offset != flat.shape[0]) throw new ArgumentException($"The flat gradient has {flat.shape[0]} values; the shared parameters have {offset}.", nameof(flat));
    }

    private static void ZeroGrad(IReadOnlyList<Parameter> shared)
    {
        foreach (Parameter p in shared) p.grad?.zero_();
    }
}
