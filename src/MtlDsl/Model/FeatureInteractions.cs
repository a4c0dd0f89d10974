using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl;

// The feature interactions of recommendation models: layers PyTorch has no class for, MtlDsl's own here and in its
// PyTorch support file (mtldsl_torch.py: FactorizationMachine, InnerProduct, Cross), the same operations in the same
// order under the same state-dict names, so that a twin gives the same numbers. Shapes below include the batch N.

/// <summary>
/// A factorization machine's pairwise interactions (<see cref="FactorizationMachineAttribute"/>): field embeddings
/// <c>[N, F, K]</c> become ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²), <c>[N, 1]</c>, which equals Σ_{f&lt;g} ⟨v_f, v_g⟩; without
/// the sum over k, NFM's bi-interaction <c>[N, K]</c>. No parameters.
/// </summary>
public sealed class FactorizationMachineLayer : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="reduceSum">Whether to sum the interactions over the embedding dimension (FM, <c>[N, 1]</c>) or not (NFM, <c>[N, K]</c>).</param>
    public FactorizationMachineLayer(bool reduceSum = true) : base("FactorizationMachine") => ReduceSum = reduceSum;

    /// <summary>Whether the interactions are summed over the embedding dimension.</summary>
    public bool ReduceSum { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 3)
            throw new ArgumentException($"A factorization machine reads field embeddings [N, F, K]; got shape [{string.Join(", ", input.shape)}].", nameof(input));
        using var scope = NewDisposeScope();
        Tensor sum = input.sum(1);
        Tensor interactions = sum.mul(sum).sub(input.mul(input).sum(1));
        if (ReduceSum) interactions = interactions.sum(1, keepdim: true);
        return TensorMath.Scaled(interactions, 0.5).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The inner products of every pair of field embeddings (<see cref="InnerProductAttribute"/>): <c>[N, F, K]</c>
/// becomes <c>[N, F(F−1)/2]</c>, ⟨v_f, v_g⟩ for the pairs f &lt; g in row-major order (<c>torch.triu_indices(F, F, 1)</c>).
/// No parameters.
/// </summary>
public sealed class InnerProductLayer : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public InnerProductLayer() : base("InnerProduct")
    {
    }

    /// <summary>The pairs (f, g), f &lt; g, of <paramref name="fields"/> fields in the order of the layer's outputs.</summary>
    public static IEnumerable<(int First, int Second)> Pairs(int fields)
    {
        for (int f = 0; f < fields; f++)
            for (int g = f + 1; g < fields; g++) yield return (f, g);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 3 || input.shape[1] < 2)
            throw new ArgumentException($"An inner-product layer reads the embeddings of at least two fields [N, F, K]; got shape [{string.Join(", ", input.shape)}].", nameof(input));
        using var scope = NewDisposeScope();
        long fields = input.shape[1];
        Tensor pairs = triu_indices(fields, fields, 1, device: input.device);
        return input.index_select(1, pairs[0]).mul(input.index_select(1, pairs[1])).sum(2).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A cross network (<see cref="CrossAttribute"/>) on <c>[N, D]</c>: x_{l+1} = x_0 · (x_l · w_l) + b_l + x_l (DCN's
/// vector form), or x_{l+1} = x_0 ⊙ (x_l W_lᵀ + b_l) + x_l (DCN-V2's matrix form, W_l as <c>nn.Linear</c>'s weight).
/// Parameters <c>weights.{l}</c> (<c>[D]</c> or <c>[D, D]</c>) and <c>biases.{l}</c> (<c>[D]</c>); the weights start
/// Glorot-normal, std √(2 / (fan_in + fan_out)) with the vector taken as a D×1 kernel (√(2 / (D + 1)); the matrix
/// √(1 / D)), the biases at zero, as DeepCTR's <c>CrossNet</c>.
/// </summary>
public sealed class CrossNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ParameterList weights = new();
    private readonly ParameterList biases = new();

    /// <summary>Creates the network.</summary>
    /// <param name="features">D, the size of the input and output vectors.</param>
    /// <param name="layers">The number of cross layers.</param>
    /// <param name="matrix">A D×D matrix per layer (DCN-V2) rather than a vector (DCN).</param>
    public CrossNetwork(long features, int layers, bool matrix) : base("Cross")
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "A cross network needs at least one feature.");
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "A cross network needs at least one layer.");
        Features = features;
        Matrix = matrix;
        double std = Math.Sqrt(2.0 / (matrix ? 2.0 * features : features + 1.0));
        for (int l = 0; l < layers; l++)
        {
            using (var init = randn(matrix ? [features, features] : [features]))
                weights.Add(new Parameter(TensorMath.Scaled(init, std), requires_grad: true));
            biases.Add(new Parameter(zeros(features), requires_grad: true));
        }
        RegisterComponents();
    }

    /// <summary>D, the size of the vectors.</summary>
    public long Features { get; }

    /// <summary>Whether each layer has a matrix (DCN-V2) rather than a vector (DCN).</summary>
    public bool Matrix { get; }

    /// <summary>The number of cross layers.</summary>
    public int Layers => weights.Count;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 2 || input.shape[1] != Features)
            throw new ArgumentException($"A cross network of {Features} features reads [N, {Features}]; got shape [{string.Join(", ", input.shape)}].", nameof(input));
        using var scope = NewDisposeScope();
        Tensor x = input;
        for (int l = 0; l < weights.Count; l++)
        {
            Tensor crossed = Matrix
                ? input.mul(nn.functional.linear(x, weights[l], biases[l]))
                : TensorMath.Plus(input.mul(x.matmul(weights[l]).unsqueeze(1)), biases[l]);
            x = TensorMath.Plus(crossed, x);
        }
        return x.MoveToOuterDisposeScope();
    }
}
