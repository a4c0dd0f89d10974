using MtlDsl.Native;
using MtlDsl.Tests.Oracle;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Every layer kind a declaration can hold, built as the generated code builds it, in float32 against float64 with the
/// same weights (<see cref="Float64Oracle"/>): forward, the input gradient and every parameter gradient, at awkward
/// channel counts and batch sizes, repeated. On a CPU where oneDNN computes wrong numbers (docs/known-issues) a layer
/// that reaches the faulty kernel fails here, whichever kernel it is.
/// </summary>
public class LayerOracleTests
{
    public LayerOracleTests() => TorchNative.EnsureLoaded();

    private static readonly int[] s_channels = [1, 3, 5, 10, 16, 20, 24, 32, 33];
    private static readonly long[] s_batches = [1, 37, 64];
    private const int Repetitions = 2;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DeclaredConvolutionsAgreeWithFloat64(int stride)
    {
        var failures = new List<string>();
        int seed = 0, pair = 0;
        foreach (int inChannels in s_channels)
        foreach (int outChannels in s_channels)
        {
            // Each batch size in turn (at batch 1 oneDNN takes other kernels: the faults seen do not show there).
            long batch = s_batches[pair++ % s_batches.Length];
            Check(failures, $"Conv2d {inChannels}→{outChannels} k3 s{stride} batch {batch}",
                () => Layers.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, dilation: 1, bias: true), [batch, inChannels, 9, 9], seed++);
            Check(failures, $"ConvTranspose2d {inChannels}→{outChannels} k3 s{stride} batch {batch}",
                () => Layers.ConvTranspose2d(inChannels, outChannels, (3, 3), (stride, stride), (1, 1), (stride - 1, stride - 1), (1, 1), bias: true), [batch, inChannels, 7, 7], seed++);
            Check(failures, $"Conv1d {inChannels}→{outChannels} k5 s{stride} batch {batch}",
                () => Layers.Conv1d(inChannels, outChannels, 5, stride: stride, padding: 2, dilation: 1, bias: true), [batch, inChannels, 19], seed++);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} convolutions disagree with float64:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(30))}");
    }

    [Fact]
    public void ConvolutionsOfOtherShapesAgreeWithFloat64()
    {
        var failures = new List<string>();
        Check(failures, "Conv2d 10→20 k5 (MultiMNIST's second)", () => Layers.Conv2d(10, 20, 5, stride: 1, padding: 0, dilation: 1, bias: true), [64, 10, 12, 12], 1);
        Check(failures, "Conv2d 3→32 k3 p1", () => Layers.Conv2d(3, 32, 3, stride: 1, padding: 1, dilation: 1, bias: true), [37, 3, 28, 28], 2);
        Check(failures, "Conv2d 128→35 k1", () => Layers.Conv2d(128, 35, 1, stride: 1, padding: 0, dilation: 1, bias: true), [5, 128, 7, 7], 3);
        Check(failures, "Conv2d 24→40 (3,5) s(2,1) d(1,2) no bias", () => Layers.Conv2d(24, 40, (3, 5), (2, 1), (1, 2), (1, 2), bias: false), [37, 24, 11, 13], 4);
        Check(failures, "Conv2d 33→48 k3 s3", () => Layers.Conv2d(33, 48, 3, stride: 3, padding: 1, dilation: 1, bias: true), [37, 33, 12, 12], 5);
        Check(failures, "Conv2d 48→20 k3 s2", () => Layers.Conv2d(48, 20, 3, stride: 2, padding: 1, dilation: 1, bias: true), [37, 48, 9, 9], 6);
        Check(failures, "ConvTranspose2d 20→10 k4 s2 p1", () => Layers.ConvTranspose2d(20, 10, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), bias: true), [37, 20, 6, 6], 7);
        Check(failures, "ConvTranspose2d 5→33 (3,2) s(1,2) op(0,1) d(2,1)", () => Layers.ConvTranspose2d(5, 33, (3, 2), (1, 2), (0, 1), (0, 1), (2, 1), bias: false), [37, 5, 6, 7], 8);
        Check(failures, "Conv1d 2→17 k5 p2", () => Layers.Conv1d(2, 17, 5, stride: 1, padding: 2, dilation: 1, bias: true), [6, 2, 23], 9);
        Check(failures, "Conv1d 16→31 k3 s2 p1", () => Layers.Conv1d(16, 31, 3, stride: 2, padding: 1, dilation: 1, bias: true), [6, 16, 23], 10);
        // A first layer: its input needs no gradient, so only the forward pass and the weight gradients run.
        Check(failures, "Conv2d 3→20 first layer", () => Layers.Conv2d(3, 20, 3, stride: 1, padding: 1, dilation: 1, bias: true), [37, 3, 9, 9], 11, inputGradients: false);
        Check(failures, "Conv2d 20→24 first layer", () => Layers.Conv2d(20, 24, 3, stride: 1, padding: 1, dilation: 1, bias: true), [37, 20, 9, 9], 12, inputGradients: false);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    public static TheoryData<string> OtherLayers => new()
    {
        "Linear", "LinearNoBias", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "UpsampleNearest", "UpsampleBilinear", "UpsampleBilinearAligned",
        "Flatten", "Dropout", "BatchNorm1d", "BatchNorm1dSequence", "BatchNorm2d", "LayerNorm", "GroupNorm", "GroupNormSequence", "InstanceNorm2d", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh",
        "Residual", "ResidualProjection", "Unflatten", "FactorizationMachine", "FactorizationMachineBiInteraction", "InnerProduct", "Cross", "CrossMatrix",
    };

    [Theory]
    [MemberData(nameof(OtherLayers))]
    public void EveryOtherLayerKindAgreesWithFloat64(string kind)
    {
        var failures = new List<string>();
        int seed = kind.Length * 31;
        foreach (long batch in s_batches)
        foreach (int channels in new[] { 1, 5, 20, 33 })
        {
            (Func<nn.Module<Tensor, Tensor>> create, long[] shape) = kind switch
            {
                "Linear" => L(() => nn.Linear(channels * 3, 24), [batch, channels * 3]),
                "LinearNoBias" => L(() => nn.Linear(channels, 33, hasBias: false), [batch, channels]),
                "MaxPool2d" => L(() => nn.MaxPool2d(3, stride: 2, padding: 1), [batch, channels, 9, 9]),
                "AvgPool2d" => L(() => nn.AvgPool2d(2, stride: 2, padding: 0), [batch, channels, 9, 8]),
                "AdaptiveAvgPool2d" => L(() => nn.AdaptiveAvgPool2d(new long[] { 3, 2 }), [batch, channels, 10, 7]),
                "UpsampleNearest" => L(() => Layers.Upsample(2, UpsampleMode.Nearest, alignCorners: false), [batch, channels, 5, 4]),
                "UpsampleBilinear" => L(() => Layers.Upsample(7, 9, UpsampleMode.Bilinear, alignCorners: false), [batch, channels, 5, 4]),
                "UpsampleBilinearAligned" => L(() => Layers.Upsample(3, UpsampleMode.Bilinear, alignCorners: true), [batch, channels, 5, 4]),
                "Flatten" => L(() => nn.Flatten(), [batch, channels, 3, 2]),
                "Dropout" => L(() => nn.Dropout(0.3), [batch, channels, 4]),
                "BatchNorm1d" => L(() => Layers.BatchNorm1d(channels), [batch, channels]),
                "BatchNorm1dSequence" => L(() => Layers.BatchNorm1d(channels), [batch, channels, 6]),
                "BatchNorm2d" => L(() => Layers.BatchNorm2d(channels), [batch, channels, 5, 5]),
                "LayerNorm" => L(() => nn.LayerNorm(new long[] { channels, 4 }), [batch, channels, 4]),
                "GroupNorm" => L(() => Layers.GroupNorm(channels == 20 ? 4 : 1, channels), [batch, channels, 5, 6]),
                "GroupNormSequence" => L(() => Layers.GroupNorm(channels, channels), [batch, channels, 3]),
                "InstanceNorm2d" => L(() => nn.InstanceNorm2d(channels), [batch, channels, 5, 4]),
                "ReLU" => L(() => nn.ReLU(), [batch, channels, 7]),
                "LeakyReLU" => L(() => Layers.LeakyReLU(0.2), [batch, channels, 7]),
                "GELU" => L(() => nn.GELU(), [batch, channels, 7]),
                "Sigmoid" => L(() => nn.Sigmoid(), [batch, channels, 7]),
                "Tanh" => L(() => nn.Tanh(), [batch, channels, 7]),
                "Residual" => L(() => new ResidualBlock([Layers.Conv2d(channels, channels, 3, 1, 1, 1, false), Layers.BatchNorm2d(channels), nn.ReLU(),
                    Layers.Conv2d(channels, channels, 3, 1, 1, 1, false), Layers.BatchNorm2d(channels)], null, reluAfterSum: true), [batch, channels, 6, 6]),
                "ResidualProjection" => L(() => new ResidualBlock([Layers.Conv2d(channels, 24, 3, 2, 1, 1, false), Layers.BatchNorm2d(24), nn.ReLU()],
                    nn.Sequential(Layers.Conv2d(channels, 24, 1, 2, 0, 1, false), Layers.BatchNorm2d(24)), reluAfterSum: true), [batch, channels, 7, 7]),
                "Unflatten" => L(() => nn.Unflatten(1, [channels, 3]), [batch, channels * 3, 2]),
                // Fields [F, K]: at least two.
                "FactorizationMachine" => L(() => Layers.FactorizationMachine(reduceSum: true), [batch, channels + 1, 7]),
                "FactorizationMachineBiInteraction" => L(() => Layers.FactorizationMachine(reduceSum: false), [batch, channels + 1, 7]),
                "InnerProduct" => L(() => Layers.InnerProduct(), [batch, channels + 1, 7]),
                "Cross" => L(() => Layers.Cross(channels * 3, 3, matrix: false), [batch, channels * 3]),
                "CrossMatrix" => L(() => Layers.Cross(channels * 3, 2, matrix: true), [batch, channels * 3]),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
            // Batch statistics need more than one value per channel: a batch of one runs in evaluation mode.
            bool training = batch > 1 || !kind.StartsWith("BatchNorm", StringComparison.Ordinal) && !kind.StartsWith("Residual", StringComparison.Ordinal);
            // Dropout's mask is random: the oracle checks it as evaluation does (identity); training draws are not comparable.
            if (kind == "Dropout") training = false;
            Check(failures, $"{kind} channels {channels} batch {batch}", create, shape, seed++, training: training);
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// The normalisations without running statistics, as built, against their definition in float64: each group of
    /// channels (each channel, for instance normalisation) of each sample minus its mean, over the square root of its
    /// biased variance plus 1e-5, in training and evaluation alike. A float32-against-float64 twin cannot see a layer
    /// that starts from garbage parameters (TorchSharp's GroupNorm does: both twins share them); this can.
    /// </summary>
    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 8)]
    [InlineData(5, 5)]
    [InlineData(4, 20)]
    public void GroupAndInstanceNormalisationAreTheirDefinition(int groups, int channels)
    {
        torch.manual_seed(groups * 100 + channels);
        using var x = randn(3, channels, 5, 6);
        using var grouped = x.to(ScalarType.Float64).reshape(3, groups, -1);
        using var expectedGroups = ((grouped - grouped.mean([2], keepdim: true)) / (grouped.var([2], unbiased: false, keepdim: true) + 1e-5).sqrt()).reshape(3, channels, 5, 6);
        using var perChannel = x.to(ScalarType.Float64).reshape(3, channels, -1);
        using var expectedInstances = ((perChannel - perChannel.mean([2], keepdim: true)) / (perChannel.var([2], unbiased: false, keepdim: true) + 1e-5).sqrt()).reshape(3, channels, 5, 6);
        using var group = Layers.GroupNorm(groups, channels);
        using var instance = nn.InstanceNorm2d(channels);
        Assert.True(group.weight!.eq(1f).all().item<bool>() && group.bias!.eq(0f).all().item<bool>(), "GroupNorm starts from weight 1 and bias 0, as PyTorch's");
        foreach (bool training in new[] { true, false })
        {
            group.train(training);
            instance.train(training);
            using var g = group.forward(x).to(ScalarType.Float64);
            using var i = instance.forward(x).to(ScalarType.Float64);
            Assert.True((g - expectedGroups).abs().max().item<double>() < 1e-5, $"GroupNorm({groups}, {channels}), training {training}");
            Assert.True((i - expectedInstances).abs().max().item<double>() < 1e-5, $"InstanceNorm2d({channels}), training {training}");
        }
    }

    /// <summary>
    /// The factorization machine as built, in float64, against its definition written the slow way: Σ_{f&lt;g} ⟨v_f, v_g⟩
    /// over every pair (Rendle's pairwise form, not the O(F·K) identity the layer computes), and NFM's bi-interaction
    /// Σ_{f&lt;g} v_f ⊙ v_g; with one field of large values, where the identity's two terms nearly cancel.
    /// </summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 4)]
    [InlineData(7, 5)]
    [InlineData(26, 16)]
    public void TheFactorizationMachineIsThePairwiseSum(int fields, int dimension)
    {
        using var x = randn([5, fields, dimension], dtype: ScalarType.Float64, generator: new Generator((ulong)(fields * 100 + dimension)));
        using (no_grad()) x[1, 0].mul_(1e3.ToScalar());
        double[] v = x.data<double>().ToArray();
        double At(int n, int f, int k) => v[(n * fields + f) * dimension + k];
        using var fm = Layers.FactorizationMachine(reduceSum: true);
        using var bi = Layers.FactorizationMachine(reduceSum: false);
        using var sum = fm.forward(x);
        using var interactions = bi.forward(x);
        Assert.Equal([5L, 1L], sum.shape);
        Assert.Equal([5L, (long)dimension], interactions.shape);
        for (int n = 0; n < 5; n++)
        {
            double total = 0, scale = 0;
            var perK = new double[dimension];
            for (int f = 0; f < fields; f++)
            for (int g = f + 1; g < fields; g++)
            for (int k = 0; k < dimension; k++)
            {
                double product = At(n, f, k) * At(n, g, k);
                total += product;
                perK[k] += product;
                scale += Math.Abs(product);
            }
            // The identity subtracts squares of sums as large as Σ|v_f v_g|: its float64 rounding is relative to that.
            double tolerance = 1e-12 * Math.Max(1, scale) + 1e-12 * Math.Pow(Enumerable.Range(0, fields).Sum(f => Enumerable.Range(0, dimension).Sum(k => Math.Abs(At(n, f, k)))), 2);
            Assert.True(Math.Abs(sum[n, 0].item<double>() - total) <= tolerance, $"sample {n}: FM {sum[n, 0].item<double>()}, pairwise {total}");
            for (int k = 0; k < dimension; k++)
                Assert.True(Math.Abs(interactions[n, k].item<double>() - perK[k]) <= tolerance, $"sample {n}, k {k}: bi-interaction {interactions[n, k].item<double>()}, pairwise {perK[k]}");
        }
    }

    /// <summary>
    /// The inner products in the order of DeepCTR's PNN (its <c>InnerProductLayer</c> builds the pairs as
    /// <c>for i in range(F - 1): for j in range(i + 1, F)</c>), each ⟨v_i, v_j⟩ computed here by hand.
    /// </summary>
    [Theory]
    [InlineData(2, 3)]
    [InlineData(4, 1)]
    [InlineData(6, 5)]
    public void TheInnerProductsAreEveryPairInPnnsOrder(int fields, int dimension)
    {
        using var x = randn([3, fields, dimension], dtype: ScalarType.Float64, generator: new Generator((ulong)(fields * 10 + dimension)));
        double[] v = x.data<double>().ToArray();
        var row = new List<int>();
        var col = new List<int>();
        for (int i = 0; i < fields - 1; i++)
        for (int j = i + 1; j < fields; j++)
        {
            row.Add(i);
            col.Add(j);
        }
        Assert.Equal(row.Zip(col), InnerProductLayer.Pairs(fields).Select(p => (p.First, p.Second)));
        using var layer = Layers.InnerProduct();
        using var products = layer.forward(x);
        Assert.Equal([3L, (long)fields * (fields - 1) / 2], products.shape);
        for (int n = 0; n < 3; n++)
        for (int p = 0; p < row.Count; p++)
        {
            double expected = 0;
            for (int k = 0; k < dimension; k++) expected += v[(n * fields + row[p]) * dimension + k] * v[(n * fields + col[p]) * dimension + k];
            Assert.True(Math.Abs(products[n, p].item<double>() - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"sample {n}, pair ({row[p]}, {col[p]})");
        }
    }

    /// <summary>
    /// The cross network as built, in float64 with random biases, against the papers' formulas computed here by hand:
    /// DCN's x_{l+1} = x_0 (x_lᵀ w_l) + b_l + x_l and DCN-V2's x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l; and its
    /// initialisation: biases zero, weights Glorot-normal (std √(2/(D + 1)) for the vector, √(1/D) for the matrix).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheCrossNetworkIsThePapersFormula(bool matrix)
    {
        const int D = 6, Depth = 3, N = 4;
        torch.manual_seed(matrix ? 5 : 6);
        using var network = Layers.Cross(D, Depth, matrix);
        Assert.Equal(matrix ? Depth * (D * D + D) : 2 * Depth * D, network.parameters().Sum(p => p.numel()));
        Assert.Equal(Enumerable.Range(0, Depth).SelectMany(l => new[] { $"biases.{l}", $"weights.{l}" }).Order(), network.state_dict().Keys.Order());
        Assert.All(Enumerable.Range(0, Depth), l => Assert.True(network.state_dict()[$"biases.{l}"].eq(0f.ToScalar()).all().item<bool>()));
        network.to(ScalarType.Float64);
        using (no_grad())
            foreach (var (name, parameter) in network.named_parameters())
                if (name.StartsWith("biases.", StringComparison.Ordinal)) parameter.copy_(randn_like(parameter));
        using var x = randn([N, D], dtype: ScalarType.Float64, generator: new Generator(17));
        using var output = network.forward(x);
        var state = network.state_dict();
        double[] x0 = x.data<double>().ToArray();
        for (int n = 0; n < N; n++)
        {
            double[] xl = x0.Skip(n * D).Take(D).ToArray(), first = (double[])xl.Clone();
            for (int l = 0; l < Depth; l++)
            {
                double[] w = state[$"weights.{l}"].data<double>().ToArray(), b = state[$"biases.{l}"].data<double>().ToArray();
                var next = new double[D];
                if (matrix)
                    for (int i = 0; i < D; i++)
                    {
                        double wx = 0;
                        for (int j = 0; j < D; j++) wx += w[i * D + j] * xl[j];
                        next[i] = first[i] * (wx + b[i]) + xl[i];
                    }
                else
                {
                    double dot = 0;
                    for (int j = 0; j < D; j++) dot += xl[j] * w[j];
                    for (int i = 0; i < D; i++) next[i] = first[i] * dot + b[i] + xl[i];
                }
                xl = next;
            }
            for (int i = 0; i < D; i++)
                Assert.True(Math.Abs(output[n, i].item<double>() - xl[i]) <= 1e-12 * Math.Max(1, Math.Abs(xl[i])), $"sample {n}, feature {i}: {output[n, i].item<double>()} against {xl[i]}");
        }

        // Glorot-normal weights: the sample standard deviation of many draws is the formula's within a few percent.
        const int Wide = 300;
        using var wide = Layers.Cross(Wide, 2, matrix);
        double expected = Math.Sqrt(2.0 / (matrix ? 2.0 * Wide : Wide + 1.0));
        using var weights = cat(wide.named_parameters().Where(p => p.name.StartsWith("weights.", StringComparison.Ordinal)).Select(p => p.parameter.detach().flatten()).ToArray());
        double std = weights.std().item<float>(), mean = weights.mean().item<float>();
        Assert.True(Math.Abs(std / expected - 1) < (matrix ? 0.02 : 0.1), $"weights' std {std}, Glorot's {expected}");
        Assert.True(Math.Abs(mean) < 4 * expected / Math.Sqrt(weights.numel()), $"weights' mean {mean}");
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(true, 0L)]
    public void EmbeddingsAgreeWithFloat64(bool bag, long? paddingIndex)
    {
        var failures = new List<string>();
        int seed = 40;
        foreach (long batch in s_batches)
        foreach (int dimension in new[] { 1, 5, 20, 33 })
        {
            nn.Module<Tensor, Tensor> Create() => bag
                ? Layers.EmbeddingBag(50, dimension, seed % 2 == 0 ? BagMode.Mean : BagMode.Sum, paddingIndex)
                : Layers.Embedding(50, dimension, paddingIndex);
            for (int repetition = 0; repetition < Repetitions; repetition++)
            {
                torch.manual_seed(seed);
                using var module32 = Create();
                using var module64 = Float64Oracle.Twin(module32, Create);
                using var ids = randint(0, 50, [batch, 6], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));
                var results = Float64Oracle.Compare(module32, module64, (m, x) => [((nn.Module<Tensor, Tensor>)m).forward(x[0])], [ids], seed);
                if (Float64Oracle.Failures($"{(bag ? "EmbeddingBag" : "Embedding")} dimension {dimension} batch {batch}", results) is string failure) failures.Add(failure);
            }
            seed++;
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static (Func<nn.Module<Tensor, Tensor>> Create, long[] Shape) L(Func<nn.Module<Tensor, Tensor>> create, long[] shape) => (create, shape);

    private static void Check(List<string> failures, string what, Func<nn.Module<Tensor, Tensor>> create, long[] shape, int seed, bool inputGradients = true, bool training = true)
    {
        for (int repetition = 0; repetition < Repetitions; repetition++)
        {
            torch.manual_seed(seed);
            using var module32 = create();
            if (training) module32.train(); else module32.eval();
            using var module64 = Float64Oracle.Twin(module32, create);
            using var input = randn(shape, dtype: ScalarType.Float64, generator: new Generator((ulong)(seed * 7 + 1)));
            var results = Float64Oracle.Compare(module32, module64, (m, x) => [((nn.Module<Tensor, Tensor>)m).forward(x[0])], [input], seed, inputGradients);
            if (Float64Oracle.Failures(repetition == 0 ? what : $"{what} (repetition {repetition + 1})", results) is string failure)
            {
                failures.Add(failure);
                return;
            }
        }
    }
}
