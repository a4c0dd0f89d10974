using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Checkpoints;

/// <summary>How <see cref="SafeTensors"/> reads a file: which values it accepts and how large a header it parses.</summary>
/// <remarks>
/// Every bound is checked before the part it bounds is parsed or allocated, so a hostile or corrupt file costs at
/// most the header it is refused with.
/// </remarks>
public sealed record SafeTensorsLoadOptions
{
    /// <summary>The defaults: finite values only, a header of at most 100,000,000 bytes, at most 100,000 tensors.</summary>
    public static SafeTensorsLoadOptions Default { get; } = new();

    /// <summary>
    /// Whether NaN and infinite values in floating-point tensors are accepted. False by default: trained weights are
    /// finite, so a non-finite one means a diverged or corrupt file, refused with the tensor and element it is in.
    /// Set it to read data that marks missing labels with NaN (the files of <c>MultiTaskData.Save</c>).
    /// </summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>
    /// The largest JSON header accepted, in bytes: 100,000,000 by default (the reference implementation's limit).
    /// A header that claims more is refused before it is read.
    /// </summary>
    public long MaxHeaderBytes
    {
        get => _maxHeaderBytes;
        init => _maxHeaderBytes = value > 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxHeaderBytes), value, "The header limit must be at least 1 byte.");
    }

    /// <summary>
    /// The most tensors <see cref="SafeTensors.Deserialize"/> accepts in one file: 100,000 by default. The header's
    /// entries are counted as it is read, so a header of a million entries is refused at the first one too many, before
    /// any tensor is created. A load into a module accepts at most the module's state-dict entries whatever this is.
    /// </summary>
    public int MaxTensors
    {
        get => _maxTensors;
        init => _maxTensors = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxTensors), value, "The tensor limit cannot be negative.");
    }

    private readonly long _maxHeaderBytes = 100_000_000;
    private readonly int _maxTensors = 100_000;
}

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header naming every
/// tensor's dtype, shape and byte range, then the raw little-endian bytes), the weight-exchange format of PyTorch's
/// ecosystem. A generated model's state-dict names are the ones PyTorch gives the equivalent module
/// (<c>features.0.weight</c>, <c>classification.3.bias</c>, BatchNorm's <c>running_mean</c>, …), so a file saved
/// here loads in PyTorch with <c>safetensors.torch.load_file</c> + <c>load_state_dict</c>, and back.
/// </summary>
/// <remarks>
/// A file is read whole and checked before anything is created from it: the header length and the number of
/// tensors against their limits (<see cref="SafeTensorsLoadOptions"/>), every name once, every dtype known, every
/// shape of dimensions ≥ 0 whose size does not overflow, byte ranges that cover the data exactly (no overlap, no gap,
/// nothing past the end), and, unless allowed, finite values. Anything else is an <see cref="InvalidDataException"/>
/// naming the file, the tensor and what was expected.
/// </remarks>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const int MaxDimensions = 64;

    private static readonly Dictionary<ScalarType, (string Name, int Size)> s_types = new()
    {
        [ScalarType.Float64] = ("F64", 8), [ScalarType.Float32] = ("F32", 4), [ScalarType.Float16] = ("F16", 2),
        [ScalarType.BFloat16] = ("BF16", 2), [ScalarType.Int64] = ("I64", 8), [ScalarType.Int32] = ("I32", 4),
        [ScalarType.Int16] = ("I16", 2), [ScalarType.Int8] = ("I8", 1), [ScalarType.Byte] = ("U8", 1), [ScalarType.Bool] = ("BOOL", 1),
    };

    private static readonly Dictionary<string, (ScalarType Type, int Size)> s_names =
        s_types.ToDictionary(t => t.Value.Name, t => (t.Key, t.Value.Size), StringComparer.Ordinal);

    /// <summary>Saves <paramref name="module"/>'s state dict (parameters and persistent buffers) to <paramref name="path"/>, atomically.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        byte[] bytes = Serialize(module.state_dict(), metadata);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// Loads the weights in <paramref name="path"/> into <paramref name="module"/>, all or nothing. Every name of the
    /// module's state dict must be in the file with the same shape and a compatible dtype (floating-point tensors are
    /// converted to the module's type; others must match), the file must hold nothing else, and every value must be
    /// finite (unless <see cref="SafeTensorsLoadOptions.AllowNonFinite"/>). The whole file is checked before the first
    /// value is copied: on any refusal the module is unchanged, and the error lists every missing, unexpected and
    /// mismatched tensor.
    /// </summary>
    /// <param name="module">The module whose state dict receives the weights.</param>
    /// <param name="path">The safetensors file.</param>
    /// <param name="options">Limits and accepted values; <see cref="SafeTensorsLoadOptions.Default"/> if null.</param>
    /// <exception cref="FileNotFoundException">There is no file.</exception>
    /// <exception cref="InvalidDataException">The file is not safetensors, is truncated or inconsistent, holds non-finite values, or does not fit the module.</exception>
    public static void Load(nn.Module module, string path, SafeTensorsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= SafeTensorsLoadOptions.Default;
        if (!File.Exists(path)) throw new FileNotFoundException($"No safetensors file at '{path}'.", path);
        string source = $"'{path}'";
        Dictionary<string, Tensor> state = module.state_dict();
        using var scope = NewDisposeScope();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        // The header first, checked against the module before the data is read: a file that cannot fit costs its header.
        Span<byte> prefix = stackalloc byte[8];
        int got = file.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        long headerLength = HeaderLength(prefix[..got], file.Length, source, options);
        byte[] header = new byte[headerLength];
        file.ReadExactly(header);
        long dataLength = file.Length - 8 - headerLength;
        var (entries, _) = ParseHeader(header, dataLength, source, state.Count, state.Count);
        CheckFit(module, state, entries, source, exactTypes: false);
        var raw = new byte[entries.Count][];
        foreach (int i in Enumerable.Range(0, entries.Count).OrderBy(i => entries[i].Begin))
        {
            raw[i] = new byte[entries[i].End - entries[i].Begin];
            file.ReadExactly(raw[i]);  // the ranges cover the data in order, so the file is read once, front to back
        }
        Dictionary<string, Tensor> prepared = Prepare(state, entries, i => raw[i], source, options, module.GetName());
        CopyInto(state, prepared);
    }

    /// <summary>The state dict in safetensors bytes (tensors in name order).</summary>
    /// <exception cref="ArgumentException">Two tensors have one name.</exception>
    /// <exception cref="NotSupportedException">A tensor's dtype has no safetensors name here.</exception>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        for (int i = 1; i < entries.Count; i++)
            if (entries[i].Key == entries[i - 1].Key)
                throw new ArgumentException($"Two tensors are named '{entries[i].Key}'; a safetensors file holds every name once.", nameof(tensors));
        if (entries.Any(e => e.Key == MetadataKey))
            throw new ArgumentException($"'{MetadataKey}' is the format's metadata entry, not a tensor name.", nameof(tensors));
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header[MetadataKey] = metadata;
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

    /// <summary>
    /// Reads every tensor of a safetensors file's bytes (on the CPU), with the file's metadata, after checking the
    /// whole file (see the remarks of <see cref="SafeTensors"/>).
    /// </summary>
    /// <param name="bytes">The file's content.</param>
    /// <param name="source">What to call the bytes in an error (a path).</param>
    /// <param name="options">Limits and accepted values; <see cref="SafeTensorsLoadOptions.Default"/> if null. Data with missing labels (NaN) needs <see cref="SafeTensorsLoadOptions.AllowNonFinite"/>.</param>
    /// <exception cref="InvalidDataException">The bytes are not a complete, consistent safetensors file, exceed a limit, or hold non-finite values that are not allowed.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Deserialize(ReadOnlySpan<byte> bytes, string source = "the data",
        SafeTensorsLoadOptions? options = null)
    {
        options ??= SafeTensorsLoadOptions.Default;
        var (entries, metadata, dataStart) = Parse(bytes, source, options, options.MaxTensors, null);
        ReadOnlySpan<byte> data = bytes[dataStart..];
        for (int i = 0; i < entries.Count; i++)
            CheckValues(entries[i], Slice(data, entries[i]), source, options);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
            tensors[entries[i].Name] = Create(entries[i], Slice(data, entries[i]));
        return (tensors, metadata);
    }

    /// <summary>Copies safetensors bytes into a module's state dict, all or nothing (see <see cref="Load"/>).</summary>
    internal static void LoadInto(nn.Module module, ReadOnlySpan<byte> bytes, string source)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> state = module.state_dict();
        CopyInto(state, Prepare(module, state, bytes, source, exactTypes: false, SafeTensorsLoadOptions.Default));
    }

    // The tensors of safetensors bytes that are to replace the state dict's, checked whole (format, names, shapes,
    // dtypes, values) and already converted to each target's dtype and device; nothing of the module is touched. With
    // exactTypes (a checkpoint) every dtype must be the module's, not only convertible to it. The tensors belong to the
    // caller's dispose scope.
    internal static Dictionary<string, Tensor> Prepare(nn.Module module, Dictionary<string, Tensor> state, ReadOnlySpan<byte> bytes, string source,
        bool exactTypes, SafeTensorsLoadOptions options)
    {
        var (entries, _, dataStart) = Parse(bytes, source, options, state.Count, state.Count);
        CheckFit(module, state, entries, source, exactTypes);
        ReadOnlySpan<byte> data = bytes[dataStart..];
        var raw = new byte[entries.Count][];
        for (int i = 0; i < entries.Count; i++) raw[i] = Slice(data, entries[i]).ToArray();
        return Prepare(state, entries, i => raw[i], source, options, module.GetName());
    }

    // Copies prepared tensors into the state dict.
    internal static void CopyInto(Dictionary<string, Tensor> state, Dictionary<string, Tensor> prepared)
    {
        using var noGrad = no_grad();
        foreach (var (name, target) in state) target.copy_(prepared[name]);
    }

    private sealed record Entry(string Name, ScalarType Type, string DType, long[] Shape, long Begin, long End);

    // The header and data of a whole file in memory, checked.
    private static (List<Entry> Entries, Dictionary<string, string> Metadata, int DataStart) Parse(ReadOnlySpan<byte> bytes, string source,
        SafeTensorsLoadOptions options, int maxTensors, int? moduleEntries)
    {
        long headerLength = HeaderLength(bytes[..Math.Min(8, bytes.Length)], bytes.Length, source, options);
        int dataStart = 8 + (int)headerLength;
        var (entries, metadata) = ParseHeader(bytes.Slice(8, (int)headerLength), bytes.Length - dataStart, source, maxTensors, moduleEntries);
        return (entries, metadata, dataStart);
    }

    // The header length the first 8 bytes give, checked against the limit and the file's length.
    private static long HeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source, SafeTensorsLoadOptions options)
    {
        if (prefix.Length < 8) throw Invalid(source, $"it has {fileLength} bytes, fewer than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)options.MaxHeaderBytes)
            throw Invalid(source, $"its header claims {headerLength} bytes, more than the limit of {options.MaxHeaderBytes} (SafeTensorsLoadOptions.MaxHeaderBytes)");
        if ((long)headerLength > fileLength - 8)
            throw Invalid(source, $"its header claims {headerLength} bytes but the file has {fileLength} (truncated, or not a safetensors file)");
        return (long)headerLength;
    }

    // The header's entries, read as a stream (so every name is seen, duplicates too, and the count is bounded before
    // anything is materialised) and checked for consistency with a data section of dataLength bytes.
    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> header, long dataLength, string source,
        int maxTensors, int? moduleEntries)
    {
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 4 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw Invalid(source, "its header is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!names.Add(name)) throw Invalid(source, $"its header names '{name}' twice; every tensor name must be unique");
                if (name == MetadataKey)
                {
                    ReadMetadata(ref reader, metadata, source);
                    continue;
                }
                if (entries.Count >= maxTensors)
                    throw Invalid(source, moduleEntries is int count
                        ? $"its header holds more than the {count} tensors of the module's state dict"
                        : $"its header holds more than {maxTensors} tensors (SafeTensorsLoadOptions.MaxTensors)");
                entries.Add(ReadEntry(ref reader, name, dataLength, source));
            }
            if (reader.TokenType != JsonTokenType.EndObject) throw Invalid(source, "its header is not a JSON object");
            if (reader.Read()) throw Invalid(source, "its header has more after its JSON object");
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"its header is not JSON ({e.Message})");
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(source, $"its header is not valid JSON text ({e.Message})");
        }
        CheckCoverage(entries, dataLength, source);
        return (entries, metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string source)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw Invalid(source, $"its '{MetadataKey}' is not an object of strings");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                throw Invalid(source, $"its '{MetadataKey}' entry '{key}' is not a string");
            if (!metadata.TryAdd(key, reader.GetString()!)) throw Invalid(source, $"its '{MetadataKey}' names '{key}' twice");
        }
    }

    private static Entry ReadEntry(ref Utf8JsonReader reader, string name, long dataLength, string source)
    {
        InvalidDataException Bad(string why) => Invalid(source, $"the header entry of tensor '{name}' {why}");
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw Bad("is not an object of dtype, shape and data_offsets");
        string? dtype = null;
        List<long>? shape = null, offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            if (!reader.Read()) break;
            switch (field)
            {
                case "dtype" when dtype is null:
                    dtype = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Bad("has a dtype that is not a string");
                    break;
                case "shape" when shape is null:
                    shape = ReadWholeNumbers(ref reader, MaxDimensions, "shape", Bad);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadWholeNumbers(ref reader, 2, "data_offsets", Bad);
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Bad($"gives '{field}' twice");
                default:
                    throw Bad($"has a field '{field}'; expected only dtype, shape and data_offsets");
            }
        }
        if (dtype is null || shape is null || offsets is null)
            throw Bad($"lacks {string.Join(" and ", new[] { dtype is null ? "dtype" : null, shape is null ? "shape" : null, offsets is null ? "data_offsets" : null }.OfType<string>())}");
        if (!s_names.TryGetValue(dtype, out var type))
            throw Bad($"has dtype '{dtype}'; expected one of {string.Join(", ", s_names.Keys)}");
        if (offsets.Count != 2) throw Bad($"has {offsets.Count} data_offsets; expected two, [begin, end]");
        long size;
        try
        {
            size = checked(shape.Aggregate(1L, (a, b) => a * b) * type.Size);
        }
        catch (OverflowException)
        {
            throw Bad($"has the shape [{string.Join(", ", shape)}], whose size in bytes overflows a 64-bit count");
        }
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin || end > dataLength || end - begin != size)
            throw Bad($"({dtype} [{string.Join(", ", shape)}], {size} bytes) claims bytes [{begin}, {end}) of a data section of {dataLength} bytes; " +
                      "expected a range of exactly its size inside the data (truncated or corrupt)");
        return new Entry(name, type.Type, dtype, [.. shape], begin, end);
    }

    // An array of whole numbers ≥ 0, at most max of them.
    private static List<long> ReadWholeNumbers(ref Utf8JsonReader reader, int max, string field, Func<string, InvalidDataException> bad)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw bad($"has a {field} that is not an array");
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
                throw bad($"has a {field} value that is not a whole number from 0 to {long.MaxValue}");
            if (values.Count == max) throw bad($"has more than {max} {field} values");
            values.Add(value);
        }
        return values;
    }

    // The tensors' byte ranges cover the data section exactly: in order, each begins where the one before ends.
    private static void CheckCoverage(List<Entry> entries, long dataLength, string source)
    {
        long position = 0;
        Entry? previous = null;
        foreach (Entry entry in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (entry.Begin < position)
                throw Invalid(source, $"tensor '{entry.Name}' (bytes [{entry.Begin}, {entry.End})) overlaps tensor '{previous!.Name}' (bytes [{previous.Begin}, {previous.End})); " +
                                      "expected every tensor's bytes to be its own");
            if (entry.Begin > position)
                throw Invalid(source, $"bytes [{position}, {entry.Begin}) of the data, before tensor '{entry.Name}', belong to no tensor; expected the tensors to cover the data without gaps");
            position = entry.End;
            previous = entry;
        }
        if (position != dataLength)
            throw Invalid(source, $"bytes [{position}, {dataLength}) of the data, after the last tensor, belong to no tensor; expected the file to end with the last tensor");
    }

    // Every tensor of the module is in the file with its shape and a dtype that converts to the module's, and nothing else.
    private static void CheckFit(nn.Module module, Dictionary<string, Tensor> state, List<Entry> entries, string source, bool exactTypes)
    {
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, target) in state)
        {
            if (!byName.TryGetValue(name, out Entry? entry)) problems.Add($"missing '{name}' {Shape(target.shape)}");
            else if (!entry.Shape.SequenceEqual(target.shape)) problems.Add($"'{name}' is {Shape(entry.Shape)} in the file, {Shape(target.shape)} in the model");
            else if (entry.Type != target.dtype && (exactTypes || !RawValues.IsFloating(entry.Type) || !RawValues.IsFloating(target.dtype)))
                problems.Add($"'{name}' is {entry.DType} in the file, {target.dtype} in the model" + (exactTypes ? "" : " (only floating-point types convert)"));
        }
        problems.AddRange(entries.Where(e => !state.ContainsKey(e.Name)).Select(e => $"unexpected '{e.Name}'"));
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not fit {module.GetName()}: {string.Join("; ", problems)}. " +
                "The names are the model's state-dict names (PyTorch's names for the same module); the file must hold exactly those tensors.");
    }

    // The tensors to copy, each converted to its target's dtype and device; values checked before any tensor is made.
    private static Dictionary<string, Tensor> Prepare(Dictionary<string, Tensor> state, List<Entry> entries, Func<int, byte[]> raw, string source,
        SafeTensorsLoadOptions options, string module)
    {
        for (int i = 0; i < entries.Count; i++) CheckValues(entries[i], raw(i), source, options);
        var prepared = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            Entry entry = entries[i];
            Tensor target = state[entry.Name];
            Tensor value = Create(entry, raw(i)).to(target.dtype, target.device);
            // A finite float64 beyond float32's range becomes infinite in the conversion.
            if (!options.AllowNonFinite && entry.Type != target.dtype && RawValues.IsFloating(target.dtype) && !value.isfinite().all().item<bool>())
                throw Invalid(source, $"tensor '{entry.Name}' holds values beyond the range of {module}'s {target.dtype}, which become infinite; expected finite weights");
            prepared[entry.Name] = value;
        }
        return prepared;
    }

    private static void CheckValues(Entry entry, ReadOnlySpan<byte> raw, string source, SafeTensorsLoadOptions options)
    {
        if (options.AllowNonFinite || !RawValues.IsFloating(entry.Type)) return;
        long bad = RawValues.FirstNonFinite(raw, entry.Type);
        if (bad >= 0)
            throw Invalid(source, $"tensor '{entry.Name}' ({entry.DType} {Shape(entry.Shape)}) holds a NaN or infinite value at element {bad}; expected finite values " +
                                  "(weights that diverged or a corrupt file; SafeTensorsLoadOptions.AllowNonFinite accepts them, for data that marks missing labels with NaN)");
    }

    private static Tensor Create(Entry entry, ReadOnlySpan<byte> raw)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Safetensors are little-endian; this machine is not.");
        Tensor tensor = empty(entry.Shape, dtype: entry.Type);
        raw.CopyTo(tensor.bytes);
        return tensor;
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, Entry entry) => data.Slice((int)entry.Begin, (int)(entry.End - entry.Begin));

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static InvalidDataException Invalid(string source, string why) => new($"{source} is not a valid safetensors file: {why}.");
}
