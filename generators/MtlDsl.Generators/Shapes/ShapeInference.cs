using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Shapes;

/// <summary>
/// Infers every layer's input and output shape (per sample, without the batch dimension) and parameter count,
/// as TorchSharp computes them at run time. A layer that cannot take its input stops its block with a
/// diagnostic on that layer; the layers after it are not inferred (their messages would only repeat it).
/// </summary>
internal static class ShapeInference
{
    /// <summary>The inferred model, or null where some layer failed, and the diagnostics found.</summary>
    public static (ShapedModel? Model, List<DiagnosticInfo> Diagnostics) Infer(ModelSpec model)
    {
        var diagnostics = new List<DiagnosticInfo>();
        var blocks = new List<ShapedBlock>();
        bool trunkComplete = true;
        var trunkSpecs = model.Blocks.Where(b => b.Kind == BlockKind.Trunk).ToList();
        bool hard = model.Architecture.Definition.NamedReads;
        EquatableArray<int> representation = model.InputShape;
        // In hard sharing a block that cannot be inferred (a mistake in it, or a source that names nothing) leaves
        // unknown only what reads it: the other blocks and heads are still inferred, so that every independent
        // mistake of a declaration is reported in one build.
        var trunkShaped = new ShapedBlock?[trunkSpecs.Count];

        for (int b = 0; b < trunkSpecs.Count; b++)
        {
            BlockSpec block = trunkSpecs[b];
            ShapedBlock? shaped;
            if (hard)
            {
                // Hard sharing: the block reads what it names, else the block before it, else the first input.
                var sources = MultiTaskModelGenerator.Validation.SourcesOf(model, trunkSpecs, b).Select(name => Resolve(model, trunkSpecs, name)).ToList();
                if (sources.Any(s => s.Index < 0 || !s.Input && (s.Index >= b || trunkShaped[s.Index] is null))) { trunkComplete = false; continue; }
                if (Join(block, sources.Select(s => Describe(model, trunkShaped, s)).ToList(), diagnostics) is not { } joined) { trunkComplete = false; continue; }
                shaped = InferBlock(block, joined.Shape, diagnostics, joined.Ids);
                if (shaped is not null) shaped = shaped with { Sources = sources.ToEquatableArray() };
            }
            else
            {
                shaped = InferBlock(block, representation, diagnostics);
            }
            if (shaped is null)
            {
                trunkComplete = false;
                if (hard) continue;
                break;
            }
            trunkShaped[b] = shaped;
            blocks.Add(shaped);
            representation = shaped.OutputShape;
        }

        ShapedArchitecture? architecture = null;
        if (trunkComplete)
        {
            try
            {
                architecture = model.Architecture.Definition.Infer(model, blocks, diagnostics);
            }
            catch (OverflowException)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, model.Architecture.Location ?? model.ClassLocation,
                    $"Model '{model.ClassName}'", "the parameter count of its architecture's modules", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
            }
        }
        if (architecture is not null)
        {
            int task = 0;
            foreach (BlockSpec block in model.Blocks.Where(b => b.Kind == BlockKind.Task))
                if (InferBlock(block, architecture.Reads[task++].Shape, diagnostics) is { } shaped) blocks.Add(shaped);
        }
        else if (hard && trunkSpecs.Count > 0)
        {
            // The model has a mistake already; each head whose trunk block is known is still checked.
            foreach (BlockSpec block in model.Blocks.Where(b => b.Kind == BlockKind.Task))
            {
                int read = block.Reads is null ? trunkSpecs.Count - 1 : trunkSpecs.FindIndex(t => t.Name == block.Reads);
                if (read >= 0 && trunkShaped[read] is { } source) InferBlock(block, source.OutputShape, diagnostics);
            }
        }

