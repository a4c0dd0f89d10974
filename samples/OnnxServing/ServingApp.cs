using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OnnxServing;

/// <summary>
/// The minimal API: GET / describes the model; POST /predict answers every task's prediction. A request that does
/// not fit the model (malformed JSON, a missing or unknown input, a sample of the wrong shape, an id outside the
/// vocabulary, too many samples, an input or key given twice) is a 400 problem response that says what is wrong; a
/// body over the limit is a 413; inputs so far out of range that an output is infinite are a 422.
/// Settings (command line or environment): <c>--MaxSamples</c>, <c>--MaxRequestBytes</c>, <c>--Threads</c> (ONNX
/// Runtime's per inference; 0, the default, is one per physical core), and ASP.NET Core's own (<c>--urls</c>, logging).
/// </summary>
public static class ServingApp
{
    /// <summary>The most samples one request may hold, unless configured (<c>--MaxSamples</c>).</summary>
    public const int DefaultMaxSamples = 1024;

    /// <summary>The largest request body, unless configured (<c>--MaxRequestBytes</c>).</summary>
    public const long DefaultMaxRequestBytes = 16L << 20;

    /// <summary>The server for the model file, configured from <paramref name="args"/>.</summary>
    /// <exception cref="StartupException">The file is refused or a setting is not valid (one line: what and how to fix it).</exception>
    public static WebApplication Build(string modelPath, string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        IConfiguration settings = builder.Configuration;
        int maxSamples = (int)Setting(settings, "MaxSamples", DefaultMaxSamples, 1, int.MaxValue);
        long maxBytes = Setting(settings, "MaxRequestBytes", DefaultMaxRequestBytes, 1, Array.MaxLength - 1);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBytes);
        int threads = (int)Setting(settings, "Threads", 0, 0, 1024);
        builder.Services.AddSingleton(new Predictor(modelPath, maxSamples, threads));
        builder.Services.AddProblemDetails();

        WebApplication app = builder.Build();
        // Anything unexpected is a 500 problem response with a body, never an empty answer.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapGet("/", (Predictor predictor) => Results.Ok(predictor.Description));
        app.MapPost("/predict", async Task<Results<Ok<System.Text.Json.Nodes.JsonObject>, ProblemHttpResult>> (HttpRequest request, Predictor predictor) =>
        {
            try
            {
                using JsonDocument body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
                return TypedResults.Ok(predictor.Predict(body.RootElement));
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
            catch (BadHttpRequestException e)
            {
                return TypedResults.Problem(e.Message, statusCode: e.StatusCode, title: "The request cannot be read");
            }
        });
        return app;
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

    private static ProblemHttpResult Problem(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request does not fit the model");
}
