using MtlDsl;
using MtlDsl.Checkpoints;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// generated &lt;folder&gt;: for every test model, the PyTorch twin written from its plan (<c>ExportPyTorch</c>: the module,
/// mtldsl_torch.py, the weights) and, in float64, a fixed batch of every input, targets with missing labels, the
/// eval-mode outputs and each task's loss, and (for models without dropout, whose training mode is deterministic)
/// the training-mode outputs, the joint loss and its gradients. generated_twins.py loads each twin strictly and
/// compares. A model that holds a module of its own has no twin: its export must refuse with the module named.
/// </summary>
internal static class GeneratedExport
{
    public static int Run(string folder)
    {
        Directory.CreateDirectory(folder);
        var names = new List<string>();
        void Add<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
            where TOutputs : ITaskTensors<TOutputs>
            where TTargets : ITaskTensors<TTargets>
        {
            TwinExport.Export(folder, model);
            names.Add(model.PyTorchTwin.ClassName);
        }
        Add(new TabularModel());
        Add(new SignalModel());
        Add(new NormalizationModel());
        Add(new PooledImageModel());
        Add(new AuxiliaryHeadModel());
        Add(new SameShapeReadsModel());
        Add(new DenseModel());
        Add(new ResidualModel());
        Add(new RecommenderModel());
        Add(new InteractionModel());
        Add(new EsmmModel());
        Add(new AitmModel());
        Add(new HardSharingModel());
        Add(new MMoEModel());
        Add(new OMoEModel());
        Add(new CGCModel());
        Add(new PLEModel());
        Add(new CGCPerTaskModel());
        Add(new PLEPerTaskModel());
        Add(new CrossStitchModel());
        Add(new MTANModel());
        Add(new MMoEBottomModel());
        Add(new PLEBottomModel());
        Add(new ReservedNamesModel());
        Add(new ImbalanceModel());
        Add(new Funnel.FunnelSharedBottom());
        Add(new Funnel.FunnelMmoe());
        Add(new Funnel.FunnelPle());
        Add(new Funnel.FunnelEsmm());
        Add(new Funnel.FunnelAitm());
        File.WriteAllLines(Path.Combine(folder, "models.txt"), names);

        using var own = new OwnModuleModel();
        try
        {
#pragma warning disable MTL035 // the refusal the warning foretells is what this checks
            own.ExportPyTorch(Path.Combine(folder, "own"));
#pragma warning restore MTL035
            Console.WriteLine("FAIL OwnModuleModel exported a PyTorch twin of a TorchSharp module of its own");
            return 1;
        }
        catch (NotSupportedException e) when (e.Message.Contains("BasicBlock (layer 0 of 'Blocks') is a TorchSharp module of your own", StringComparison.Ordinal))
        {
            Console.WriteLine($"PASS OwnModuleModel has no twin, and says why: {e.Message}");
        }
        return 0;
    }
}
