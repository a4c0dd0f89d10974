using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MtlDsl.TestModels;
using OnnxServing;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// The serving sample (samples/OnnxServing) started on a loopback port with an exported model and called over HTTP:
/// its predictions are the TorchSharp module's, a request that does not fit is a 400 that says why, and the server
/// keeps answering.
/// </summary>
public sealed class ServingTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-serving-" + Guid.NewGuid().ToString("N"));
    private readonly RecommenderModel _model = new();
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        OnnxExport export = OnnxRuntimeCheck.Export(_model, _folder);
        (_app, _client) = await Start(export.Path, "--MaxSamples", "64", "--MaxRequestBytes", "200000");
    }

    public async Task DisposeAsync()
    {
        await Stop(_app, _client);
        _model.Dispose();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    internal static async Task<(WebApplication, HttpClient)> Start(string model, params string[] args)
    {
        WebApplication app = ServingApp.Build(model, ["--urls", "http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", address);
        return (app, new HttpClient { BaseAddress = new Uri(address) });
    }

    internal static async Task Stop(WebApplication app, HttpClient client)
    {
        client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    // A request of n samples: dense features, one user id, five tag ids each (seeded).
    internal static (JsonObject Body, Tensor Dense, Tensor User, Tensor Tags) Request(int n, int seed = 3)
    {
        torch.manual_seed(seed);
        Tensor dense = randn(n, 6), user = randint(0, RecommenderModel.Users, [n], dtype: ScalarType.Int64), tags = randint(0, RecommenderModel.Tags, [n, 5], dtype: ScalarType.Int64);
        float[] d = dense.data<float>().ToArray();
        long[] u = user.data<long>().ToArray(), t = tags.data<long>().ToArray();
        var body = new JsonObject
        {
            ["inputs"] = new JsonObject
            {
                ["Dense"] = new JsonArray([.. Enumerable.Range(0, n).Select(i => (JsonNode?)new JsonArray([.. d.Skip(6 * i).Take(6).Select(x => (JsonNode?)x)]))]),
                ["User"] = new JsonArray([.. u.Select(x => (JsonNode?)x)]),
                ["Tags"] = new JsonArray([.. Enumerable.Range(0, n).Select(i => (JsonNode?)new JsonArray([.. t.Skip(5 * i).Take(5).Select(x => (JsonNode?)x)]))]),
            },
        };
        return (body, dense, user, tags);
    }

    // expectContinue: the headers go first and the body only after the server's 100 Continue. A server that refuses a
    // body by its declared length answers before reading it and closes the connection; a client still writing the body
    // then sometimes gets a reset instead of the answer (a race, seen in CI), which a client that waits does not.
    private async Task<(HttpStatusCode Status, JsonNode? Body)> Post(string json, bool expectContinue = false)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
        request.Headers.ExpectContinue = expectContinue;
        using HttpResponseMessage response = await _client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task PredictionsAreTheTorchSharpModulesForEveryTask()
    {
        var (body, dense, user, tags) = Request(5);
        var (status, answer) = await Post(body.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(5, (int)answer!["samples"]!);
        RecommenderModel.Outputs expected;
        using (no_grad()) expected = _model.forward(new RecommenderModel.Inputs(dense, user, tags));
        foreach (var (task, tensor) in new[] { ("Click", expected.Click), ("Rating", expected.Rating) })
        {
            float[] want = tensor.data<float>().ToArray();
            float[] got = answer["predictions"]![task]!["output"]!.AsArray().SelectMany(s => s!.AsArray().Select(v => (float)v!)).ToArray();
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5 * (1 + Math.Abs(want[i])), $"{task}[{i}]: {got[i]} served, {want[i]} in TorchSharp");
        }
        // Binary cross-entropy: the probability beside the logit.
        double logit = (double)answer["predictions"]!["Click"]!["output"]![0]![0]!;
        Assert.Equal(1 / (1 + Math.Exp(-logit)), (double)answer["predictions"]!["Click"]!["probability"]![0]![0]!, 6);
    }

    [Fact]
    public async Task TheModelDescribesItself()
    {
        JsonNode description = (await _client.GetFromJsonAsync<JsonNode>("/"))!;
        Assert.Equal("RecommenderModel", (string)description["model"]!);
        Assert.Equal(["Dense", "User", "Tags"], description["inputs"]!.AsArray().Select(i => (string)i!["name"]!));
        Assert.Equal(RecommenderModel.Users, (long)description["inputs"]![1]!["vocabulary"]!);
        Assert.Equal(["Click", "Rating"], description["tasks"]!.AsArray().Select(t => (string)t!["name"]!));
    }

    public static TheoryData<string, string> BadRequests()
    {
        string good = Request(2).Body.ToJsonString();
        JsonObject With(Action<JsonObject> change)
        {
            var body = JsonNode.Parse(good)!.AsObject();
            change(body["inputs"]!.AsObject());
            return body;
        }
        return new TheoryData<string, string>
        {
            { "{\"inputs\": {", "The body is not JSON" },
            { "[1, 2]", "The request is a JSON object with \"inputs\"" },
            { With(i => i.Remove("User")).ToJsonString(), "Input 'User' is missing; the model reads 'Dense', 'User', 'Tags'" },
            { With(i => i["Price"] = new JsonArray(1, 2)).ToJsonString(), "The model has no input 'Price'" },
            { With(i => i["Dense"]![1]!.AsArray().RemoveAt(0)).ToJsonString(), "Input 'Dense', sample 1: expected an array of 6 numbers, got an array of 5" },
            { With(i => i["Dense"]![0]![2] = "x").ToJsonString(), "Input 'Dense', sample 0[2]: expected a finite number (float32), got a string" },
            { With(i => i["User"]![1] = RecommenderModel.Users).ToJsonString(), "Input 'User', sample 1: id 20 lies outside the vocabulary [0, 20)" },
            { With(i => i["Tags"]![0]![4] = -1).ToJsonString(), "Input 'Tags', sample 0[4]: id -1 lies outside the vocabulary [0, 30)" },
            { With(i => i["User"]![0] = 1.5).ToJsonString(), "Input 'User', sample 0: expected an integer id, got the number 1.5" },
            { With(i => i["User"]!.AsArray().RemoveAt(1)).ToJsonString(), "Input 'User' holds 1 sample but 'Dense' holds 2" },
            { With(i => i["Dense"] = new JsonArray(0.1, 0.2, 0.3, 0.4, 0.5, 0.6)).ToJsonString(), "Input 'Dense', sample 0: expected an array of 6 numbers, got the number 0.1 (the input is an array of samples" },
            { With(i => i["Tags"]![1]!.AsArray().RemoveAt(0)).ToJsonString(), "Input 'Tags', sample 1: expected an array of 5 ids, got an array of 4" },
            { good.Replace("\"User\":", "\"User\":[1,2],\"User\":"), "Input 'User' is given twice" },
            { good[..^1] + ",\"inputs\":{}}", "The request names \"inputs\" twice" },
            { With(i => i["Dense"] = new JsonArray()).ToJsonString(), "Input 'Dense' holds no sample" },
            { With(i => i["Tags"] = 3).ToJsonString(), "Input 'Tags' is an array of samples, each ids nested as [5]; got the number 3" },
            { Request(65).Body.ToJsonString(), "Input 'Dense' holds 65 samples; this server takes at most 64 per request" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ARequestThatDoesNotFitIsA400ThatSaysWhy(string body, string detail)
    {
        var (status, answer) = await Post(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(detail, (string)answer!["detail"]!);
        // …and the server goes on answering.
        Assert.Equal(HttpStatusCode.OK, (await Post(Request(1).Body.ToJsonString())).Status);
    }

    [Fact]
    public async Task InputsSoFarOutOfRangeThatAnOutputIsInfiniteAreA422()
    {
        // Weights a hundred times larger than initialised: features near float32's limit overflow on the way.
        using var large = new RecommenderModel();
        using (no_grad())
            foreach (var parameter in large.parameters()) parameter.mul_(tensor(100f));
        OnnxExport export = large.ExportOnnx(Path.Combine(_folder, "large", "recommender.onnx"));
        var (app, client) = await Start(export.Path);
        try
        {
            JsonObject body = Request(2).Body;
            body["inputs"]!["Dense"]![1] = new JsonArray([.. Enumerable.Range(0, 6).Select(_ => (JsonNode?)3.4e38)]);
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await client.PostAsync("/predict", content);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            string detail = (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]!;
            Assert.Contains("sample 1: the model's output is", detail);
            Assert.Contains("not a finite number", detail);
            using var again = new StringContent(Request(1).Body.ToJsonString(), Encoding.UTF8, "application/json");
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", again)).StatusCode);
        }
        finally
        {
            await Stop(app, client);
        }
    }

    [Fact]
    public async Task TheExportersMetadataIsServedAndMtlDslsKeysAreReserved()
    {
        using var tabular = new TabularModel();
        string path = Path.Combine(_folder, "with-metadata", "tabular.onnx");
        Assert.Throws<ArgumentException>(() => tabular.ExportOnnx(path, new Dictionary<string, string> { ["mtldsl.model"] = "x" }));
        Assert.Throws<ArgumentException>(() => tabular.ExportOnnx(path, new Dictionary<string, string> { ["mtldsl.sha256"] = "x" }));
        tabular.ExportOnnx(path, new Dictionary<string, string> { ["units"] = "standardised", ["classes"] = "0 a, 1 b, 2 c" });
        var (app, client) = await Start(path);
        try
        {
            JsonNode description = (await client.GetFromJsonAsync<JsonNode>("/"))!;
            Assert.Equal("standardised", (string)description["metadata"]!["units"]!);
            Assert.Equal("0 a, 1 b, 2 c", (string)description["metadata"]!["classes"]!);
            Assert.Null(description["metadata"]!["mtldsl.model"]);
        }
        finally
        {
            await Stop(app, client);
        }
    }

    [Fact]
    public async Task ABodyOverTheLimitIsA413()
    {
        var (status, _) = await Post(Request(60).Body.ToJsonString() + new string(' ', 200_000), expectContinue: true);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(HttpStatusCode.OK, (await Post(Request(1).Body.ToJsonString())).Status);
    }

    [Fact]
    public async Task ConcurrentRequestsGetTheirOwnAnswers()
    {
        string[] bodies = Enumerable.Range(0, 32).Select(i => Request(1 + i % 7, seed: i).Body.ToJsonString()).ToArray();
        var answers = await Task.WhenAll(bodies.Select(b => Post(b)));
        var again = await Task.WhenAll(bodies.Select(b => Post(b)));
        for (int i = 0; i < bodies.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].Status);
            Assert.Equal(1 + i % 7, (int)answers[i].Body!["samples"]!);
            Assert.Equal(again[i].Body!.ToJsonString(), answers[i].Body!.ToJsonString());
        }
    }

    [Fact]
    public void TheServerCarriesNoTorchSharp()
    {
        string deps = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "OnnxServing.deps.json"));
        using JsonDocument document = JsonDocument.Parse(deps);
        string[] libraries = [.. document.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name)];
        Assert.Contains(libraries, l => l.StartsWith("Microsoft.ML.OnnxRuntime/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || l.StartsWith("MtlDsl", StringComparison.Ordinal) || l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AClassificationTaskAlsoGetsItsClassAndProbabilities()
    {
        using var tabular = new TabularModel();
        OnnxExport export = OnnxRuntimeCheck.Export(tabular, Path.Combine(_folder, "tabular"));
        var (app, client) = await Start(export.Path);
        try
        {
            torch.manual_seed(5);
            Tensor features = randn(3, 12);
            float[] f = features.data<float>().ToArray();
            var body = new JsonObject { ["inputs"] = new JsonObject { ["input"] = new JsonArray([.. Enumerable.Range(0, 3).Select(i => (JsonNode?)new JsonArray([.. f.Skip(12 * i).Take(12).Select(x => (JsonNode?)x)]))]) } };
            using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            JsonNode answer = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
            long[] classes;
            using (no_grad()) classes = tabular.forward(features).Species.argmax(1).data<long>().ToArray();
            Assert.Equal(classes, answer["predictions"]!["Species"]!["class"]!.AsArray().Select(c => (long)c!));
            foreach (JsonNode? row in answer["predictions"]!["Species"]!["probabilities"]!.AsArray())
                Assert.Equal(1.0, row!.AsArray().Sum(p => (double)p!), 6);
        }
        finally
        {
            await Stop(app, client);
        }
    }
}
