using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header naming every
/// tensor's dtype, shape and byte range, then the raw little-endian bytes), the weight-exchange format of PyTorch's
/// ecosystem. A generated model's state-dict names are the ones PyTorch gives the equivalent module
/// (<c>features.0.weight</c>, <c>classification.3.bias</c>, BatchNorm's <c>running_mean</c>, …), so a file saved
/// here loads in PyTorch with <c>safetensors.torch.load_file</c> + <c>load_state_dict</c>, and back.
/// </summary>
public static class SafeTensors
{
    private const int MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<ScalarType, (string Name, int Size)> s_types = new()
    {
        [ScalarType.Float64] = ("F64", 8), [ScalarType.Float32] = ("F32", 4), [ScalarType.Float16] = ("F16", 2),
        [ScalarType.BFloat16] = ("BF16", 2), [ScalarType.Int64] = ("I64", 8), [ScalarType.Int32] = ("I32", 4),
        [ScalarType.Int16] = ("I16", 2), [ScalarType.Int8] = ("I8", 1), [ScalarType.Byte] = ("U8", 1), [ScalarType.Bool] = ("BOOL", 1),
    };

    /// <summary>Saves <paramref name="module"/>'s state dict (parameters and persistent buffers) to <paramref name="path"/>, atomically.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        byte[] bytes = Serialize(module.state_dict(), metadata);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// Loads the weights in <paramref name="path"/> into <paramref name="module"/>. Every name of the module's state
    /// dict must be in the file with the same shape, and the file must hold nothing else; otherwise nothing is
    /// changed and the error lists every missing, unexpected and mismatched tensor.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not safetensors, is truncated, or does not fit the module.</exception>
    public static void Load(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No safetensors file at '{path}'.", path);
        LoadInto(module, File.ReadAllBytes(path), path);
    }

    /// <summary>The state dict in safetensors bytes (tensors in name order).</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        var blobs = new List<byte[]>();
        long offset = 0;
        using (var scope = NewDisposeScope())
        {
            foreach (var (name, tensor) in entries)
            {
                if (!s_types.TryGetValue(tensor.dtype, out var type))
                    throw new NotSupportedException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot hold here.");
                byte[] data = tensor.detach().cpu().contiguous().bytes.ToArray();
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Safetensors are little-endian; this machine is not.");
                header[name] = new { dtype = type.Name, shape = tensor.shape, data_offsets = new[] { offset, offset + data.Length } };
                blobs.Add(data);
                offset += data.Length;
            }
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;  // PyTorch's writer pads the header with spaces to 8 bytes
        var output = new byte[8 + padded + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(output, (ulong)padded);
        json.CopyTo(output, 8);
        output.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        long position = 8 + padded;
        foreach (byte[] blob in blobs)
        {
            blob.CopyTo(output, position);
            position += blob.Length;
        }
        return output;
    }

    /// <summary>Reads every tensor of a safetensors file's bytes (on the CPU), with the file's metadata.</summary>
    /// <param name="bytes">The file's content.</param>
    /// <param name="source">What to call the bytes in an error (a path).</param>
    /// <exception cref="InvalidDataException">The bytes are not a complete safetensors file.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Deserialize(ReadOnlySpan<byte> bytes, string source = "the data")
    {
        if (bytes.Length < 8) throw Invalid(source, $"it has {bytes.Length} bytes, fewer than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > bytes.Length - 8)
            throw Invalid(source, $"its header claims {headerLength} bytes but the file has {bytes.Length} (truncated, or not a safetensors file)");
        long dataStart = 8 + (long)headerLength;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"its header is not JSON ({e.Message})");
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(source, "its header is not a JSON object");
            long dataLength = bytes.Length - dataStart;
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    foreach (JsonProperty m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                try
                {
                    string dtype = entry.Value.GetProperty("dtype").GetString()!;
                    long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    long[] range = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    var type = s_types.FirstOrDefault(t => t.Value.Name == dtype);
                    if (type.Value.Name is null) throw Invalid(source, $"tensor '{entry.Name}' has dtype '{dtype}', which is not supported");
                    long expected = shape.Aggregate(1L, (a, b) => a * b) * type.Value.Size;
                    if (range.Length != 2 || range[0] < 0 || range[1] > dataLength || range[1] - range[0] != expected)
                        throw Invalid(source, $"tensor '{entry.Name}' ({dtype} {string.Join("×", shape)}) claims bytes [{string.Join(", ", range)}] of {dataLength} (truncated or corrupt)");
                    Tensor tensor = empty(shape, dtype: type.Key);
                    bytes.Slice((int)(dataStart + range[0]), (int)expected).CopyTo(tensor.bytes);
                    tensors[entry.Name] = tensor;
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw Invalid(source, $"the header entry of '{entry.Name}' is malformed ({e.Message})");
                }
            }
        }
        return (tensors, metadata);
    }

    /// <summary>Copies safetensors bytes into a module's state dict, strictly (see <see cref="Load"/>).</summary>
    internal static void LoadInto(nn.Module module, ReadOnlySpan<byte> bytes, string source)
    {
        using var scope = NewDisposeScope();
        var (tensors, _) = Deserialize(bytes, source);
        Dictionary<string, Tensor> state = module.state_dict();
        var problems = new List<string>();
        foreach (var (name, target) in state)
        {
            if (!tensors.TryGetValue(name, out Tensor? loaded)) problems.Add($"missing '{name}' {Shape(target)}");
            else if (!loaded.shape.SequenceEqual(target.shape)) problems.Add($"'{name}' is {Shape(loaded)} in the file, {Shape(target)} in the model");
        }
        problems.AddRange(tensors.Keys.Where(k => !state.ContainsKey(k)).Select(k => $"unexpected '{k}'"));
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not fit {module.GetName()}: {string.Join("; ", problems)}. " +
                "The names are the model's state-dict names (PyTorch's names for the same module); the file must hold exactly those tensors.");
        using (no_grad())
        {
            foreach (var (name, target) in state)
                target.copy_(tensors[name].to(target.dtype, target.device));
        }
    }

    private static string Shape(Tensor tensor) => "[" + string.Join(", ", tensor.shape) + "]";

    private static InvalidDataException Invalid(string source, string why) => new($"{source} is not a valid safetensors file: {why}.");
}
