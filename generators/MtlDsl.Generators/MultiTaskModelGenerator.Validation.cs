using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using MtlDsl.Generators.Architectures;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Layers;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators;

/// <summary>The analysis of one model: what the emitter writes (null when there are errors) and the diagnostics.</summary>
/// <summary>
/// A model after validation: its diagnostics, and what the emitter writes for it: the whole model when it is valid
/// (<see cref="Model"/>), else stubs for its declared blocks (<see cref="Stubs"/>), so that the compiler reports the
/// real error and not one CS9248 per partial property.
/// </summary>
internal sealed record AnalysisResult(string ClassName, LocationInfo? Location, ShapedModel? Model, EquatableArray<DiagnosticInfo> Diagnostics, ModelSpec? Stubs = null);

public sealed partial class MultiTaskModelGenerator
{
    /// <summary>Structural checks and shape inference: turns a parsed model into an emittable one and its diagnostics.</summary>
    internal static class Validation
    {
        public static AnalysisResult Analyze(ParseResult parsed, EquatableArray<string> inheritedMembers)
        {
            if (parsed.Model is not { } declared) return new AnalysisResult(parsed.ClassName, null, null, parsed.Diagnostics);
            ModelSpec model = declared with { InheritedMembers = inheritedMembers };
            if (model.CompilerRejects) return new AnalysisResult(model.ClassName, model.ClassLocation, null, EquatableArray<DiagnosticInfo>.Empty, model);
            try
            {
                var diagnostics = new List<DiagnosticInfo>(parsed.Diagnostics);
                diagnostics.AddRange(CheckStructure(model, inheritedMembers));
                if (HasErrors(diagnostics))
                {
                    // Every independent mistake in one build: the shapes are still inferred where the structure allows
                    // (a bad source leaves unknown only what reads it). Inference on a broken structure that fails
                    // adds nothing: the structural errors are what the user sees.
                    try
                    {
                        // Not past a mistake in the inputs or the architecture, which every shape depends on.
                        var global = new[] { DiagnosticDescriptors.InvalidInputShape, DiagnosticDescriptors.InvalidInput, DiagnosticDescriptors.SeveralArchitectures, DiagnosticDescriptors.NoTrunk }
                            .Concat(ArchitectureDefinitions.All.SelectMany(a => a.ArgumentDiagnostics)).Select(d => d.Id).ToList();
                        if (!diagnostics.Any(d => global.Contains(d.Id)))
                        {
                            var (inferred, found) = ShapeInference.Infer(model);
                            // And the losses against the heads, where every shape is known (a count of class weights
                            // is as independent of a misnamed block as a layer's shape is).
                            if (inferred is not null) found.AddRange(CheckLosses(inferred));
                            diagnostics.AddRange(found.Where(d => !diagnostics.Any(e => e.Id == d.Id && Equals(e.Location, d.Location))));
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                    }
                    return new AnalysisResult(model.ClassName, model.ClassLocation, null, diagnostics.ToEquatableArray(), model);
                }

                var (shaped, shapeDiagnostics) = ShapeInference.Infer(model);
                diagnostics.AddRange(shapeDiagnostics);
                if (shaped is not null) diagnostics.AddRange(CheckLosses(shaped));
                bool valid = !HasErrors(diagnostics) && shaped is not null;
                return new AnalysisResult(model.ClassName, model.ClassLocation, valid ? shaped : null, diagnostics.ToEquatableArray(), valid ? null : model);
            }
            catch (Exception e)
            {
                return new AnalysisResult(model.ClassName, model.ClassLocation, null, new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, model.ClassLocation, model.ClassName, e.GetType().Name + ": " + e.Message),
                }.ToEquatableArray(), model);
            }
        }

        private static bool HasErrors(IEnumerable<DiagnosticInfo> diagnostics) =>
            diagnostics.Any(d => DiagnosticDescriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);

