using MtlDsl;
using MtlDsl.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// One model's generated PyTorch twin (<c>ExportPyTorch</c>) and, in float64, a fixed batch of every input, targets
/// with about one label in five missing, the eval-mode outputs and each task's loss, and (without dropout, whose
/// training mode is deterministic) the training-mode outputs, the joint loss and every gradient, for
/// generated_twins.py. Shared by the test models' check (Generated.cs) and the random declarations' (tests/RandomTwins).
/// </summary>
internal static class TwinExport
{
    public static void Export<TOutputs, TTargets>(string folder, MultiTaskModule<TOutputs, TTargets> model)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        using var _ = model;
        torch.manual_seed(23);
        model.to(ScalarType.Float64);
        using (no_grad())
        using (Scalar tenth = 0.1.ToScalar())
            foreach (var (parameter, value) in model.named_parameters())
                if (parameter.StartsWith("cross_stitch.", StringComparison.Ordinal)) value.add_(rand_like(value), tenth);
        string name = model.PyTorchTwin.ClassName;
        string where = Path.Combine(folder, name);
        model.ExportPyTorch(where);
        const long batch = 7;
        Tensor[] inputs = model.DeclaredInputs.Select(d => d.Kind == InputKind.Ids
            ? randint(0, d.Vocabulary, [batch, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Int64)
            : randn([batch, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Float64)).ToArray();
        Tensor[] targets = model.Tasks.Select(t => Target(t, batch)).ToArray();
        var io = new Dictionary<string, Tensor>();
        for (int i = 0; i < inputs.Length; i++) io[$"input.{i}"] = inputs[i];
        for (int k = 0; k < targets.Length; k++) io[$"target.{model.Tasks[k].Name}"] = targets[k];

        model.eval();
        using (no_grad())
        {
            TOutputs outputs = Forward(model, inputs);
            Tensor[] losses = model.ComputeTaskLosses(outputs, TTargets.Create(targets));
            for (int k = 0; k < model.Tasks.Count; k++)
            {
                io[$"eval.output.{model.Tasks[k].Name}"] = outputs[k];
                io[$"eval.loss.{model.Tasks[k].Name}"] = losses[k].reshape(1);
            }
        }
        bool dropout = model.modules().Any(m => m is TorchSharp.Modules.Dropout);
        // A model without parameters (pooling and activations only) has nothing to train: its eval pass is the check.
        if (!dropout && model.parameters().Any())
        {
            model.train();
            TOutputs outputs = Forward(model, inputs);
            JointLoss loss = model.ComputeJointLoss(outputs, TTargets.Create(targets));
            model.zero_grad();
            loss.Total.backward();
            io["train.loss"] = loss.Total.detach().reshape(1);
            for (int k = 0; k < model.Tasks.Count; k++) io[$"train.output.{model.Tasks[k].Name}"] = outputs[k].detach();
            foreach (var (parameter, value) in model.named_parameters()) io[$"grad.{parameter}"] = value.grad ?? zeros_like(value);
        }
        File.WriteAllBytes(Path.Combine(where, "io.safetensors"), SafeTensors.Serialize(io));
        Console.WriteLine($"exported the generated twin of {name}: {model.state_dict().Count} tensors, {inputs.Length} input(s){(dropout ? ", eval mode only (dropout)" : "")}");
    }

    /// <summary>The forward pass on one tensor per declared input (of any model, whatever its Inputs record).</summary>
    internal static TOutputs Forward<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, Tensor[] inputs)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets> =>
        inputs.Length == 1 ? model.forward(inputs[0]) : model.forward(new Record(model.DeclaredInputs.Select(d => d.Name).ToArray(), inputs));

    // A target for the task's loss and output shape, with about one label in five missing (-100 or NaN).
    private static Tensor Target(TaskDefinition task, long batch)
    {
        long[] output = [batch, .. task.OutputShape.Select(s => (long)s)];
        Tensor missing = rand(output[0..1].Concat(task.Loss == Loss.CrossEntropy ? output.Skip(2) : output.Skip(1)).ToArray()).lt(0.2);
        switch (task.Loss)
        {
            case Loss.CrossEntropy:
            {
                long[] shape = [batch, .. output.Skip(2)];
                Tensor labels = randint(0, output[1], shape, dtype: ScalarType.Int64);
                return where(missing, full(shape, MtlDsl.Losses.TaskLosses.MissingClass, dtype: ScalarType.Int64), labels);
            }
            case Loss.BinaryCrossEntropyWithLogits:
                return where(missing, full(output, double.NaN, dtype: ScalarType.Float64), rand(output, dtype: ScalarType.Float64));
            default:
                return where(missing, full(output, double.NaN, dtype: ScalarType.Float64), randn(output, dtype: ScalarType.Float64));
        }
    }

    private sealed record Record(IReadOnlyList<string> InputNames, Tensor[] Tensors) : IModelInputs
    {
        public int Count => Tensors.Length;
        public Tensor this[int input] => Tensors[input];
    }
}
