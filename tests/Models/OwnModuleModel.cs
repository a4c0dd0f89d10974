using MtlDsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.TestModels;

/// <summary>
/// A ResNet basic block written by hand in TorchSharp, as a team would bring it: two 3×3 convolutions with batch
/// normalisation, and a 1×1 projection of the input where the stride or the channels change. Its static
/// <see cref="OutputShape"/> tells the generator its output for any input, at compile time.
/// </summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? downsample;

    /// <summary>Creates the block. Output channels a multiple of 16 keep TorchSharp's convolutions clear of oneDNN's NaN (docs/known-issues).</summary>
    public BasicBlock(int inChannels, int outChannels, int stride) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            downsample = nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), nn.BatchNorm2d(outChannels));
        RegisterComponents();
    }

    /// <summary>The output for an input <c>[C, H, W]</c>: <c>[outChannels, ⌈H/stride⌉, ⌈W/stride⌉]</c>.</summary>
    public static int[] OutputShape(int[] input, int inChannels, int outChannels, int stride) =>
        [outChannels, (input[1] - 1) / stride + 1, (input[2] - 1) / stride + 1];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor y = bn2.call(conv2.call(nn.functional.relu(bn1.call(conv1.call(x)))));
        return nn.functional.relu(y + (downsample is null ? x : downsample.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>A two-layer perceptron written by hand, with no shape method: its use declares the output shape.</summary>
public sealed class SmallPerceptron : nn.Module<Tensor, Tensor>
{
    private readonly Linear first, second;

    public SmallPerceptron(int inFeatures, int outFeatures, int hidden = 16) : base(nameof(SmallPerceptron))
    {
        first = nn.Linear(inFeatures, hidden);
        second = nn.Linear(hidden, outFeatures);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return second.call(nn.functional.relu(first.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A ResNet-style trunk of declared layers and hand-written blocks (their output shapes computed by
/// BasicBlock.OutputShape at compile time), and a head that is a hand-written module with a declared shape.
/// </summary>
[MultiTaskModel]
[Input(1, 12, 12)]
public partial class OwnModuleModel
{
    [Trunk]
    [Conv2d(16, 3, Padding = 1), BatchNorm2d, ReLU]
    public partial Sequential Stem { get; }

    [Trunk]
    [Module(typeof(BasicBlock), 16, 16, 1), Module(typeof(BasicBlock), 16, 32, 2)]
    public partial Sequential Blocks { get; }

    [Trunk]
    [AdaptiveAvgPool2d(1), Flatten]
    public partial Sequential Pool { get; }

    [Task(Loss.CrossEntropy)]
    [Linear(5)]
    public partial Sequential Kind { get; }

    [Task(Loss.MeanSquaredError)]
    [Module(typeof(SmallPerceptron), 32, 2, OutputShape = new[] { 2 })]
    public partial Sequential Position { get; }
}