        private static IEnumerable<DiagnosticInfo> CheckStructure(ModelSpec model, EquatableArray<string> inheritedMembers)
        {
            foreach (DiagnosticInfo problem in CheckInputs(model))
                yield return problem;

            var tasks = model.Blocks.Where(b => b.Kind == BlockKind.Task).ToList();
            if (!model.Blocks.Any(b => b.Kind == BlockKind.Trunk))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.NoTrunk, model.ClassLocation, model.ClassName);
            if (tasks.Count == 0)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.NoTask, model.ClassLocation, model.ClassName);
            else if (tasks.Count == 1)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.SingleTask, tasks[0].KindLocation ?? model.ClassLocation, model.ClassName, tasks[0].Name);

            var inherited = new HashSet<string>(inheritedMembers, StringComparer.Ordinal);
            var stateNames = new Dictionary<string, BlockSpec>(StringComparer.Ordinal);
            // One table of the names the emitter declares (records, properties, each block's field and Forward method):
            // a block must not take one, and none may hide an inherited member.
            var generated = new Dictionary<string, (string What, BlockSpec? Owner)>(StringComparer.Ordinal);
            foreach (var (name, what, owner) in GeneratedApi.DeclaredMembers(model))
            {
                if (!generated.TryGetValue(name, out var earlier)) generated.Add(name, (what, owner));
                else if (owner is not null && earlier.Owner is { } other && !ReferenceEquals(other, owner)
                         && StateName(other.Name) != StateName(owner.Name)) // one state-dict name is MTL009's, below
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, owner.Location, owner.Name,
                        $"of block '{other.Name}': both would be held in the generated {what.Split(' ')[0]} {name}; rename one of them");
            }
            // A member cannot have its class's name (CS0542): a class named like a generated member (Summary, Outputs,
            // ForwardDepth) is reported on its name, not inside the generated file.
            if (generated.TryGetValue(model.ClassName.TrimStart('@'), out var own))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModelDeclaration, model.ClassLocation, model.ClassName.TrimStart('@'),
                    $"the generated model declares the {own.What} on it, and a member cannot have the name of its class; rename the class");
            foreach (KeyValuePair<string, (string What, BlockSpec? Owner)> entry in generated)
                if (entry.Value.Owner is { } owner && inherited.Contains(entry.Key))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, owner.Location, entry.Key,
                        $"that every model inherits from MultiTaskModule (the generated {entry.Value.What} would hide it)");
            foreach (BlockSpec block in model.Blocks)
            {
                if (generated.TryGetValue(block.Name, out var clash))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, block.Location, block.Name, $"that the generator declares ({clash.What})");
                if (block.MemberProblem is { } problem)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidBlockMember, block.Location, block.Name, problem);
                if (inherited.Contains(block.Name))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, block.Location, block.Name, "that every model inherits from MultiTaskModule");
                if (block.Kind != BlockKind.Task && block.Layers.Count == 0)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.EmptyTrunkBlock, block.Location, block.Name);

                if (block.Kind == BlockKind.Task)
                {
                    if (block.Loss < 0 || block.Loss >= LossNames.All.Length)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnknownLoss, block.KindLocation ?? block.Location, block.Name,
                            block.Loss.ToString(CultureInfo.InvariantCulture), string.Join(", ", LossNames.All.Select(n => "Loss." + n)));
                    // The joint loss multiplies in the loss's type, float32: 1e39 is infinite there, 1e-50 is 0.
                    float asFloat = (float)block.Weight;
                    // 0 (as written) on a factor of a [ProductOf] task: scored, trained only through the product.
                    bool scoredOnly = block.Weight == 0 && !block.IsProduct && tasks.Any(t => t.IsProduct && t.ProductOf.Contains(block.Name));
                    if (!scoredOnly && (double.IsNaN(block.Weight) || block.Weight <= 0 || float.IsInfinity(asFloat) || asFloat <= 0))
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidWeight, block.WeightLocation ?? block.KindLocation, block.Name,
                            block.Weight.ToString("R", CultureInfo.InvariantCulture)
                            + (!double.IsInfinity(block.Weight) && block.Weight > 0 ? $", which is {(asFloat <= 0 ? "0" : "infinite")} in float32, the type the joint loss is computed in" : ""),
                            block.Weight == 0 ? "; 0 only on a task that a [ProductOf] task multiplies (it is then scored, and trained only through the product)" : "");
                    if (GeneratedApi.RecordMembers.TryGetValue(block.Name, out string? record))
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, block.Location, block.Name, record);
                    foreach (DiagnosticInfo weights in CheckLossWeights(block))
                        yield return weights;
                }

                string stateName = StateName(block.Name);
                if (stateNames.TryGetValue(stateName, out BlockSpec? first))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTaskName, block.Location, first.Name, block.Name, stateName);
                else
                    stateNames.Add(stateName, block);
            }

            foreach (DiagnosticInfo problem in CheckArchitecture(model, tasks))
                yield return problem;

            foreach (DiagnosticInfo problem in CheckSources(model, tasks))
                yield return problem;

            foreach (DiagnosticInfo problem in CheckProducts(model, tasks))
                yield return problem;
            foreach (DiagnosticInfo problem in CheckTransfers(model, tasks))
                yield return problem;

            foreach (MemberInfo member in model.OtherMembers)
            {
                if (member.HasLayers)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.LayersOnNonBlockMember, member.FirstLayerLocation ?? member.Location, member.Name);
                if (generated.TryGetValue(member.Name, out var declared) && declared.What is var what)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.GeneratedMemberClash, member.Location,
                        member.Name == ".ctor()" ? "constructor" : member.Kind, member.Name == ".ctor()" ? model.ClassName + "()" : member.Name, what);
            }
        }

        /// <summary>
        /// [ProductOf] (MTL038): on a task head of hard sharing, without layers or Reads, with the loss
        /// BinaryCrossEntropyWithLogits, of two or more distinct other tasks of that loss that are no products themselves
        /// (so no cycle). The factors' output shapes are compared where the shapes are known (<see cref="CheckLosses"/>).
        /// </summary>
        private static IEnumerable<DiagnosticInfo> CheckProducts(ModelSpec model, List<BlockSpec> tasks)
        {
            const string Bce = "BinaryCrossEntropyWithLogits";
            foreach (BlockSpec block in model.Blocks.Where(b => b.IsProduct))
            {
                string who = $"Task '{block.Name}'";
                if (block.Kind != BlockKind.Task)
                {
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.ProductOfLocation, $"Trunk block '{block.Name}'",
                        "has [ProductOf], which makes a task head of other tasks' outputs: declare it [Task(Loss.BinaryCrossEntropyWithLogits)] without layers, or remove [ProductOf]");
                    continue;
                }
                if (!model.Architecture.Definition.NamedReads)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.ProductOfLocation, who,
                        $"has [ProductOf], but model '{model.ClassName}' is declared {model.Architecture.Definition.Name}: tasks built from tasks work in hard parameter sharing only, for now (no architecture attribute)");
                if (block.Layers.Count > 0)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.Layers[0].Location ?? block.Location, who,
                        "has layers and [ProductOf]: its output is computed from its factors' outputs, so it has no layers of its own; remove the layers, or [ProductOf]");
                if (block.ReadsLocation is not null)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.ReadsLocation, who,
                        "has Reads and [ProductOf]: it reads its factors' outputs, no trunk block; remove Reads");
                if (block.Loss >= 0 && block.Loss < LossNames.All.Length && LossNames.Of(block.Loss) != Bce)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.KindLocation ?? block.Location, who,
                        $"has [ProductOf] and Loss.{LossNames.Of(block.Loss)}: its output is the logit of a product of probabilities, so its loss is Loss.{Bce}");
                var distinct = block.ProductOf.Distinct(StringComparer.Ordinal).Count();
                if (distinct < 2)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.ProductOfLocation, who,
                        $"has [ProductOf] of {(block.ProductOf.Count == 0 ? "nothing" : string.Join(", ", block.ProductOf.Select(f => $"'{f}'")))}: name two or more distinct other tasks, as [ProductOf(nameof(Click), nameof(Conversion))]");
                else if (distinct > ProductLimits.MaxFactors)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, block.ProductOfLocation, who,
                        $"has [ProductOf] of {distinct.ToString(CultureInfo.InvariantCulture)} tasks, but a product takes at most {ProductLimits.MaxFactors.ToString(CultureInfo.InvariantCulture)} factors " +
                        "(its logit sums over every non-empty subset of them, 2ⁿ − 1 terms); build it from fewer tasks");
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int i = 0; i < block.ProductOf.Count; i++)
                {
                    string factor = block.ProductOf[i];
                    LocationInfo? where = block.FactorLocation(i);
                    BlockSpec? named = model.Blocks.FirstOrDefault(b => b.Name == factor);
                    string others = string.Join(", ", tasks.Where(t => t.Name != block.Name && !t.IsProduct).Select(t => $"nameof({t.Name})"));
                    if (!seen.Add(factor))
                    {
                        if (distinct >= 2)
                            yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, where, who, $"names '{factor}' twice in [ProductOf]: each factor once");
                    }
                    else if (factor == block.Name)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, where, who, $"is a factor of itself in [ProductOf]: name other tasks ({others})");
                    else if (named is null || named.Kind != BlockKind.Task)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, where, who,
                            $"has [ProductOf] of '{factor}', which is {WhatIsNoTask(named)} of model '{model.ClassName}': name its tasks ({others})");
                    else if (named.IsProduct)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, where, who,
                            $"has [ProductOf] of '{factor}', which is a [ProductOf] task itself: a product's factors are tasks with heads of their own, so that no product reads itself (no cycles); name the tasks '{factor}' multiplies instead");
                    else if (named.Loss >= 0 && named.Loss < LossNames.All.Length && LossNames.Of(named.Loss) != Bce)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidProduct, where, who,
                            $"has [ProductOf] of '{factor}', whose loss is Loss.{LossNames.Of(named.Loss)}: a factor is a probability's logit, a task of Loss.{Bce}");
                }
            }
        }

        // What a name that [ProductOf] or [Transfer] gives, and which is no task, names instead.
        private static string WhatIsNoTask(BlockSpec? named) => named is null ? "no block" : "a trunk block, not a task";

        /// <summary>
        /// [Transfer] (MTL039): only in task heads, at most one a head; [Transfer(nameof(T))] names a task declared
        /// before this one (so no cycle) whose head has a transfer point itself. That the two points have one size is
        /// checked where the shapes are known (ShapeInference).
        /// </summary>
        private static IEnumerable<DiagnosticInfo> CheckTransfers(ModelSpec model, List<BlockSpec> tasks)
        {
            foreach (BlockSpec block in model.Blocks)
            {
                var points = block.Layers.Where(Layers.Transfer.Is).ToList();
                if (points.Count == 0) continue;
                if (block.Kind != BlockKind.Task)
                {
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, points[0].Location ?? block.Location, $"Trunk block '{block.Name}'",
                        "has [Transfer], which passes information between task towers: put it in a task head ([Task]), where the tower gives what the next task reads");
                    continue;
                }
                string who = $"Task '{block.Name}'";
                if (block.Residual)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, points[0].Location ?? block.Location, who,
                        "has [Transfer] in a [Residual] head, whose shortcut would pass around the point; remove [Residual], or put the residual part in a trunk block");
                for (int i = 1; i < points.Count; i++)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, points[i].Location ?? block.Location, who,
                        "has a second [Transfer]: a head has one transfer point, which it may read from an earlier task's and which later tasks read; remove this one");
                if (Layers.Transfer.Source(points[0]) is not string source) continue;
                LocationInfo? where = points[0].LocationOf("From");
                int index = tasks.FindIndex(t => t.Name == block.Name), at = tasks.FindIndex(t => t.Name == source);
                BlockSpec? named = model.Blocks.FirstOrDefault(b => b.Name == source);
                string earlier = string.Join(", ", tasks.Take(index).Where(t => t.Layers.Any(Layers.Transfer.Is)).Select(t => $"nameof({t.Name})"));
                string choose = earlier.Length > 0 ? $"name one of the earlier tasks with a transfer point ({earlier})" : "declare the task it reads before it, with [Transfer] in its head";
                if (source == block.Name)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, where, who, $"has [Transfer] from itself: a transfer point reads another task's; {choose}");
                else if (named is null || named.Kind != BlockKind.Task)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, where, who,
                        $"has [Transfer] from '{source}', which is {WhatIsNoTask(named)} of model '{model.ClassName}'; {choose}");
                else if (named.IsProduct)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, where, who,
                        $"has [Transfer] from '{source}', a [ProductOf] task, which has no tower to read; {choose}");
                else if (at > index)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, where, who,
                        $"has [Transfer] from '{source}', which is declared after it: information passes down the funnel in declaration order (so no cycle); declare '{source}' before '{block.Name}'");
                else if (!named.Layers.Any(Layers.Transfer.Is))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTransfer, where, who,
                        $"has [Transfer] from '{source}', whose head has no transfer point: add [Transfer] to '{source}''s layers where its tower gives what passes (before its output layer, as AITM does)");
            }
        }

        /// <summary>The architecture attribute's arguments, what the heads read, and the state-dict names the architecture takes.</summary>
        private static IEnumerable<DiagnosticInfo> CheckArchitecture(ModelSpec model, List<BlockSpec> tasks)
        {
            ArchitectureSpec architecture = model.Architecture;
            for (int i = 1; i < model.Architectures.Count; i++)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.SeveralArchitectures, model.Architectures[i].Location ?? model.ClassLocation,
                    model.ClassName, architecture.Kind.ToString(), model.Architectures[i].Kind.ToString());

            ArchitectureDefinition definition = architecture.Definition;
            string name = definition.Name;
            foreach (DiagnosticInfo problem in definition.Validate(model, architecture, tasks))
                yield return problem;

            var trunk = model.Blocks.Where(b => b.Kind == BlockKind.Trunk).ToList();
            foreach (BlockSpec task in tasks.Where(t => t.Reads is not null))
            {
                if (!definition.NamedReads)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidReads, task.ReadsLocation ?? task.KindLocation, task.Name, task.Reads!,
                        $"but Reads applies to hard parameter sharing only: in the {name} model '{model.ClassName}' every head reads its task's own representation; remove Reads");
                else if (!trunk.Any(b => b.Name == task.Reads))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidReads, task.ReadsLocation ?? task.KindLocation, task.Name, task.Reads!,
                        (model.Blocks.Any(b => b.Name == task.Reads) ? "which is a task head, not a trunk block"
                            : model.Inputs.Any(i => i.EffectiveName == task.Reads) ? "which is an input: a head reads a trunk block (let a trunk block read the input)"
                            : $"which is not a block of model '{model.ClassName}'")
                        + $": name one of its trunk blocks, {string.Join(", ", trunk.Select(b => $"nameof({b.Name})"))}");
            }

            // The modules the architecture adds take these state-dict names; a block must not.
            foreach (string reserved in definition.Fields(architecture).Select(f => f.State))
                foreach (BlockSpec block in model.Blocks.Where(b => StateName(b.Name) == reserved))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTaskName, block.Location, block.Name,
                        $"the {name} architecture's own modules", reserved);
        }

        /// <summary>The inputs: names, kinds, shapes, and whether the architecture can read them.</summary>
        private static IEnumerable<DiagnosticInfo> CheckInputs(ModelSpec model)
        {
            if (model.Inputs.Count == 0)
            {
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.ClassLocation, model.ClassName, "has no [Input(...)] attribute");
                yield break;
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (InputSpec input in model.Inputs)
            {
                string which = input.Name is null ? "the input" : $"input '{input.Name}'";
                if (input.Kind is not (0 or 1))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, input.LocationOf("Kind"), model.ClassName,
                        $"{which} has Kind {input.Kind.ToString(CultureInfo.InvariantCulture)}, which is not an InputKind; use InputKind.Features or InputKind.Ids");
                else if (input.Shape.Count == 0 && !input.Ids)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, input.Location, model.ClassName,
                        input.Name is null ? "declares an empty input shape" : $"declares input '{input.Name}' with an empty shape (only ids, Kind = InputKind.Ids, may be one value per sample)");
                else if (input.Shape.Any(d => d < 1))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, input.Location, model.ClassName,
                        $"declares {(input.Name is null ? "the input shape" : $"input '{input.Name}' with the shape")} {Literals.Shape(input.Shape)}, whose sizes must all be positive");

                if (input.Name is null)
                {
                    if (model.Inputs.Count > 1)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, input.Location, model.ClassName,
                            $"it declares {model.Inputs.Count.ToString(CultureInfo.InvariantCulture)} inputs, so each needs a name, the first argument: [Input(\"Image\", 3, 28, 28)]");
                    continue;
                }
                string name = input.Name;
                LocationInfo? at = input.LocationOf("Name");
                if (!Microsoft.CodeAnalysis.CSharp.SyntaxFacts.IsValidIdentifier(name))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, at, model.ClassName,
                        $"the input name \"{name}\" is not a C# identifier, and it becomes a property of the generated Inputs record; use letters, digits and underscores, not starting with a digit");
                else if (!names.Add(name))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, at, model.ClassName, $"two inputs are named '{name}'; give each its own name");
                else if (name is "Inputs" or "InputNames" or "Names" || GeneratedApi.RecordMembers.ContainsKey(name))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, at, model.ClassName,
                        $"the input name '{name}' is taken by the generated Inputs record ({(name == "Inputs" ? "its own name" : "one of its members")}); rename the input");
                else if (model.Blocks.FirstOrDefault(b => b.Name.TrimStart('@') == name) is { } block)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, at, model.ClassName,
                        $"input '{name}' has the name of block '{block.Name}', so a block that reads '{name}' would be ambiguous; rename one of them");
            }

            ArchitectureSpec architecture = model.Architecture;
            // An architecture reads one tensor: the input, unless a shared bottom or its first trunk block says what it reads.
            BlockSpec? first = model.Blocks.FirstOrDefault(b => b.Kind == BlockKind.Trunk);
            if (!architecture.Definition.NamedReads && !model.Blocks.Any(b => b.Kind == BlockKind.Bottom) && first is not { NamesSources: true }
                && (model.Inputs.Count > 1 || model.Inputs.Any(i => i.Ids)))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInput, architecture.Location ?? model.ClassLocation, model.ClassName,
                    $"the {architecture.Definition.Name} architecture reads one input of features ({architecture.Definition.InputReaders}); " +
                    "for several inputs or categorical ids, declare a shared bottom before it: [Trunk(Bottom = true, Reads = \"…\")] blocks that embed the ids and read the inputs, " +
                    "which the first trunk block reads (it may concatenate them with [Concat]); or use hard parameter sharing (no architecture attribute)");
        }

        /// <summary>
        /// What each block reads where blocks read by name (hard sharing's trunk blocks; in the other architectures the
        /// shared bottom's blocks, and the first trunk block, which says what the architecture reads), and what nothing
        /// reads: blocks (MTL028) and inputs (MTL033).
        /// </summary>
        private static IEnumerable<DiagnosticInfo> CheckSources(ModelSpec model, List<BlockSpec> tasks)
        {
            ArchitectureDefinition architecture = model.Architecture.Definition;
            bool hard = architecture.NamedReads;
            var trunk = model.Blocks.Where(b => b.Kind == BlockKind.Trunk).ToList();
            var bottom = model.Bottom;
            var inputs = model.Inputs.Select(i => i.EffectiveName).ToList();
            bool sound = true;
            DiagnosticInfo Problem(BlockSpec block, LocationInfo? where, string what)
            {
                sound = false;
                return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSource, where ?? block.Location, block.Name, what);
            }
            foreach (BlockSpec task in tasks.Where(t => t.ConcatLocation is not null))
            {
                sound = false;
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidReads, task.ConcatLocation, task.Name, string.Join(", ", task.Concat),
                    "but [Concat] applies to trunk blocks: a head reads one trunk block, so concatenate in a trunk block and let the head read that");
            }
            if (hard)
                foreach (BlockSpec block in bottom)
                    yield return Problem(block, block.BottomLocation,
                        $"is declared Bottom = true, but model '{model.ClassName}' has hard parameter sharing (no architecture attribute), whose trunk blocks are all shared: the shared bottom is what runs before the experts, columns or stages of MMoE, CGC, PLE, Cross-stitch or MTAN; remove Bottom = true");

            // The blocks that read by name: each reads inputs and the blocks of its group declared before it.
            var group = hard ? trunk : bottom;
            string kind = hard ? "trunk block" : "bottom block";
            for (int b = 0; b < group.Count; b++)
            {
                BlockSpec block = group[b];
                if (block.Reads is not null && block.ConcatLocation is not null)
                {
                    yield return Problem(block, block.ConcatLocation, "has both Reads and [Concat]; keep one ([Concat] for several inputs or blocks, Reads for one)");
                    continue;
                }
                if (!block.NamesSources)
                {
                    if (b == 0 && model.Inputs.Count > 1)
                    {
                        // The hint names what can be concatenated as it is: features; ids need an embedding first.
                        var features = model.Inputs.Where(i => !i.Ids).Select(i => i.EffectiveName).ToList();
                        string concat = features.Count >= 2 ? $" or concatenates several ([Concat(\"{features[0]}\", \"{features[1]}\")])" : "";
                        string ids = model.Inputs.Any(i => i.Ids) ? "; an input of ids is read by a block of its own that begins with Embedding or EmbeddingBag, whose output a later block may concatenate with features" : "";
                        yield return Problem(block, block.KindLocation, $"reads nothing: model '{model.ClassName}' has {model.Inputs.Count.ToString(CultureInfo.InvariantCulture)} inputs ({string.Join(", ", inputs)}), so its first {kind} says which it reads (Reads = \"{inputs[0]}\"){concat}{ids}");
                    }
                    continue;
                }
                if (block.ConcatLocation is not null && block.Concat.Count == 0)
                    yield return Problem(block, block.ConcatLocation, $"has a [Concat] that names nothing; name the inputs or earlier {kind}s it concatenates");
                foreach (string source in block.Sources)
                {
                    string earlier = string.Join(", ", inputs.Select(i => $"\"{i}\"").Concat(group.Take(b).Select(t => $"nameof({t.Name})")));
                    if (source.Length == 0)
                        yield return Problem(block, block.SourcesLocation, $"reads an empty or null name; name an input or an earlier {kind}: {earlier}");
                    else if (inputs.Contains(source) || group.Take(b).Any(t => t.Name == source))
                        continue;
                    else if (hard && bottom.Any(t => t.Name == source))
                        sound = false; // The bottom block is refused above; that is the mistake to fix.
                    else if (group.Skip(b).Any(t => t.Name == source))
                        yield return Problem(block, block.SourcesLocation, $"reads '{source}', which {(source == block.Name ? "is the block itself" : "is declared after it")}: a {kind} reads the inputs and the {kind}s declared before it ({earlier})");
                    else if (tasks.Any(t => t.Name == source))
                        yield return Problem(block, block.SourcesLocation, $"reads '{source}', which is a task head: a {kind} reads inputs and earlier {kind}s ({earlier})");
                    else if (!hard && trunk.Any(t => t.Name == source))
                        yield return Problem(block, block.SourcesLocation, $"reads '{source}', which is a trunk block of the {architecture.Name} architecture: the shared bottom runs before the architecture, so a bottom block reads inputs and earlier bottom blocks ({earlier})");
                    else
                        yield return Problem(block, block.SourcesLocation, $"reads '{source}', which is neither an input nor {(hard ? "a trunk block" : "a bottom block")} of model '{model.ClassName}': name one of {earlier}");
                }
            }

            if (!hard)
            {
                // The architecture's trunk blocks run in order; the first one may say what the architecture reads.
                string readable = string.Join(", ", inputs.Select(i => $"\"{i}\"").Concat(bottom.Select(t => $"nameof({t.Name})")));
                for (int b = 0; b < trunk.Count; b++)
                {
                    BlockSpec block = trunk[b];
                    if (!block.NamesSources) continue;
                    if (b > 0)
                    {
                        yield return Problem(block, block.SourcesLocation,
                            $"names what it reads, but the {architecture.Name} model '{model.ClassName}' runs its trunk blocks in order; only the first ('{trunk[0].Name}') may name what the architecture reads (an input or a bottom block, [Trunk(Bottom = true)]); remove it");
                        continue;
                    }
                    if (block.Reads is not null && block.ConcatLocation is not null)
                    {
                        yield return Problem(block, block.ConcatLocation, "has both Reads and [Concat]; keep one ([Concat] for several inputs or bottom blocks, Reads for one)");
                        continue;
                    }
                    if (block.ConcatLocation is not null && block.Concat.Count == 0)
                        yield return Problem(block, block.ConcatLocation, $"has a [Concat] that names nothing; name the inputs or bottom blocks the {architecture.Name} architecture reads");
                    foreach (string source in block.Sources)
                    {
                        if (inputs.Contains(source) || bottom.Any(t => t.Name == source)) continue;
                        string what = source.Length == 0 ? "an empty or null name"
                            : trunk.Any(t => t.Name == source) ? $"'{source}', a trunk block of the {architecture.Name} architecture, whose trunk blocks run in order after what the first reads"
                            : tasks.Any(t => t.Name == source) ? $"'{source}', a task head"
                            : $"'{source}', which is neither an input nor a bottom block of model '{model.ClassName}'";
                        yield return Problem(block, block.SourcesLocation,
                            $"is the first trunk block of the {architecture.Name} model '{model.ClassName}', so it names what the architecture and its gates read, and it reads {what}: name an input or a bottom block ([Trunk(Bottom = true)]): {(readable.Length > 0 ? readable : "none is declared")}");
                    }
                }
            }

            // (An unnamed input among several is MTL031 already: no MTL033 for the name "input" it never had.)
            if (!sound || trunk.Count == 0 || tasks.Count == 0 || model.Inputs.Count == 0 || model.Inputs.Count > 1 && model.Inputs.Any(i => i.Name is null)) yield break;
            if (hard && tasks.Any(t => t.Reads is not null && !trunk.Any(b => b.Name == t.Reads))) yield break;
            // Without a shared bottom or a first trunk block that names its sources, the architecture reads the one input (MTL031 otherwise).
            if (!hard && bottom.Count == 0 && !trunk[0].NamesSources) yield break;

            // Read backwards from what reads the group (the heads, or the architecture): what nothing reads is dead weight.
            var read = new HashSet<string>(StringComparer.Ordinal);
            if (hard)
                foreach (BlockSpec task in tasks) read.Add(task.Reads ?? trunk[trunk.Count - 1].Name);
            else
                foreach (string source in model.ArchitectureSources(trunk, bottom)) read.Add(source);
            for (int b = group.Count - 1; b >= 0; b--)
                if (read.Contains(group[b].Name))
                    foreach (string source in model.SourcesOf(group, b)) read.Add(source);
            foreach (BlockSpec unread in group.Where(t => !read.Contains(t.Name)))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnreadTrunkBlock, unread.Location, unread.Name);
            foreach (InputSpec input in model.Inputs.Where(i => !read.Contains(i.EffectiveName)))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnreadInput, input.Location, input.EffectiveName, model.ClassName);
        }

        /// <summary>
        /// A task's PositiveWeights and ClassWeights, without its shapes: declared for their loss, and values the loss
        /// can use in float32, the type it is computed in (the count against the head is <see cref="CheckLosses"/>'s).
        /// </summary>
        private static IEnumerable<DiagnosticInfo> CheckLossWeights(BlockSpec task)
        {
            string? loss = task.Loss >= 0 && task.Loss < LossNames.All.Length ? LossNames.Of(task.Loss) : null;  // else MTL022
            if (task.PositiveWeights is { } positive)
            {
                LocationInfo? where = task.PositiveWeightsLocation ?? task.KindLocation;
                if (loss is not null && loss != "BinaryCrossEntropyWithLogits")
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        $"has PositiveWeights, which weigh the positive labels of Loss.BinaryCrossEntropyWithLogits, but its loss is Loss.{loss}: " +
                        (loss == "CrossEntropy" ? "weigh its classes with ClassWeights, one per class" : "remove them"));
                else if (positive.Count == 0)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        "has no PositiveWeights in its list: give one weight for every label (PositiveWeights = [9]) or one per label, or remove it");
                else if (FirstBadWeight(positive, positive: true) is { } bad)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        $"has PositiveWeights[{bad.Index.ToString(CultureInfo.InvariantCulture)}] = {bad.Text}: a positive weight is a positive, finite number " +
                        "(1 leaves the positive labels as they are, 9 counts each 9 times)");
            }
            if (task.ClassWeights is { } perClass)
            {
                LocationInfo? where = task.ClassWeightsLocation ?? task.KindLocation;
                if (loss is not null && loss != "CrossEntropy")
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        $"has ClassWeights, which weigh the classes of Loss.CrossEntropy, but its loss is Loss.{loss}: " +
                        (loss == "BinaryCrossEntropyWithLogits" ? "weigh its positive labels with PositiveWeights" : "remove them"));
                else if (perClass.Count == 0)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        "has no ClassWeights in its list: give one weight per class, in class order, or remove it");
                else if (FirstBadWeight(perClass, positive: false) is { } bad)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        $"has ClassWeights[{bad.Index.ToString(CultureInfo.InvariantCulture)}] = {bad.Text}: a class weight is a finite number, 0 or more " +
                        "(0 leaves the class out of the loss)");
                else if (perClass.All(w => (float)w == 0))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, where, task.Name,
                        "has ClassWeights that are all 0" + (perClass.Any(w => w != 0) ? " in float32, the type the loss is computed in" : "") +
                        ": the loss would weigh no label; give the classes that count a positive weight");
            }
        }

        // The first weight the loss cannot use: NaN, infinite, negative (or 0, for a positive weight), or out of float32's
        // range where it is computed (1e39 is infinite there, and 1e-50 is 0).
        private static (int Index, string Text)? FirstBadWeight(EquatableArray<double> weights, bool positive)
        {
            for (int i = 0; i < weights.Count; i++)
            {
                double w = weights[i];
                float asFloat = (float)w;
                if (double.IsNaN(w) || double.IsInfinity(w) || w < 0 || positive && w == 0)
                    return (i, w.ToString("R", CultureInfo.InvariantCulture));
                if (float.IsInfinity(asFloat) || positive && asFloat == 0)
                    return (i, w.ToString("R", CultureInfo.InvariantCulture) + $", which is {(asFloat == 0 ? "0" : "infinite")} in float32, the type the loss is computed in");
            }
            return null;
        }

        /// <summary>Whether each task's loss can score its head's output.</summary>
        private static IEnumerable<DiagnosticInfo> CheckLosses(ShapedModel shaped)
        {
            foreach (ShapedBlock head in shaped.Blocks.Where(b => b.Spec.Kind == BlockKind.Task))
            {
                BlockSpec task = head.Spec;
                string loss = LossNames.Of(task.Loss);
                EquatableArray<int> output = head.OutputShape;
                bool classification = loss is "CrossEntropy" or "BinaryCrossEntropyWithLogits";
                LocationInfo? where = task.KindLocation ?? task.Location;
                bool tooFewClasses = loss == "CrossEntropy" && output[0] < 2;
                if (tooFewClasses)
                {
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, where, task.Name, loss, Literals.Shape(output),
                        "cross-entropy needs one score per class along the first dimension ([classes] or [classes, …]) and at least 2 classes; end the head with Linear(classes) or a convolution with one channel per class");
                }
                else if (task.Classes is int classes)
                {
                    if (!classification)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, task.ClassesLocation ?? where, task.Name, loss, Literals.Shape(output),
                            "Classes applies to CrossEntropy and BinaryCrossEntropyWithLogits only; remove it");
                    else if (classes != output[0])
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, task.ClassesLocation ?? where, task.Name, loss, Literals.Shape(output),
                            $"Classes = {classes.ToString(CultureInfo.InvariantCulture)} but the head gives {output[0].ToString(CultureInfo.InvariantCulture)}; make its last layer produce {classes.ToString(CultureInfo.InvariantCulture)} or correct Classes");
                }
                if (tooFewClasses) continue;

                // The loss weights' count against the head: one per class, one per label or one for all (their loss
                // and values are CheckLossWeights', whose errors stop the model before this runs).
                int labels = output.Count > 0 ? output[0] : 1;
                string shape = Literals.Shape(output);
                if (loss == "CrossEntropy" && task.ClassWeights is { Count: > 0 } perClass && perClass.Count != labels)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, task.ClassWeightsLocation ?? where, task.Name,
                        $"has {perClass.Count.ToString(CultureInfo.InvariantCulture)} ClassWeights but its head gives {labels.ToString(CultureInfo.InvariantCulture)} classes ({shape}): give one weight per class, in class order");
                if (loss == "BinaryCrossEntropyWithLogits" && task.PositiveWeights is { Count: > 1 } positive && positive.Count != labels)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLossWeights, task.PositiveWeightsLocation ?? where, task.Name,
                        $"has {positive.Count.ToString(CultureInfo.InvariantCulture)} PositiveWeights but its head gives {labels.ToString(CultureInfo.InvariantCulture)} labels ({shape}): give one weight for every label, or one per label");
            }
        }
    }

    /// <summary>The state-dict name of a block, as PyTorch code would name the attribute: <c>BoxRegression</c> → <c>box_regression</c>.</summary>
    internal static string StateName(string memberName)
    {
        var name = new StringBuilder(memberName.Length + 4);
        for (int i = 0; i < memberName.Length; i++)
        {
            char c = memberName[i];
            if (char.IsUpper(c))
            {
                bool wordStart = i > 0 && memberName[i - 1] != '_' &&
                    (char.IsLower(memberName[i - 1]) || char.IsDigit(memberName[i - 1]) || i + 1 < memberName.Length && char.IsLower(memberName[i + 1]));
                if (wordStart) name.Append('_');
                name.Append(char.ToLowerInvariant(c));
            }
            else
            {
                name.Append(c);
            }
        }
        // A name of underscores only (a block called _) keeps them: a state-dict name cannot be empty.
        string result = name.ToString().TrimStart('_');
        return result.Length == 0 ? memberName : result;
    }
}
