using System.Text.Json;
using System.Text.Json.Serialization;
using MtlDsl.Checkpoints;
using TorchSharp.Modules;

namespace MtlDsl.Training;

public sealed partial class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>
    /// Writes a checkpoint of everything training depends on: the model's weights (safetensors, PyTorch's names),
    /// the optimizer's state, the trainer's and the weighting strategy's state. The file is written atomically: a
    /// crash mid-write leaves the previous file in place, never a half one.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SaveCheckpoint([path], null, null);
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint(string)"/> or by a fit into this trainer, whose
    /// model, optimizer type and weighting strategy must be the ones it was written with.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, not a checkpoint, or written for another model, optimizer or strategy.</exception>
    public void LoadCheckpoint(string path) => LoadCheckpoint(path, out _);

    // One checkpoint, built once and written (each file atomically) to every path.
    internal void SaveCheckpoint(IReadOnlyList<string> paths, FitState? fit, byte[]? bestWeights)
    {
        var sections = BuildCheckpoint(fit, bestWeights);
        foreach (string path in paths) CheckpointFile.Write(path, sections);
    }

    // The checkpoint's sections, in memory.
    internal List<(string, byte[])> BuildCheckpoint(FitState? fit, byte[]? bestWeights)
    {
        if (_optimizer is not OptimizerHelper helper)
            throw new NotSupportedException($"The optimizer {_optimizer.GetType().Name} cannot save its state; use one of TorchSharp's optimizers (Adam, AdamW, SGD, …).");
        var optimizer = new MemoryStream();
        using (var writer = new BinaryWriter(optimizer, System.Text.Encoding.UTF8, leaveOpen: true)) helper.save_state_dict(writer);
        var meta = new CheckpointMeta(_model.GetType().FullName ?? _model.GetName(), _model.Tasks.Select(t => t.Name).ToArray(),
            _optimizer.GetType().Name, GetState(), fit);
        var sections = new List<(string, byte[])>
        {
            ("meta", JsonSerializer.SerializeToUtf8Bytes(meta, s_json)),
            ("model", SafeTensors.Serialize(_model.state_dict())),
            ("optimizer", optimizer.ToArray()),
        };
        if (bestWeights is not null) sections.Add(("best_model", bestWeights));
        return sections;
    }

    internal FitState? LoadCheckpoint(string path, out byte[]? bestWeights)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Dictionary<string, byte[]> sections = CheckpointFile.Read(path);
        foreach (string needed in new[] { "meta", "model", "optimizer" })
            if (!sections.ContainsKey(needed)) throw new InvalidDataException($"The checkpoint '{path}' has no '{needed}' section; it is incomplete.");
        CheckpointMeta meta;
        try
        {
            meta = JsonSerializer.Deserialize<CheckpointMeta>(sections["meta"], s_json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint '{path}' has unreadable metadata ({e.Message}).", e);
        }
        string[] tasks = _model.Tasks.Select(t => t.Name).ToArray();
        string model = _model.GetType().FullName ?? _model.GetName();
        if (meta.Model != model || !meta.Tasks.SequenceEqual(tasks))
            throw new InvalidDataException($"The checkpoint '{path}' was written for {meta.Model} (tasks {string.Join(", ", meta.Tasks)}), not for {model} (tasks {string.Join(", ", tasks)}).");
        if (meta.Optimizer != _optimizer.GetType().Name)
            throw new InvalidDataException($"The checkpoint '{path}' holds the state of a {meta.Optimizer} optimizer; this trainer uses {_optimizer.GetType().Name}.");
        if (meta.Trainer.Weighting != Weighting.Name)
            throw new InvalidDataException($"The checkpoint '{path}' was written with the {meta.Trainer.Weighting} weighting strategy; this trainer uses {Weighting.Name}.");
        if (_optimizer is not OptimizerHelper helper)
            throw new NotSupportedException($"The optimizer {_optimizer.GetType().Name} cannot load a state; use one of TorchSharp's optimizers.");

        SafeTensors.LoadInto(_model, sections["model"], $"The model weights in '{path}'");
        using (var reader = new BinaryReader(new MemoryStream(sections["optimizer"])))
        {
            try
            {
                helper.load_state_dict(reader);
            }
            catch (Exception e) when (e is EndOfStreamException or ArgumentException or InvalidOperationException or IOException)
            {
                throw new InvalidDataException($"The optimizer state in '{path}' does not fit this optimizer ({e.Message}).", e);
            }
        }
        LoadState(meta.Trainer);
        bestWeights = sections.TryGetValue("best_model", out byte[]? best) ? best : null;
        return meta.Fit;
    }
}

/// <summary>Where a fit stands, as a checkpoint keeps it.</summary>
internal sealed record FitState(int NextEpoch, double[] BaseLearningRates, int? BestEpoch, double? BestValue, int EpochsWithoutImprovement,
    IReadOnlyList<EpochResult> History, bool StoppedEarly);

/// <summary>A checkpoint's metadata section.</summary>
internal sealed record CheckpointMeta(string Model, string[] Tasks, string Optimizer, TrainerState Trainer, FitState? Fit);
