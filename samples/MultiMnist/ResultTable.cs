using System.Globalization;
using System.Text;

namespace MultiMnist;

/// <summary>The comparison as a text table; with published numbers, ours beside them.</summary>
public static class ResultTable
{
    /// <summary>What kind of method each quick-mode row is, so that a first reader sees what is compared.</summary>
    /// <remarks>The equal-time row's kind is written with its epochs by <see cref="Format"/>.</remarks>
    public static IReadOnlyDictionary<string, string> Kinds { get; } = new Dictionary<string, string>
    {
        ["single-task"] = "one network per digit",
        ["Static"] = "equal weights",
        ["UW"] = "loss weighting",
        ["DWA"] = "loss weighting",
        ["GradNorm"] = "loss weighting",
        ["MGDA"] = "gradient method",
        ["PCGrad"] = "gradient method",
        ["CAGrad"] = "gradient method",
        ["MMoE"] = "architecture",
        ["CGC"] = "architecture",
        ["PLE"] = "architecture",
        ["Cross-stitch"] = "architecture",
        ["MTAN"] = "architecture",
    };

    /// <summary>
    /// One row per method: left and right test accuracy (%), Δm (%), seconds, and the published accuracies where
    /// there are any; without <paramref name="published"/> (the quick mode, whose figures are not comparable with a
    /// paper's 60,000 images) no published column, and each row says what kind of method it is instead.
    /// </summary>
    public static string Format(IReadOnlyList<MethodResult> results, IReadOnlyDictionary<string, (double Left, double Right)>? published)
    {
        static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        static string Name(MethodResult r) => r.Method switch
        {
            "MGDA" => "MGDA-UB",
            "Static" => "Static 1:1",
            "single-task" => "single-task (×2)",
            Experiment.EqualTime => "Static 1:1",
            _ => r.Method,
        };
        var text = new StringBuilder();
        if (published is null)
        {
            text.AppendLine($"{"method",-17} {"",-22} {"left %",7} {"right %",8} {"Δm %",7} {"time s",7}");
            foreach (MethodResult r in results)
            {
                string delta = r.DeltaM is double d ? F(d, "+0.00;-0.00") : "";
                string kind = r.Method == Experiment.EqualTime ? "2× epochs: equal time" : Kinds.TryGetValue(r.Method, out string? k) ? k : "";
                text.AppendLine($"{Name(r),-17} {kind,-22} {F(100 * r.Left, "F2"),7} {F(100 * r.Right, "F2"),8} {delta,7} {F(r.Seconds, "F1"),7}");
            }
            return text.ToString();
        }
        text.AppendLine($"{"method",-17} {"left %",8} {"right %",8} {"Δm %",7} {"time s",7}   {"published left / right (60k images)",-36}");
        foreach (MethodResult r in results)
        {
            string paper = published.TryGetValue(r.Method, out var p) ? $"{F(p.Left, "F2")} / {F(p.Right, "F2")}" : "—";
            string delta = r.DeltaM is double d ? F(d, "+0.00;-0.00") : "";
            text.AppendLine($"{Name(r),-17} {F(100 * r.Left, "F2"),8} {F(100 * r.Right, "F2"),8} {delta,7} {F(r.Seconds, "F1"),7}   {paper,-36}");
        }
        return text.ToString();
    }
}
