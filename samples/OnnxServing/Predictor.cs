using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace OnnxServing;

/// <summary>A request that does not fit the model, and what is wrong with it (a 400's detail).</summary>
public sealed class RequestException(string message) : Exception(message);

/// <summary>A request the model cannot answer: an output came out infinite or NaN (a 422's detail).</summary>
public sealed class OutputException(string message) : Exception(message);

/// <summary>One input as the ONNX file declares it: ids (int64) or features (float32), the shape of one sample, and for ids the vocabulary.</summary>
public sealed record ServedInput(string Name, bool Ids, int[] Shape, long? Vocabulary);

/// <summary>One task's output as the file declares it: the shape of one sample and the loss it was trained with (MtlDsl's metadata).</summary>
public sealed record ServedTask(string Name, string? Loss, int[] Shape);

/// <summary>
/// Runs an ONNX file that MtlDsl exported in ONNX Runtime: reads what the model takes and gives from the file (its
/// inputs and outputs, and MtlDsl's metadata: input kinds, vocabularies, task losses), checks every request against
/// it, and answers every task's prediction for every sample. One session serves every request (ONNX Runtime's
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/> is thread-safe).
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _outputNames;

    /// <param name="path">The ONNX file, as MtlDsl's ExportOnnx wrote it (<see cref="ModelFile"/> checks its digest).</param>
    /// <param name="maxSamples">The most samples one request may hold.</param>
    /// <param name="threads">ONNX Runtime's threads per inference (0: its default, one per physical core).</param>
    /// <exception cref="StartupException">The file is refused: what is wrong, in one line.</exception>
    public Predictor(string path, int maxSamples, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamples, 1);
        MaxSamples = maxSamples;
        byte[] bytes = ModelFile.Read(path, out string digest);
        string full = Path.GetFullPath(path);
        try
        {
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads };
            _session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw ModelFile.Refuse(full, $"matches its digest but ONNX Runtime cannot load it ({e.Message})", e);
        }
        try
        {
            IReadOnlyDictionary<string, string> metadata = _session.ModelMetadata.CustomMetadataMap;
            // The digest entry ONNX Runtime reads must be the one checked: an earlier entry of the same key would be another.
            if (metadata.GetValueOrDefault(ModelFile.DigestKey) != digest)
                throw ModelFile.Refuse(full, $"holds more than one '{ModelFile.DigestKey}' entry");
            Digest = digest;
            Model = metadata.GetValueOrDefault("mtldsl.model") ?? Path.GetFileNameWithoutExtension(path);
            Metadata = metadata.Where(m => !m.Key.StartsWith("mtldsl.", StringComparison.Ordinal)).OrderBy(m => m.Key, StringComparer.Ordinal)
                .ToDictionary(m => m.Key, m => m.Value);
            Inputs = _session.InputNames.Select(name =>
            {
                NodeMetadata declared = _session.InputMetadata[name];
                bool ids = declared.ElementType == typeof(long);
                if (!ids && declared.ElementType != typeof(float))
                    throw ModelFile.Refuse(full, $"has an input '{name}' of {declared.ElementType.Name}; this server feeds float32 features and int64 ids");
                if (declared.Dimensions.Length == 0 || declared.Dimensions.Skip(1).Any(d => d < 1))
                    throw ModelFile.Refuse(full, $"has an input '{name}' of shape [{string.Join(", ", declared.Dimensions)}]; this server needs a batch dimension first and fixed sizes after it");
                long? vocabulary = null;
                if (metadata.TryGetValue($"mtldsl.input.{name}.vocabulary", out string? text))
                    vocabulary = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long size) && size > 0 ? size
                        : throw ModelFile.Refuse(full, $"gives input '{name}' the vocabulary '{text}', not a positive whole number");
                return new ServedInput(name, ids, declared.Dimensions.Skip(1).ToArray(), vocabulary);
            }).ToArray();
            _outputNames = [.. _session.OutputNames];
            Tasks = _outputNames.Select(name => new ServedTask(name, metadata.GetValueOrDefault($"mtldsl.task.{name}.loss"),
                _session.OutputMetadata[name].Dimensions.Skip(1).ToArray())).ToArray();
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>The SHA-256 of the file's bytes before its digest entry (<see cref="ModelFile.DigestKey"/>), checked at startup.</summary>
    public string Digest { get; }

    public string Model { get; }

    public IReadOnlyList<ServedInput> Inputs { get; }

    /// <summary>The file's own metadata (what the exporter wrote beside MtlDsl's: how to prepare inputs and read outputs).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyList<ServedTask> Tasks { get; }

    /// <summary>The most samples one request may hold.</summary>
    public int MaxSamples { get; }

    /// <summary>What GET / answers: the model, its inputs and tasks, and how to ask.</summary>
    public object Description => new
    {
        model = Model,
        inputs = Inputs.Select(i => i.Vocabulary is long vocabulary
            ? (object)new { name = i.Name, kind = "ids", shape = i.Shape, vocabulary }
            : new { name = i.Name, kind = i.Ids ? "ids" : "features", shape = i.Shape }),
        tasks = Tasks.Select(t => new { name = t.Name, loss = t.Loss, shape = t.Shape }),
        metadata = Metadata,
        sha256 = Digest,
        maxSamples = MaxSamples,
        request = "POST /predict {\"inputs\": {\"<input>\": [<sample>, ...], ...}}: every input, the same number of samples each, a sample nested as its shape",
    };

    /// <summary>Every task's prediction for every sample of the request's inputs.</summary>
    /// <exception cref="RequestException">The request does not fit the model (names the input, the sample and what was expected).</exception>
    public JsonObject Predict(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty("inputs", out JsonElement given) || given.ValueKind != JsonValueKind.Object)
            throw new RequestException($"The request is a JSON object with \"inputs\": an object of {Names()}, each an array of samples.");
        if (request.EnumerateObject().Count(p => p.Name == "inputs") > 1)
            throw new RequestException("The request names \"inputs\" twice; send it once.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in given.EnumerateObject())
        {
            if (!Inputs.Any(i => i.Name == property.Name))
                throw new RequestException($"The model has no input '{property.Name}'; it reads {Names()}.");
            if (!seen.Add(property.Name))
                throw new RequestException($"Input '{property.Name}' is given twice; give each input once.");
        }

        int? samples = null;
        var values = new List<OrtValue>();
        try
        {
            foreach (ServedInput input in Inputs)
            {
                if (!given.TryGetProperty(input.Name, out JsonElement batch))
                    throw new RequestException($"Input '{input.Name}' is missing; the model reads {Names()}.");
                if (batch.ValueKind != JsonValueKind.Array)
                    throw new RequestException($"Input '{input.Name}' is an array of samples, each {SampleWords(input)}; got {Kind(batch)}.");
                int count = batch.GetArrayLength();
                if (count == 0) throw new RequestException($"Input '{input.Name}' holds no sample; send at least one.");
                if (count > MaxSamples) throw new RequestException($"Input '{input.Name}' holds {Samples(count)}; this server takes at most {MaxSamples} per request.");
                if (samples is int first && count != first)
                    throw new RequestException($"Input '{input.Name}' holds {Samples(count)} but '{Inputs[0].Name}' holds {first}: every input gives one entry per sample.");
                samples = count;
                long[] shape = [count, .. input.Shape.Select(s => (long)s)];
                values.Add(input.Ids ? OrtValue.CreateTensorValueFromMemory(ReadIds(input, batch), shape) : OrtValue.CreateTensorValueFromMemory(ReadFeatures(input, batch), shape));
            }
            using var options = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(options, _session.InputNames, values, _outputNames);
            var predictions = new JsonObject();
            for (int k = 0; k < Tasks.Count; k++)
            {
                float[] output = results[k].GetTensorDataAsSpan<float>().ToArray();
                int bad = Array.FindIndex(output, v => !float.IsFinite(v));
                if (bad >= 0)
                {
                    int per = Math.Max(1, output.Length / samples!.Value);
                    throw new OutputException($"Task '{Tasks[k].Name}', sample {bad / per}: the model's output is {output[bad].ToString(CultureInfo.InvariantCulture)}, " +
                        "not a finite number: the sample's inputs lie far outside what the model was trained on.");
                }
                predictions[Tasks[k].Name] = Prediction(Tasks[k], output, samples!.Value);
            }
            return new JsonObject { ["model"] = Model, ["samples"] = samples, ["predictions"] = predictions };
        }
        finally
        {
            foreach (OrtValue value in values) value.Dispose();
        }
    }

    // A task's outputs per sample, and what its loss makes of them: classes and probabilities for cross-entropy over
    // one axis of classes, the probability of each label for binary cross-entropy.
    private static JsonObject Prediction(ServedTask task, float[] output, int samples)
    {
        int per = task.Shape.Aggregate(1, (a, b) => a * b);
        var result = new JsonObject { ["output"] = Nest(output, samples, task.Shape) };
        if (task.Loss == "CrossEntropy" && task.Shape.Length == 1)
        {
            var classes = new JsonArray();
            var probabilities = new JsonArray();
            for (int n = 0; n < samples; n++)
            {
                ReadOnlySpan<float> logits = output.AsSpan(n * per, per);
                float max = float.NegativeInfinity;
                int best = 0;
                for (int c = 0; c < per; c++) if (logits[c] > max) (max, best) = (logits[c], c);
                double sum = 0;
                foreach (float logit in logits) sum += Math.Exp(logit - max);
                classes.Add(best);
                var row = new JsonArray();
                foreach (float logit in logits) row.Add(Math.Exp(logit - max) / sum);
                probabilities.Add(row);
            }
            result["class"] = classes;
            result["probabilities"] = probabilities;
        }
        else if (task.Loss == "BinaryCrossEntropyWithLogits")
        {
            result["probability"] = Nest(output.Select(x => (float)(1 / (1 + Math.Exp(-x)))).ToArray(), samples, task.Shape);
        }
        return result;
    }

    // Values [samples, ...shape] in row-major order as nested JSON arrays.
    private static JsonArray Nest(float[] values, int samples, int[] shape)
    {
        int offset = 0;
        JsonNode? Level(int depth) => depth == shape.Length
            ? JsonValue.Create(values[offset++])
            : new JsonArray([.. Enumerable.Range(0, shape[depth]).Select(_ => Level(depth + 1))]);
        return new JsonArray([.. Enumerable.Range(0, samples).Select(_ => Level(0))]);
    }

    private static float[] ReadFeatures(ServedInput input, JsonElement batch)
    {
        var values = new List<float>();
        Read(input, batch, (value, where) =>
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number) || Math.Abs(number) > float.MaxValue)
                throw new RequestException($"Input '{input.Name}', {where}: expected a finite number (float32), got {Kind(value)}.");
            values.Add((float)number);
        });
        return [.. values];
    }

    private static long[] ReadIds(ServedInput input, JsonElement batch)
    {
        var values = new List<long>();
        Read(input, batch, (value, where) =>
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long id))
                throw new RequestException($"Input '{input.Name}', {where}: expected an integer id, got {Kind(value)}.");
            if (id < 0 || (input.Vocabulary is long vocabulary && id >= vocabulary))
                throw new RequestException($"Input '{input.Name}', {where}: id {id} lies outside the vocabulary [0, {input.Vocabulary?.ToString(CultureInfo.InvariantCulture) ?? "…"}).");
            values.Add(id);
        });
        return [.. values];
    }

    // Walks every sample as nested arrays of the input's shape and hands each number, with where it is, to read.
    private static void Read(ServedInput input, JsonElement batch, Action<JsonElement, string> read)
    {
        int sample = 0;
        void Walk(JsonElement value, int depth, string where)
        {
            if (depth == input.Shape.Length)
            {
                read(value, where);
                return;
            }
            if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != input.Shape[depth])
                throw new RequestException($"Input '{input.Name}', {where}: expected {Expected(input, depth)}, got {Kind(value)}" +
                    (depth == 0 && value.ValueKind == JsonValueKind.Number ? " (the input is an array of samples, each itself an array: [[…], [...]])." : "."));
            int index = 0;
            foreach (JsonElement item in value.EnumerateArray()) Walk(item, depth + 1, $"{where}[{index++}]");
        }
        foreach (JsonElement item in batch.EnumerateArray()) Walk(item, 0, $"sample {sample++}");
    }

    private static string Expected(ServedInput input, int depth)
    {
        int[] shape = input.Shape;
        string values = input.Ids ? (shape[depth] == 1 ? "id" : "ids") : (shape[depth] == 1 ? "number" : "numbers");
        return depth == shape.Length - 1 ? $"an array of {shape[depth]} {values}" : $"an array of {shape[depth]} arrays (a sample is [{string.Join(", ", shape)}])";
    }

    private static string Samples(int count) => count == 1 ? "1 sample" : $"{count} samples";

    private static string SampleWords(ServedInput input) => input.Shape.Length == 0
        ? (input.Ids ? "one id" : "one number")
        : $"{(input.Ids ? "ids" : "numbers")} nested as [{string.Join(", ", input.Shape)}]";

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => $"an array of {value.GetArrayLength()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private string Names() => string.Join(", ", Inputs.Select(i => $"'{i.Name}'"));

    public void Dispose() => _session.Dispose();
}
