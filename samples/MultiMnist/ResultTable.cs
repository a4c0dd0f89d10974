using System.Globalization;
using System.Text;

namespace MultiMnist;

/// <summary>The comparison as a text table, ours beside the published numbers.</summary>
public static class ResultTable
{
    /// <summary>One row per method: left and right test accuracy (%), Δm (%), seconds, and the published accuracies where there are any.</summary>
    public static string Format(IReadOnlyList<MethodResult> results, IReadOnlyDictionary<string, (double Left, double Right)> published)
    {
        static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine($"{"method",-14} {"left %",8} {"right %",8} {"Δm %",7} {"time s",7}   {"published left / right (60k images)",-36}");
        foreach (MethodResult r in results)
        {
            string name = r.Method switch { "MGDA" => "MGDA-UB", "Static" => "Static 1:1", _ => r.Method };
            string paper = published.TryGetValue(r.Method, out var p) ? $"{F(p.Left, "F2")} / {F(p.Right, "F2")}" : "—";
            string delta = r.DeltaM is double d ? F(d, "+0.00;-0.00") : "";
            text.AppendLine($"{name,-14} {F(100 * r.Left, "F2"),8} {F(100 * r.Right, "F2"),8} {delta,7} {F(r.Seconds, "F1"),7}   {paper,-36}");
        }
        return text.ToString();
    }
}
