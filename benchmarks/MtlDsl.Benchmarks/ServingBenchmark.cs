using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Benchmarks;

/// <summary>
/// Inference of one exported model, three ways, side by side in one run: the TorchSharp module in this process
/// (tensors from the request's arrays, forward in evaluation mode, outputs back to arrays), the same ONNX file in
/// ONNX Runtime in this process, and the serving sample (samples/OnnxServing, ONNX Runtime alone, in its own
/// process) called over loopback HTTP with the request as JSON. Requests are sequential (one client); rounds
/// interleave the three, the order rotating, so machine noise falls on all alike. Prints requests per second,
/// latency percentiles, and each one's throughput relative to TorchSharp in-process (median of the per-round ratios).
/// </summary>
internal static class ServingBenchmark
{
    private static readonly string[] Names = ["TorchSharp, in process", "ONNX Runtime, in process", "ONNX Runtime over HTTP (samples/OnnxServing)"];

    public static void Run(int rounds, int requestsPerRound, int threads)
    {
        Console.WriteLine($"Inference per request, {rounds} rounds of {requestsPerRound} sequential requests each way, {threads} threads (TorchSharp and ONNX Runtime alike).");
        Console.WriteLine();
        string folder = Path.Combine(Path.GetTempPath(), "mtldsl-serving-benchmark-" + Guid.NewGuid().ToString("N"));
        try
        {
            Measure("BenchmarkMMoE (8 experts on 256 features, 2 towers)", new BenchmarkMMoE(), 1, folder, rounds, requestsPerRound, threads);
            Measure("BenchmarkMMoE", new BenchmarkMMoE(), 32, folder, rounds, requestsPerRound, threads);
            Measure("VisionModel (the article's CNN, 3×28×28)", new VisionModel(), 1, folder, rounds, requestsPerRound, threads);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    private static void Measure<TOutputs, TTargets>(string title, MultiTaskModule<TOutputs, TTargets> model, int batch, string folder, int rounds, int requestsPerRound, int threads)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        using var _ = model;
        model.eval();
        string path = Path.Combine(folder, $"{model.GetName()}.onnx");
        OnnxExport export = model.ExportOnnx(path);
        int[] shape = [.. model.InputShape];
        long[] dims = [batch, .. shape.Select(s => (long)s)];
        var random = new Random(1);
        float[] sample = Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        string body = RequestBody(export.Inputs[0], sample, batch, shape);

        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        using var runOptions = new RunOptions();
        using Process server = StartServer(path, threads, out Uri address);
        using var client = new HttpClient { BaseAddress = address };

        float checksum = 0;
        void TorchSharpRequest()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            TOutputs outputs = model.forward(tensor(sample, dims));
            for (int k = 0; k < model.Tasks.Count; k++) checksum += outputs[k].data<float>().ToArray()[0];
        }
        void OnnxRequest()
        {
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(sample, dims);
            using var results = session.Run(runOptions, export.Inputs, [input], export.Outputs);
            foreach (OrtValue result in results) checksum += result.GetTensorDataAsSpan<float>().ToArray()[0];
        }
        void HttpRequest()
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = client.PostAsync("/predict", content).GetAwaiter().GetResult();
            string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"The server answered {(int)response.StatusCode}: {text}");
            using JsonDocument answer = JsonDocument.Parse(text);
            checksum += answer.RootElement.GetProperty("samples").GetInt32();
        }
        Action[] candidates = [TorchSharpRequest, OnnxRequest, HttpRequest];
        foreach (Action request in candidates) for (int i = 0; i < 20; i++) request();

        var latencies = candidates.Select(_ => new List<double>()).ToArray();
        var (seconds, ratios) = Statistics.Interleaved(candidates.Length, rounds, c =>
        {
            var total = Stopwatch.StartNew();
            for (int i = 0; i < requestsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                candidates[c]();
                latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            return total.Elapsed.TotalSeconds;
        });

        Console.WriteLine($"{title}, batch {batch}: {export.Inputs[0]} {Shape(dims)} → {string.Join(", ", export.Outputs)} (checksum {checksum:G3})");
        Console.WriteLine($"  {"",-46} {"req/s",9} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"req/s ÷ TorchSharp",20}");
        for (int c = 0; c < candidates.Length; c++)
        {
            double perSecond = requestsPerRound * rounds / seconds[c].Sum();
            // Throughput ratio: the inverse of the per-round time ratio.
            double relative = 1 / Statistics.Median(ratios[c]);
            Console.WriteLine($"  {Names[c],-46} {perSecond,9:F0} {Percentile(latencies[c], 50),8:F3} {Percentile(latencies[c], 90),8:F3} {Percentile(latencies[c], 99),8:F3} {relative,20:F2}");
        }
        Console.WriteLine();
        server.Kill(entireProcessTree: true);
    }

    // The serving sample in its own process (dotnet OnnxServing.dll, copied beside this benchmark), on a free loopback port.
    private static Process StartServer(string model, int threads, out Uri address)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        address = new Uri($"http://127.0.0.1:{port}");
        string dll = Path.Combine(AppContext.BaseDirectory, "OnnxServing.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "--Model", model, "--urls", address.ToString(), "--Threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture), "--Logging:LogLevel:Default", "Warning"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process server = Process.Start(start) ?? throw new InvalidOperationException("Could not start the serving sample.");
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        using var probeClient = new HttpClient { BaseAddress = address };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (probeClient.GetAsync("/").GetAwaiter().GetResult().IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) when (waited.Elapsed < TimeSpan.FromSeconds(60) && !server.HasExited)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static string RequestBody(string input, float[] values, int batch, int[] shape)
    {
        var text = new StringBuilder("{\"inputs\":{\"").Append(input).Append("\":[");
        int offset = 0;
        void Level(int depth)
        {
            if (depth == shape.Length)
            {
                text.Append(values[offset++].ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
            text.Append('[');
            for (int i = 0; i < shape[depth]; i++)
            {
                if (i > 0) text.Append(',');
                Level(depth + 1);
            }
            text.Append(']');
        }
        for (int n = 0; n < batch; n++)
        {
            if (n > 0) text.Append(',');
            Level(0);
        }
        return text.Append("]}}").ToString();
    }

    private static double Percentile(List<double> values, double percent)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percent / 100 * sorted.Count) - 1)];
    }

    private static string Shape(long[] dims) => "[" + string.Join(", ", dims) + "]";
}
