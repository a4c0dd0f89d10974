using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using MtlDsl.Generators.Diagnostics;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators;

/// <summary>The analysis of one model: what the emitter writes (null when there are errors) and the diagnostics.</summary>
internal sealed record AnalysisResult(string ClassName, ShapedModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

public sealed partial class MultiTaskModelGenerator
{
    /// <summary>Members of the generated records that a task's name must not take.</summary>
    private static readonly Dictionary<string, string> ReservedTaskNames = new(StringComparer.Ordinal)
    {
        ["Total"] = "Losses and LossValues",
        ["Count"] = "Outputs and Targets",
        ["Item"] = "Outputs and Targets",
        ["EqualityContract"] = "Outputs and Targets",
        ["Create"] = "LossValues",
    };

    /// <summary>Structural checks and shape inference: turns a parsed model into an emittable one or diagnostics.</summary>
    internal static class Validation
    {
        public static AnalysisResult Analyze(ParseResult parsed)
        {
            if (parsed.Model is not { } model) return new AnalysisResult(parsed.ClassName, null, parsed.Diagnostics);
            try
            {
                var diagnostics = new List<DiagnosticInfo>(parsed.Diagnostics);
                diagnostics.AddRange(CheckStructure(model));
                if (diagnostics.Count > 0) return new AnalysisResult(model.ClassName, null, diagnostics.ToEquatableArray());

                var (shaped, shapeDiagnostics) = ShapeInference.Infer(model);
                return new AnalysisResult(model.ClassName, shaped, shapeDiagnostics.ToEquatableArray());
            }
            catch (Exception e)
            {
                return new AnalysisResult(model.ClassName, null, new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, model.ClassLocation, model.ClassName, e.GetType().Name + ": " + e.Message),
                }.ToEquatableArray());
            }
        }

        private static IEnumerable<DiagnosticInfo> CheckStructure(ModelSpec model)
        {
            if (model.InputLocation is null)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.ClassLocation, model.ClassName, "has no [Input(...)] attribute");
            else if (model.InputShape.Count == 0)
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.InputLocation, model.ClassName, "declares an empty input shape");
            else if (model.InputShape.Any(d => d < 1))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidInputShape, model.InputLocation, model.ClassName,
                    $"declares the input shape {ShapeInference.Format(model.InputShape)}, whose sizes must all be positive");

            if (!model.Blocks.Any(b => b.Kind == BlockKind.Trunk))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.NoTrunk, model.ClassLocation, model.ClassName);
            if (!model.Blocks.Any(b => b.Kind == BlockKind.Task))
                yield return DiagnosticInfo.Create(DiagnosticDescriptors.NoTask, model.ClassLocation, model.ClassName);

            var stateNames = new Dictionary<string, BlockSpec>(StringComparer.Ordinal);
            foreach (BlockSpec block in model.Blocks)
            {
                if (block.MemberProblem is { } problem)
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidBlockMember, block.Location, block.Name, problem);

                if (block.Kind == BlockKind.Task)
                {
                    if (double.IsNaN(block.Weight) || double.IsInfinity(block.Weight) || block.Weight <= 0)
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidWeight, block.WeightLocation ?? block.KindLocation, block.Name,
                            block.Weight.ToString("R", CultureInfo.InvariantCulture));
                    if (ReservedTaskNames.TryGetValue(block.Name, out string? record))
                        yield return DiagnosticInfo.Create(DiagnosticDescriptors.ReservedTaskName, block.Location, block.Name, record);
                }

                string stateName = StateName(block.Name);
                if (stateNames.TryGetValue(stateName, out BlockSpec? first))
                    yield return DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTaskName, block.Location, first.Name, block.Name, stateName);
                else
                    stateNames.Add(stateName, block);
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
