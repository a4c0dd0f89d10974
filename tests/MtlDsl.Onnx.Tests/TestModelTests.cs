using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;

namespace MtlDsl.Onnx.Tests;

/// <summary>Every test model and every architecture, exported and run in ONNX Runtime at batch 1 and 37.</summary>
public sealed class TestModelTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-onnx-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    public static TheoryData<string, long> Models()
    {
        var data = new TheoryData<string, long>();
        foreach (string model in Create.Keys)
            foreach (long batch in new long[] { 1, 37 })
                data.Add(model, batch);
        return data;
    }

    private static readonly Dictionary<string, Action<string, long>> Create = new()
    {
        [nameof(TabularModel)] = (f, b) => Check(new TabularModel(), f, b),
        [nameof(SignalModel)] = (f, b) => Check(new SignalModel(), f, b),
        [nameof(PooledImageModel)] = (f, b) => Check(new PooledImageModel(), f, b),
        [nameof(AuxiliaryHeadModel)] = (f, b) => Check(new AuxiliaryHeadModel(), f, b),
        [nameof(SameShapeReadsModel)] = (f, b) => Check(new SameShapeReadsModel(), f, b),
        [nameof(DenseModel)] = (f, b) => Check(new DenseModel(), f, b),
        [nameof(ResidualModel)] = (f, b) => Check(new ResidualModel(), f, b),
        [nameof(RecommenderModel)] = (f, b) => Check(new RecommenderModel(), f, b),
        [nameof(ReservedNamesModel)] = (f, b) => Check(new ReservedNamesModel(), f, b),
        [nameof(HardSharingModel)] = (f, b) => Check(new HardSharingModel(), f, b),
        [nameof(MMoEModel)] = (f, b) => Check(new MMoEModel(), f, b),
        [nameof(OMoEModel)] = (f, b) => Check(new OMoEModel(), f, b),
        [nameof(CGCModel)] = (f, b) => Check(new CGCModel(), f, b),
        [nameof(PLEModel)] = (f, b) => Check(new PLEModel(), f, b),
        [nameof(CrossStitchModel)] = (f, b) => Check(new CrossStitchModel(), f, b),
        [nameof(MTANModel)] = (f, b) => Check(new MTANModel(), f, b),
    };

    private static void Check<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, string folder, long batch)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        using (model) OnnxRuntimeCheck.AssertAgrees(model, folder, batch);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeGivesTorchSharpsOutputs(string model, long batch) => Create[model](_folder, batch);
}
