using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl;

/// <summary>A module of your own (<see cref="ModuleAttribute"/>) gave an output of another shape than its declaration says.</summary>
public sealed class ModuleOutputException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ModuleOutputException(string module, IReadOnlyList<int> expected, long[] actual, string message) : base(message)
    {
        Module = module;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The module, as the declaration places it: <c>BasicBlock (layer 0 of 'Stage2')</c>.</summary>
    public string Module { get; }

    /// <summary>The declared (or computed) output shape of one sample.</summary>
    public IReadOnlyList<int> Expected { get; }

    /// <summary>The shape of the module's output, the batch dimension first.</summary>
    public IReadOnlyList<long> Actual { get; }
}

/// <summary>
/// A module of your own (<see cref="ModuleAttribute"/>) failed inside a model's forward pass (libtorch's
/// "mat1 and mat2 shapes cannot be multiplied", say): the module, as the declaration places it, and its input.
/// </summary>
public sealed class OwnModuleException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public OwnModuleException(string module, long[] inputShape, Exception inner)
        : base($"{module} failed on an input of shape [{string.Join(", ", inputShape)}]: {FirstLine(inner.Message)} " +
               "The generator infers no size for a module of your own: check the sizes its constructor is given against its input " +
               "(a static OutputShape can refuse a wrong one at compile time, returning -1 where input[0] differs from the in-size it was given).", inner)
    {
        Module = module;
        InputShape = inputShape;
    }

    /// <summary>The module, as the declaration places it: <c>BasicBlock (layer 0 of 'Stage2')</c>.</summary>
    public string Module { get; }

    /// <summary>The shape of the input it failed on, the batch dimension first.</summary>
    public IReadOnlyList<long> InputShape { get; }

    private static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        string line = (end < 0 ? message : message[..end]).TrimEnd();
        return line.EndsWith('.') ? line : line + ".";
    }
}

/// <summary>
/// Which of your own modules is running on this thread, innermost last (their forward pre-hooks push, their forward
/// hooks pop): a model's forward pass names the one that threw.
/// </summary>
internal static class OwnModuleContext
{
    [ThreadStatic] private static List<(string Label, long[] Input)>? t_running;

    private static List<(string Label, long[] Input)> Running => t_running ??= [];

    public static int Depth => t_running?.Count ?? 0;

    public static void Enter(string label, long[] input) => Running.Add((label, input));

    public static void Leave()
    {
        if (Depth > 0) Running.RemoveAt(Running.Count - 1);
    }

    /// <summary>The innermost module running above <paramref name="depth"/>, and the running list cut back to it.</summary>
    public static (string Label, long[] Input) Failed(int depth)
    {
        var running = Running;
        var failed = running[^1];
        running.RemoveRange(depth, running.Count - depth);
        return failed;
    }
}

public static partial class Layers
{
    /// <summary>
    /// Your own module, as a generated model holds it: unchanged (its state-dict names are its own, under the
    /// block's index), with a forward hook that checks every output against the per-sample shape the generator
    /// inferred the rest of the model from.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="label">Where it sits, for the error: <c>BasicBlock (layer 0 of 'Stage2')</c>.</param>
    /// <param name="expected">Its output shape for one sample.</param>
    /// <param name="source">How the generator knows that shape (<c>the attribute's OutputShape</c>, <c>BasicBlock.OutputShape</c>).</param>
    public static T Own<T>(T module, string label, int[] expected, string source) where T : nn.Module<Tensor, Tensor>
    {
        ArgumentNullException.ThrowIfNull(module);
        module.register_forward_pre_hook((_, input) =>
        {
            OwnModuleContext.Enter(label, input.shape);
            return null!; // null keeps the input as it is
        });
        module.register_forward_hook((_, input, output) =>
        {
            OwnModuleContext.Leave();
            long[] shape = output.shape;
            bool fits = shape.Length == expected.Length + 1 && shape[0] == input.shape[0];
            for (int d = 0; fits && d < expected.Length; d++) fits = shape[d + 1] == expected[d];
            if (!fits)
                throw new ModuleOutputException(label, expected, shape,
                    $"{label} returned shape [{string.Join(", ", shape)}] for an input of shape [{string.Join(", ", input.shape)}], but the model was " +
                    $"generated for [N, {string.Join(", ", expected)}] ({source}): correct the declaration, or the module.");
            return null!; // null keeps the output as it is
        });
        return module;
    }
}
