using MtlDsl.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>One input of a model as declared: its name, per-sample shape, what it holds, and for ids the range it may take.</summary>
/// <param name="Name">The input's name (<c>input</c> for a model's one unnamed input).</param>
/// <param name="Shape">The shape of one sample, without the batch dimension (empty: one id per sample).</param>
/// <param name="Kind">Features (the model's floating-point type) or ids (int64).</param>
/// <param name="Vocabulary">For ids: every id must lie in <c>[0, Vocabulary)</c>, the smallest vocabulary of the embeddings that read it; else 0.</param>
/// <param name="ReadBy">For ids: the embedding whose vocabulary that is, as the error names it (<c>Embedding(3→4) of block 'Island'</c>).</param>
public sealed record InputDefinition(string Name, IReadOnlyList<int> Shape, InputKind Kind = InputKind.Features, int Vocabulary = 0, string ReadBy = "")
{
    /// <summary>The input as an error names it: <c>'Island' (ids, [])</c>.</summary>
    public override string ToString() => $"'{Name}' ({(Kind == InputKind.Ids ? "ids, " : "")}{ModelSummary.FormatShape(Shape)})";
}

/// <summary>Every input of a model for a batch, one tensor each: the generated <c>Inputs</c> record implements it.</summary>
public interface IModelInputs
{
    /// <summary>The inputs' names, in declaration order.</summary>
    IReadOnlyList<string> InputNames { get; }

    /// <summary>The number of inputs.</summary>
    int Count { get; }

    /// <summary>The tensor of the input at <paramref name="input"/> (declaration order).</summary>
    Tensor this[int input] { get; }
}

/// <summary>An input given to a model does not fit its declaration: a wrong shape or type, an id out of range, a missing tensor.</summary>
public sealed class InputTensorException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public InputTensorException(string input, string message) : base(message) => Input = input;

    // An error about one sample of a batch: the message says where that sample is ("sample 4 of the batch", or once
    // the trainer places it, "row 17 of the data").
    internal InputTensorException(string input, Func<string, string> message, long batchSample) : base(message($"sample {batchSample} of the batch"))
    {
        Input = input;
        BatchSample = batchSample;
        _message = message;
    }

    private readonly Func<string, string>? _message;

    private InputTensorException(InputTensorException inner, string message, long? step, long? row) : base(message, inner)
    {
        Input = inner.Input;
        Step = step;
        Row = row;
    }

    /// <summary>The input at fault, by its declared name.</summary>
    public string Input { get; }

    /// <summary>The training step (counted from 1) whose batch held the tensor, when a trainer raised it; else null.</summary>
    public long? Step { get; }

    /// <summary>The row of the data (its first dimension) that holds the bad value, when a trainer or an evaluation raised it; else null.</summary>
    public long? Row { get; }

    // The sample of the batch that holds the bad value, where one does.
    internal long? BatchSample { get; }

    /// <summary>
    /// The same error, placed in the data: a training step's (or <paramref name="step"/> null: an evaluation's) batch,
    /// gathered at <paramref name="indices"/>, so that the sample of the batch becomes the row of the data.
    /// </summary>
    internal InputTensorException InBatch(long? step, Tensor indices)
    {
        if (Step is not null || Row is not null) return this;
        long? row = BatchSample is long sample && sample < indices.numel() ? indices[sample].item<long>() : null;
        string message = row is not null && _message is not null ? _message($"row {row} of the data") : Message;
        return new InputTensorException(this, (step is null ? "Evaluation: " : $"Training step {step}: ") + message, step, row);
    }
}

/// <summary>The checks every forward pass makes on a model's inputs before they reach a layer.</summary>
internal static class InputChecks
{
    /// <summary>The tensors of a typed inputs record, checked to be the model's own (names and order).</summary>
    public static Tensor[] Tensors(string model, IReadOnlyList<InputDefinition> declared, IModelInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        IReadOnlyList<string> names = inputs.InputNames;
        if (!names.SequenceEqual(declared.Select(d => d.Name)))
            throw new ArgumentException($"{model} reads the inputs {string.Join(", ", declared.Select(d => d.Name))}; the record given holds {string.Join(", ", names)}. Pass {model}.Inputs.", nameof(inputs));
        var tensors = new Tensor[inputs.Count];
        for (int i = 0; i < tensors.Length; i++) tensors[i] = inputs[i];
        return tensors;
    }

