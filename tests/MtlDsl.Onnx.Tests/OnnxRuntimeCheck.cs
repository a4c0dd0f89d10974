using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// Exports a model to ONNX and runs the file in ONNX Runtime beside the TorchSharp module in evaluation mode, on the
/// same random batch: every output must agree elementwise within 1e-5 (absolute, plus 1e-5 relative to the value).
/// Before the export, the running statistics of every batch normalisation, the cross-stitch units and every parameter
/// that starts at zero (the biases of normalisations and cross networks) are moved off their initial values, so that
/// the graph is checked on weights that are not the trivial ones (a bias the graph left out would not show at zero).
/// </summary>
internal static class OnnxRuntimeCheck
{
    public const double Tolerance = 1e-5;

    /// <summary>Moves the running statistics, cross-stitch units and zero parameters off their initial values, puts the model in evaluation mode and exports it.</summary>
    public static OnnxExport Export<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, string folder, int seed = 7)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        torch.manual_seed(seed);
        using (no_grad())
        {
            foreach (var (name, buffer) in model.named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(randn_like(buffer) * 0.3);
                else if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) + 0.5);
            }
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (name.StartsWith("cross_stitch.", StringComparison.Ordinal)) parameter.add_(rand_like(parameter) * 0.1);
                else if (parameter.eq(0).all().item<bool>()) parameter.copy_(randn_like(parameter) * 0.1);
            }
        }
        model.eval();
        OnnxExport export = model.ExportOnnx(Path.Combine(folder, $"{model.GetName()}.onnx"));
        Assert.Equal(model.Tasks.Select(t => t.Name), export.Outputs);
        Assert.Equal(model.DeclaredInputs.Select(i => i.Name), export.Inputs);
        return export;
    }

    /// <summary>
    /// Runs the exported file in ONNX Runtime and the module on the same random batch; the largest difference found,
    /// by output, relative to the tolerance (≤ 1 passes).
    /// </summary>
    public static IReadOnlyDictionary<string, double> Compare<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, OnnxExport export, long batch, int seed = 11)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        torch.manual_seed(seed);
        Tensor[] inputs = model.DeclaredInputs.Select(d => d.Kind == InputKind.Ids
            ? randint(0, d.Vocabulary, [batch, .. d.Shape.Select(s => (long)s)], dtype: ScalarType.Int64)
            : randn([batch, .. d.Shape.Select(s => (long)s)])).ToArray();
        Tensor[] expected;
        using (no_grad())
        {
            TOutputs outputs = inputs.Length == 1 ? model.forward(inputs[0]) : model.forward(new Inputs(model.DeclaredInputs.Select(d => d.Name).ToArray(), inputs));
            expected = Enumerable.Range(0, model.Tasks.Count).Select(k => outputs[k].contiguous()).ToArray();
        }
        string path = export.Path;

        using var session = new InferenceSession(path);
        var values = new List<OrtValue>();
        try
        {
            for (int k = 0; k < inputs.Length; k++)
            {
                long[] shape = inputs[k].shape;
                values.Add(inputs[k].dtype == ScalarType.Int64
                    ? OrtValue.CreateTensorValueFromMemory(inputs[k].data<long>().ToArray(), shape)
                    : OrtValue.CreateTensorValueFromMemory(inputs[k].data<float>().ToArray(), shape));
            }
            using var runOptions = new RunOptions();
            string[] names = [.. export.Outputs];
            using var results = session.Run(runOptions, [.. export.Inputs], values, names);
            var worst = new Dictionary<string, double>();
            for (int k = 0; k < names.Length; k++)
            {
                OrtValue result = results[k];
                long[] shape = result.GetTensorTypeAndShape().Shape;
                Assert.Equal(expected[k].shape, shape);
                ReadOnlySpan<float> actual = result.GetTensorDataAsSpan<float>();
                float[] reference = expected[k].data<float>().ToArray();
                double most = 0;
                for (int i = 0; i < reference.Length; i++)
                {
                    double allowed = Tolerance * (1 + Math.Abs(reference[i]));
                    most = Math.Max(most, Math.Abs(actual[i] - reference[i]) / allowed);
                    if (double.IsNaN(actual[i]) != double.IsNaN(reference[i])) most = double.PositiveInfinity;
                }
                worst[names[k]] = most;
            }
            return worst;
        }
        finally
        {
            foreach (OrtValue value in values) value.Dispose();
        }
    }

    /// <summary>Asserts that every output agrees within the tolerance, naming the one that does not.</summary>
    public static double AssertAgrees<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model, OnnxExport export, long batch)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        IReadOnlyDictionary<string, double> ratios = Compare(model, export, batch);
        foreach (var (output, ratio) in ratios)
            Assert.True(ratio <= 1, $"{model.GetName()}, batch {batch}: output '{output}' of ONNX Runtime differs from TorchSharp's by {ratio:G3} times the tolerance (1e-5 + 1e-5·|value|).");
        return ratios.Values.Max();
    }

    private sealed record Inputs(IReadOnlyList<string> InputNames, Tensor[] Tensors) : IModelInputs
    {
        public int Count => Tensors.Length;
        public Tensor this[int input] => Tensors[input];
    }
}
