using MtlDsl.TestModels;
using SeedExample;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The compile-time summary says what TorchSharp reports at run time, layer by layer.</summary>
public class SummaryTests
{
    public static TheoryData<string> Models => new() { nameof(VisionModel), nameof(TabularModel), nameof(SignalModel), nameof(NormalizationModel), nameof(PooledImageModel), nameof(DenseModel) };

    private static (nn.Module Model, ModelSummary Summary) Create(string name) => name switch
    {
        nameof(VisionModel) => (new VisionModel(), VisionModel.Summary),
        nameof(TabularModel) => (new TabularModel(), TabularModel.Summary),
        nameof(SignalModel) => (new SignalModel(), SignalModel.Summary),
        nameof(NormalizationModel) => (new NormalizationModel(), NormalizationModel.Summary),
        nameof(PooledImageModel) => (new PooledImageModel(), PooledImageModel.Summary),
        nameof(DenseModel) => (new DenseModel(), DenseModel.Summary),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryLayersShapeAndParameterCountMatchTorchSharp(string name)
    {
        torch.manual_seed(1);
        var (model, summary) = Create(name);
        using var _ = model;
        model.eval();
        var blocks = model.named_children().ToDictionary(c => c.name, c => (Sequential)c.module);
        var parameters = model.named_parameters().ToList();
        Assert.Equal(blocks.Keys.Order(), summary.Layers.Select(l => l.Block).Distinct().Order());

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int batch = 3;
        Tensor representation = randn([batch, .. summary.InputShape.Select(d => (long)d)]);
        // Trunk blocks come first and chain; every head then reads the last trunk block's output.
        foreach (var block in summary.Layers.GroupBy(l => l.Block))
        {
            Tensor x = representation;
            Assert.Equal(block.Count(), blocks[block.Key].children().Count());
            foreach (LayerSummary layer in block)
            {
                var module = (nn.Module<Tensor, Tensor>)blocks[layer.Block].children().ElementAt(layer.Index);
                x = module.forward(x);
                Assert.True(x.shape.SequenceEqual([batch, .. layer.OutputShape.Select(d => (long)d)]),
                    $"{layer.Block}.{layer.Index} {layer.Layer}: summary says {ModelSummary.FormatShape(layer.OutputShape)}, TorchSharp gives [{string.Join(", ", x.shape.Skip(1))}]");
                long runtimeParameters = parameters.Where(p => p.name.StartsWith($"{layer.Block}.{layer.Index}.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
                Assert.True(runtimeParameters == layer.Parameters,
                    $"{layer.Block}.{layer.Index} {layer.Layer}: summary says {layer.Parameters} parameters, TorchSharp has {runtimeParameters}");
            }
            if (summary.TrunkBlocks.Contains(block.Key)) representation = x;
        }
        Assert.Equal(summary.ParameterCount, parameters.Sum(p => p.parameter.numel()));
    }

    [Fact]
    public void SummaryTextListsEveryLayerAndTheTotal()
    {
        string text = VisionModel.Summary.ToString();
        Assert.Contains("features.0        Conv2d(3→32, k=3, p=1)    [32, 28, 28]      896", text);
        Assert.Contains("detection.2", text);
        Assert.EndsWith("Total parameters: 500,589", text);
    }
}
