using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MtlDsl.TestModels;
using OnnxServing;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// The serving sample at the HTTP level, with bytes sent as they are over a loopback socket: every malformed request
/// is a 4xx with a problem body that names the problem, a body over the limit is refused before it is read, and at
/// most --MaxConcurrentRequests requests are answered at once (the next waits, then is a 503 with Retry-After).
/// </summary>
public sealed class ServingHttpTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-serving-http-" + Guid.NewGuid().ToString("N"));
    private string _model = null!;

    public Task InitializeAsync()
    {
        using var model = new RecommenderModel();
        _model = OnnxRuntimeCheck.Export(model, _folder).Path;
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Post(byte[] body) =>
        [.. Ascii($"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), .. body];

    private static byte[] PostChunked(string chunks) =>
        Ascii("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks);

    // Requests that were 500s: names System.Text.Json parses but will not make a string of, and chunk sizes that
    // overflow, which Kestrel reports as an IOException rather than a bad request.
    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "a lone high surrogate escape in an input name", Post(Encoding.UTF8.GetBytes("{\"inputs\": {\"\\ud800\": [[1]]}}")), "An input name is not valid Unicode text" },
        { "a lone low surrogate escape in an input name", Post(Encoding.UTF8.GetBytes("{\"inputs\": {\"Dense\": [[1]], \"\\udc00x\": [[1]]}}")), "An input name is not valid Unicode text" },
        { "bytes that are not UTF-8 in an input name", Post([.. Encoding.UTF8.GetBytes("{\"inputs\": {\""), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\": [[1]]}}")]), "An input name is not valid Unicode text" },
        { "a lone surrogate escape in a key beside inputs", Post(Encoding.UTF8.GetBytes("{\"\\ud800\": 1, \"inputs\": {}}")), "A key of the request is not valid Unicode text" },
        { "a chunk size of sixteen F's", PostChunked("FFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n"), "Bad chunk size data" },
        { "a chunk size of eight F's", PostChunked("FFFFFFFF\r\n{}\r\n0\r\n\r\n"), "Bad chunk size data" },
        { "a chunk size that is not hexadecimal", PostChunked("zz\r\n{}\r\n0\r\n\r\n"), "chunk" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task AMalformedRequestIsA400WithAProblemBody(string what, byte[] request, string detail)
    {
        var (app, client) = await ServingTests.Start(_model);
        try
        {
            var (status, _, body) = await RawHttp.SendAsync(client.BaseAddress!.Port, request);
            Assert.True(status == 400, $"{what}: {status} {body}");
            JsonNode problem = JsonNode.Parse(body)!;
            Assert.Equal(400, (int)problem["status"]!);
            Assert.Contains(detail, (string)problem["detail"]!, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Json(ServingTests.Request(1).Body))).StatusCode);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    [Fact]
    public async Task ABodyDeclaredOverTheLimitIsA413BeforeAnyOfItIsSent()
    {
        var (app, client) = await ServingTests.Start(_model, "--MaxRequestBytes", "200000");
        try
        {
            // Only the headers: the answer comes without the server waiting for (or holding) the 10 MB.
            byte[] headers = Ascii("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n");
            var (status, _, body) = await RawHttp.SendAsync(client.BaseAddress!.Port, headers);
            Assert.Equal(413, status);
            Assert.Contains("at most 200000 bytes (--MaxRequestBytes)", (string)JsonNode.Parse(body)!["detail"]!);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    [Fact]
    public async Task AChunkedBodyOverTheLimitIsA413()
    {
        var (app, client) = await ServingTests.Start(_model, "--MaxRequestBytes", "200000");
        try
        {
            string chunk = new(' ', 0x10000);
            string chunks = string.Concat(Enumerable.Repeat($"10000\r\n{chunk}\r\n", 4)) + "0\r\n\r\n";
            var (status, _, body) = await RawHttp.SendAsync(client.BaseAddress!.Port, PostChunked(chunks));
            Assert.Equal(413, status);
            Assert.Equal(413, (int)JsonNode.Parse(body)!["status"]!);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Json(ServingTests.Request(1).Body))).StatusCode);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    [Fact]
    public async Task ARequestBeyondTheConcurrencyLimitIsA503WithRetryAfter()
    {
        var (app, client) = await ServingTests.Start(_model, "--MaxConcurrentRequests", "1", "--MaxQueueMilliseconds", "50");
        try
        {
            RequestGate gate = app.Services.GetRequiredService<RequestGate>();
            await using var slow = await SlowRequest.StartAsync(client.BaseAddress!.Port, gate);
            using HttpResponseMessage busy = await client.PostAsync("/predict", Json(ServingTests.Request(1).Body));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
            Assert.Contains("Every slot is taken (--MaxConcurrentRequests 1) and none came free within 50 ms", (string)JsonNode.Parse(await busy.Content.ReadAsStringAsync())!["detail"]!);
            // The slow request is answered in full, and its slot is free again afterwards.
            Assert.Equal(200, await slow.FinishAsync());
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Json(ServingTests.Request(1).Body))).StatusCode);
            Assert.Equal(0, gate.InFlight);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    [Fact]
    public async Task ARequestBeyondTheLimitWaitsForASlot()
    {
        var (app, client) = await ServingTests.Start(_model, "--MaxConcurrentRequests", "1", "--MaxQueueMilliseconds", "30000");
        try
        {
            RequestGate gate = app.Services.GetRequiredService<RequestGate>();
            await using var slow = await SlowRequest.StartAsync(client.BaseAddress!.Port, gate);
            Task<HttpResponseMessage> waiting = client.PostAsync("/predict", Json(ServingTests.Request(1).Body));
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted, "the second request was answered while the only slot was taken");
            Assert.Equal(200, await slow.FinishAsync());
            using HttpResponseMessage answer = await waiting;
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        finally
        {
            await ServingTests.Stop(app, client);
        }
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>A request whose headers and first bytes are sent, holding its slot until <see cref="FinishAsync"/> sends the rest.</summary>
    private sealed class SlowRequest : IAsyncDisposable
    {
        private readonly TcpClient _tcp = new();
        private byte[] _rest = [];

        public static async Task<SlowRequest> StartAsync(int port, RequestGate gate)
        {
            var slow = new SlowRequest();
            byte[] request = Post(Encoding.UTF8.GetBytes(ServingTests.Request(2).Body.ToJsonString()));
            int split = request.Length - 10;
            await slow._tcp.ConnectAsync(IPAddress.Loopback, port);
            await slow._tcp.GetStream().WriteAsync(request.AsMemory(0, split));
            slow._rest = request[split..];
            // The server has taken the slot once the handler runs, which it does on the headers alone.
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (gate.InFlight == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the slow request never took its slot");
                await Task.Delay(10);
            }
            return slow;
        }

        public async Task<int> FinishAsync()
        {
            NetworkStream stream = _tcp.GetStream();
            await stream.WriteAsync(_rest);
            return (await RawHttp.ReadAsync(stream)).Status;
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>HTTP/1.1 over a loopback socket, bytes as they are: what HttpClient would refuse to send.</summary>
internal static class RawHttp
{
    public static async Task<(int Status, Dictionary<string, string> Headers, string Body)> SendAsync(int port, byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = tcp.GetStream();
        await stream.WriteAsync(request);
        return await ReadAsync(stream);
    }

    /// <summary>One response: status, headers, and the body (by Content-Length, chunks, or to the end), within 10 s.</summary>
    public static async Task<(int Status, Dictionary<string, string> Headers, string Body)> ReadAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reader = new Reader(stream, timeout.Token);
        string statusLine = await reader.LineAsync();
        int status = int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (string line; (line = await reader.LineAsync()).Length > 0;)
            headers[line[..line.IndexOf(':')]] = line[(line.IndexOf(':') + 1)..].Trim();
        var body = new MemoryStream();
        if (headers.TryGetValue("Content-Length", out string? length))
            body.Write(await reader.BytesAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)));
        else if (headers.TryGetValue("Transfer-Encoding", out string? encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            for (int size; (size = Convert.ToInt32((await reader.LineAsync()).Split(';')[0], 16)) > 0; await reader.LineAsync())
                body.Write(await reader.BytesAsync(size));
        else
            body.Write(await reader.RestAsync());
        return (status, headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    private sealed class Reader(Stream stream, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start, _end;

        private async Task<bool> FillAsync()
        {
            if (_start == _end) _start = _end = 0;
            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _end += read;
            return read > 0;
        }

        public async Task<string> LineAsync()
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end && !await FillAsync()) throw new EndOfStreamException("The server closed the connection mid-response.");
                byte b = _buffer[_start++];
                if (b == '\n') return Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
                line.Add(b);
            }
        }

        public async Task<byte[]> BytesAsync(int count)
        {
            byte[] bytes = new byte[count];
            for (int got = 0; got < count;)
            {
                if (_start == _end && !await FillAsync()) throw new EndOfStreamException("The server closed the connection mid-body.");
                int take = Math.Min(count - got, _end - _start);
                _buffer.AsSpan(_start, take).CopyTo(bytes.AsSpan(got));
                _start += take;
                got += take;
            }
            return bytes;
        }

        public async Task<byte[]> RestAsync()
        {
            var rest = new MemoryStream();
            rest.Write(_buffer, _start, _end - _start);
            for (_start = _end = 0; await FillAsync(); _start = _end = 0) rest.Write(_buffer, 0, _end);
            return rest.ToArray();
        }
    }
}
