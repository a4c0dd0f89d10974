using MtlDsl.TestModels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>[Residual] blocks: the sum their forward pass computes, the shortcut the compiler infers, and training.</summary>
public class ResidualTests
{
    [Fact]
    public void EachBlockAddsItsInputOrItsProjection()
    {
        torch.manual_seed(1);
        using var model = new ResidualModel();
        model.eval();
        using var noGrad = no_grad();
        var blocks = model.named_children().ToDictionary(c => c.name, c => c.module);
        var block1 = Assert.IsType<ResidualBlock>(blocks["block1"]);
        var block2 = Assert.IsType<ResidualBlock>(blocks["block2"]);
        var position = Assert.IsType<ResidualBlock>(blocks["position"]);
        Assert.Null(block1.Shortcut);
        Assert.NotNull(block2.Shortcut);

        Tensor Layers(ResidualBlock block, Tensor x)
        {
            foreach (var layer in block.Layers) x = layer.forward(x);
            return x;
        }
        Tensor input = randn(3, 16, 12, 12);
        Assert.True(block1.forward(input).allclose(nn.functional.relu(Layers(block1, input) + input)));
        Tensor projected = block2.Shortcut!.forward(input);
        Assert.Equal([3L, 32, 6, 6], projected.shape);
        Assert.True(block2.forward(input).allclose(nn.functional.relu(Layers(block2, input) + projected)));
        Tensor vector = randn(3, 32);
        Assert.True(position.forward(vector).allclose(Layers(position, vector) + position.Shortcut!.forward(vector)));
    }

    [Fact]
    public void TheSummaryHasEveryShortcutWithItsStateAndParameters()
    {
        torch.manual_seed(1);
        using var model = new ResidualModel();
        var parameters = model.named_parameters().ToList();
        Assert.Equal(ResidualModel.ParameterCount, parameters.Sum(p => p.parameter.numel()));
        foreach (LayerSummary row in ResidualModel.Summary.Layers)
        {
            long runtime = parameters.Where(p => row.StateNames.Any(n => p.name.StartsWith(n + ".", StringComparison.Ordinal))).Sum(p => p.parameter.numel());
            Assert.True(runtime == row.Parameters, $"{row.Block}.{row.Index} {row.Layer}: summary {row.Parameters}, TorchSharp {runtime}");
        }
        var shortcuts = ResidualModel.Summary.Layers.Where(l => l.Layer.StartsWith('+')).ToDictionary(l => l.Block);
        Assert.Equal("+ the input, ReLU", shortcuts["block1"].Layer);
        Assert.Equal("+ Conv2d(16→32, k=1, s=2, no bias) + BatchNorm2d(32) of the input, ReLU", shortcuts["block2"].Layer);
        Assert.Equal([32, 6, 6], shortcuts["block2"].OutputShape);
        Assert.Equal(16 * 32 + 2 * 32, shortcuts["block2"].Parameters);
        Assert.Equal("+ Linear(32→2) of the input", shortcuts["position"].Layer);
        Assert.Contains(parameters, p => p.name == "block2.shortcut.0.weight");
        Assert.Contains(parameters, p => p.name == "position.shortcut.weight");
        // Every tensor once, under its one name (PyTorch's twin loads the state dict strictly).
        var state = model.state_dict().Keys.ToList();
        Assert.Equal(state.Count, state.Distinct().Count());
        Assert.All(state, key => Assert.DoesNotContain("._", key));
        Assert.Equal(parameters.Count + model.named_buffers().Count(), state.Count);
        string text = ResidualModel.Summary.ToString();
        Assert.Contains("block2.4", text);
        Assert.Contains("block2.shortcut", text);   // the projection under its state-dict name
        Assert.Contains("block1.+", text);          // the identity sum, which has no state
        Assert.DoesNotContain("block2.5", text);
    }

    [Fact]
    public void AResidualNetworkLearnsBothTasks()
    {
        var (images, classes, positions) = ArchitectureTests.Squares(768, seed: 9);
        var (testImages, testClasses, testPositions) = ArchitectureTests.Squares(256, seed: 10);
        torch.manual_seed(4);
        using var model = new ResidualModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 3e-3));
        var history = trainer.Fit(Data.MultiTaskData<ResidualModel.Targets>.Shared(images, new ResidualModel.Targets(classes, positions)),
            new Training.FitOptions { Epochs = 6, BatchSize = 32, Seed = 4 });
        var result = trainer.Evaluate(Data.MultiTaskData<ResidualModel.Targets>.Shared(testImages, new ResidualModel.Targets(testClasses, testPositions)));
        Assert.True(result["Kind", "accuracy"] > 0.8, result.ToString());
        Assert.True(history.Epochs[^1].TrainLosses[1] < 0.5 * history.Epochs[0].TrainLosses[1], result.ToString());
    }
}
