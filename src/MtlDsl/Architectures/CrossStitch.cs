using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Architectures;

/// <summary>
/// Cross-stitch networks: one column per task (a copy of every trunk block, <c>{block}.{task}.…</c>), and after
/// every stage but the last a learnable T×T unit (<c>cross_stitch.{stage}</c>) that mixes the columns: the input
/// of the next stage for task t is <c>Σ_j α[t, j] · out_j</c>.
/// </summary>
public static class CrossStitch
{
    /// <summary>The initial value of a task's own entry α[t, t] (Misra et al.: α_S = 0.9).</summary>
    public const double Self = 0.9;

    /// <summary>
    /// The units of <paramref name="stages"/> stages and <paramref name="tasks"/> tasks, initialised as the paper
    /// does: <see cref="Self"/> on the diagonal, the rest of 1 shared by the other tasks (α_D = 0.1 for two tasks).
    /// </summary>
    public static ParameterList Units(int stages, int tasks)
    {
        var units = new ParameterList();
        double other = tasks > 1 ? (1 - Self) / (tasks - 1) : 0;
        for (int s = 0; s + 1 < stages; s++)
        {
            var alpha = new float[tasks * tasks];
            for (int t = 0; t < tasks; t++)
                for (int j = 0; j < tasks; j++) alpha[t * tasks + j] = (float)(t == j ? (tasks > 1 ? Self : 1.0) : other);
            units.Add(new Parameter(tensor(alpha).reshape(tasks, tasks).DetachFromDisposeScope(), requires_grad: true));
        }
        return units;
    }

    /// <summary>The columns' outputs mixed by <paramref name="unit"/>: for task t, <c>Σ_j unit[t, j] · columns[j]</c>.</summary>
    public static Tensor[] Mix(Tensor unit, IReadOnlyList<Tensor> columns)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(columns);
        var mixed = new Tensor[columns.Count];
        for (int t = 0; t < columns.Count; t++)
        {
            mixed[t] = TensorMath.Sum(columns.Select((column, j) => unit[t, j] * column).ToList());
        }
        return mixed;
    }

    /// <summary>One column per task: <paramref name="tasks"/> fresh copies of a trunk block (<c>{block}.{task index}.…</c>).</summary>
    public static ModuleList<Sequential> Columns(int tasks, Func<Sequential> block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return new ModuleList<Sequential>(Enumerable.Range(0, tasks).Select(_ => block()).ToArray());
    }

    /// <summary>
    /// The forward pass: every column runs its copy of each stage (<paramref name="stages"/>), and after every stage
    /// but the last the unit of that stage mixes the columns. Returns every task's column output.
    /// </summary>
    public static Tensor[] Forward(IReadOnlyList<ModuleList<Sequential>> stages, ParameterList units, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(units);
        Tensor[] columns = Enumerable.Repeat(input, stages[0].Count).ToArray();
        for (int s = 0; s < stages.Count; s++)
        {
            for (int t = 0; t < columns.Length; t++) columns[t] = stages[s][t].forward(columns[t]);
            if (s + 1 < stages.Count) columns = Mix(units[s], columns);
        }
        return columns;
    }
}
