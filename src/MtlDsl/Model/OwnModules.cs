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
        module.register_forward_hook((_, input, output) =>
        {
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
