using System.Runtime.InteropServices;
using Google.Protobuf;
using MtlDsl.Onnx.Ir;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Onnx;

/// <summary>
/// Builds one ONNX graph: nodes in topological order (each appended after its inputs exist), the model's weights as
/// initializers under their state-dict names (each once, float32, raw little-endian bytes), and constants. Values
/// the builder makes are named <c>{where}#{n}</c>: the '#' keeps them apart from the inputs and outputs, which are
/// C# identifiers, and from the initializers, which are state-dict names.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly IReadOnlyDictionary<string, Tensor> _state;
    private readonly HashSet<string> _initialized = new(StringComparer.Ordinal);
    private int _next;

    public OnnxGraphBuilder(string name, IReadOnlyDictionary<string, Tensor> state)
    {
        _state = state;
        Graph = new GraphProto { Name = name };
    }

    public GraphProto Graph { get; }

    /// <summary>The state-dict names the graph holds as initializers.</summary>
    public IReadOnlyCollection<string> Used => _initialized;

    /// <summary>Appends a node of <paramref name="op"/> and returns its (one) output's name.</summary>
    public string Node(string op, string where, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = $"{where}#{_next++}";
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Appends a node that writes a named value (a graph output).</summary>
    public void Identity(string input, string output)
    {
        var node = new NodeProto { OpType = "Identity", Name = output };
        node.Input.Add(input);
        node.Output.Add(output);
        Graph.Node.Add(node);
    }

    /// <summary>The weight (or buffer) of that state-dict name, as an initializer of the same name.</summary>
    /// <exception cref="InvalidOperationException">The module has no such entry: the plan and the module disagree.</exception>
    public string Weight(string stateName)
    {
        if (_initialized.Contains(stateName)) return stateName;
        if (!_state.TryGetValue(stateName, out Tensor? tensor))
            throw new InvalidOperationException(
                $"ONNX export: the model has no weight '{stateName}' that its declaration implies; the module was not built from its declaration (was it changed after generation?).");
        using var scope = NewDisposeScope();
        Tensor values = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        var initializer = new TensorProto { Name = stateName, DataType = (int)TensorProto.Types.DataType.Float };
        initializer.Dims.AddRange(values.shape);
        initializer.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.data<float>().ToArray().AsSpan()));
        Graph.Initializer.Add(initializer);
        _initialized.Add(stateName);
        return stateName;
    }

    /// <summary>A constant int64 tensor: a vector, or a scalar when <paramref name="scalar"/>.</summary>
    public string Longs(string where, long[] values, bool scalar = false)
    {
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        if (!scalar) tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return Node("Constant", where, [], Attr.Tensor("value", tensor));
    }

    /// <summary>A constant float32 scalar.</summary>
    public string Float(string where, float value)
    {
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        tensor.FloatData.Add(value);
        return Node("Constant", where, [], Attr.Tensor("value", tensor));
    }

    /// <summary>A constant float32 vector.</summary>
    public string Floats(string where, float[] values)
    {
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(values.Length);
        tensor.FloatData.AddRange(values);
        return Node("Constant", where, [], Attr.Tensor("value", tensor));
    }

    /// <summary>A graph input or output: its element type and shape, the first dimension the symbolic <c>batch</c>.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, IEnumerable<int> perSample)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (int size in perSample) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = size });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}

/// <summary>Node attributes, typed as ONNX requires.</summary>
internal static class Attr
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Ints(string name, IEnumerable<int> values) => Ints(name, values.Select(v => (long)v));

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };
}