        if (diagnostics.Count > 0 || architecture is null) return (null, diagnostics);
        long parameters = 0;
        try
        {
            foreach (ShapedBlock block in blocks)
            {
                long copies = block.Spec.Kind == BlockKind.Trunk ? architecture.Copies : 1;
                parameters = checked(parameters + block.Parameters * copies);
            }
            parameters = checked(parameters + architecture.Parameters);
        }
        catch (OverflowException)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, model.ClassLocation, $"Model '{model.ClassName}'", "its parameter count", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
            return (null, diagnostics);
        }
        return (new ShapedModel(model, blocks.ToEquatableArray(), parameters, architecture, ShapedInputs(model, blocks)), diagnostics);
    }

    // A source name (valid: validation checked it) as an input or a trunk block.
    private static BlockSource Resolve(ModelSpec model, List<BlockSpec> trunk, string name)
    {
        for (int i = 0; i < model.Inputs.Count; i++)
            if (model.Inputs[i].EffectiveName == name) return new BlockSource(true, i);
        return new BlockSource(false, trunk.FindIndex(t => t.Name == name));
    }

    // A source's name, per-sample shape, and whether it is ids (only inputs are: every block's output is features).
    private static (string Name, EquatableArray<int> Shape, bool Ids) Describe(ModelSpec model, ShapedBlock?[] blocks, BlockSource source) =>
        source.Input
            ? (model.Inputs[source.Index].EffectiveName, model.Inputs[source.Index].Shape, model.Inputs[source.Index].Ids)
            : (blocks[source.Index]!.Spec.Name, blocks[source.Index]!.OutputShape, false);

    // What a block reads: one source as it is, several concatenated along their first dimension (MTL032 where they do not fit).
    private static (EquatableArray<int> Shape, bool Ids)? Join(BlockSpec block, List<(string Name, EquatableArray<int> Shape, bool Ids)> sources, List<DiagnosticInfo> diagnostics)
    {
        if (sources.Count == 1) return (sources[0].Shape, sources[0].Ids);
        string listed = string.Join(", ", sources.Select(s => $"{s.Name} {(s.Ids ? "ids " : "")}{Format(s.Shape)}"));
        (EquatableArray<int> Shape, bool Ids)? Fail(string reason)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ConcatDoesNotFit, block.ConcatLocation ?? block.Location, block.Name, listed, reason));
            return null;
        }
        if (sources.Any(s => s.Ids) && !sources.All(s => s.Ids))
            return Fail("it mixes categorical ids with features; embed the ids in a trunk block of their own (Embedding) and concatenate that block's output");
        if (sources.Any(s => s.Shape.Count == 0))
            return Fail("one id per sample (shape []) has no dimension to concatenate along; declare such inputs with the shape [1]");
        if (sources.Select(s => s.Shape.Count).Distinct().Count() > 1)
            return Fail("the sources differ in rank; they must have the same rank, so flatten the images or sequences first (a trunk block ending in Flatten)");
        var first = sources[0].Shape;
        for (int d = 1; d < first.Count; d++)
            if (sources.Any(s => s.Shape[d] != first[d]))
                return Fail($"they are concatenated along their first dimension, so every other must agree, and dimension {d.ToString(CultureInfo.InvariantCulture)} differs; resize them (pooling, Upsample) or flatten them first");
        long total = sources.Sum(s => (long)s.Shape[0]);
        if (total > int.MaxValue)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, block.ConcatLocation ?? block.Location, $"[Concat] of '{block.Name}'", "the concatenated size", int.MaxValue.ToString(CultureInfo.InvariantCulture)));
            return null;
        }
        return (new[] { (int)total }.Concat(first.Skip(1)).ToEquatableArray(), sources[0].Ids);
    }

    // Every input, and for ids the smallest vocabulary among the embeddings that read it (the range the runtime checks).
    private static EquatableArray<ShapedInput> ShapedInputs(ModelSpec model, List<ShapedBlock> blocks)
    {
        var result = new List<ShapedInput>();
        for (int i = 0; i < model.Inputs.Count; i++)
        {
            int vocabulary = 0;
            string readBy = "";
            if (model.Inputs[i].Ids)
                foreach (ShapedBlock block in blocks.Where(b => b.Spec.Kind == BlockKind.Trunk && b.Sources.Contains(new BlockSource(true, i)) && b.Layers.Count > 0))
                {
                    LayerSpec first = block.Layers[0].Spec;
                    if (first.Vocabulary is int v && (vocabulary == 0 || v < vocabulary))
                        (vocabulary, readBy) = (v, $"{first.Kind}({v.ToString(CultureInfo.InvariantCulture)}→{first.Size!.Value.ToString(CultureInfo.InvariantCulture)}) of block '{block.Spec.Name}'");
                }
            result.Add(new ShapedInput(model.Inputs[i], vocabulary, readBy));
        }
        return result.ToEquatableArray();
    }

    private static ShapedBlock? InferBlock(BlockSpec block, EquatableArray<int> input, List<DiagnosticInfo> diagnostics, bool ids = false)
    {
        var layers = new List<ShapedLayer>();
        EquatableArray<int> shape = input;
        if (ids && block.Layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSource, block.Location, block.Name,
                "reads categorical ids and has no layers, so it would pass ids on as features; begin it with Embedding or EmbeddingBag"));
            return null;
        }
        if (ids && block.Residual)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSource, block.ResidualLocation ?? block.Location, block.Name,
                "is [Residual] but reads categorical ids, which cannot be added to its layers' output; embed the ids in a block before the residual one"));
            return null;
        }
        for (int index = 0; index < block.Layers.Count; index++)
        {
            var step = new LayerStep(block, index, shape, diagnostics, ids && index == 0);
            ShapedLayer? layer;
            try
            {
                layer = step.Infer();
            }
            catch (OverflowException)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, block.Layers[index].Location ?? block.Location,
                    $"{block.Layers[index].Kind} (layer {index} of '{block.Name}')", "a size or parameter count", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
                return null;
            }
            if (layer is null) return null;
            layers.Add(layer);
            shape = layer.OutputShape;
        }
        if (!block.Residual) return new ShapedBlock(block, input, layers.ToEquatableArray());
        Shortcut? shortcut = ResidualShortcut(block, input, shape, diagnostics);
        return shortcut is null ? null : new ShapedBlock(block, input, layers.ToEquatableArray(), shortcut);
    }

    // The identity where the layers keep the shape; else the projection that takes the input to their output (a 1×1
    // convolution with the stride of their downsampling and batch normalisation, or a linear layer), or null (MTL029).
    private static Shortcut? ResidualShortcut(BlockSpec block, EquatableArray<int> input, EquatableArray<int> output, List<DiagnosticInfo> diagnostics)
    {
        Shortcut? Fail(string reason)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ResidualDoesNotFit, block.ResidualLocation ?? block.Location, block.Name, Format(input), Format(output), reason));
            return null;
        }
        if (block.Layers.Count == 0) return Fail("a residual block needs layers to add its input to");
        if (input.SequenceEqual(output)) return new Shortcut(ShortcutKind.Identity, input.Count == 0 ? 0 : input[0], output.Count == 0 ? 0 : output[0], 1, 0);
        if (input.Count != output.Count)
            return Fail("its layers change the rank, and the input can only be projected within one rank (channels and a whole downsampling); end the block before the layer that changes the rank (Flatten, for one)");
        int inSize = input[0], outSize = output[0];
        if (input.Count == 1) return new Shortcut(ShortcutKind.Linear, inSize, outSize, 1, checked((long)inSize * outSize + outSize));
        int stride = output[1] > 0 && input[1] % output[1] == 0 ? input[1] / output[1] : 0;
        for (int d = 1; d < input.Count && stride > 0; d++)
            if (input[d] != (long)output[d] * stride) stride = 0;
        if (stride == 0)
            return Fail($"the shortcut downsamples by one whole stride on every axis (a 1×1 convolution), and {Format(input.Skip(1).ToList())} is not a whole multiple of {Format(output.Skip(1).ToList())} by one factor; " +
                        "give the layers padding that keeps the sizes, or a stride that divides them");
        // A 1×1 convolution without bias, then batch normalisation (weight and bias): torchvision's downsample.
        long parameters = checked((long)inSize * outSize + 2L * outSize);
        return new Shortcut(input.Count == 3 ? ShortcutKind.Conv2d : ShortcutKind.Conv1d, inSize, outSize, stride, parameters);
    }

    public static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>The inference of one layer, with the helpers that report on it.</summary>
    private sealed class LayerStep
    {
        private readonly BlockSpec _block;
        private readonly int _index;
        private readonly EquatableArray<int> _input;
        private readonly List<DiagnosticInfo> _diagnostics;
        private readonly LayerSpec _layer;
        private readonly bool _ids;

        public LayerStep(BlockSpec block, int index, EquatableArray<int> input, List<DiagnosticInfo> diagnostics, bool ids)
        {
            _ids = ids;
            _block = block;
            _index = index;
            _input = input;
            _diagnostics = diagnostics;
            _layer = block.Layers[index];
        }

        private string Label => $"{_layer.Module?.DisplayName ?? _layer.Kind.ToString()} (layer {_index} of '{_block.Name}')";

        // Checked: absurd sizes (say a Linear of two billion features) overflow into MTL015, never into a wrong model.
        public ShapedLayer? Infer() => InferChecked();

        private ShapedLayer? InferChecked()
        {
            if (!ArgumentsInRange()) return null;
            if (_ids != _layer.ReadsIds)
            {
                ReportMismatch(_ids ? "features" : "categorical ids (an input declared with Kind = InputKind.Ids)", _ids
                    ? $": its input is categorical ids {Format(_input)}, which layers other than an embedding cannot read; begin the block with Embedding or EmbeddingBag"
                    : "; an embedding reads the ids of an input declared with Kind = InputKind.Ids, as the first layer of the block that reads it");
                return null;
            }
            checked
            {
            switch (_layer.Kind)
            {
                case LayerKind.Module:
                {
                    OwnModule own = _layer.Module!;
                    int[] shape = [.. own.DeclaredShape];
                    if (own.HasFormula)
                    {
                        var (computed, problem) = ShapeFormula.Evaluate(own, _input);
                        if (computed is null)
                            return OwnProblem($"has a static {own.DisplayName}.OutputShape that cannot give the output for the input {Format(_input)}: {problem}");
                        if (own.HasDeclaredShape && !computed.SequenceEqual(shape))
                            return OwnProblem($"declares OutputShape = {Format(shape)}, but {own.DisplayName}.OutputShape computes {Format(computed)} for the input {Format(_input)}; remove one or make them agree", "OutputShape");
                        shape = computed;
                    }
                    else if (shape.Length == 0 || shape.Any(d => d < 1))
                        return OwnProblem($"declares OutputShape = {Format(shape)}; give the shape of one output sample, every size positive", "OutputShape");
                    // Its parameters are its own: only the run time counts them (-1).
                    return Done(shape, _input.Count == 0 ? 0 : _input[0], -1);
                }
                case LayerKind.Embedding:
                {
                    int vocabulary = _layer.Vocabulary!.Value, dimension = _layer.Size!.Value;
                    return Done(_input.Concat([dimension]), vocabulary, checked((long)vocabulary * dimension));
                }
                case LayerKind.EmbeddingBag:
                {
                    if (!Rank(1, "ids [L] (the values of one sample)", _input.Count == 0 ? "; one id per sample has nothing to pool, so read it with Embedding" : "; flatten is not possible on ids, so declare the input as [L]")) return null;
                    int vocabulary = _layer.Vocabulary!.Value, dimension = _layer.Size!.Value;
                    return Done([dimension], vocabulary, checked((long)vocabulary * dimension));
                }
                case LayerKind.Linear:
                {
                    if (!Rank(1, "a vector [features]", _input.Count > 1 ? "; insert [Flatten] before it" : "", _input.Count > 1 ? Fixes.InsertFlatten : null)) return null;
                    int inFeatures = _input[0];
                    if (!ExplicitInSize("InFeatures", inFeatures)) return null;
                    int outFeatures = _layer.Size!.Value;
                    return Done([outFeatures], inFeatures, checked((long)inFeatures * outFeatures + (_layer.Bias ? outFeatures : 0)));
                }
                case LayerKind.Conv1d:
                {
                    if (!Rank(2, "[channels, length]", ConvHint(false))) return null;
                    int inChannels = _input[0];
                    if (!ExplicitInSize("InChannels", inChannels)) return null;
                    int kernel = _layer.KernelSize!.Value, stride = _layer.Stride ?? 1, padding = _layer.Padding ?? 0, dilation = _layer.Dilation ?? 1;
                    if (Convolved(1, kernel, stride, padding, dilation) is not int length) return null;
                    long weights = checked((long)_layer.Size!.Value * inChannels * kernel);
                    return Done([_layer.Size.Value, length], inChannels, checked(weights + (_layer.Bias ? _layer.Size.Value : 0)));
                }
                case LayerKind.Conv2d:
                case LayerKind.ConvTranspose2d:
                {
                    bool transposed = _layer.Kind == LayerKind.ConvTranspose2d;
                    if (!Rank(3, "[channels, height, width]", ConvHint(true))) return null;
                    int inChannels = _input[0];
                    if (!ExplicitInSize("InChannels", inChannels)) return null;
                    var (kernel, stride, padding, dilation, outputPadding) = (_layer.Kernel2d, _layer.Stride2d, _layer.Padding2d, _layer.Dilation2d, _layer.OutputPadding2d);
                    int? height = transposed ? Transposed(1, kernel.Height, stride.Height, padding.Height, dilation.Height, outputPadding.Height)
                        : Convolved(1, kernel.Height, stride.Height, padding.Height, dilation.Height);
                    if (height is null) return null;
                    int? width = transposed ? Transposed(2, kernel.Width, stride.Width, padding.Width, dilation.Width, outputPadding.Width)
                        : Convolved(2, kernel.Width, stride.Width, padding.Width, dilation.Width);
                    if (width is null) return null;
                    long weights = checked((long)_layer.Size!.Value * inChannels * kernel.Height * kernel.Width);
                    return Done([_layer.Size.Value, height.Value, width.Value], inChannels, checked(weights + (_layer.Bias ? _layer.Size.Value : 0)));
                }
                case LayerKind.MaxPool2d:
                case LayerKind.AvgPool2d:
                {
                    if (!Rank(3, "[channels, height, width]", "")) return null;
                    var (kernel, stride, padding) = (_layer.Kernel2d, _layer.Stride2d, _layer.Padding2d);
                    var output = new List<int> { _input[0] };
                    foreach (var (d, k, st, pad) in new[] { (1, kernel.Height, stride.Height, padding.Height), (2, kernel.Width, stride.Width, padding.Width) })
                    {
                        if (_input[d] + 2L * pad < k)
                            return ShrinksToZero(d, $"the window of {k} is larger than the {(pad > 0 ? "padded " : "")}input {_input[d] + 2L * pad}; use a smaller window or remove a pooling layer before it");
                        output.Add(checked((int)(((long)_input[d] + 2L * pad - k) / st + 1)));
                    }
                    return Done(output, _input[0], 0);
                }
                case LayerKind.Upsample:
                {
                    if (!Rank(3, "[channels, height, width]", _input.Count == 1 ? "; a vector has no spatial dimension to upsample" : "")) return null;
                    if (_layer.ScaleFactor is int factor)
                        return Done([_input[0], checked(_input[1] * factor), checked(_input[2] * factor)], _input[0], 0);
                    return Done([_input[0], _layer.Size!.Value, _layer.Size2!.Value], _input[0], 0);
                }
                case LayerKind.AdaptiveAvgPool2d:
                    if (!Rank(3, "[channels, height, width]", "")) return null;
                    return Done([_input[0], _layer.Size!.Value, _layer.Size2!.Value], _input[0], 0);
                case LayerKind.Flatten:
                {
                    long size = 1;
                    foreach (int d in _input) size *= d;
                    if (size > int.MaxValue)
                    {
                        Report(DiagnosticDescriptors.SizeTooLarge, _layer.Location, Label, $"the flattened size {size}", int.MaxValue.ToString(CultureInfo.InvariantCulture));
                        return null;
                    }
                    return Done([(int)size], _input.Count == 0 ? 0 : _input[0], 0);
                }
                case LayerKind.BatchNorm1d:
                    if (_input.Count != 1 && _input.Count != 2)
                    {
                        ReportMismatch("[features] or [channels, length]", _input.Count == 3 ? "; use BatchNorm2d for [channels, height, width]" : "");
                        return null;
                    }
                    if (!ExplicitInSize("NumFeatures", _input[0])) return null;
                    return Done(_input, _input[0], 2L * _input[0]);
                case LayerKind.BatchNorm2d:
                    if (!Rank(3, "[channels, height, width]", _input.Count < 3 ? "; use BatchNorm1d for [features] or [channels, length]" : "")) return null;
                    if (!ExplicitInSize("NumFeatures", _input[0])) return null;
                    return Done(_input, _input[0], 2L * _input[0]);
                case LayerKind.LayerNorm:
                {
                    EquatableArray<int> normalized = _layer.NormalizedShape.Count == 0
                        ? new[] { _input[_input.Count - 1] }.ToEquatableArray()
                        : _layer.NormalizedShape;
                    if (normalized.Count > _input.Count || !_input.Skip(_input.Count - normalized.Count).SequenceEqual(normalized))
                    {
                        string trailing = Format(_input.Skip(Math.Max(0, _input.Count - normalized.Count)).ToList());
                        Report(DiagnosticDescriptors.InSizeMismatch, _layer.LocationOf("NormalizedShape"), Label, "NormalizedShape", Format(normalized), Format(_input), trailing);
                        return null;
                    }
                    long count = 1;
                    foreach (int d in normalized) count = checked(count * d);
                    return Done(_input, normalized[0], checked(2 * count));
                }
                default: // Dropout and the activations keep the shape.
                    return Done(_input, _input.Count == 0 ? 0 : _input[0], 0);
            }
            }
        }

        // The output size of a convolution along input dimension d, or null (reported) where it shrinks to nothing.
        private int? Convolved(int d, int kernel, int stride, int padding, int dilation)
        {
            long effective = (long)dilation * (kernel - 1) + 1;
            if (_input[d] + 2L * padding < effective)
            {
                ShrinksToZero(d, $"the kernel spans {effective} but the {(padding > 0 ? "padded " : "")}input is {_input[d] + 2L * padding}; use a smaller kernel or dilation, add padding, or remove a pooling layer before it");
                return null;
            }
            return checked((int)(((long)_input[d] + 2L * padding - effective) / stride + 1));
        }

        // A transposed convolution's output size along input dimension d: (n − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1.
        private int? Transposed(int d, int kernel, int stride, int padding, int dilation, int outputPadding)
        {
            long size = ((long)_input[d] - 1) * stride - 2L * padding + (long)dilation * (kernel - 1) + outputPadding + 1;
            if (size < 1)
            {
                ShrinksToZero(d, $"the padding of {padding} on each side takes away more than the {size + 2L * padding} the layer produces; use less padding or a larger kernel or stride");
                return null;
            }
            return checked((int)size);
        }

        private ShapedLayer? OwnProblem(string problem, string? argument = null)
        {
            Report(DiagnosticDescriptors.OwnModuleProblem, argument is null ? _layer.Location : _layer.LocationOf(argument), Label, problem);
            return null;
        }

        private string ConvHint(bool is2d)
        {
            if (is2d && _input.Count == 2) return "; use Conv1d for [channels, length]";
            if (!is2d && _input.Count == 3) return "; use Conv2d for [channels, height, width]";
            if (_input.Count == 1) return "; a vector has no spatial dimension, so convolve before Flatten or Linear";
            return "";
        }

        private bool ArgumentsInRange()
        {
            switch (_layer.Kind)
            {
                case LayerKind.Linear:
                    return AtLeast("OutFeatures", _layer.Size, 1) && AtLeast("InFeatures", _layer.InSize, 1);
                case LayerKind.Conv1d:
                    return AtLeast("OutChannels", _layer.Size, 1) && AtLeast("KernelSize", _layer.KernelSize, 1)
                        && AtLeast("Stride", _layer.Stride, 1) && AtLeast("Padding", _layer.Padding, 0)
                        && AtLeast("Dilation", _layer.Dilation, 1) && AtLeast("InChannels", _layer.InSize, 1);
                case LayerKind.Conv2d:
                case LayerKind.ConvTranspose2d:
                {
                    if (!(AtLeast("OutChannels", _layer.Size, 1) && Kernel2dInRange() && AxesAtLeast("Stride", _layer.Stride, _layer.StrideAxes, 1)
                        && AxesAtLeast("Padding", _layer.Padding, _layer.PaddingAxes, 0) && AxesAtLeast("Dilation", _layer.Dilation, _layer.DilationAxes, 1)
                        && AtLeast("InChannels", _layer.InSize, 1)))
                        return false;
                    if (_layer.Kind == LayerKind.Conv2d) return true;
                    if (!AxesAtLeast("OutputPadding", _layer.OutputPadding, _layer.OutputPaddingAxes, 0)) return false;
                    // PyTorch: the output padding must be smaller than the stride or the dilation, axis by axis.
                    var (output, stride, dilation) = (_layer.OutputPadding2d, _layer.Stride2d, _layer.Dilation2d);
                    foreach (var (axis, op, st, di, axes) in new[] { ("Height", output.Height, stride.Height, dilation.Height, _layer.OutputPaddingAxes?.Height), ("Width", output.Width, stride.Width, dilation.Width, _layer.OutputPaddingAxes?.Width) })
                        if (op >= Math.Max(st, di))
                            return OutOfRange(axes is null ? "OutputPadding" : "OutputPadding" + axis, op.ToString(CultureInfo.InvariantCulture),
                                $"smaller than the {axis.ToLowerInvariant()}'s stride or dilation, whichever is larger ({Math.Max(st, di).ToString(CultureInfo.InvariantCulture)})");
                    return true;
                }
                case LayerKind.MaxPool2d:
                case LayerKind.AvgPool2d:
                {
                    if (!(Kernel2dInRange() && AxesAtLeast("Stride", _layer.Stride, _layer.StrideAxes, 1) && AxesAtLeast("Padding", _layer.Padding, _layer.PaddingAxes, 0)))
                        return false;
                    var (kernel, padding) = (_layer.Kernel2d, _layer.Padding2d);
                    foreach (var (axis, pad, k, axes) in new[] { ("Height", padding.Height, kernel.Height, _layer.PaddingAxes?.Height), ("Width", padding.Width, kernel.Width, _layer.PaddingAxes?.Width) })
                        if (pad > k / 2)
                            return OutOfRange(axes is null ? "Padding" : "Padding" + axis, pad.ToString(CultureInfo.InvariantCulture),
                                $"at most half the kernel {(_layer.KernelWidth is null ? "size" : axis.ToLowerInvariant())} ({(k / 2).ToString(CultureInfo.InvariantCulture)})");
                    return true;
                }
                case LayerKind.Upsample:
                    if (_layer.ScaleFactor is not null ? !AtLeast("ScaleFactor", _layer.ScaleFactor, 1) : !(AtLeast("Height", _layer.Size, 1) && AtLeast("Width", _layer.Size2, 1)))
                        return false;
                    if (_layer.Mode is int mode && mode != 0 && mode != 1)
                        return OutOfRange("Mode", mode.ToString(CultureInfo.InvariantCulture), "UpsampleMode.Nearest or UpsampleMode.Bilinear");
                    if (_layer.AlignCorners && (_layer.Mode ?? 0) == 0)
                        return OutOfRange("AlignCorners", "true", "false with UpsampleMode.Nearest (only interpolation aligns corners; use Mode = UpsampleMode.Bilinear)");
                    return true;
                case LayerKind.AdaptiveAvgPool2d:
                    return AtLeast("Height", _layer.Size, 1, "Size") && AtLeast("Width", _layer.Size2, 1, "Size");
                case LayerKind.Dropout:
                    double p = _layer.Probability ?? 0.5;
                    return p >= 0 && p < 1 || OutOfRange("P", p.ToString("R", CultureInfo.InvariantCulture), "in [0, 1)");
                case LayerKind.BatchNorm1d:
                case LayerKind.BatchNorm2d:
                    return AtLeast("NumFeatures", _layer.InSize, 1);
                case LayerKind.LayerNorm:
                    foreach (int d in _layer.NormalizedShape)
                        if (d < 1) return OutOfRange("NormalizedShape", Format(_layer.NormalizedShape), "made of positive sizes");
                    return true;
                case LayerKind.Module when _layer.Module!.Problem is { } problem:
                    Report(DiagnosticDescriptors.OwnModuleProblem, _layer.Module.ProblemLocation ?? _layer.Location, Label, problem);
                    return false;
                case LayerKind.Embedding:
                case LayerKind.EmbeddingBag:
                    if (!(AtLeast("Vocabulary", _layer.Vocabulary, 1) && AtLeast("Dimension", _layer.Size, 1))) return false;
                    if (_layer.PaddingIndex is int paddingId && (paddingId < 0 || paddingId >= _layer.Vocabulary!.Value))
                        return OutOfRange("PaddingIndex", paddingId.ToString(CultureInfo.InvariantCulture),
                            $"an id of the vocabulary, in [0, {_layer.Vocabulary!.Value.ToString(CultureInfo.InvariantCulture)}) (to have no padding id, do not write it)");
                    if (_layer.Kind == LayerKind.EmbeddingBag && _layer.Mode is int bagMode && bagMode != 0 && bagMode != 1)
                        return OutOfRange("Mode", bagMode.ToString(CultureInfo.InvariantCulture), "BagMode.Mean or BagMode.Sum");
                    return true;
                case LayerKind.LeakyReLU:
                    return _layer.NegativeSlope is not double slope || !double.IsNaN(slope) && !double.IsInfinity(slope)
                        || OutOfRange("NegativeSlope", _layer.NegativeSlope.Value.ToString("R", CultureInfo.InvariantCulture), "a finite number");
                default:
                    return true;
            }
        }

        // The kernel as written: one size (KernelSize) or a height and a width.
        private bool Kernel2dInRange() => _layer.KernelWidth is null
            ? AtLeast("KernelSize", _layer.KernelSize, 1)
            : AtLeast("KernelHeight", _layer.KernelSize, 1) && AtLeast("KernelWidth", _layer.KernelWidth, 1);

        // A size for both axes and each axis's own, each checked where it was written.
        private bool AxesAtLeast(string argument, int? both, Axes? axes, int minimum) =>
            AtLeast(argument, both, minimum) && AtLeast(argument + "Height", axes?.Height, minimum) && AtLeast(argument + "Width", axes?.Width, minimum);

        private bool AtLeast(string argument, int? value, int minimum, string? writtenAs = null) =>
            value is not int v || v >= minimum || OutOfRange(argument, v.ToString(CultureInfo.InvariantCulture), minimum == 0 ? "zero or more" : $"at least {minimum}", writtenAs);

        private bool OutOfRange(string argument, string value, string requirement, string? writtenAs = null)
        {
            Report(DiagnosticDescriptors.ArgumentOutOfRange, _layer.LocationOf(writtenAs ?? argument), Label, argument, value, requirement);
            return false;
        }

        private bool Rank(int rank, string expected, string hint, string? fix = null)
        {
            if (_input.Count == rank) return true;
            ReportMismatch(expected, hint, fix);
            return false;
        }

        private void ReportMismatch(string expected, string hint, string? fix = null) =>
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerInputMismatch, _layer.Location ?? _block.Location, Label, Format(_input), expected, hint) with { Fix = fix });

        private bool ExplicitInSize(string argument, int inferred)
        {
            if (_layer.InSize is not int declared || declared == inferred) return true;
            Report(DiagnosticDescriptors.InSizeMismatch, _layer.LocationOf(argument), Label, argument,
                declared.ToString(CultureInfo.InvariantCulture), Format(_input), inferred.ToString(CultureInfo.InvariantCulture));
            // Reported; the layer's output does not depend on it, so inference goes on to find the next mistake.
            return true;
        }

        private ShapedLayer? ShrinksToZero(int dimension, string reason)
        {
            string name = _input.Count == 3 ? (dimension == 1 ? "height" : "width") : "length";
            Report(DiagnosticDescriptors.DimensionShrinksToZero, _layer.Location, Label, Format(_input), $"a {name} of 0 or less", reason);
            return null;
        }

        private ShapedLayer? Done(IEnumerable<int> output, int inSize, long parameters) =>
            new(_layer, _index, _input, output.ToEquatableArray(), inSize, parameters);

        private void Report(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? _block.Location, arguments));
    }
}
