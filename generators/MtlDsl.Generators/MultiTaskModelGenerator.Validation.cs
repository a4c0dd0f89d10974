using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using MtlDsl.Generators.Diagnostics;
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
            if (parsed.Model is not { } model) return new AnalysisResult(parsed.ClassName, null, null, parsed.Diagnostics);
            if (model.CompilerRejects) return new AnalysisResult(model.ClassName, model.ClassLocation, null, EquatableArray<DiagnosticInfo>.Empty, model);
            try
            {
                var diagnostics = new List<DiagnosticInfo>(parsed.Diagnostics);
                diagnostics.AddRange(CheckStructure(model, inheritedMembers));
                if (HasErrors(diagnostics)) return new AnalysisResult(model.ClassName, model.ClassLocation, null, diagnostics.ToEquatableArray(), model);

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
            if (model.InputLocation is null)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.ClassLocation, model.ClassName, "has no [Input(...)] attribute");
            else if (model.InputShape.Count == 0)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.InputLocation, model.ClassName, "declares an empty input shape");
            else if (model.InputShape.Any(d => d < 1))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.InputLocation, model.ClassName,
                    $"declares the input shape {ShapeInference.Format(model.InputShape)}, whose sizes must all be positive");

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
            foreach (var (name, what, owner) in Emitter.DeclaredMembers(model))
            {
                if (!generated.TryGetValue(name, out var earlier)) generated.Add(name, (what, owner));
                else if (owner is not null && earlier.Owner is { } other && !ReferenceEquals(other, owner)
                         && StateName(other.Name) != StateName(owner.Name)) // one state-dict name is MTL009's, below
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, owner.Location, owner.Name,
                        $"of block '{other.Name}': both would be held in the generated {what.Split(' ')[0]} {name}; rename one of them");
            }
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
                if (block.Kind == BlockKind.Trunk && block.Layers.Count == 0)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.EmptyTrunkBlock, block.Location, block.Name);

                if (block.Kind == BlockKind.Task)
                {
                    if (block.Loss < 0 || block.Loss >= LossNames.All.Length)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnknownLoss, block.KindLocation ?? block.Location, block.Name,
                            block.Loss.ToString(CultureInfo.InvariantCulture), string.Join(", ", LossNames.All.Select(n => "Loss." + n)));
                    // The joint loss multiplies in the loss's type, float32: 1e39 is infinite there, 1e-50 is 0.
                    float asFloat = (float)block.Weight;
                    if (double.IsNaN(block.Weight) || block.Weight <= 0 || float.IsInfinity(asFloat) || asFloat <= 0)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidWeight, block.WeightLocation ?? block.KindLocation, block.Name,
                            block.Weight.ToString("R", CultureInfo.InvariantCulture)
                            + (!double.IsInfinity(block.Weight) && block.Weight > 0 ? $", which is {(asFloat <= 0 ? "0" : "infinite")} in float32, the type the joint loss is computed in" : ""));
                    if (Emitter.RecordMembers.TryGetValue(block.Name, out string? record))
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, block.Location, block.Name, record);
                }

                string stateName = StateName(block.Name);
                if (stateNames.TryGetValue(stateName, out BlockSpec? first))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTaskName, block.Location, first.Name, block.Name, stateName);
                else
                    stateNames.Add(stateName, block);
            }

            foreach (DiagnosticInfo problem in CheckArchitecture(model, tasks))
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

        /// <summary>The architecture attribute's arguments, what the heads read, and the state-dict names the architecture takes.</summary>
        private static IEnumerable<DiagnosticInfo> CheckArchitecture(ModelSpec model, List<BlockSpec> tasks)
        {
            ArchitectureSpec architecture = model.Architecture;
            for (int i = 1; i < model.Architectures.Count; i++)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.SeveralArchitectures, model.Architectures[i].Location ?? model.ClassLocation,
                    model.ClassName, architecture.Kind.ToString(), model.Architectures[i].Kind.ToString());

            string name = architecture.Kind.ToString();
            DiagnosticInfo Experts(string argument, int value, string requirement) =>
                DiagnosticInfo.Create(DiagnosticDescriptors.InvalidExperts, architecture.LocationOf(argument), name, model.ClassName, argument,
                    value.ToString(CultureInfo.InvariantCulture), requirement);
            switch (architecture.Kind)
            {
                case ArchitectureKind.MMoE when architecture.SharedExperts < 1:
                    yield return Experts("Experts", architecture.SharedExperts, "at least 1");
                    break;
                case ArchitectureKind.CGC or ArchitectureKind.PLE:
                    if (architecture.SharedExperts < 1)
                        yield return Experts("SharedExperts", architecture.SharedExperts, "at least 1 (the experts every task shares; without them the tasks share nothing)");
                    if (architecture.TaskExperts < 0)
                        yield return Experts("TaskExperts", architecture.TaskExperts, "zero or more");
                    break;
                case ArchitectureKind.CrossStitch when model.Blocks.Count(b => b.Kind == BlockKind.Trunk) == 1:
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.CrossStitchWithoutUnits, architecture.Location, model.ClassName);
                    break;
            }

            var trunk = model.Blocks.Where(b => b.Kind == BlockKind.Trunk).ToList();
            foreach (BlockSpec task in tasks.Where(t => t.Reads is not null))
            {
                if (architecture.Kind != ArchitectureKind.HardSharing)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidReads, task.ReadsLocation ?? task.KindLocation, task.Name, task.Reads!,
                        $"but Reads applies to hard parameter sharing only: in the {name} model '{model.ClassName}' every head reads its task's own representation; remove Reads");
                else if (!trunk.Any(b => b.Name == task.Reads))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidReads, task.ReadsLocation ?? task.KindLocation, task.Name, task.Reads!,
                        (model.Blocks.Any(b => b.Name == task.Reads) ? "which is a task head, not a trunk block" : $"which is not a block of model '{model.ClassName}'")
                        + $": name one of its trunk blocks, {string.Join(", ", trunk.Select(b => $"nameof({b.Name})"))}");
            }

            if (architecture.Kind == ArchitectureKind.HardSharing && tasks.Count > 0 && tasks.All(t => t.Reads is not null && trunk.Any(b => b.Name == t.Reads)))
            {
                int deepest = tasks.Max(t => trunk.FindIndex(b => b.Name == t.Reads));
                foreach (BlockSpec unread in trunk.Skip(deepest + 1))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.UnreadTrunkBlock, unread.Location, unread.Name);
            }

            // The modules the architecture adds take these state-dict names; a block must not.
            foreach (string reserved in Emitter.ArchitectureStateNames(architecture))
                foreach (BlockSpec block in model.Blocks.Where(b => StateName(b.Name) == reserved))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTaskName, block.Location, block.Name,
                        $"the {name} architecture's own modules", reserved);
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
                if (loss == "CrossEntropy" && output[0] < 2)
                {
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, where, task.Name, loss, ShapeInference.Format(output),
                        "cross-entropy needs one score per class along the first dimension ([classes] or [classes, …]) and at least 2 classes; end the head with Linear(classes) or a convolution with one channel per class");
                }
                else if (task.Classes is int classes)
                {
                    if (!classification)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, task.ClassesLocation ?? where, task.Name, loss, ShapeInference.Format(output),
                            "Classes applies to CrossEntropy and BinaryCrossEntropyWithLogits only; remove it");
                    else if (classes != output[0])
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, task.ClassesLocation ?? where, task.Name, loss, ShapeInference.Format(output),
                            $"Classes = {classes.ToString(CultureInfo.InvariantCulture)} but the head gives {output[0].ToString(CultureInfo.InvariantCulture)}; make its last layer produce {classes.ToString(CultureInfo.InvariantCulture)} or correct Classes");
                }
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
        return name.ToString().TrimStart('_');
    }
}
