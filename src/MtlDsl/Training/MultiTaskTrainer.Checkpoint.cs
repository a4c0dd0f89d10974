using System.Text.Json;
using System.Text.Json.Serialization;
using MtlDsl.Checkpoints;
using TorchSharp;
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
    /// model, optimizer type and weighting strategy must be the ones it was written with. All or nothing: the whole
    /// file is read and checked first (every section, name, shape, dtype, length and value range), and a failure
    /// while it is applied puts back what was there, so after any refusal the model's weights and buffers, the
    /// optimizer's state and the trainer's and strategy's state are exactly as before.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, not a checkpoint, written for another model, optimizer or strategy, or holds values this trainer cannot take; the message names the file, the section and what was expected.</exception>
    public void LoadCheckpoint(string path) => LoadCheckpoint(path, resume: false, out _);

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
        var meta = new CheckpointMeta(_model.GetType().FullName ?? _model.GetName(), _model.Tasks.Select(t => t.Name).ToArray(),
            _optimizer.GetType().Name, GetState(), fit);
        var sections = new List<(string, byte[])>
        {
            ("meta", JsonSerializer.SerializeToUtf8Bytes(meta, s_json)),
            ("model", SafeTensors.Serialize(_model.state_dict())),
            ("optimizer", SaveOptimizer(helper)),
        };
        if (bestWeights is not null) sections.Add(("best_model", bestWeights));
        return sections;
    }

    // Reads, checks and applies a checkpoint, all or nothing (see LoadCheckpoint(string)); with resume, it must be one a
    // fit wrote. Returns where the fit stood (null for SaveCheckpoint's) and the best epoch's weights, if kept.
    internal FitState? LoadCheckpoint(string path, bool resume, out byte[]? bestWeights)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using LoadedCheckpoint checkpoint = ReadCheckpoint(path, resume);
        Apply(checkpoint, path);
        bestWeights = checkpoint.BestWeights;
        return checkpoint.Meta.Fit;
    }

    private static readonly string[] s_sections = ["meta", "model", "optimizer", "best_model"];

    // The whole checkpoint, read and checked; nothing the user holds is touched.
    private LoadedCheckpoint ReadCheckpoint(string path, bool resume)
    {
        Dictionary<string, byte[]> sections = CheckpointFile.Read(path);
        InvalidDataException Invalid(string section, string why) => new($"The checkpoint '{path}' cannot be loaded: its '{section}' section {why}.");
        foreach (string needed in s_sections[..3])
            if (!sections.ContainsKey(needed)) throw new InvalidDataException($"The checkpoint '{path}' has no '{needed}' section; it is incomplete.");
        if (sections.Keys.FirstOrDefault(name => !s_sections.Contains(name)) is { } unknown)
            throw new InvalidDataException($"The checkpoint '{path}' has a section '{unknown}' that this version of MtlDsl does not know; expected {string.Join(", ", s_sections)}.");
        CheckpointMeta? meta;
        try
        {
            meta = JsonSerializer.Deserialize<CheckpointMeta>(sections["meta"], s_json);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new InvalidDataException($"The checkpoint '{path}' has unreadable metadata ({e.Message}).", e);
        }
        CheckMeta(meta ?? throw Invalid("meta", "is empty (null)"), path, resume, Invalid);
        if (_optimizer is not OptimizerHelper)
            throw new NotSupportedException($"The optimizer {_optimizer.GetType().Name} cannot load a state; use one of TorchSharp's optimizers.");
        if (OptimizerStateCheck.Knows(_optimizer))
            OptimizerStateCheck.Check(_optimizer, sections["optimizer"], why => Invalid("optimizer", why));

        using var scope = torch.NewDisposeScope();
        Dictionary<string, torch.Tensor> state = _model.state_dict();
        var weights = SafeTensors.Prepare(_model, state, sections["model"], $"The checkpoint '{path}' (its 'model' section)", exactTypes: true, SafeTensorsLoadOptions.Default);
        byte[]? best = sections.GetValueOrDefault("best_model");
        if (best is not null)
            SafeTensors.Prepare(_model, state, best, $"The checkpoint '{path}' (its 'best_model' section)", exactTypes: true, SafeTensorsLoadOptions.Default);
        scope.Detach(weights.Values);
        return new LoadedCheckpoint(meta, weights, sections["optimizer"], best);
    }

    // The metadata: every field there, for this model, optimizer and strategy, every length one per task (or per
    // parameter group), every value in its range.
    private void CheckMeta(CheckpointMeta meta, string path, bool resume, Func<string, string, InvalidDataException> invalid)
    {
        InvalidDataException Bad(string why) => invalid("meta", why);
        if (meta.Model is null || meta.Tasks is null || meta.Tasks.Any(t => t is null) || meta.Optimizer is null || meta.Trainer?.Weighting is null)
            throw Bad("lacks a field; expected Model, Tasks, Optimizer and Trainer (with its Weighting)");
        string[] tasks = _model.Tasks.Select(t => t.Name).ToArray();
        string model = _model.GetType().FullName ?? _model.GetName();
        if (meta.Model != model || !meta.Tasks.SequenceEqual(tasks))
            throw new InvalidDataException($"The checkpoint '{path}' was written for {meta.Model} (tasks {string.Join(", ", meta.Tasks)}), not for {model} (tasks {string.Join(", ", tasks)}).");
        if (meta.Optimizer != _optimizer.GetType().Name)
            throw new InvalidDataException($"The checkpoint '{path}' holds the state of the optimizer {meta.Optimizer}; this trainer uses {_optimizer.GetType().Name}.");
        if (meta.Trainer.Weighting != Weighting.Name)
            throw new InvalidDataException($"The checkpoint '{path}' was written with the {meta.Trainer.Weighting} weighting strategy; this trainer uses {Weighting.Name}.");
        try
        {
            CheckState(meta.Trainer);
        }
        catch (ArgumentException e)
        {
            throw Bad($"holds a trainer state this trainer cannot take: {e.Message}");
        }
        if (meta.Fit is not { } fit)
        {
            if (resume)
                throw new InvalidDataException($"The checkpoint '{path}' was saved outside a fit (SaveCheckpoint): load it with LoadCheckpoint and call Fit without ResumeFrom.");
            return;
        }
        int groups = _optimizer.ParamGroups.Count();
        if (fit.NextEpoch < 0) throw Bad($"gives the next epoch as {fit.NextEpoch}; expected an epoch ≥ 0");
        if (fit.BaseLearningRates is null || fit.BaseLearningRates.Length != groups)
            throw Bad($"has {fit.BaseLearningRates?.Length.ToString() ?? "no"} base learning rates; expected one per parameter group of the optimizer, {groups}");
        int badRate = Array.FindIndex(fit.BaseLearningRates, r => !(double.IsFinite(r) && r >= 0));
        if (badRate >= 0) throw Bad($"has the base learning rate {fit.BaseLearningRates[badRate]} for parameter group {badRate}; expected finite rates ≥ 0");
        if (fit.History is null || fit.History.Count != fit.NextEpoch)
            throw Bad($"has a history of {fit.History?.Count.ToString() ?? "no"} epochs; expected one per finished epoch, {fit.NextEpoch}");
        for (int e = 0; e < fit.History.Count; e++)
            if (EpochProblem(fit.History[e], e, tasks) is { } problem) throw Bad($"has a history whose epoch {e} {problem}");
        if (fit.BestEpoch is int bestEpoch && (bestEpoch < 0 || bestEpoch >= fit.NextEpoch))
            throw Bad($"gives the best epoch as {bestEpoch}; expected one of the {fit.NextEpoch} finished epochs");
        if (fit.BestValue is double bestValue && !double.IsFinite(bestValue))
            throw Bad($"gives the best value as {bestValue}; expected a finite number");
        if (fit.BestEpoch is null != fit.BestValue is null)
            throw Bad("gives a best epoch without a best value, or a value without an epoch; expected both or neither");
        if (fit.EpochsWithoutImprovement < 0 || fit.EpochsWithoutImprovement > fit.NextEpoch)
            throw Bad($"counts {fit.EpochsWithoutImprovement} epochs without improvement; expected 0 to {fit.NextEpoch}");
    }

    // What is wrong with a history's epoch, if anything.
    private static string? EpochProblem(EpochResult? epoch, int index, string[] tasks)
    {
        static bool NaNOrFinite(double v) => !double.IsInfinity(v);
        if (epoch is null) return "is null";
        if (epoch.Epoch != index) return $"is numbered {epoch.Epoch}; expected {index}";
        if (!double.IsFinite(epoch.LearningRate) || epoch.LearningRate < 0) return $"has the learning rate {epoch.LearningRate}; expected a finite rate ≥ 0";
        if (!double.IsFinite(epoch.Seconds) || epoch.Seconds < 0) return $"took {epoch.Seconds} seconds; expected a finite time ≥ 0";
        if (epoch.Steps < 0 || epoch.SkippedSteps < 0 || epoch.SkippedSteps > epoch.Steps)
            return $"has {epoch.Steps} steps and {epoch.SkippedSteps} skipped; expected counts ≥ 0, no more skipped than taken";
        if (epoch.TrainLosses is null || epoch.TrainLosses.Count != tasks.Length || !epoch.TrainLosses.All(NaNOrFinite))
            return $"has {epoch.TrainLosses?.Count.ToString() ?? "no"} training losses; expected one per task, {tasks.Length}, each finite or NaN";
        if (epoch.Weights is null || (epoch.Weights.Count != tasks.Length && epoch.Weights.Count != 0) || !epoch.Weights.All(double.IsFinite))
            return $"has {epoch.Weights?.Count.ToString() ?? "no"} task weights; expected one finite weight per task, {tasks.Length}";
        if (epoch.Validation is { } validation
            && (validation.Tasks is null || !validation.Tasks.SequenceEqual(tasks)
                || validation.Losses is null || validation.Losses.Count != tasks.Length || !validation.Losses.All(NaNOrFinite)
                || validation.Metrics is null || validation.Metrics.Count != tasks.Length || validation.Metrics.Any(m => m is null)))
            return $"has validation results that are not one loss (finite or NaN) and one set of metrics for each of the tasks {string.Join(", ", tasks)}";
        return null;
    }

    // Applies a checked checkpoint as one transaction: the model's tensors, the optimizer's state and the trainer's (and
    // strategy's) state are snapshotted first and put back, exactly, if any part of the load throws.
    private void Apply(LoadedCheckpoint checkpoint, string path)
    {
        var helper = (OptimizerHelper)_optimizer;
        Dictionary<string, torch.Tensor> state = _model.state_dict();
        var modelBefore = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, tensor) in state) modelBefore[name] = tensor.detach().clone();
            byte[] optimizerBefore = SaveOptimizer(helper);
            TrainerState trainerBefore = GetState();
            try
            {
                SafeTensors.CopyInto(state, checkpoint.Weights);
                LoadOptimizer(helper, checkpoint.Optimizer);
                LoadState(checkpoint.Meta.Trainer);
            }
            catch (Exception e)
            {
                SafeTensors.CopyInto(state, modelBefore);
                LoadOptimizer(helper, optimizerBefore);
                LoadState(trainerBefore);
                if (e is InvalidDataException or ArgumentException or InvalidOperationException or IOException or FormatException)
                    throw new InvalidDataException($"The checkpoint '{path}' could not be applied ({e.Message}); the model, optimizer and trainer are as they were before the load.", e);
                throw;
            }
        }
        finally
        {
            foreach (torch.Tensor tensor in modelBefore.Values) tensor.Dispose();
        }
    }

    private static byte[] SaveOptimizer(OptimizerHelper optimizer)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
        return stream.ToArray();
    }

    // TorchSharp's loader reads what it needs and stops: bytes left over mean the state was written for another layout.
    private static void LoadOptimizer(OptimizerHelper optimizer, byte[] bytes)
    {
        var stream = new MemoryStream(bytes, writable: false);
        using (var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.load_state_dict(reader);
        if (stream.Position != stream.Length)
            throw new InvalidDataException($"the optimizer's state has {stream.Length - stream.Position} bytes more than {optimizer.GetType().Name} reads");
    }

    // A checkpoint read and checked: the metadata, the model's tensors ready to copy (owned here), the optimizer's bytes.
    private sealed class LoadedCheckpoint(CheckpointMeta meta, Dictionary<string, torch.Tensor> weights, byte[] optimizer, byte[]? bestWeights) : IDisposable
    {
        public CheckpointMeta Meta { get; } = meta;

        public Dictionary<string, torch.Tensor> Weights { get; } = weights;

        public byte[] Optimizer { get; } = optimizer;

        public byte[]? BestWeights { get; } = bestWeights;

        public void Dispose()
        {
            foreach (torch.Tensor tensor in Weights.Values) tensor.Dispose();
        }
    }
}

/// <summary>Where a fit stands, as a checkpoint keeps it.</summary>
internal sealed record FitState(int NextEpoch, double[] BaseLearningRates, int? BestEpoch, double? BestValue, int EpochsWithoutImprovement,
    IReadOnlyList<EpochResult> History, bool StoppedEarly);

/// <summary>A checkpoint's metadata section.</summary>
internal sealed record CheckpointMeta(string Model, string[] Tasks, string Optimizer, TrainerState Trainer, FitState? Fit);
