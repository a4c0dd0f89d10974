using MtlDsl.Data;
using MtlDsl.Losses;
using MtlDsl.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Training;

public sealed partial class MultiTaskTrainer<TOutputs, TTargets, TLossValues>
{
    /// <summary>
    /// Every task's loss and metrics on <paramref name="data"/>, in evaluation mode (dropout off, batch norm on its
    /// running statistics) and without gradients; the training mode is restored after. A task's loss is its mean
    /// over all labels present (weighted by its class weights, where declared), exactly, however the data is batched; missing labels are left out of losses and
    /// metrics alike. A feature, prediction or target that is NaN or infinite (other than a NaN that marks a missing
    /// label) is an error naming the row of the data, never a value silently left out of an average.
    /// </summary>
    /// <param name="data">The data: one dataset for all tasks, or one per task (each task on its own).</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="metrics">The metrics of each task; by default <see cref="TaskMetrics.Default"/>.</param>
    /// <exception cref="InputTensorException">An input does not fit its declaration, or a feature is NaN or infinite; names the input and the row.</exception>
    /// <exception cref="TaskTensorException">A target does not fit its task or is infinite, or a prediction is NaN or infinite; names the task and the row.</exception>
    public EvaluationResult Evaluate(MultiTaskData<TTargets> data, int batchSize = 512, Func<TaskDefinition, IReadOnlyList<TaskMetric>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        CheckData(data, nameof(data));
        IReadOnlyList<TaskDefinition> tasks = _model.Tasks;
        var taskMetrics = tasks.Select(metrics ?? TaskMetrics.Default).ToList();
        foreach (var list in taskMetrics) foreach (TaskMetric m in list) m.Reset();
        var lossSums = new double[tasks.Count];
        var lossWeights = new double[tasks.Count];   // what each task's mean loss divides by: its labels, or their class weights
        var present = new long[tasks.Count];

        // The batch's inputs by declared name, for metrics that read one (a group of samples, as GAUC's users).
        var inputNames = _model.DeclaredInputs.Select(d => d.Name).ToArray();
        IReadOnlyDictionary<string, Tensor> ByName(Tensor[] input) => inputNames.Zip(input).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        void Add(int task, Tensor output, Tensor target, IReadOnlyDictionary<string, Tensor> byName)
        {
            long count = TaskLosses.PresentCount(tasks[task], target);
            if (count == 0) return;
            double loss = TaskLosses.Compute(tasks[task], output, target).to(ScalarType.Float64).item<double>();
            double denominator = TaskLosses.LossDenominator(tasks[task], target, count);
            if (denominator > 0)
            {
                lossSums[task] += loss * denominator;
                lossWeights[task] += denominator;
            }
            present[task] += count;
            foreach (TaskMetric metric in taskMetrics[task]) metric.Update(output, target, byName);
        }

        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            using var evaluationScope = torch.NewDisposeScope();  // the index batches too: nothing is left to the finalizer
            using var noGrad = torch.no_grad();
            if (data.Layout == DataLayout.Shared)
            {
                foreach (Tensor indices in Batches.Epoch(data.Count(0), batchSize, 0, 0, shuffle: false))
                {
                    using var scope = torch.NewDisposeScope();
                    var (input, targets) = data.BatchInputs(indices);
                    TOutputs outputs = InBatch(null, indices, () => _model.Forward(input));
                    CheckFinite(input, [.. Enumerable.Range(0, tasks.Count).Select(task => (task, outputs[task], targets[task]))], indices, ownData: null);
                    IReadOnlyDictionary<string, Tensor> byName = ByName(input);
                    for (int task = 0; task < tasks.Count; task++) Add(task, outputs[task], targets[task], byName);
                }
            }
            else
            {
                for (int task = 0; task < tasks.Count; task++)
                    foreach (Tensor indices in Batches.Epoch(data.Count(task), batchSize, 0, 0, shuffle: false))
                    {
                        using var scope = torch.NewDisposeScope();
                        var (input, target) = data.TaskBatchInputs(task, indices);
                        Tensor output = InBatch(null, indices, () => _model.ForwardTask(task, input));
                        CheckFinite(input, [(task, output, target)], indices, ownData: task);
                        Add(task, output, target, ByName(input));
                    }
            }
        }
        finally
        {
            if (wasTraining) _model.train();
        }

