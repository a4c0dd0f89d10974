using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using Xunit.Abstractions;

namespace MtlDsl.Onnx.Tests;

/// <summary>Every test model and every architecture, exported and run in ONNX Runtime at batch 1 and 37.</summary>
public sealed class TestModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-onnx-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string> Models() => [.. Create.Keys];

    private static readonly Dictionary<string, Func<string, double>> Create = new()
    {
        [nameof(TabularModel)] = f => Check(new TabularModel(), f),
        [nameof(SignalModel)] = f => Check(new SignalModel(), f),
        [nameof(NormalizationModel)] = f => Check(new NormalizationModel(), f),
        [nameof(PooledImageModel)] = f => Check(new PooledImageModel(), f),
        [nameof(AuxiliaryHeadModel)] = f => Check(new AuxiliaryHeadModel(), f),
        [nameof(SameShapeReadsModel)] = f => Check(new SameShapeReadsModel(), f),
        [nameof(DenseModel)] = f => Check(new DenseModel(), f),
        [nameof(ResidualModel)] = f => Check(new ResidualModel(), f),
        [nameof(RecommenderModel)] = f => Check(new RecommenderModel(), f),
        [nameof(InteractionModel)] = f => Check(new InteractionModel(), f),
        [nameof(EsmmModel)] = f => Check(new EsmmModel(), f),
        [nameof(AitmModel)] = f => Check(new AitmModel(), f),
        [nameof(ReservedNamesModel)] = f => Check(new ReservedNamesModel(), f),
        [nameof(ImbalanceModel)] = f => Check(new ImbalanceModel(), f),
        [nameof(HardSharingModel)] = f => Check(new HardSharingModel(), f),
        [nameof(MMoEModel)] = f => Check(new MMoEModel(), f),
        [nameof(OMoEModel)] = f => Check(new OMoEModel(), f),
        [nameof(CGCModel)] = f => Check(new CGCModel(), f),
        [nameof(PLEModel)] = f => Check(new PLEModel(), f),
        [nameof(CGCPerTaskModel)] = f => Check(new CGCPerTaskModel(), f),
        [nameof(PLEPerTaskModel)] = f => Check(new PLEPerTaskModel(), f),
        [nameof(CrossStitchModel)] = f => Check(new CrossStitchModel(), f),
        [nameof(MTANModel)] = f => Check(new MTANModel(), f),
        [nameof(MMoEBottomModel)] = f => Check(new MMoEBottomModel(), f),
        [nameof(PLEBottomModel)] = f => Check(new PLEBottomModel(), f),
    };

    // One file, run at batch 1 and 37 (its first dimension is symbolic); the largest difference relative to the tolerance.
    private static double Check<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, string folder)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        using (model)
        {
            OnnxExport export = OnnxRuntimeCheck.Export(model, folder);
            return Math.Max(OnnxRuntimeCheck.AssertAgrees(model, export, 1), OnnxRuntimeCheck.AssertAgrees(model, export, 37));
        }
    }

    // ESMM's product (Neg of ReduceLogSumExp over the subsets' sums) where both towers' logits are near 60 and 70:
    // σ rounds to 1 in float32 there, so a product of probabilities would be an infinite logit.
    [Fact]
    public void EsmmsProductIsExactWhereSigmoidRoundsToOne()
    {
        using var model = new EsmmModel();
        using (TorchSharp.torch.no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
                if (name == "click.2.bias") parameter.fill_(60);
                else if (name == "conversion.2.bias") parameter.fill_(70);
        }
        OnnxExport export = OnnxRuntimeCheck.Export(model, _folder);
        Assert.Contains("ReduceLogSumExp", File.ReadAllText(export.Path, System.Text.Encoding.Latin1));
        OnnxRuntimeCheck.AssertAgrees(model, export, 37);
        using var outputs = TorchSharp.torch.NewDisposeScope();
        var inputs = new EsmmModel.Inputs(TorchSharp.torch.rand(5, 4), TorchSharp.torch.zeros(5, TorchSharp.torch.ScalarType.Int64), TorchSharp.torch.ones(5, TorchSharp.torch.ScalarType.Int64));
        var result = model.forward(inputs);
        Assert.True(result.ClickAndConversion.isfinite().all().item<bool>());
        Assert.True(result.ClickAndConversion.gt(50).all().item<bool>(), "the product's logit stays near the smaller factor's");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeGivesTorchSharpsOutputsAtBatch1And37(string model) =>
        output.WriteLine($"{model}: largest difference {Create[model](_folder):G3} times the tolerance");
}
