using System.Globalization;
using MtlDsl.Metrics;
using MtlDsl.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Training;

public sealed partial class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
{
    /// <summary>
    /// The arguments of <c>train_ddp.py</c> (after the script's name; see <see cref="MultiTaskModule{TOutputs, TTargets}.ExportPyTorch"/>)
    /// that train the model's PyTorch twin under <c>torchrun</c> as <see cref="Fit"/> would with this trainer and
    /// <paramref name="options"/>: the optimizer and its settings, the weighting strategy with its options and seed, the
    /// gradient clipping, the epochs, batch size, seed, shuffling and learning rate of every epoch (the schedule's
    /// factors), the interleaving of per-task data, the non-finite-gradient guard, validation and early stopping, and the
    /// output folder and checkpoint to resume from. The paths are written as given (relative ones are relative to the
    /// folder torchrun runs in, usually the export's). Every process takes its share of each global batch; with the
    /// same data and weights, the twin's parameters equal Fit's to rounding (checked in CI to 1e-12 in float64).
    /// </summary>
    /// <param name="options">The fit's options.</param>
    /// <param name="data">The training data, as <see cref="Data.MultiTaskData{TTargets}.Save"/> wrote it.</param>
    /// <param name="validation">The validation data, likewise; required with early stopping.</param>
    /// <param name="output">Where process 0 writes the trained weights (safetensors).</param>
    /// <exception cref="NotSupportedException">
    /// Something of this training has no counterpart in <c>train_ddp.py</c>; the message says what and what to do
    /// instead: an optimizer other than MtlDsl's SGD, Adam and AdamW (or several parameter groups, or maximize), a
    /// strategy of your own, representation mode, metrics of your own, a model in a type other than float32 and float64,
    /// or a trainer that has trained before (its state travels in a checkpoint: <see cref="FitOptions.ResumeFrom"/>).
    /// </exception>
    public IReadOnlyList<string> TorchrunArguments(FitOptions options, string data, string? validation = null, string output = "trained.safetensors")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(data);
        ArgumentException.ThrowIfNullOrEmpty(output);
        PyTorchTwin twin = _model.PyTorchTwin;
        string model = twin.ClassName;
        NotSupportedException Unsupported(string what, string instead) => new($"train_ddp.py cannot train {model} as this trainer would: {what}. {instead}");
        if (twin.Source is null) throw Unsupported($"it has no PyTorch twin ({twin.Unsupported})", "Declare the model with MtlDsl's layers only.");
        if (options.EarlyStopping is not null && validation is null)
            throw new ArgumentException("Early stopping watches a validation metric: give the validation data's file.", nameof(validation));
        if (StepCount > 0)
            throw Unsupported($"this trainer has taken {StepCount} steps, and its optimizer's and strategy's states are not in the arguments",
                "Fit with an OutputDirectory and pass its checkpoint as FitOptions.ResumeFrom (train_ddp.py's --resume-from).");
        if (Mode == GradientMode.Representation && Weighting.UsesGradients)
            throw Unsupported("it takes the task gradients with respect to the representation", "Create the trainer with GradientMode.Parameters.");
        if (validation is not null && options.Metrics != (Func<TaskDefinition, IReadOnlyList<TaskMetric>>)TaskMetrics.Default)
            throw Unsupported("FitOptions.Metrics chooses metrics of its own, and train_ddp.py computes MtlDsl's default ones", "Leave FitOptions.Metrics at TaskMetrics.Default.");
        ScalarType dtype = _model.parameters().First().dtype;
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64))
            throw Unsupported($"the model's parameters are {dtype}", "Train in float32 or float64.");

        var arguments = new List<string> { "--model", model, "--weights", model + ".safetensors", "--data", data, "--out", output };
        arguments.AddRange(OptimizerArguments(Unsupported));
        arguments.AddRange(["--weighting", Weighting is StaticWeighting ? "declared" : Weighting.Name]);
        if (Weighting is not StaticWeighting && !WeightingStrategies.Names.Contains(Weighting.Name))
            throw Unsupported($"its weighting strategy {Weighting.Name} is not one of MtlDsl's", $"Use one of {string.Join(", ", WeightingStrategies.Names)}, or the declared weights.");
        foreach (var (name, value) in Weighting.TwinOptions)
            arguments.AddRange(name == "seed" ? ["--strategy-seed", value] : ["--weighting-option", $"{name}={value}"]);
        if (MaxGradientNorm is double max) arguments.AddRange(["--max-grad-norm", R(max)]);
        arguments.AddRange(["--epochs", options.Epochs.ToString(CultureInfo.InvariantCulture), "--batch-size", options.BatchSize.ToString(CultureInfo.InvariantCulture),
            "--seed", options.Seed.ToString(CultureInfo.InvariantCulture)]);
        if (options.Shuffle) arguments.Add("--shuffle");
        arguments.AddRange(["--lr-factors", string.Join(",", Enumerable.Range(0, options.Epochs).Select(e => R(options.Schedule.Factor(e))))]);
        arguments.AddRange(["--interleaving", options.Interleaving switch
        {
            TaskInterleaving.AllTasks => "all-tasks",
            TaskInterleaving.RoundRobin => "round-robin",
            _ => "proportional",
        }]);
        arguments.AddRange(["--dtype", dtype == ScalarType.Float64 ? "float64" : "float32"]);
        arguments.AddRange(["--non-finite", options.NonFiniteGradients == NonFiniteGradientAction.SkipStep ? "skip" : "throw",
            "--max-skipped-steps", options.MaxSkippedSteps.ToString(CultureInfo.InvariantCulture)]);
        if (validation is not null)
            arguments.AddRange(["--validation", validation, "--evaluation-batch-size", options.EvaluationBatchSize.ToString(CultureInfo.InvariantCulture)]);
        if (options.EarlyStopping is { } stop)
        {
            arguments.AddRange(["--early-stopping", $"{stop.Task}:{stop.Metric}", "--patience", stop.Patience.ToString(CultureInfo.InvariantCulture), "--min-delta", R(stop.MinDelta)]);
            if (!stop.RestoreBest) arguments.Add("--no-restore-best");
        }
        if (options.OutputDirectory is { } folder) arguments.AddRange(["--output-dir", folder]);
        if (options.ResumeFrom is { } checkpoint) arguments.AddRange(["--resume-from", checkpoint]);
        return arguments;
    }

    // A number as train_ddp.py reads it (round-trip, invariant), as the strategies write theirs.
    private static string R(double value) => WeightingStrategy.Twin(value);

    // The optimizer as train_ddp.py builds it: MtlDsl's SGD, Adam or AdamW with one parameter group.
    private IEnumerable<string> OptimizerArguments(Func<string, string, NotSupportedException> unsupported)
    {
        var groups = _optimizer.ParamGroups.ToList();
        const string Use = "Use MtlDsl.Optimizers.SGD, Adam or AdamW over all parameters (model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, 1e-3)), …).";
        if (groups.Count != 1) throw unsupported($"its optimizer has {groups.Count} parameter groups, and train_ddp.py builds one", Use);
        double lr = groups[0].LearningRate;
        var options = ((TorchSharp.Modules.ParamGroup)groups[0]).Options;
        switch (_optimizer)
        {
            case Optimizers.SGD:
            {
                var o = (TorchSharp.Modules.SGD.Options)options;
                if (o.maximize == true) throw unsupported("its optimizer maximizes", Use);
                var sgd = new List<string> { "--optimizer", "sgd", "--lr", R(lr), "--momentum", R(o.momentum ?? 0), "--dampening", R(o.dampening ?? 0), "--weight-decay", R(o.weight_decay ?? 0) };
                if (o.nesterov == true) sgd.Add("--nesterov");
                return sgd;
            }
            case Optimizers.Adam or Optimizers.AdamW:
            {
                var o = _optimizer is Optimizers.Adam ? (TorchSharp.Modules.Adam.Options)options : null;
                var w = _optimizer is Optimizers.AdamW ? (TorchSharp.Modules.AdamW.Options)options : null;
                double beta1 = o?.beta1 ?? w!.beta1!.Value, beta2 = o?.beta2 ?? w!.beta2!.Value, eps = o?.eps ?? w!.eps!.Value, decay = o?.weight_decay ?? w!.weight_decay!.Value;
                bool amsgrad = o?.amsgrad ?? w!.amsgrad ?? false, maximize = o?.maximize ?? w!.maximize ?? false;
                if (maximize) throw unsupported("its optimizer maximizes", Use);
                var adam = new List<string> { "--optimizer", _optimizer is Optimizers.Adam ? "adam" : "adamw", "--lr", R(lr), "--betas", $"{R(beta1)},{R(beta2)}", "--eps", R(eps), "--weight-decay", R(decay) };
                if (amsgrad) adam.Add("--amsgrad");
                return adam;
            }
            default:
                throw unsupported($"its optimizer is {_optimizer.GetType().FullName}", Use);
        }
    }
}