        var names = tasks.Select(t => t.Name).ToArray();
        var losses = new double[tasks.Count];
        var values = new IReadOnlyDictionary<string, double>[tasks.Count];
        for (int task = 0; task < tasks.Count; task++)
        {
            losses[task] = lossWeights[task] > 0 ? lossSums[task] / lossWeights[task] : double.NaN;
            values[task] = taskMetrics[task].ToDictionary(m => m.Name, m => present[task] > 0 ? m.Compute() : double.NaN);
        }
        return new EvaluationResult(names, losses, values);
    }

    // Values that would otherwise vanish from an evaluation: a NaN feature or prediction was left out of MAE, RMSE and
    // the loss exactly as a missing label is (the loss printed as the missing-label dash), and the averages silently
    // shrank. One reduction and one copy to the host per batch; only when it fails, the slow path finds the first bad
    // value, in the inputs first (the cause of a bad prediction), then the predictions, then the targets. A NaN target
    // is a missing label; an infinite one is not. With indices (the batch's rows in the data; ownData: the task whose
    // own dataset it is) the error names the row, else the sample of the batch.
    private void CheckFinite(Tensor[] inputs, IReadOnlyList<(int Task, Tensor Output, Tensor Target)> heads, Tensor? indices, int? ownData)
    {
        using var scope = torch.NewDisposeScope();
        var checks = new List<Tensor>();
        foreach (Tensor input in inputs)
            if (input.is_floating_point()) checks.Add(input.isfinite().all());
        foreach (var (_, output, target) in heads)
        {
            checks.Add(output.isfinite().all());
            if (target.is_floating_point()) checks.Add(target.isinf().any().logical_not());
        }
        if (checks.Count == 0 || torch.stack(checks).all().item<bool>()) return;

        string of = ownData is int own ? $" of task '{_model.Tasks[own].Name}'" : "";
        string Where(long sample) => indices is null ? $"sample {sample} of the batch" : $"row {indices[sample].item<long>()} of the data{of}";
        long? Row(long sample) => indices is null ? null : indices[sample].item<long>();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].is_floating_point() || FirstNonFinite(inputs[i], inputs[i].isfinite().logical_not()) is not var (sample, value)) continue;
            InputDefinition declared = _model.DeclaredInputs[i];
            string what = _model.DeclaredInputs.Count == 1 && declared.Name == "input" ? "the input" : $"input '{declared.Name}'";
            var error = new InputTensorException(declared.Name, where =>
                $"{_model.GetName()}: {what} holds {value} ({where}{of}), which the model cannot compute with (a NaN marks a missing label in a target, " +
                "never in a feature). Remove that row, or fill its missing features (with the feature's mean, say, and a flag feature that says so).", sample);
            throw indices is null ? error : error.InBatch(null, indices);
        }
        string prefix = indices is null ? "" : "Evaluation: ";
        foreach (var (task, output, _) in heads)
            if (FirstNonFinite(output, output.isfinite().logical_not()) is var (sample, value))
                throw new TaskTensorException(_model.Tasks[task].Name, "output",
                    $"{prefix}Task '{_model.Tasks[task].Name}': the prediction for {Where(sample)} is {value}, from finite inputs; it would have been left out " +
                    "of the loss and the metrics as a missing label is. Look for NaN or infinite values in the model's weights and buffers " +
                    "(model.state_dict()), or features too large for the model's type in that row.", Row(sample));
        foreach (var (task, _, target) in heads)
            if (target.is_floating_point() && FirstNonFinite(target, target.isinf()) is var (sample, value))
                throw new TaskTensorException(_model.Tasks[task].Name, "target",
                    $"{prefix}Task '{_model.Tasks[task].Name}': the target of {Where(sample)} is {value}; a missing label is NaN " +
                    $"(or {TaskLosses.MissingClass} for class indices), an infinite one is an error in the data.", Row(sample));
    }

    // The first sample (along the first dimension) where bad holds, and its first bad value.
    private static (long Sample, double Value)? FirstNonFinite(Tensor values, Tensor bad)
    {
        using var scope = torch.NewDisposeScope();
        Tensor perSample = bad.reshape(bad.shape[0], -1);
        Tensor samples = perSample.any(1).nonzero();
        if (samples.shape[0] == 0) return null;
        long sample = samples[0, 0].item<long>();
        long position = perSample[sample].nonzero()[0, 0].item<long>();
        return (sample, values.reshape(values.shape[0], -1)[sample, position].to(ScalarType.Float64).item<double>());
    }

    private void CheckData(MultiTaskData<TTargets> data, string parameter)
    {
        if (data.TaskCount != _model.Tasks.Count)
            throw new ArgumentException($"The data has {data.TaskCount} tasks, the model {_model.Tasks.Count}.", parameter);
        // The inputs: as many as the model declares, by the same names (a record of another model is refused here,
        // not at the first batch). Shapes, types and ids are checked batch by batch.
        var declared = _model.DeclaredInputs.Select(d => d.Name).ToList();
        int count = data.InputTensors(0).Length;
        if (count != declared.Count || data.InputNames is { } names && !names.SequenceEqual(declared))
            throw new ArgumentException(
                $"{_model.GetName()} reads {(declared.Count == 1 ? "one input" : $"the inputs {string.Join(", ", declared)}")}; the data holds " +
                (data.InputNames is { } given ? string.Join(", ", given) : count == 1 ? "one tensor" : $"{count} tensors") +
                (declared.Count > 1 ? $". Build it from a {_model.GetName()}.Inputs record (MultiTaskData.Shared(new {_model.GetName()}.Inputs(…), targets))." : "."),
                parameter);
    }
}
