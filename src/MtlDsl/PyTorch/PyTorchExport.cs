using MtlDsl.Checkpoints;

namespace MtlDsl;

/// <summary>
/// A model's PyTorch twin, written at run time from its <see cref="NetworkPlan"/>: the Python class's name and source
/// (null where the model holds something MtlDsl cannot write in Python, with the reason).
/// </summary>
/// <param name="ClassName">The Python class: the model's name.</param>
/// <param name="Source">The Python module's source, importing <c>mtldsl_torch</c>; null when <paramref name="Unsupported"/> says why.</param>
/// <param name="Unsupported">Why the model has no twin (a module of your own), else null.</param>
public sealed record PyTorchTwin(string ClassName, string? Source, string? Unsupported = null)
{
    /// <summary>The source of <c>mtldsl_torch.py</c>, the support file every twin imports (residual blocks, experts and gates, cross-stitch, MTAN, the losses).</summary>
    public static string SupportSource { get; } = Read("mtldsl_torch.py");

    /// <summary>The source of <c>train_ddp.py</c>: trains any twin with DistributedDataParallel under <c>torchrun</c> (its docstring says how).</summary>
    public static string TrainingScript { get; } = Read("train_ddp.py");

    /// <summary>The source of <c>mtldsl_weighting.py</c>: every weighting strategy of MtlDsl in Python, which <c>train_ddp.py</c> trains with.</summary>
    public static string WeightingSource { get; } = Read("mtldsl_weighting.py");

    private static string Read(string file)
    {
        using Stream stream = typeof(PyTorchTwin).Assembly.GetManifestResourceStream("MtlDsl.PyTorch." + file)
            ?? throw new InvalidOperationException($"MtlDsl's assembly lacks its PyTorch file {file}; the package is damaged.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>What <see cref="MultiTaskModule{TOutputs, TTargets}.ExportPyTorch"/> wrote: the model's module, the support files, the training script and the weights.</summary>
/// <param name="Module">The model's Python module, <c>{Model}.py</c>.</param>
/// <param name="Support">The support file, <c>mtldsl_torch.py</c>.</param>
/// <param name="TrainingScript">The DistributedDataParallel training script for <c>torchrun</c>, <c>train_ddp.py</c>.</param>
/// <param name="Weights">The current weights (and buffers) as safetensors, <c>{Model}.safetensors</c>, under the twin's state-dict names.</param>
/// <param name="Weighting">The weighting strategies in Python, <c>mtldsl_weighting.py</c>, which the training script imports.</param>
public sealed record PyTorchExport(string Module, string Support, string TrainingScript, string Weights, string Weighting);