    /// <summary>Checks every input's presence, shape, type and ids against the declaration; the samples must agree in number.</summary>
    public static void Check(string model, IReadOnlyList<InputDefinition> declared, IReadOnlyList<Tensor> inputs, ScalarType? modelType)
    {
        if (inputs.Count != declared.Count)
            throw new ArgumentException($"{model} reads {declared.Count} inputs ({string.Join(", ", declared)}); got {inputs.Count} tensors.", nameof(inputs));
        long samples = -1;
        for (int i = 0; i < declared.Count; i++)
        {
            InputDefinition input = declared[i];
            Tensor tensor = inputs[i] ?? throw new InputTensorException(input.Name, $"{model}: input '{input.Name}' is missing (null).");
            string what = declared.Count == 1 && input.Name == "input" ? "the input" : $"input '{input.Name}'";
            long[] shape = tensor.shape;
            bool fits = shape.Length == input.Shape.Count + 1;
            for (int d = 0; fits && d < input.Shape.Count; d++)
                fits = shape[d + 1] == input.Shape[d];
            if (!fits)
                throw new InputTensorException(input.Name,
                    $"{model}: {what} has shape {TaskLosses.Format(shape)}, expected [N{string.Concat(input.Shape.Select(s => ", " + s))}] " +
                    $"(a batch of samples of the declared {(input.Kind == InputKind.Ids ? "ids" : "input")} shape {ModelSummary.FormatShape(input.Shape)}).");
            if (samples >= 0 && shape[0] != samples)
                throw new InputTensorException(input.Name,
                    $"{model}: input '{input.Name}' has {shape[0]} samples, input '{declared[0].Name}' {samples}; every input of a batch holds the same samples.");
            samples = shape[0];
            if (input.Kind == InputKind.Ids) CheckIds(model, input, tensor);
            else CheckType(model, what, input, tensor, modelType);
        }
    }

    // The type, checked here rather than deep in libtorch ("mat1 and mat2 must have the same dtype"). A model without
    // parameters (only pooling and activations) computes in whatever type it is given.
    private static void CheckType(string model, string what, InputDefinition input, Tensor tensor, ScalarType? modelType)
    {
        if (modelType is not ScalarType type || tensor.dtype == type) return;
        throw new InputTensorException(input.Name,
            $"{model}: {what} is {tensor.dtype}, the model computes in {type}. " +
            (tensor.is_floating_point()
                ? $"Convert the input (input.to(ScalarType.{type})), or the model (model.to(ScalarType.{tensor.dtype}))."
                : $"Convert the input to {type} (input.to(ScalarType.{type})), scaled as the model expects (8-bit images usually to [0, 1])" +
                  (tensor.dtype is ScalarType.Int64 or ScalarType.Int32 ? ", or, if it holds categorical ids, declare it with Kind = InputKind.Ids and read it with an Embedding." : ".")));
    }

    private static void CheckIds(string model, InputDefinition input, Tensor ids)
    {
        if (ids.dtype != ScalarType.Int64)
            throw new InputTensorException(input.Name,
                $"{model}: input '{input.Name}' holds categorical ids, as Int64; got {ids.dtype}" +
                (ids.is_floating_point() ? " (ids are whole numbers: convert them with ids.to(ScalarType.Int64))." : $"; convert it with ids.to(ScalarType.Int64)."));
        if (ids.numel() == 0 || input.Vocabulary <= 0) return;
        using var scope = NewDisposeScope();
        long low = ids.min().item<long>(), high = ids.max().item<long>();
        if (low >= 0 && high < input.Vocabulary) return;
        long bad = low < 0 ? low : high;
        using Scalar badId = bad.ToScalar();
        long position = ids.reshape(-1).eq(badId).nonzero()[0, 0].item<long>();
        long perSample = Math.Max(1, ids.numel() / ids.shape[0]);
        throw new InputTensorException(input.Name, where =>
            $"{model}: input '{input.Name}' holds the id {bad} ({where}), but {input.ReadBy} reads ids in [0, {input.Vocabulary}). " +
            (bad < 0 ? "Map missing or unknown values to an id of their own (a padding index) instead of a negative number."
                     : $"Enlarge the vocabulary to cover every id, or map unseen values to one id of their own."),
            position / perSample);
    }
}
