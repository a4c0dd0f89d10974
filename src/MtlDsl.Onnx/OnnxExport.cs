namespace MtlDsl;

/// <summary>What <see cref="OnnxExtensions.ExportOnnx"/> wrote.</summary>
/// <param name="Path">The ONNX file (full path).</param>
/// <param name="Opset">The ai.onnx operator set the graph uses.</param>
/// <param name="Inputs">The graph's inputs, in declaration order (features float32, ids int64; first dimension <c>batch</c>).</param>
/// <param name="Outputs">The graph's outputs: one per task, named after it, in task order.</param>
public sealed record OnnxExport(string Path, int Opset, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs)
{
    /// <summary>The ai.onnx operator set every exported graph uses: 17 (LayerNormalization; ONNX Runtime 1.13 and later).</summary>
    public const int OperatorSet = Onnx.OnnxExporter.Opset;
}
