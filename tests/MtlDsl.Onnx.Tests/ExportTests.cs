using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;

namespace MtlDsl.Onnx.Tests;

/// <summary>What an exported file declares (inputs, outputs, batch dimension, opset, metadata) and what cannot be exported.</summary>
public sealed class ExportTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-onnx-export-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void TheGraphHasEveryInputWithASymbolicBatchAndOneOutputPerTask()
    {
        using var model = new RecommenderModel();
        OnnxExport export = model.ExportOnnx(Path.Combine(_folder, "nested", "recommender.onnx"));
        Assert.Equal(17, export.Opset);
        using var session = new InferenceSession(export.Path);
        Assert.Equal(model.DeclaredInputs.Select(i => i.Name), session.InputNames);
        Assert.Equal(model.Tasks.Select(t => t.Name), session.OutputNames);
        foreach (InputDefinition input in model.DeclaredInputs)
        {
            NodeMetadata declared = session.InputMetadata[input.Name];
            Assert.Equal(input.Kind == InputKind.Ids ? typeof(long) : typeof(float), declared.ElementType);
            Assert.Equal([-1, .. input.Shape], declared.Dimensions);
            Assert.Equal("batch", declared.SymbolicDimensions[0]);
        }
        foreach (TaskDefinition task in model.Tasks)
            Assert.Equal([-1, .. task.OutputShape], session.OutputMetadata[task.Name].Dimensions);
        ModelMetadata metadata = session.ModelMetadata;
        Assert.Equal("MtlDsl", metadata.ProducerName);
        Assert.Equal("RecommenderModel", metadata.CustomMetadataMap["mtldsl.model"]);
        InputDefinition ids = model.DeclaredInputs.First(i => i.Kind == InputKind.Ids);
        Assert.Equal("ids", metadata.CustomMetadataMap[$"mtldsl.input.{ids.Name}.kind"]);
        Assert.Equal(ids.Vocabulary.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata.CustomMetadataMap[$"mtldsl.input.{ids.Name}.vocabulary"]);
        Assert.Equal(model.Tasks[0].Loss.ToString(), metadata.CustomMetadataMap[$"mtldsl.task.{model.Tasks[0].Name}.loss"]);
    }

    [Fact]
    public void TheOperatorSetAndWeightsAreWhatTheFileSays()
    {
        using var model = new MTANModel();
        OnnxExport export = model.ExportOnnx(Path.Combine(_folder, "mtan.onnx"));
        Ir.ModelProto proto = Ir.ModelProto.Parser.ParseFrom(File.ReadAllBytes(export.Path));
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        // Every weight and buffer once, under its state-dict name (BatchNorm's batch counter is training state only).
        Assert.Equal(model.state_dict().Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            proto.Graph.Initializer.Select(i => i.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheFileEndsWithTheDigestOfEveryByteBeforeIt()
    {
        using var model = new RecommenderModel();
        OnnxExport export = model.ExportOnnx(Path.Combine(_folder, "digest.onnx"), new Dictionary<string, string> { ["units"] = "standardised" });
        byte[] file = File.ReadAllBytes(export.Path);
        Ir.ModelProto proto = Ir.ModelProto.Parser.ParseFrom(file);
        Ir.StringStringEntryProto digest = proto.MetadataProps[^1];
        Assert.Equal("mtldsl.sha256", digest.Key);
        Assert.Single(proto.MetadataProps, m => m.Key == "mtldsl.sha256");
        // The entry is the file's last bytes; what comes before it is the model without it, as any protobuf library
        // writes it (so a reader elsewhere can check the digest by dropping the entry and re-serialising).
        byte[] entry = new Ir.ModelProto { MetadataProps = { digest } }.ToByteArray();
        Assert.Equal(entry, file[^entry.Length..]);
        proto.MetadataProps.RemoveAt(proto.MetadataProps.Count - 1);
        byte[] covered = proto.ToByteArray();
        Assert.Equal(covered, file[..^entry.Length]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(covered)), digest.Value);
        // The graph (weights included), the opset and the caller's metadata are inside what it covers.
        Assert.True(proto.Graph.CalculateSize() > covered.Length / 2);
        Assert.Contains(proto.MetadataProps, m => m.Key == "units");
        // ONNX Runtime reads it as any other entry.
        using var session = new InferenceSession(export.Path);
        Assert.Equal(digest.Value, session.ModelMetadata.CustomMetadataMap["mtldsl.sha256"]);
    }

    [Fact]
    public void ExportingDoesNotChangeTheModule()
    {
        using var model = new CrossStitchModel();
        model.train();
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        model.ExportOnnx(Path.Combine(_folder, "cross-stitch.onnx"));
        Assert.True(model.training);
        foreach (var (name, value) in model.state_dict()) Assert.True(value.eq(before[name]).all().item<bool>(), name);
    }

    [Fact]
    public void AModuleOfYourOwnIsRefusedWithItsName()
    {
        using var model = new OwnModuleModel();
#pragma warning disable MTL035 // what the warning foretells is what this test checks
        var refused = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(Path.Combine(_folder, "own.onnx")));
#pragma warning restore MTL035
        Assert.Contains("OwnModuleModel cannot be exported to ONNX: BasicBlock (layer 0 of 'Blocks') is a TorchSharp module of your own", refused.Message);
        Assert.False(File.Exists(Path.Combine(_folder, "own.onnx")));
    }

    [Fact]
    public void EveryLayerKindHasALoweringAndAnUnknownKindIsRefusedByName()
    {
        // One entry of OnnxLayers per layer attribute, but a module of your own (refused above, by its name).
        var kinds = typeof(LayerAttribute).Assembly.GetTypes().Where(t => !t.IsAbstract && t.IsSubclassOf(typeof(LayerAttribute)))
            .Select(t => t.Name[..^"Attribute".Length]).Where(k => k != "Module").Order(StringComparer.Ordinal);
        Assert.Equal(kinds, OnnxLayers.Kinds.Order(StringComparer.Ordinal));
        Assert.True(OnnxLayers.Supports("Conv2d"));
        Assert.False(OnnxLayers.Supports("Module"));

        // A plan of a layer kind the table lacks: NotSupportedException naming the kind and the layer.
        var layer = new PlanLayer("Softplus", [4], [4], [new PlanArgument("beta", 1.0)]);
        var plan = new NetworkPlan("Handmade", ModelArchitecture.HardSharing, [new InputDefinition("input", [4])],
            [new PlanBlock("Body", "body", [layer], [new PlanSource(true, 0)])], [new PlanBlock("A", "a", [], []), new PlanBlock("B", "b", [], [])],
            new PlanArchitecture(0, 0, false, [], [], [0, 0]));
        TaskDefinition[] tasks = [new("A", Loss.MeanSquaredError, 1, [4]), new("B", Loss.MeanSquaredError, 1, [4])];
        var refused = Assert.Throws<NotSupportedException>(() => OnnxExporter.Build(plan, tasks, new Dictionary<string, TorchSharp.torch.Tensor>(), "0"));
        Assert.Contains("layer body.0", refused.Message);
        Assert.Contains("'Softplus'", refused.Message);
    }
}
