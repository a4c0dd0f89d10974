using System.Text.Json;
using MtlDsl.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Class weights (cross-entropy) and positive weights (binary cross-entropy) in float64: every case of
/// Reference/loss-weights.json (logits, targets with missing labels, weights; PyTorch 1.13's loss and gradient, written
/// by loss-weights.py beside it) against MtlDsl's loss, and against the formulas of the attributes' documentation
/// written out by hand here; the edge cases PyTorch has no answer for (every present label weighted 0); and the
/// refusals of weights that do not fit their task.
/// </summary>
public class LossWeightTests
{
    private static readonly JsonElement[] Cases = [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "loss-weights.json")))
        .RootElement.GetProperty("cases").EnumerateArray()];

    public static TheoryData<string> CaseNames => new(Cases.Select(c => c.GetProperty("name").GetString()!));

    private static JsonElement Case(string name) => Cases.Single(c => c.GetProperty("name").GetString() == name);

    private static double[] Numbers(JsonElement array) => [.. array.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble())];

    private static long[] Shape(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetInt64())];

    private static double[]? Weights(JsonElement c, string name) => c.GetProperty(name).ValueKind == JsonValueKind.Null ? null : Numbers(c.GetProperty(name));

    private static (TaskDefinition Task, double[] Logits, long[] Shape, double[] Target, long[] TargetShape, bool Indices) Read(JsonElement c)
    {
        Loss loss = Enum.Parse<Loss>(c.GetProperty("loss").GetString()!);
        long[] shape = Shape(c.GetProperty("shape"));
        var task = new TaskDefinition("T", loss, 1, [.. shape.Skip(1).Select(s => (int)s)])
        {
            ClassWeights = Weights(c, "class_weights"),
            PositiveWeights = Weights(c, "positive_weights"),
        };
        return (task, Numbers(c.GetProperty("logits")), shape, Numbers(c.GetProperty("target")), Shape(c.GetProperty("target_shape")), c.GetProperty("indices").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void TheWeightedLossAndItsGradientArePyTorchsAndTheFormulas(string name)
    {
        JsonElement c = Case(name);
        var (task, logits, shape, target, targetShape, indices) = Read(c);
        using var scope = NewDisposeScope();
        Tensor output = tensor(logits, dtype: ScalarType.Float64).reshape(shape).requires_grad_(true);
        Tensor labels = indices
            ? tensor(target.Select(v => (long)v).ToArray(), dtype: ScalarType.Int64).reshape(targetShape)
            : tensor(target, dtype: ScalarType.Float64).reshape(targetShape);

        Tensor loss = TaskLosses.Compute(task, output, labels, out bool present);
        loss.backward();

        Assert.True(present);
        double expected = c.GetProperty("expected").GetDouble();
        Assert.Equal(expected, loss.item<double>(), 12);
        double[] gradient = Numbers(c.GetProperty("gradient"));
        double[] mine = output.grad!.flatten().data<double>().ToArray();
        for (int i = 0; i < gradient.Length; i++) Assert.Equal(gradient[i], mine[i], 12);
        // The documented formula, by hand, agrees with both.
        Assert.Equal(expected, ByHand(task, logits, shape, target, indices), 12);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void InFloat32TheLossIsPyTorchsToRounding(string name)
    {
        JsonElement c = Case(name);
        var (task, logits, shape, target, targetShape, indices) = Read(c);
        using var scope = NewDisposeScope();
        Tensor output = tensor(logits, dtype: ScalarType.Float64).reshape(shape).to_type(ScalarType.Float32);
        Tensor labels = indices
            ? tensor(target.Select(v => (long)v).ToArray(), dtype: ScalarType.Int64).reshape(targetShape)
            : tensor(target, dtype: ScalarType.Float64).reshape(targetShape).to_type(ScalarType.Float32);
        double expected = c.GetProperty("expected").GetDouble();
        Assert.Equal(ScalarType.Float32, TaskLosses.Compute(task, output, labels).dtype);
        Assert.True(Math.Abs(TaskLosses.Compute(task, output, labels).item<float>() - expected) <= 1e-5 * Math.Max(1, expected));
    }

    // The formulas of TaskAttribute.ClassWeights and PositiveWeights, in plain doubles.
    private static double ByHand(TaskDefinition task, double[] logits, long[] shape, double[] target, bool indices)
    {
        long n = shape[0], c = shape[1], positions = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        double At(long sample, long channel, long position) => logits[(sample * c + channel) * positions + position];
        if (task.Loss == Loss.BinaryCrossEntropyWithLogits)
        {
            double sum = 0;
            long count = 0;
            for (long s = 0; s < n; s++)
                for (long k = 0; k < c; k++)
                    for (long p = 0; p < positions; p++)
                    {
                        double y = target[(s * c + k) * positions + p];
                        if (double.IsNaN(y)) continue;
                        double x = At(s, k, p), weight = task.PositiveWeights!.Count == 1 ? task.PositiveWeights[0] : task.PositiveWeights[(int)k];
                        double logSigmoid = -Softplus(-x), logOneMinusSigmoid = -Softplus(x);
                        sum += -(weight * y * logSigmoid + (1 - y) * logOneMinusSigmoid);
                        count++;
                    }
            return sum / count;
        }
        IReadOnlyList<double> w = task.ClassWeights!;
        double LogSoftmax(long s, long k, long p)
        {
            double max = double.NegativeInfinity;
            for (long j = 0; j < c; j++) max = Math.Max(max, At(s, j, p));
            double total = 0;
            for (long j = 0; j < c; j++) total += Math.Exp(At(s, j, p) - max);
            return At(s, k, p) - max - Math.Log(total);
        }
        double numerator = 0, denominator = 0;
        for (long s = 0; s < n; s++)
            for (long p = 0; p < positions; p++)
            {
                if (indices)
                {
                    long y = (long)target[s * positions + p];
                    if (y == TaskLosses.MissingClass) continue;
                    numerator += w[(int)y] * -LogSoftmax(s, y, p);
                    denominator += w[(int)y];
                }
                else
                {
                    double row = 0;
                    bool missing = false;
                    for (long k = 0; k < c; k++)
                    {
                        double y = target[(s * c + k) * positions + p];
                        if (double.IsNaN(y)) missing = true;
                        else row += w[(int)k] * y * -LogSoftmax(s, k, p);
                    }
                    if (missing) continue;
                    numerator += row;
                    denominator += 1;   // the mean over rows: not divided by the weights
                }
            }
        return numerator / denominator;
    }

    private static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    [Fact]
    public void ABatchWhosePresentLabelsAllWeighNothingHasNoLossAsABatchWithoutLabels()
    {
        // PyTorch's weighted mean would be 0/0 = NaN: MtlDsl says the batch has no loss for the task (0 in the graph).
        var task = new TaskDefinition("Kind", Loss.CrossEntropy, 1, [3]) { ClassWeights = [0, 2, 1] };
        using var scope = NewDisposeScope();
        Tensor output = randn([4, 3], dtype: ScalarType.Float64).requires_grad_(true);
        Tensor labels = tensor(new long[] { 0, TaskLosses.MissingClass, 0, 0 });
        Tensor loss = TaskLosses.Compute(task, output, labels, out bool present);
        Assert.False(present);
        Assert.Equal(0.0, loss.item<double>());
        loss.backward();
        Assert.Equal(0.0, output.grad!.abs().sum().item<double>());
        Assert.True(double.IsNaN(nn.functional.cross_entropy(output.detach(), labels, weight: tensor(new double[] { 0, 2, 1 }), ignore_index: TaskLosses.MissingClass).item<double>()));

        // One label of a weighted class: its loss alone, as the unweighted loss of that sample.
        Tensor one = tensor(new long[] { 0, 1, 0, TaskLosses.MissingClass });
        Tensor weighted = TaskLosses.Compute(task, output.detach(), one, out present);
        Assert.True(present);
        Assert.Equal(nn.functional.cross_entropy(output.detach()[1..2], one[1..2]).item<double>(), weighted.item<double>(), 12);
    }

    [Fact]
    public void UnitWeightsGiveTheUnweightedLoss()
    {
        using var scope = NewDisposeScope();
        Tensor logits = randn([10, 3], dtype: ScalarType.Float64);
        Tensor classes = tensor(new long[] { 0, 1, 2, TaskLosses.MissingClass, 1, 1, 0, 2, TaskLosses.MissingClass, 0 });
        var plain = new TaskDefinition("Kind", Loss.CrossEntropy, 1, [3]);
        var ones = plain with { ClassWeights = [1, 1, 1] };
        Assert.Equal(TaskLosses.Compute(plain, logits, classes).item<double>(), TaskLosses.Compute(ones, logits, classes).item<double>(), 14);

        double[] values = [.. Enumerable.Range(0, 30).Select(i => i == 7 || i == 20 ? double.NaN : i % 3 == 0 ? 1.0 : 0.0)];
        Tensor flags = tensor(values, dtype: ScalarType.Float64).reshape(10, 3);
        var binary = new TaskDefinition("Tags", Loss.BinaryCrossEntropyWithLogits, 1, [3]);
        Assert.Equal(TaskLosses.Compute(binary, logits, flags).item<double>(), TaskLosses.Compute(binary with { PositiveWeights = [1] }, logits, flags).item<double>(), 14);
        Assert.Equal(TaskLosses.Compute(binary, logits, flags).item<double>(), TaskLosses.Compute(binary with { PositiveWeights = [1, 1, 1] }, logits, flags).item<double>(), 14);
    }

    [Fact]
    public void WeightsThatCannotBeAreRefusedWhenTheDefinitionIsMade()
    {
        var task = new TaskDefinition("Kind", Loss.CrossEntropy, 1, [3]);
        Assert.Contains("ClassWeights[1] is -1", Assert.Throws<ArgumentException>(() => task with { ClassWeights = [1, -1, 2] }).Message);
        Assert.Contains("ClassWeights[0] is NaN", Assert.Throws<ArgumentException>(() => task with { ClassWeights = [double.NaN, 1, 2] }).Message);
        Assert.Contains("all 0", Assert.Throws<ArgumentException>(() => task with { ClassWeights = [0, 0, 0] }).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => task with { ClassWeights = [] }).Message);
        var binary = new TaskDefinition("Tags", Loss.BinaryCrossEntropyWithLogits, 1, [2]);
        Assert.Contains("PositiveWeights[0] is 0", Assert.Throws<ArgumentException>(() => binary with { PositiveWeights = [0] }).Message);
        Assert.Contains("PositiveWeights[1] is Infinity", Assert.Throws<ArgumentException>(() => binary with { PositiveWeights = [1, double.PositiveInfinity] }).Message);
        // The list is copied: changing the array afterwards changes nothing.
        double[] weights = [1, 2, 3];
        TaskDefinition kept = task with { ClassWeights = weights };
        weights[0] = -5;
        Assert.Equal(new[] { 1.0, 2, 3 }, kept.ClassWeights!);
    }

    [Fact]
    public void WeightsOfAnotherLossOrCountAreRefusedWhereTheLossIsComputed()
    {
        using var scope = NewDisposeScope();
        Tensor logits = randn([4, 3]);
        Tensor classes = tensor(new long[] { 0, 1, 2, 1 });
        Tensor flags = rand([4, 3]).lt(0.5).to_type(ScalarType.Float32);
        var crossEntropy = new TaskDefinition("Kind", Loss.CrossEntropy, 1, [3]);
        var binary = new TaskDefinition("Tags", Loss.BinaryCrossEntropyWithLogits, 1, [3]);
        Assert.Contains("PositiveWeights apply to BinaryCrossEntropyWithLogits only",
            Assert.Throws<ArgumentException>(() => TaskLosses.Compute(crossEntropy with { PositiveWeights = [2] }, logits, classes)).Message);
        Assert.Contains("ClassWeights apply to CrossEntropy only",
            Assert.Throws<ArgumentException>(() => TaskLosses.Compute(binary with { ClassWeights = [1, 2, 3] }, logits, flags)).Message);
        Assert.Contains("2 ClassWeights for 3 classes",
            Assert.Throws<ArgumentException>(() => TaskLosses.Compute(crossEntropy with { ClassWeights = [1, 2] }, logits, classes)).Message);
        Assert.Contains("2 PositiveWeights for an output of shape [4, 3]",
            Assert.Throws<ArgumentException>(() => TaskLosses.Compute(binary with { PositiveWeights = [1, 2] }, logits, flags)).Message);
    }
}
