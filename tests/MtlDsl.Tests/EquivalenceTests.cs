using MtlDsl.Benchmarks;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The generated article network is the hand-written TorchSharp network: same parameters, same outputs, same training.</summary>
public class EquivalenceTests
{
    [Fact]
    public void ParameterNamesShapesAndCountAgree()
    {
        using var generated = new VisionModel();
        using var handWritten = new HandWrittenVisionModel();
        var ours = generated.named_parameters().Select(p => (p.name, Shape: string.Join("x", p.parameter.shape))).ToList();
        var theirs = handWritten.named_parameters().Select(p => (p.name, Shape: string.Join("x", p.parameter.shape))).ToList();
        Assert.Equal(theirs, ours);
        Assert.Contains(ours, p => p.name == "features.0.weight");
        Assert.Equal(VisionModel.ParameterCount, generated.parameters().Sum(p => p.numel()));
        Assert.Equal(VisionModel.ParameterCount, handWritten.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void ForwardAndTrainingStepsAgreeWithCopiedWeights()
    {
        torch.manual_seed(7);
        using var generated = new VisionModel();
        using var handWritten = new HandWrittenVisionModel();
        handWritten.load_state_dict(generated.state_dict());
        var (images, classes, boxes) = SyntheticVision.Generate(32, seed: 3);

        using (torch.no_grad())
        {
            var ours = generated.forward(images);
            var (scores, maps) = handWritten.forward(images);
            Assert.True(ours.Classification.allclose(scores, rtol: 0, atol: 1e-6));
            Assert.True(ours.Detection.allclose(maps, rtol: 0, atol: 1e-6));
        }

        var trainer = generated.CreateTrainer(optim.Adam(generated.parameters(), lr: 1e-3));
        var optimizer = optim.Adam(handWritten.parameters(), lr: 1e-3);
        for (int step = 0; step < 3; step++)
        {
            var ours = trainer.Step(images, new VisionModel.Targets(classes, boxes));
            var theirs = handWritten.Step(optimizer, images, classes, boxes);
            Assert.Equal(theirs.Total, ours.Total, 1e-6);
            Assert.Equal(theirs.Classification, ours.Classification, 1e-6);
            Assert.Equal(theirs.Detection, ours.Detection, 1e-6);
        }
        var after = handWritten.state_dict();
        foreach (var (name, tensor) in generated.state_dict())
            Assert.True(tensor.allclose(after[name], rtol: 1e-5, atol: 1e-6), $"{name} differs after three steps");
    }
}
