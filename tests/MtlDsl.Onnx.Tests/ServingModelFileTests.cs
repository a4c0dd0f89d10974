using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using MtlDsl.TestModels;
using OnnxServing;
using Xunit.Abstractions;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// The serving sample checks the file it is given before it serves it: a file that is not byte for byte what
/// ExportOnnx wrote (a flipped byte anywhere, cut short, garbage, not a file) or that ONNX Runtime cannot load stops
/// the server at startup with one line naming the file and the fix, and a non-zero exit code.
/// </summary>
public sealed class ServingModelFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-serving-file-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private string Export()
    {
        using var model = new RecommenderModel();
        return OnnxRuntimeCheck.Export(model, _folder).Path;
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_folder, name);
        Directory.CreateDirectory(_folder);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // The startup refusal, in process: one line that names the file and says how to make a good one.
    private static string Refused(string path, params string[] args)
    {
        var refused = Assert.Throws<StartupException>(() => ServingApp.Build(path, ["--urls", "http://127.0.0.1:0", .. args]));
        Assert.DoesNotContain('\n', refused.Message);
        Assert.DoesNotContain('\r', refused.Message);
        Assert.StartsWith(Path.GetFullPath(path) + " ", refused.Message);
        Assert.Contains("model.ExportOnnx(path)", refused.Message);
        return refused.Message;
    }

    [Fact]
    public async Task TheExportedFileIsServedWithItsDigest()
    {
        string path = Export();
        var (app, client) = await ServingTests.Start(path);
        try
        {
            JsonNode description = (await client.GetFromJsonAsync<JsonNode>("/"))!;
            byte[] file = File.ReadAllBytes(path);
            Ir.ModelProto proto = Ir.ModelProto.Parser.ParseFrom(file);
            Assert.Equal(proto.MetadataProps[^1].Value, (string)description["sha256"]!);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    [Fact]
    public void EveryFileWithOneByteChangedIsRefused()
    {
        byte[] exported = File.ReadAllBytes(Export());
        var (graphStart, graphEnd) = GraphField(exported);
        int inGraph = 0;
        var random = new Random(24);
        for (int flip = 0; flip < 40; flip++)
        {
            int at = random.Next(exported.Length);
            byte[] flipped = (byte[])exported.Clone();
            flipped[at] ^= (byte)random.Next(1, 256);
            string message = Refused(Write($"flip-{flip}.onnx", flipped));
            if (at >= graphStart && at < graphEnd) inGraph++;
            output.WriteLine($"flip {flip}, byte {at} of {exported.Length}{(at >= graphStart && at < graphEnd ? " (graph)" : "")}: {message}");
        }
        // The file is mostly weights: most flips land in the graph, and they are refused like the others.
        Assert.InRange(inGraph, 20, 40);
    }

    // One byte changed at a place outside the graph (the first occurrence of the text, plus an offset).
    public static TheoryData<string, string, int> OutsideTheGraph() => new()
    {
        { "the producer's name", "MtlDsl", 0 },
        { "the domain", "mtldsl", 0 },
        { "a task's loss (the server's classes and probabilities depend on it)", "BinaryCrossEntropyWithLogits", 3 },
        { "an input's vocabulary (the server's id check depends on it)", "mtldsl.input.User.vocabulary", 30 },
        { "the digest's key", "mtldsl.sha256", 8 },
        { "the digest itself", "mtldsl.sha256", 20 },
    };

    [Theory]
    [MemberData(nameof(OutsideTheGraph))]
    public void AChangeOutsideTheGraphIsRefusedToo(string where, string text, int offset)
    {
        byte[] exported = File.ReadAllBytes(Export());
        int at = exported.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) + offset;
        Assert.True(at >= offset && at < exported.Length, where);
        var (graphStart, graphEnd) = GraphField(exported);
        Assert.False(at >= graphStart && at < graphEnd, $"{where} is inside the graph");
        exported[at] ^= 0x01;
        output.WriteLine(Refused(Write("changed.onnx", exported)));
    }

    [Fact]
    public void AFileWithoutTheDigestOrWithEntriesAddedAfterItIsRefused()
    {
        Ir.ModelProto proto = Ir.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Export()));
        Ir.StringStringEntryProto digest = proto.MetadataProps[^1];
        proto.MetadataProps.RemoveAt(proto.MetadataProps.Count - 1);
        Assert.Contains("carries no 'mtldsl.sha256' digest as its last metadata entry", Refused(Write("no-digest.onnx", proto.ToByteArray())));
        proto.MetadataProps.Add(digest);
        proto.MetadataProps.Add(new Ir.StringStringEntryProto { Key = "added", Value = "later" });
        Assert.Contains("carries no 'mtldsl.sha256' digest as its last metadata entry", Refused(Write("added.onnx", proto.ToByteArray())));
    }

    [Fact]
    public void AFileOnnxRuntimeCannotLoadIsRefusedEvenWithAMatchingDigest()
    {
        Ir.ModelProto proto = Ir.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Export()));
        proto.MetadataProps.RemoveAt(proto.MetadataProps.Count - 1);
        proto.Graph.Node[0].OpType = "NoSuchOperator";
        proto.MetadataProps.Add(new Ir.StringStringEntryProto { Key = "mtldsl.sha256", Value = Convert.ToHexStringLower(SHA256.HashData(proto.ToByteArray())) });
        string message = Refused(Write("unknown-operator.onnx", proto.ToByteArray()));
        output.WriteLine(message);
        Assert.Contains("matches its digest but ONNX Runtime cannot load it", message);
        Assert.Contains("NoSuchOperator", message);
    }

    [Theory]
    [InlineData("MaxSamples", "0", "--MaxSamples is '0'; it takes a whole number from 1 to 2147483647.")]
    [InlineData("MaxRequestBytes", "16MB", "--MaxRequestBytes is '16MB'; it takes a whole number from 1 to 2147483590.")]
    [InlineData("MaxConcurrentRequests", "0", "--MaxConcurrentRequests is '0'; it takes a whole number from 1 to 100000.")]
    public void ASettingOutOfRangeIsRefusedWithItsName(string name, string value, string message)
    {
        var refused = Assert.Throws<StartupException>(() => ServingApp.Build(Export(), ["--urls", "http://127.0.0.1:0", "--" + name, value]));
        Assert.Equal(message, refused.Message);
    }

    // The real program, as a user starts it: exit code 1, one line on stderr, no stack trace.
    public static TheoryData<string> NotAnExport() => ["garbage", "truncated", "empty", "directory", "missing"];

    [Theory]
    [MemberData(nameof(NotAnExport))]
    public async Task TheProgramStopsWithOneLineAndExitCode1(string kind)
    {
        string path = kind switch
        {
            "garbage" => Write("garbage.onnx", RandomNumberGenerator.GetBytes(4096)),
            "truncated" => Write("truncated.onnx", File.ReadAllBytes(Export()) is var whole ? whole[..(whole.Length / 2)] : []),
            "empty" => Write("empty.onnx", []),
            "directory" => Directory.CreateDirectory(Path.Combine(_folder, "folder.onnx")).FullName,
            _ => Path.Combine(_folder, "missing.onnx"),
        };
        var (exitCode, stdout, stderr) = await RunProgram("--Model", path, "--urls", "http://127.0.0.1:0");
        output.WriteLine(stderr);
        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(Path.GetFullPath(path) + " ", line);
        Assert.Contains("model.ExportOnnx(path)", line);
        Assert.DoesNotContain("Exception", line);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunProgram(params string[] args)
    {
        // The sample's build output sits beside the tests' (a project reference); run it as `dotnet OnnxServing.dll`.
        string dll = Path.Combine(AppContext.BaseDirectory, "OnnxServing.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The server did not stop within 30 s (it is serving the file?): {await stderr}");
        }
        return (process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    // Where ModelProto's graph field (7) lies in the file: its tag, length and message.
    private static (int Start, int End) GraphField(byte[] file)
    {
        var input = new CodedInputStream(file);
        while (true)
        {
            int at = (int)input.Position;
            uint tag = input.ReadTag();
            Assert.NotEqual(0u, tag);
            if (WireFormat.GetTagFieldNumber(tag) == 7)
            {
                input.SkipLastField();
                return (at, (int)input.Position);
            }
            input.SkipLastField();
        }
    }
}
