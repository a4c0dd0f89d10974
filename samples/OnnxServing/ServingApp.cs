using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OnnxServing;

/// <summary>
/// The minimal API: GET / describes the model; POST /predict answers every task's prediction. A request that does
/// not fit the model (malformed JSON or HTTP framing, a missing or unknown input, an input name that is not Unicode, a
/// sample of the wrong shape, an id outside the vocabulary, too many samples, an input or key given twice) is a 400
/// problem response that says what is wrong; a body over the limit is a 413; inputs so far out of range that an output
/// is infinite are a 422; a request that finds every slot taken for longer than the queue allows is a 503 with
/// Retry-After. Settings (command line or environment): <c>--MaxSamples</c>, <c>--MaxRequestBytes</c>,
/// <c>--MaxConcurrentRequests</c>, <c>--MaxQueueMilliseconds</c>, <c>--Threads</c> (ONNX Runtime's per inference; 0,
/// the default, is one per physical core), and ASP.NET Core's own (<c>--urls</c>, logging).
/// </summary>
public static class ServingApp
{
    /// <summary>The most samples one request may hold, unless configured (<c>--MaxSamples</c>).</summary>
    public const int DefaultMaxSamples = 1024;

    /// <summary>The largest request body, unless configured (<c>--MaxRequestBytes</c>).</summary>
    public const long DefaultMaxRequestBytes = 16L << 20;

    /// <summary>How long a request waits for a slot before it is a 503, unless configured (<c>--MaxQueueMilliseconds</c>).</summary>
    public const int DefaultMaxQueueMilliseconds = 1000;

    /// <summary>
    /// The most /predict requests answered at once, unless configured (<c>--MaxConcurrentRequests</c>): two per core,
    /// enough to keep ONNX Runtime busy while other requests' bodies arrive and their answers are written.
    /// </summary>
    public static int DefaultMaxConcurrentRequests => 2 * Environment.ProcessorCount;

    /// <summary>The server for the model file, configured from <paramref name="args"/>.</summary>
    /// <exception cref="StartupException">The file is refused or a setting is not valid (one line: what and how to fix it).</exception>
    public static WebApplication Build(string modelPath, string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        IConfiguration settings = builder.Configuration;
        int maxSamples = (int)Setting(settings, "MaxSamples", DefaultMaxSamples, 1, int.MaxValue);
        // The body is held in one array, and System.Text.Json reads at most int.MaxValue bytes.
        long maxBytes = Setting(settings, "MaxRequestBytes", DefaultMaxRequestBytes, 1, Array.MaxLength - 1);
        int maxConcurrent = (int)Setting(settings, "MaxConcurrentRequests", DefaultMaxConcurrentRequests, 1, 100_000);
        int queueMilliseconds = (int)Setting(settings, "MaxQueueMilliseconds", DefaultMaxQueueMilliseconds, 0, int.MaxValue);
        int threads = (int)Setting(settings, "Threads", 0, 0, 1024);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBytes);
        builder.Services.AddSingleton(new Predictor(modelPath, maxSamples, threads));
        builder.Services.AddSingleton(new RequestGate(maxConcurrent, TimeSpan.FromMilliseconds(queueMilliseconds)));
        builder.Services.AddProblemDetails();

        WebApplication app = builder.Build();
        // Anything unexpected is a 500 problem response with a body, never an empty answer.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapGet("/", (Predictor predictor) => Results.Ok(predictor.Description));
        app.MapPost("/predict", async (HttpContext context, Predictor predictor, RequestGate gate) =>
        {
            CancellationToken aborted = context.RequestAborted;
            if (!await gate.EnterAsync(aborted))
            {
                context.Response.Headers.RetryAfter = "1";
                return TypedResults.Problem(
                    $"Every slot is taken (--MaxConcurrentRequests {gate.Limit}) and none came free within {gate.Wait.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms (--MaxQueueMilliseconds); retry in a second.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "The server is busy");
            }
            try
            {
                return await Answer(context.Request, predictor, gate, maxBytes, aborted);
            }
            finally
            {
                gate.Leave();
            }
        });
        return app;
    }

    private static async Task<IResult> Answer(HttpRequest request, Predictor predictor, RequestGate gate, long maxBytes, CancellationToken aborted)
    {
        RequestBody body;
        try
        {
            body = await RequestBody.ReadAsync(request, gate.Buffers, maxBytes, aborted);
        }
        catch (BadHttpRequestException e)
        {
            return TypedResults.Problem(e.Message, statusCode: e.StatusCode, title: "The request cannot be read");
        }
        catch (IOException e) when (!aborted.IsCancellationRequested)
        {
            // Kestrel reports some framing errors as IOException, not BadHttpRequestException: a chunk size that
            // overflows (such as FFFFFFFFFFFFFFFF) is "Bad chunk size data". The body is the client's to fix.
            return TypedResults.Problem($"The body cannot be read: {e.Message}", statusCode: StatusCodes.Status400BadRequest, title: "The request cannot be read");
        }
        using (body)
        {
            try
            {
                return TypedResults.Ok<JsonObject>(predictor.Predict(body.Memory.Span));
            }
            catch (JsonException e)
            {
                return Problem($"The body is not JSON: {e.Message}");
            }
            catch (RequestException e)
            {
                return Problem(e.Message);
            }
            catch (OutputException e)
            {
                return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "The model cannot answer this request");
            }
        }
    }

    // A whole-number setting within [min, max], or a StartupException naming it.
    private static long Setting(IConfiguration settings, string name, long fallback, long min, long max)
    {
        string? text = settings[name];
        if (text is null) return fallback;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) && value >= min && value <= max)
            return value;
        throw new StartupException($"--{name} is '{text}'; it takes a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}.");
    }

    private static IResult Problem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request does not fit the model");
}
