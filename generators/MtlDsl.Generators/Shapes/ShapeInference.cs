using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Layers;
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
        // Where blocks read by name (hard sharing's trunk, the other architectures' shared bottom), a block that cannot
        // be inferred (a mistake in it, or a source that names nothing) leaves unknown only what reads it: the other
        // blocks and heads are still inferred, so that every independent mistake of a declaration is reported in one build.
        var trunkShaped = new ShapedBlock?[trunkSpecs.Count];
        if (hard)
        {
            trunkComplete = InferByName(model, trunkSpecs, trunkShaped, blocks, diagnostics);
        }
        else
        {
            var bottomSpecs = model.Bottom;
            var bottomShaped = new ShapedBlock?[bottomSpecs.Count];
            trunkComplete = InferByName(model, bottomSpecs, bottomShaped, blocks, diagnostics);
            // The architecture reads its input, or what its first trunk block names, or the last bottom block.
            bool ids = false;
            EquatableArray<BlockSource> architectureSources = default;
            if (trunkSpecs.Count > 0 && (bottomSpecs.Count > 0 || trunkSpecs[0].NamesSources))
            {
                var sources = model.ArchitectureSources(trunkSpecs, bottomSpecs).Select(name => Resolve(model, bottomSpecs, name)).ToList();
                if (sources.Any(s => s.Index < 0 || !s.Input && bottomShaped[s.Index] is null)) trunkComplete = false;
                else if (Join(trunkSpecs[0], sources.Select(s => Describe(model, bottomShaped, s)).ToList(), diagnostics) is not { } joined) trunkComplete = false;
                else
                {
                    (representation, ids) = (joined.Shape, joined.Ids);
                    architectureSources = sources.ToEquatableArray();
                }
            }
            // The architecture's trunk blocks run in order on what it reads.
            for (int b = 0; b < trunkSpecs.Count && trunkComplete; b++)
            {
                ShapedBlock? shaped = InferBlock(trunkSpecs[b], representation, diagnostics, ids && b == 0);
                if (shaped is null)
                {
                    trunkComplete = false;
                    break;
                }
                if (b == 0 && architectureSources.Count > 0) shaped = shaped with { Sources = architectureSources };
                trunkShaped[b] = shaped;
                blocks.Add(shaped);
                representation = shaped.OutputShape;
            }
        }

        ShapedArchitecture? architecture = null;
        if (trunkComplete)
        {
            try
            {
                architecture = model.Architecture.Definition.Infer(model, blocks.Where(b => b.Spec.Kind == BlockKind.Trunk).ToList(), diagnostics);
            }
            catch (OverflowException)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, model.Architecture.Location ?? model.ClassLocation,
                    $"Model '{model.ClassName}'", "the parameter count of its architecture's modules", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
            }
        }
        if (architecture is not null)
        {
            // The heads, then each [ProductOf] task from its factors' heads (declared before or after it).
            var taskSpecs = model.Blocks.Where(b => b.Kind == BlockKind.Task).ToList();
            var heads = new ShapedBlock?[taskSpecs.Count];
            for (int t = 0; t < taskSpecs.Count; t++)
                if (!taskSpecs[t].IsProduct) heads[t] = InferBlock(taskSpecs[t], architecture.Reads[t].Shape, diagnostics);
            for (int t = 0; t < taskSpecs.Count; t++)
                if (taskSpecs[t].IsProduct) heads[t] = InferProduct(taskSpecs[t], taskSpecs, heads, diagnostics);
            CheckTransferSizes(taskSpecs, heads, diagnostics);
            foreach (ShapedBlock? head in heads)
                if (head is not null) blocks.Add(head);
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

    // A head's transfer point that reads another task's ([Transfer(nameof(T))]) reads a vector of its own size: MTL039
    // at the argument otherwise. (Which task it may read is checked before the shapes; a head that failed has no shape.)
    private static void CheckTransferSizes(List<BlockSpec> tasks, ShapedBlock?[] heads, List<DiagnosticInfo> diagnostics)
    {
        static ShapedLayer? Point(ShapedBlock? head) => head?.Layers.FirstOrDefault(l => Layers.Transfer.Is(l.Spec));
        for (int t = 0; t < tasks.Count; t++)
        {
            if (Point(heads[t]) is not { } point || Layers.Transfer.Source(point.Spec) is not string source) continue;
            int read = tasks.FindIndex(b => b.Name == source);
            if (read < 0 || Point(heads[read]) is not { } theirs || theirs.InSize == point.InSize) continue;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, point.Spec.LocationOf("From"), $"Task '{tasks[t].Name}'",
                $"has [Transfer] from '{source}', whose transfer point is a vector of {theirs.InSize.ToString(CultureInfo.InvariantCulture)}, but its own tower gives " +
                $"{point.InSize.ToString(CultureInfo.InvariantCulture)} here: the two points weigh one against the other, so they have one size; make the layers before them give the same"));
        }
    }

    // A [ProductOf] task: no layers, its factors' output shape (which must be one; MTL038 at the first factor that
    // differs). Unknown when a factor is not a head that was inferred (CheckProducts reported why).
    private static ShapedBlock? InferProduct(BlockSpec product, List<BlockSpec> tasks, ShapedBlock?[] heads, List<DiagnosticInfo> diagnostics)
    {
        EquatableArray<int>? shape = null;
        string first = "";
        for (int i = 0; i < product.ProductOf.Count; i++)
        {
            int index = tasks.FindIndex(t => t.Name == product.ProductOf[i]);
            if (index < 0 || tasks[index].IsProduct || heads[index] is not { } factor) return null;
            if (shape is null)
            {
                (shape, first) = (factor.OutputShape, tasks[index].Name);
            }
            else if (!shape.Value.Equals(factor.OutputShape))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, product.FactorLocation(i), $"Task '{product.Name}'",
                    $"has [ProductOf] of '{first}', whose output is {Literals.Shape(shape.Value)}, and '{tasks[index].Name}', whose output is {Literals.Shape(factor.OutputShape)}: the factors' probabilities are multiplied element by element, so their outputs must have one shape"));
                return null;
            }
        }
        return shape is null ? null : new ShapedBlock(product, shape.Value, EquatableArray<ShapedLayer>.Empty);
    }

    // Blocks that read by name (hard sharing's trunk, the shared bottom): each reads what it names, else the block
    // before it, else the first input. Returns whether every one was inferred; the inferred ones are in shaped and blocks.
    private static bool InferByName(ModelSpec model, List<BlockSpec> specs, ShapedBlock?[] shaped, List<ShapedBlock> blocks, List<DiagnosticInfo> diagnostics)
    {
        bool complete = true;
        for (int b = 0; b < specs.Count; b++)
        {
            BlockSpec block = specs[b];
            var sources = model.SourcesOf(specs, b).Select(name => Resolve(model, specs, name)).ToList();
            if (sources.Any(s => s.Index < 0 || !s.Input && (s.Index >= b || shaped[s.Index] is null))) { complete = false; continue; }
            if (Join(block, sources.Select(s => Describe(model, shaped, s)).ToList(), diagnostics) is not { } joined) { complete = false; continue; }
            if (InferBlock(block, joined.Shape, diagnostics, joined.Ids) is not { } inferred) { complete = false; continue; }
            shaped[b] = inferred with { Sources = sources.ToEquatableArray() };
            blocks.Add(shaped[b]!);
        }
        return complete;
    }

    // A source name (valid: validation checked it) as an input or a block of the group.
    private static BlockSource Resolve(ModelSpec model, List<BlockSpec> group, string name)
    {
        for (int i = 0; i < model.Inputs.Count; i++)
            if (model.Inputs[i].EffectiveName == name) return new BlockSource(true, i);
        return new BlockSource(false, group.FindIndex(t => t.Name == name));
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
        string listed = string.Join(", ", sources.Select(s => $"{s.Name} {(s.Ids ? "ids " : "")}{Literals.Shape(s.Shape)}"));
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
                foreach (ShapedBlock block in blocks.Where(b => b.Spec.Kind != BlockKind.Task && b.Sources.Contains(new BlockSource(true, i)) && b.Layers.Count > 0))
                {
                    LayerSpec first = block.Layers[0].Spec;
                    if (first.Definition.IdRange(first) is { } range && (vocabulary == 0 || range.Vocabulary < vocabulary))
                        (vocabulary, readBy) = (range.Vocabulary, $"{range.Text} of block '{block.Spec.Name}'");
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
            var step = new LayerContext(block, index, shape, diagnostics, ids && index == 0);
            ShapedLayer? layer;
            try
            {
                layer = step.Infer();
            }
            catch (OverflowException)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeTooLarge, block.Layers[index].Location ?? block.Location,
                    step.Label, "a size or parameter count", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
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
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ResidualDoesNotFit, block.ResidualLocation ?? block.Location, block.Name, Literals.Shape(input), Literals.Shape(output), reason));
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
            return Fail($"the shortcut downsamples by one whole stride on every axis (a 1×1 convolution), and {Literals.Shape(input.Skip(1).ToList())} is not a whole multiple of {Literals.Shape(output.Skip(1).ToList())} by one factor; " +
                        "give the layers padding that keeps the sizes, or a stride that divides them");
        // A 1×1 convolution without bias, then batch normalisation (weight and bias): torchvision's downsample.
        long parameters = checked((long)inSize * outSize + 2L * outSize);
        return new Shortcut(input.Count == 3 ? ShortcutKind.Conv2d : ShortcutKind.Conv1d, inSize, outSize, stride, parameters);
    }

    
}
