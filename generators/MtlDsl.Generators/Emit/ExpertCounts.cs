using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Emit;

/// <summary>
/// CGC's and PLE's task experts as the PyTorch twin writes them: the one count every task has (<c>[CGC(2, 1)]</c>), or
/// one per task in declaration order (<c>[CGC(2, 1, 2)]</c>) as a list; and the task gates' sizes, the shared experts
/// and the task's own. (The C# of the experts is Architectures/Experts.cs's; these go with PyTorchEmitter, which is
/// being moved to the runtime.)
/// </summary>
internal static class ExpertCounts
{
    /// <summary>Python: the task-experts argument of <c>mtl.Experts</c>: <c>1</c>, or <c>[1, 2]</c>.</summary>
    public static string Python(ArchitectureSpec architecture) =>
        architecture.TaskExpertsPerTask is { } counts ? PythonList(counts) : Int(architecture.TaskExperts);

    /// <summary>Python: the size argument of <c>mtl.gates</c>: <c>3</c>, or <c>[3, 4]</c>.</summary>
    public static string PythonGates(ArchitectureSpec architecture) =>
        architecture.TaskExpertsPerTask is { } counts ? PythonList(counts.Select(c => architecture.SharedExperts + c)) : Int(architecture.SharedExperts + architecture.TaskExperts);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string PythonList(IEnumerable<int> values) => $"[{string.Join(", ", values.Select(Int))}]";
}
