using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Emit;

/// <summary>
/// CGC's and PLE's task experts as the emitter writes them: the one count every task has (<c>[CGC(2, 1)]</c>, written
/// as before), or one per task in declaration order (<c>[CGC(2, 1, 2)]</c>) as an array or list; and the task gates'
/// sizes, the shared experts and the task's own.
/// </summary>
internal static class ExpertCounts
{
    /// <summary>C#: the task-experts argument of <c>ExpertBlock</c>: <c>1</c>, or <c>new int[] { 1, 2 }</c>.</summary>
    public static string CSharp(ArchitectureSpec architecture) =>
        architecture.TaskExpertsPerTask is { } counts ? CSharpArray(counts) : Int(architecture.TaskExperts);

    /// <summary>C#: the size argument of <c>Mixture.Gates</c>: <c>3</c>, or <c>new int[] { 3, 4 }</c>.</summary>
    public static string CSharpGates(ArchitectureSpec architecture) =>
        architecture.TaskExpertsPerTask is { } counts ? CSharpArray(counts.Select(c => architecture.SharedExperts + c)) : Int(architecture.SharedExperts + architecture.TaskExperts);

    /// <summary>C#: the optional last argument of <c>PlanArchitecture</c>, <c>, new int[] { 1, 2 }</c>, or nothing for one count.</summary>
    public static string PlanArgument(ArchitectureSpec architecture) =>
        architecture.TaskExpertsPerTask is { } counts ? ", " + CSharpArray(counts) : "";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string CSharpArray(IEnumerable<int> values)
    {
        var items = values.Select(Int).ToList();
        return items.Count == 0 ? "new int[0]" : $"new int[] {{ {string.Join(", ", items)} }}";
    }
}
