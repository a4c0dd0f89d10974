using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Architectures;

/// <summary>
/// MTAN's task attention (Liu et al., CVPR 2019). Per task and stage, a mask
/// (1×1 conv – BatchNorm – ReLU – 1×1 conv – BatchNorm – sigmoid, <c>attention.{task}.{stage}.{0…5}</c>) reads the
/// stage's intermediate features (the output of all its layers but the last), concatenated after the first stage with
/// the task's attended features so far, and multiplies into the stage's output. Between stages a block shared by the
/// tasks (3×3 conv – BatchNorm – ReLU, <c>attention_blocks.{stage}.{0…2}</c>) takes each task's attended features to
/// the next stage's intermediate channels, and a max pooling to its size.
/// </summary>
public static class TaskAttention
{
    /// <summary>A mask from <paramref name="inChannels"/> to <paramref name="channels"/> (the stage output's channels).</summary>
    public static Sequential Mask(long inChannels, long channels) => nn.Sequential(
        Layers.Conv2d(inChannels, channels, 1, stride: 1, padding: 0, dilation: 1, bias: true),
        Layers.BatchNorm2d(channels),
        nn.ReLU(),
        Layers.Conv2d(channels, channels, 1, stride: 1, padding: 0, dilation: 1, bias: true),
        Layers.BatchNorm2d(channels),
        nn.Sigmoid());

    /// <summary>The block between two stages: <c>Conv2d(3×3, padding 1) – BatchNorm – ReLU</c>.</summary>
    public static Sequential Block(long inChannels, long outChannels) => nn.Sequential(
        Layers.Conv2d(inChannels, outChannels, 3, stride: 1, padding: 1, dilation: 1, bias: true),
        Layers.BatchNorm2d(outChannels),
        nn.ReLU());

    /// <summary>
    /// One stage: <paramref name="intermediate"/> features and the stage's <paramref name="output"/>; each task's
    /// <paramref name="attended"/> features of the previous stage (null at the first), already taken to this stage's
    /// channels and size. Returns each task's attended features of this stage.
    /// </summary>
    public static Tensor[] Attend(Sequential[] masks, Tensor intermediate, Tensor output, Tensor[]? attended)
    {
        ArgumentNullException.ThrowIfNull(masks);
        var result = new Tensor[masks.Length];
        for (int t = 0; t < masks.Length; t++)
        {
            Tensor input = attended is null ? intermediate : cat([intermediate, attended[t]], 1);
            result[t] = masks[t].forward(input) * output;
        }
        return result;
    }

    /// <summary>Each task's attended features through the shared block between stages, then pooled by <paramref name="pool"/> (1: not pooled).</summary>
    public static Tensor[] ToNextStage(Sequential block, Tensor[] attended, int pool)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(attended);
        return attended.Select(a =>
        {
            Tensor x = block.forward(a);
            return pool > 1 ? nn.functional.max_pool2d(x, pool, pool) : x;
        }).ToArray();
    }

    /// <summary>
    /// Every task's masks, one per stage (<c>attention.{task}.{stage}</c>): stage s reads <paramref name="maskInputs"/>[s]
    /// channels and gives <paramref name="channels"/>[s], the stage output's.
    /// </summary>
    public static TaskModules<ModuleList<Sequential>> Masks(IReadOnlyList<string> taskNames, IReadOnlyList<int> maskInputs, IReadOnlyList<int> channels) =>
        new(taskNames, _ => new ModuleList<Sequential>(maskInputs.Select((inputs, s) => Mask(inputs, channels[s])).ToArray()));

    /// <summary>The blocks between stages (<c>attention_blocks.{stage}</c>): stage s's output channels to stage s + 1's intermediate channels.</summary>
    public static ModuleList<Sequential> Blocks(IReadOnlyList<int> outputChannels, IReadOnlyList<int> nextChannels) =>
        new(outputChannels.Select((c, s) => Block(c, nextChannels[s])).ToArray());

    /// <summary>
    /// The forward pass: each stage (<paramref name="stages"/>) of the shared network runs once; per task its mask
    /// from the stage's intermediate features (and the task's attended features so far) multiplies into the stage's
    /// output; between stages the shared block and a max pooling by <paramref name="pools"/>[s + 1] take each task's
    /// attended features to the next stage. Returns every task's attended features of the last stage.
    /// </summary>
    public static Tensor[] Forward(IReadOnlyList<Sequential> stages, TaskModules<ModuleList<Sequential>> attention, ModuleList<Sequential> blocks,
        IReadOnlyList<int> pools, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(attention);
        ArgumentNullException.ThrowIfNull(blocks);
        Tensor x = input;
        Tensor[]? attended = null;
        for (int s = 0; s < stages.Count; s++)
        {
            var layers = stages[s].children().Cast<nn.Module<Tensor, Tensor>>().ToList();
            for (int i = 0; i + 1 < layers.Count; i++) x = layers[i].forward(x);
            Tensor intermediate = x;
            x = layers[^1].forward(x);
            Sequential[] masks = Enumerable.Range(0, attention.Count).Select(t => attention[t][s]).ToArray();
            if (attended is not null) attended = ToNextStage(blocks[s - 1], attended, pools[s]);
            attended = Attend(masks, intermediate, x, attended);
        }
        return attended!;
    }
}
