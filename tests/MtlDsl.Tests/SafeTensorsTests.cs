using System.Buffers.Binary;
using System.Text;
using MtlDsl.Checkpoints;
using MtlDsl.TestModels;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A safetensors file is read whole and checked before anything is made from it: names once, known dtypes, shapes
/// that neither go negative nor overflow, byte ranges that cover the data exactly, finite values unless allowed,
/// header and entry count bounded; a load into a module changes it all or not at all.
/// </summary>
public class SafeTensorsTests : TemporaryFolderTest
{
    // A file of the given header (padded as PyTorch pads it) and data bytes.
    private static byte[] Crafted(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.PadRight((header.Length + 7) / 8 * 8));
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static InvalidDataException Refused(byte[] bytes, SafeTensorsLoadOptions? options = null) =>
        Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(bytes, "crafted.safetensors", options));

    [Fact]
    public void AWellFormedFileReadsWithItsMetadata()
    {
        var (tensors, metadata) = SafeTensors.Deserialize(Crafted(
            """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"c":{"dtype":"F32","shape":[0,3],"data_offsets":[16,16]}}""",
            [.. Floats(1.5f, -2), .. BitConverter.GetBytes(7L)]));
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal([1.5f, -2f], tensors["a"].data<float>().ToArray());
        Assert.Equal(7L, tensors["b"].item<long>());
        Assert.Equal([0L, 3L], tensors["c"].shape);
    }

    public static TheoryData<string, string, int, string> Malformed => new()
    {
        // name, header, data bytes, what the error says
        { "duplicate name", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "names 'a' twice" },
        { "duplicate metadata", """{"__metadata__":{},"__metadata__":{},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "names '__metadata__' twice" },
        { "duplicate field", """{"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}""", 4, "gives 'dtype' twice" },
        { "negative dimension", """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "tensor 'a'" },
        { "fractional dimension", """{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "not a whole number" },
        { "overflowing shape", """{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "overflows a 64-bit count" },
        { "2^31 elements", """{"a":{"dtype":"F32","shape":[2147483648],"data_offsets":[0,8589934592]}}""", 4, "claims bytes [0, 8589934592) of a data section of 4 bytes" },
        { "size and range differ", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "(F32 [2], 8 bytes) claims bytes [0, 4)" },
        { "past the end", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 4, "tensor 'b'" },
        { "overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "tensor 'b' (bytes [4, 8)) overlaps tensor 'a'" },
        { "gap", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "bytes [4, 8) of the data, before tensor 'b', belong to no tensor" },
        { "trailing bytes", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12, "bytes [4, 12) of the data, after the last tensor" },
        { "header only", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 0, "of a data section of 0 bytes" },
        { "unknown dtype", """{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}""", 1, "has dtype 'F8'" },
        { "missing field", """{"a":{"dtype":"F32","shape":[1]}}""", 4, "lacks data_offsets" },
        { "unknown field", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"scale":2}}""", 4, "has a field 'scale'" },
        { "three offsets", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 4, "more than 2 data_offsets" },
        { "entry not an object", """{"a":[1,2]}""", 4, "is not an object" },
        { "numeric metadata", """{"__metadata__":{"epoch":3},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "'epoch' is not a string" },
        { "header not an object", """[1,2,3]""", 0, "not a JSON object" },
        { "two JSON values", """{} {}""", 0, "not JSON" },
        { "lone surrogate", """{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "not valid JSON text" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void AMalformedOrInconsistentFileIsRefusedNamingTheFileAndTheTensor(string name, string header, int dataBytes, string expected)
    {
        var error = Refused(Crafted(header, new byte[dataBytes]));
        Assert.StartsWith("crafted.safetensors is not a valid safetensors file: ", error.Message);
        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {error.Message}");
    }

    [Fact]
    public void NonFiniteValuesAreRefusedUnlessAllowed()
    {
        foreach (var (dtype, bytes) in new (string, byte[])[]
                 {
                     ("F32", Floats(1, float.NaN)),
                     ("F64", [.. BitConverter.GetBytes(1.0), .. BitConverter.GetBytes(double.NegativeInfinity)]),
                     ("F16", [.. BitConverter.GetBytes((Half)1), .. BitConverter.GetBytes(Half.PositiveInfinity)]),
                     ("BF16", [0x80, 0x3F, 0xC0, 0x7F]),  // 1.0 and a NaN
                 })
        {
            byte[] file = Crafted($$$"""{"w":{"dtype":"{{{dtype}}}","shape":[2],"data_offsets":[0,{{{bytes.Length}}}]}}""", bytes);
            var error = Refused(file);
            Assert.Contains($"tensor 'w' ({dtype} [2]) holds a NaN or infinite value at element 1", error.Message);
            Assert.Contains("AllowNonFinite", error.Message);
            var (tensors, _) = SafeTensors.Deserialize(file, options: new SafeTensorsLoadOptions { AllowNonFinite = true });
            Assert.False(tensors["w"].isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void TheHeaderLengthAndTheNumberOfTensorsAreBoundedBeforeTheHeaderIsParsed()
    {
        // A header that claims more than the limit is refused before it is read.
        byte[] claim = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(claim, 200_000_000);
        Assert.Contains("more than the limit of 100000000", Refused(claim).Message);
        Assert.Contains("more than the limit of 16", Refused(Crafted("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]),
            new SafeTensorsLoadOptions { MaxHeaderBytes = 16 }).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SafeTensorsLoadOptions { MaxHeaderBytes = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SafeTensorsLoadOptions { MaxTensors = -1 });

        // 250,000 one-byte tensors: counted as the header is read, refused at the first one past the limit.
        const int count = 250_000;
        var header = new StringBuilder("{");
        for (int i = 0; i < count; i++) header.Append($"\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{i},{i + 1}]}},");
        header[^1] = '}';
        byte[] many = Crafted(header.ToString(), new byte[count]);
        Assert.Contains("more than 100000 tensors (SafeTensorsLoadOptions.MaxTensors)", Refused(many).Message);
        byte[] three = Crafted("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"c":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}""", new byte[3]);
        Assert.Equal(3, SafeTensors.Deserialize(three, options: new SafeTensorsLoadOptions { MaxTensors = 3 }).Tensors.Count);
        Assert.Contains("more than 2 tensors", Refused(three, new SafeTensorsLoadOptions { MaxTensors = 2 }).Message);

        // Into a module, the bound is the module's state dict: the file is refused after reading one entry more
        // than the model has, having allocated little beyond the header it read.
        string path = Path.Combine(Folder, "many.safetensors");
        Directory.CreateDirectory(Folder);
        File.WriteAllBytes(path, many);
        torch.manual_seed(1);
        using var model = new TabularModel();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(model, path));
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Contains($"more than the {model.state_dict().Count} tensors of the module's state dict", error.Message);
        Assert.True(allocated < many.Length + 4_000_000, $"refusing the file allocated {allocated:N0} bytes for a file of {many.Length:N0}");
    }

    [Fact]
    public void ALoadIntoAModuleIsAllOrNothing()
    {
        torch.manual_seed(3);
        using var source = new TabularModel();
        torch.manual_seed(4);
        using var model = new TabularModel();
        byte[] before = SafeTensors.Serialize(model.state_dict());
        string path = Path.Combine(Folder, "weights.safetensors");
        Directory.CreateDirectory(Folder);

        // The last tensor in the file's order holds a NaN: every other one would have fitted.
        var state = source.state_dict().ToDictionary(s => s.Key, s => s.Value.detach().clone());
        string last = state.Keys.Order(StringComparer.Ordinal).Last(k => state[k].is_floating_point());
        state[last].view(-1)[0] = torch.tensor(float.NaN);
        File.WriteAllBytes(path, SafeTensors.Serialize(state));
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(model, path));
        Assert.Contains($"'{path}' is not a valid safetensors file: tensor '{last}'", error.Message);
        Assert.Equal(before, SafeTensors.Serialize(model.state_dict()));

        // Allowed, it loads, NaN and all.
        SafeTensors.Load(model, path, new SafeTensorsLoadOptions { AllowNonFinite = true });
        Assert.True(model.state_dict()[last].view(-1)[0].isnan().item<bool>());

        // float64 weights (PyTorch's twin trained in float64) convert to the model's float32 …
        var wide = source.state_dict().ToDictionary(s => s.Key, s => s.Value.is_floating_point() ? s.Value.to(ScalarType.Float64) : s.Value);
        File.WriteAllBytes(path, SafeTensors.Serialize(wide));
        SafeTensors.Load(model, path);
        Assert.Equal(SafeTensors.Serialize(source.state_dict()), SafeTensors.Serialize(model.state_dict()));
        // … unless a value is beyond float32's range, and integer tensors do not convert at all.
        before = SafeTensors.Serialize(model.state_dict());
        wide["species.2.bias"] = torch.tensor(new[] { 1e300, 0, 0 });
        File.WriteAllBytes(path, SafeTensors.Serialize(wide));
        Assert.Contains("beyond the range", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(model, path)).Message);
        wide["species.2.bias"] = source.state_dict()["species.2.bias"];
        wide["encoder.1.num_batches_tracked"] = torch.tensor(5.0);
        File.WriteAllBytes(path, SafeTensors.Serialize(wide));
        Assert.Contains("'encoder.1.num_batches_tracked' is F64 in the file, Int64 in the model (only floating-point types convert)",
            Assert.Throws<InvalidDataException>(() => SafeTensors.Load(model, path)).Message);
        Assert.Equal(before, SafeTensors.Serialize(model.state_dict()));
    }

    [Fact]
    public void SerializeRefusesTwoTensorsOfOneName()
    {
        var pairs = new[] { KeyValuePair.Create("a", torch.zeros(1)), KeyValuePair.Create("a", torch.ones(1)) };
        Assert.Contains("Two tensors are named 'a'", Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(pairs)).Message);
    }
}
