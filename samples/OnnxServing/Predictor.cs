using System.Globalization;
using System.Text;
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
    /// <param name="utf8Json">The request body: <c>{"inputs": {"&lt;input&gt;": [&lt;sample&gt;, ...], ...}}</c>.</param>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    /// <exception cref="RequestException">The request does not fit the model (names the input, the sample and what was expected).</exception>
    /// <exception cref="OutputException">An output came out infinite or NaN (names the task and the sample).</exception>
    /// <remarks>
    /// The body is read in place with <see cref="Utf8JsonReader"/> straight into the tensors: no document of it is
    /// built, so a request holds its body and its tensors, nothing in proportion to its number of JSON tokens.
    /// </remarks>
    public JsonObject Predict(ReadOnlySpan<byte> utf8Json)
    {
        // The syntax of the whole body first: a body that is not JSON is reported as such, whatever else is wrong.
        var syntax = new Utf8JsonReader(utf8Json);
        while (syntax.Read()) { }

        // Then its structure: "inputs" once, an object of known input names, each once; where each input's value lies.
        var batches = new Dictionary<string, Range>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(utf8Json);
        reader.Read();
        bool found = false, isObject = false;
        if (reader.TokenType == JsonTokenType.StartObject)
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool inputs = Name(ref reader, "A key of the request") == "inputs";
                reader.Read();
                if (inputs && found) throw new RequestException("The request names \"inputs\" twice; send it once.");
                found |= inputs;
                if (!inputs || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                isObject = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string name = Name(ref reader, "An input name");
                    if (!Inputs.Any(i => i.Name == name))
                        throw new RequestException($"The model has no input '{name}'; it reads {Names()}.");
                    if (batches.ContainsKey(name))
                        throw new RequestException($"Input '{name}' is given twice; give each input once.");
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    batches[name] = start..(int)reader.BytesConsumed;
                }
            }
        if (!isObject)
            throw new RequestException($"The request is a JSON object with \"inputs\": an object of {Names()}, each an array of samples.");

        int? samples = null;
        var values = new List<OrtValue>();
        try
        {
            foreach (ServedInput input in Inputs)
            {
                if (!batches.TryGetValue(input.Name, out Range range))
                    throw new RequestException($"Input '{input.Name}' is missing; the model reads {Names()}.");
                var batch = new Utf8JsonReader(utf8Json[range]);
                batch.Read();
                if (batch.TokenType != JsonTokenType.StartArray)
                    throw new RequestException($"Input '{input.Name}' is an array of samples, each {SampleWords(input)}; got {Kind(batch)}.");
                int count = Count(batch);
                if (count == 0) throw new RequestException($"Input '{input.Name}' holds no sample; send at least one.");
                if (count > MaxSamples) throw new RequestException($"Input '{input.Name}' holds {Samples(count)}; this server takes at most {MaxSamples} per request.");
                if (samples is int first && count != first)
                    throw new RequestException($"Input '{input.Name}' holds {Samples(count)} but '{Inputs[0].Name}' holds {first}: every input gives one entry per sample.");
                samples = count;
                long[] shape = [count, .. input.Shape.Select(s => (long)s)];
                // Sized up front (samples × the sample's size, both bounded): no growing copies of a large request.
                int size = count * input.Shape.Aggregate(1, (a, b) => a * b);
                if (input.Ids)
                {
                    long[] ids = new long[size];
                    ReadBatch(input, ref batch, count, null, ids);
                    values.Add(OrtValue.CreateTensorValueFromMemory(ids, shape));
                }
                else
                {
                    float[] features = new float[size];
                    ReadBatch(input, ref batch, count, features, null);
                    values.Add(OrtValue.CreateTensorValueFromMemory(features, shape));
                }
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

    // Reads every sample of a batch (the reader on its StartArray) into features or ids, in row-major order.
    private static void ReadBatch(ServedInput input, ref Utf8JsonReader reader, int count, float[]? features, long[]? ids)
    {
        int[] path = new int[input.Shape.Length];
        int index = 0;
        for (int sample = 0; sample < count; sample++)
        {
            reader.Read();
            Walk(input, ref reader, 0, sample, path, ref index, features, ids);
        }
    }

    // One value at depth of a sample: nested arrays of the input's shape down to numbers. Every array's length is
    // checked before its items are read (so the index stays in range); the reader ends on the value's last token.
    private static void Walk(ServedInput input, ref Utf8JsonReader reader, int depth, int sample, int[] path, ref int index, float[]? features, long[]? ids)
    {
        if (depth == input.Shape.Length)
        {
            if (features is not null)
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double number) || !double.IsFinite(number) || Math.Abs(number) > float.MaxValue)
                    throw new RequestException($"Input '{input.Name}', {Where(sample, path, depth)}: expected a finite number (float32), got {Kind(reader)}.");
                features[index++] = (float)number;
            }
            else
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long id))
                    throw new RequestException($"Input '{input.Name}', {Where(sample, path, depth)}: expected an integer id, got {Kind(reader)}.");
                if (id < 0 || (input.Vocabulary is long vocabulary && id >= vocabulary))
                    throw new RequestException($"Input '{input.Name}', {Where(sample, path, depth)}: id {id} lies outside the vocabulary [0, {input.Vocabulary?.ToString(CultureInfo.InvariantCulture) ?? "…"}).");
                ids![index++] = id;
            }
            return;
        }
        if (reader.TokenType != JsonTokenType.StartArray || Count(reader) != input.Shape[depth])
            throw new RequestException($"Input '{input.Name}', {Where(sample, path, depth)}: expected {Expected(input, depth)}, got {Kind(reader)}" +
                (depth == 0 && reader.TokenType == JsonTokenType.Number ? " (the input is an array of samples, each itself an array: [[…], [...]])." : "."));
        for (int item = 0; item < input.Shape[depth]; item++)
        {
            path[depth] = item;
            reader.Read();
            Walk(input, ref reader, depth + 1, sample, path, ref index, features, ids);
        }
        reader.Read();
    }

    // "sample 3[1][0]": where a value lies, built only for a message.
    private static string Where(int sample, int[] path, int depth) =>
        $"sample {sample}" + string.Concat(path.Take(depth).Select(i => $"[{i}]"));

    // The items of the array the reader is on (a copy of the reader walks them; the caller's stays where it is).
    private static int Count(Utf8JsonReader array)
    {
        int count = 0;
        while (array.Read() && array.TokenType != JsonTokenType.EndArray)
        {
            array.Skip();
            count++;
        }
        return count;
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

    // What the value the reader is on is, for a message (a copy of the reader looks; a long number is cut short).
    private static string Kind(Utf8JsonReader value) => value.TokenType switch
    {
        JsonTokenType.StartArray => $"an array of {Count(value)}",
        JsonTokenType.Number => $"the number {(value.ValueSpan.Length <= 40 ? Encoding.UTF8.GetString(value.ValueSpan) : Encoding.UTF8.GetString(value.ValueSpan[..40]) + "…")}",
        JsonTokenType.String => "a string",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "an object",
    };

    // A property's name. JSON text can escape what is not Unicode (a lone surrogate such as \ud800) or carry bytes that
    // are not UTF-8: System.Text.Json reads past both but will not make a string of them (InvalidOperationException).
    private string Name(ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new RequestException($"{what} is not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800, or bytes that are not UTF-8); the model reads {Names()}.");
        }
    }

    private string Names() => string.Join(", ", Inputs.Select(i => $"'{i.Name}'"));

    public void Dispose() => _session.Dispose();
}
