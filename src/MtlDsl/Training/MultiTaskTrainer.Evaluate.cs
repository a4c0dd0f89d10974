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
    /// over all labels present, exactly, however the data is batched; missing labels are left out of losses and
    /// metrics alike.
    /// </summary>
    /// <param name="data">The data: one dataset for all tasks, or one per task (each task on its own).</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="metrics">The metrics of each task; by default <see cref="TaskMetrics.Default"/>.</param>
    public EvaluationResult Evaluate(MultiTaskData<TTargets> data, int batchSize = 512, Func<TaskDefinition, IReadOnlyList<TaskMetric>>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        CheckData(data, nameof(data));
        IReadOnlyList<TaskDefinition> tasks = _model.Tasks;
        var taskMetrics = tasks.Select(metrics ?? TaskMetrics.Default).ToList();
        foreach (var list in taskMetrics) foreach (TaskMetric m in list) m.Reset();
        var lossSums = new double[tasks.Count];
        var present = new long[tasks.Count];

        void Add(int task, Tensor output, Tensor target)
        {
            long count = TaskLosses.PresentCount(tasks[task], target);
            if (count == 0) return;
            lossSums[task] += TaskLosses.Compute(tasks[task], output, target).to(ScalarType.Float64).item<double>() * count;
            present[task] += count;
            foreach (TaskMetric metric in taskMetrics[task]) metric.Update(output, target);
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
                    for (int task = 0; task < tasks.Count; task++) Add(task, outputs[task], targets[task]);
                }
            }
            else
            {
                for (int task = 0; task < tasks.Count; task++)
                    foreach (Tensor indices in Batches.Epoch(data.Count(task), batchSize, 0, 0, shuffle: false))
                    {
                        using var scope = torch.NewDisposeScope();
                        var (input, target) = data.TaskBatchInputs(task, indices);
                        Add(task, InBatch(null, indices, () => _model.ForwardTask(task, input)), target);
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
            losses[task] = present[task] > 0 ? lossSums[task] / present[task] : double.NaN;
            values[task] = taskMetrics[task].ToDictionary(m => m.Name, m => present[task] > 0 ? m.Compute() : double.NaN);
        }
        return new EvaluationResult(names, losses, values);
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
