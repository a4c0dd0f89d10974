using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// One layer being checked and inferred: its arguments, its input, and the reports a definition makes on it (each
/// located at the argument or the attribute, and naming the layer as "Conv2d (layer 1 of 'Trunk')").
/// </summary>
internal sealed class LayerContext
{
    private readonly BlockSpec _block;
    private readonly List<DiagnosticInfo> _diagnostics;
    private readonly bool _ids;

    public LayerContext(BlockSpec block, int index, EquatableArray<int> input, List<DiagnosticInfo> diagnostics, bool ids)
    {
        _block = block;
        _diagnostics = diagnostics;
        _ids = ids;
        Index = index;
        Input = input;
        Spec = block.Layers[index];
    }

    /// <summary>The layer as declared.</summary>
    public LayerSpec Spec { get; }

    /// <summary>Its position in the block.</summary>
    public int Index { get; }

    /// <summary>Its input's per-sample shape.</summary>
    public EquatableArray<int> Input { get; }

    /// <summary>The first input dimension (features or channels), 0 for a scalar.</summary>
    public int InputSize => Input.Count == 0 ? 0 : Input[0];

    /// <summary>How diagnostics name the layer.</summary>
    public string Label => $"{Spec.Module?.DisplayName ?? Spec.Kind} (layer {Index.ToString(CultureInfo.InvariantCulture)} of '{_block.Name}')";

    /// <summary>
    /// The layer's range checks, its ids check, then its inference (sizes overflow into MTL015, never into a wrong
    /// model), or null with the diagnostics reported.
    /// </summary>
    public ShapedLayer? Infer()
    {
        LayerDefinition definition = Spec.Definition;
        if (!definition.Check(this)) return null;
        if (_ids != definition.ReadsIds)
        {
            Mismatch(_ids ? "features" : "categorical ids (an input declared with Kind = InputKind.Ids)", _ids
                ? $": its input is categorical ids {Literals.Shape(Input)}, which layers other than an embedding cannot read; begin the block with Embedding or EmbeddingBag"
                : "; an embedding reads the ids of an input declared with Kind = InputKind.Ids, as the first layer of the block that reads it");
            return null;
        }
        return definition.Infer(this);
    }

    /// <summary>The layer's result: its output shape, the input size it is built with, its parameter count (-1: counted at run time).</summary>
    public ShapedLayer Done(IEnumerable<int> output, int inSize, long parameters) =>
        new(Spec, Index, Input, output.ToEquatableArray(), inSize, parameters);

    /// <summary>The result of a layer that keeps its input's shape and has no parameters.</summary>
    public ShapedLayer Same(long parameters = 0) => Done(Input, InputSize, parameters);

    // ---- input checks ----

    /// <summary>Whether the input has <paramref name="rank"/> dimensions; else MTL004 with the expected form and a hint.</summary>
    public bool Rank(int rank, string expected, string hint = "", string? fix = null)
    {
        if (Input.Count == rank) return true;
        Mismatch(expected, hint, fix);
        return false;
    }

    /// <summary>MTL004: the input is not what the layer takes.</summary>
    public void Mismatch(string expected, string hint, string? fix = null) =>
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerInputMismatch, Spec.Location ?? _block.Location, Label, Literals.Shape(Input), expected, hint) with { Fix = fix });

    /// <summary>
    /// An in-size the user wrote (InFeatures, InChannels, NumFeatures, …), checked against the inferred one: MTL007
    /// where they differ. Always true: the output does not depend on it, so inference goes on to the next mistake.
    /// </summary>
    public bool ExplicitInSize(string argument, int inferred)
    {
        if (Spec.Int(argument) is not int declared || declared == inferred) return true;
        Report(DiagnosticDescriptors.InSizeMismatch, Spec.LocationOf(argument), Label, argument,
            declared.ToString(CultureInfo.InvariantCulture), Literals.Shape(Input), inferred.ToString(CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>MTL008: a dimension of the output would be 0 or less.</summary>
    public ShapedLayer? ShrinksToZero(int dimension, string reason)
    {
        string name = Input.Count == 3 ? (dimension == 1 ? "height" : "width") : "length";
        Report(DiagnosticDescriptors.DimensionShrinksToZero, Spec.Location, Label, Literals.Shape(Input), $"a {name} of 0 or less", reason);
        return null;
    }

    /// <summary>The output size of a convolution along input dimension d, or null (reported) where it shrinks to nothing.</summary>
    public int? Convolved(int d, int kernel, int stride, int padding, int dilation)
    {
        long effective = (long)dilation * (kernel - 1) + 1;
        if (Input[d] + 2L * padding < effective)
        {
            ShrinksToZero(d, $"the kernel spans {effective} but the {(padding > 0 ? "padded " : "")}input is {Input[d] + 2L * padding}; use a smaller kernel or dilation, add padding, or remove a pooling layer before it");
            return null;
        }
        return checked((int)(((long)Input[d] + 2L * padding - effective) / stride + 1));
    }

    /// <summary>A transposed convolution's output size along input dimension d: (n − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1.</summary>
    public int? Transposed(int d, int kernel, int stride, int padding, int dilation, int outputPadding)
    {
        long size = ((long)Input[d] - 1) * stride - 2L * padding + (long)dilation * (kernel - 1) + outputPadding + 1;
        if (size < 1)
        {
            ShrinksToZero(d, $"the padding of {padding} on each side takes away more than the {size + 2L * padding} the layer produces; use less padding or a larger kernel or stride");
            return null;
        }
        return checked((int)size);
    }

    // ---- argument checks (MTL010) ----

    /// <summary>Whether a written int argument is at least <paramref name="minimum"/> (an unwritten one is).</summary>
    public bool AtLeast(string argument, int minimum, string? writtenAs = null) => AtLeast(argument, Spec.Int(argument), minimum, writtenAs);

    /// <summary>Whether <paramref name="value"/>, named <paramref name="argument"/>, is at least <paramref name="minimum"/>.</summary>
    public bool AtLeast(string argument, int? value, int minimum, string? writtenAs = null) =>
        value is not int v || v >= minimum || OutOfRange(argument, v.ToString(CultureInfo.InvariantCulture), minimum == 0 ? "zero or more" : $"at least {minimum}", writtenAs);

    /// <summary>A size for both axes and each axis's own (<c>{argument}Height</c>, <c>{argument}Width</c>), each checked where it was written.</summary>
    public bool AxesAtLeast(string argument, int minimum) =>
        AtLeast(argument, minimum) && AtLeast(argument + "Height", minimum) && AtLeast(argument + "Width", minimum);

    /// <summary>MTL010 on <paramref name="argument"/>: its value and what it must be. Always false.</summary>
    public bool OutOfRange(string argument, string value, string requirement, string? writtenAs = null)
    {
        Report(DiagnosticDescriptors.ArgumentOutOfRange, Spec.LocationOf(writtenAs ?? argument), Label, argument, value, requirement);
        return false;
    }

    /// <summary>Reports <paramref name="descriptor"/> at <paramref name="location"/> (else the block).</summary>
    public void Report(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? _block.Location, arguments));
}
