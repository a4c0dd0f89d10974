using System.Globalization;
using System.Text;

namespace MtlDsl;

/// <summary>
/// A picture of a model, drawn from its compile-time graph (<see cref="NetworkPlan"/> and the tasks): every input with
/// its shape; every trunk block with its layers (<c>Conv2d 3→32 k3 · ReLU · MaxPool2d 2</c>), its output shape and its
/// residual shortcut; what each block reads; the architecture as it runs (MMoE's, CGC's and PLE's experts as stacks
/// of copies and their gates, Cross-stitch's columns and units, MTAN's shared stages and each task's attention);
/// each head with its layers, output shape, loss and weight; and the joint loss. <see cref="Svg(NetworkPlan, IReadOnlyList{TaskDefinition})"/>
/// writes a standalone SVG image (no native dependency, no fonts to install: a monospace font of the viewer's),
/// <see cref="Mermaid(NetworkPlan, IReadOnlyList{TaskDefinition})"/> a Mermaid flowchart for Markdown
/// (<c>```mermaid</c> blocks on GitHub, GitLab, Azure DevOps).
/// </summary>
/// <remarks>
/// Solid arrows carry tensors; a dashed arrow is what a gate weighs the experts by (its input), not what it mixes.
/// In hard sharing a trunk block that no head reads is drawn, marked "not run". <c>File.WriteAllText("model.svg",
/// ModelDiagram.Svg(model))</c> draws your own.
/// </remarks>
public static class ModelDiagram
{
    /// <summary>The model's picture as an SVG document (see <see cref="ModelDiagram"/>).</summary>
    /// <typeparam name="TOutputs">The model's outputs record.</typeparam>
    /// <typeparam name="TTargets">The model's targets record.</typeparam>
    /// <param name="model">A model the generator wrote.</param>
    /// <exception cref="ArgumentException">The model has no <see cref="NetworkPlan"/> (the generator did not write it).</exception>
    public static string Svg<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        ArgumentNullException.ThrowIfNull(model);
        return Svg(PlanOf(model), model.Tasks);
    }

    /// <summary>The model's picture as a Mermaid flowchart (see <see cref="ModelDiagram"/>).</summary>
    /// <typeparam name="TOutputs">The model's outputs record.</typeparam>
    /// <typeparam name="TTargets">The model's targets record.</typeparam>
    /// <param name="model">A model the generator wrote.</param>
    /// <exception cref="ArgumentException">The model has no <see cref="NetworkPlan"/> (the generator did not write it).</exception>
    public static string Mermaid<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        ArgumentNullException.ThrowIfNull(model);
        return Mermaid(PlanOf(model), model.Tasks);
    }

    /// <summary>
    /// The picture of the network <paramref name="plan"/> with <paramref name="tasks"/> (a model's <c>NetworkPlan</c>
    /// and <c>Tasks</c>) as an SVG document: a root <c>svg</c> element with its width, height and viewBox, boxes laid
    /// out top to bottom by dependency depth, arrows with arrowheads. Every name is escaped for XML.
    /// </summary>
    /// <param name="plan">The declared network.</param>
    /// <param name="tasks">The tasks, one per head of <paramref name="plan"/>, in the same order.</param>
    /// <exception cref="ArgumentException">The tasks do not match the plan's heads, or the plan has no input.</exception>
    public static string Svg(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        DiagramLayout layout = DiagramLayout.Compute(DiagramGraph.Build(plan, tasks));
        DiagramGraph graph = layout.Graph;
        var svg = new StringBuilder();
        string width = Px(layout.Width), height = Px(layout.Height);
        svg.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(width).Append("\" height=\"").Append(height)
            .Append("\" viewBox=\"0 0 ").Append(width).Append(' ').Append(height).Append("\" font-family=\"")
            .Append("ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace\" font-size=\"12\">\n");
        svg.Append("  <title>").Append(Xml(graph.Title + " — " + graph.Subtitle)).Append("</title>\n");
        svg.Append("  <defs>\n    <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">")
            .Append("<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#546e7a\"/></marker>\n  </defs>\n");
        svg.Append("  <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        svg.Append("  <text x=\"20\" y=\"38\" font-size=\"16\" font-weight=\"bold\" fill=\"#212121\">").Append(Xml(graph.Title)).Append("</text>\n");
        svg.Append("  <text x=\"20\" y=\"56\" fill=\"#546e7a\">").Append(Xml(graph.Subtitle)).Append("</text>\n");

        svg.Append("  <g class=\"edges\" fill=\"none\" stroke=\"#546e7a\" stroke-width=\"1.3\">\n");
        for (int e = 0; e < graph.Edges.Count; e++)
        {
            DiagramEdge edge = graph.Edges[e];
            svg.Append("    <polyline points=\"").Append(string.Join(" ", layout.Arrows[e].Select(p => Px(p.X) + "," + Px(p.Y)))).Append('"');
            svg.Append(" data-from=\"n").Append(Int(edge.From)).Append("\" data-to=\"n").Append(Int(edge.To)).Append('"');
            if (edge.Dashed) svg.Append(" stroke-dasharray=\"5 4\" stroke=\"#90a4ae\"");
            svg.Append(" marker-end=\"url(#arrow)\"/>\n");
        }
        svg.Append("  </g>\n");

        svg.Append("  <g class=\"nodes\">\n");
        foreach (DiagramNode node in graph.Nodes)
        {
            DiagramLayout.Box box = layout.Boxes[node.Id];
            (string fill, string stroke) = Colours(node.Kind);
            string kind = node.Kind.ToString().ToLowerInvariant();
            svg.Append("    <g class=\"node ").Append(kind).Append("\" id=\"n").Append(Int(node.Id)).Append("\">\n");
            int copies = node.Copies > 2 ? 2 : node.Copies - 1;
            for (int c = copies; c >= 1; c--)
                svg.Append("      <rect class=\"copy\" x=\"").Append(Px(box.X + c * DiagramLayout.CopyOffset)).Append("\" y=\"").Append(Px(box.Y + c * DiagramLayout.CopyOffset))
                    .Append("\" width=\"").Append(Px(box.Width)).Append("\" height=\"").Append(Px(box.Height)).Append("\" rx=\"6\" fill=\"").Append(fill)
                    .Append("\" stroke=\"").Append(stroke).Append("\"/>\n");
            svg.Append("      <rect class=\"box\" x=\"").Append(Px(box.X)).Append("\" y=\"").Append(Px(box.Y)).Append("\" width=\"").Append(Px(box.Width))
                .Append("\" height=\"").Append(Px(box.Height)).Append("\" rx=\"6\" fill=\"").Append(fill).Append("\" stroke=\"").Append(stroke).Append("\" stroke-width=\"1.4\"/>\n");
            double x = box.X + DiagramLayout.Padding;
            double baseline = box.Y + DiagramLayout.Padding + 12;
            void Line(string text, string attributes)
            {
                svg.Append("      <text x=\"").Append(Px(x)).Append("\" y=\"").Append(Px(baseline)).Append('"').Append(attributes).Append('>')
                    .Append(Xml(text)).Append("</text>\n");
                baseline += DiagramLayout.LineHeight;
            }
            Line(node.Title, " class=\"title\" font-size=\"13\" font-weight=\"bold\" fill=\"#212121\"");
            if (node.Caption.Length > 0) Line(node.Caption, " class=\"caption\" font-size=\"11\" font-style=\"italic\" fill=\"#546e7a\"");
            foreach (string line in node.Body) Line(line, " fill=\"#212121\"");
            if (DiagramLayout.HasRule(node))
            {
                // Midway between the descenders of the line above and the footer's capitals.
                double rule = baseline - DiagramLayout.LineHeight + 6;
                baseline += DiagramLayout.RuleGap;
                svg.Append("      <line x1=\"").Append(Px(box.X + 6)).Append("\" y1=\"").Append(Px(rule)).Append("\" x2=\"").Append(Px(box.X + box.Width - 6))
                    .Append("\" y2=\"").Append(Px(rule)).Append("\" stroke=\"").Append(stroke).Append("\" stroke-opacity=\"0.35\"/>\n");
            }
            foreach (string line in node.Footer) Line(line, " class=\"footer\" font-weight=\"bold\" fill=\"#37474f\"");
            svg.Append("    </g>\n");
        }
        svg.Append("  </g>\n</svg>\n");
        return svg.ToString();
    }

    /// <summary>
    /// The picture of the network <paramref name="plan"/> with <paramref name="tasks"/> as a Mermaid flowchart
    /// (<c>flowchart TD</c>), the same boxes and arrows as <see cref="Svg(NetworkPlan, IReadOnlyList{TaskDefinition})"/>.
    /// Boxes have ids of their own (<c>n0</c>, <c>n1</c>, …), never the declared names, which may be Mermaid's
    /// keywords; labels are quoted, with Mermaid's entity codes for quotes and markup (<c>#quot;</c>, <c>#lt;</c>).
    /// </summary>
    /// <param name="plan">The declared network.</param>
    /// <param name="tasks">The tasks, one per head of <paramref name="plan"/>, in the same order.</param>
    /// <exception cref="ArgumentException">The tasks do not match the plan's heads, or the plan has no input.</exception>
    public static string Mermaid(NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        DiagramGraph graph = DiagramGraph.Build(plan, tasks);
        var text = new StringBuilder();
        text.Append("flowchart TD\n");
        text.Append("  %% ").Append(Comment(graph.Title + " — " + graph.Subtitle)).Append('\n');
        foreach (DiagramNode node in graph.Nodes)
        {
            var lines = new List<string> { "<b>" + MermaidText(node.Title) + "</b>" };
            if (node.Caption.Length > 0) lines.Add("<i>" + MermaidText(node.Caption) + "</i>");
            lines.AddRange(node.Body.Concat(node.Footer).Select(MermaidText));
            string label = "\"" + string.Join("<br/>", lines) + "\"";
            (string open, string close) = node.Kind switch
            {
                DiagramKind.Input or DiagramKind.Loss => ("([", "])"),
                DiagramKind.Gate or DiagramKind.Unit or DiagramKind.Attention => ("{{", "}}"),
                _ => ("[", "]"),
            };
            text.Append("  n").Append(Int(node.Id)).Append(open).Append(label).Append(close).Append('\n');
        }
        foreach (DiagramEdge edge in graph.Edges)
            text.Append("  n").Append(Int(edge.From)).Append(edge.Dashed ? " -.-> n" : " --> n").Append(Int(edge.To)).Append('\n');
        foreach (DiagramKind kind in Enum.GetValues<DiagramKind>())
        {
            int[] ids = graph.Nodes.Where(n => n.Kind == kind).Select(n => n.Id).ToArray();
            if (ids.Length == 0) continue;
            (string fill, string stroke) = Colours(kind);
            text.Append("  classDef mtl").Append(kind).Append(" fill:").Append(fill).Append(",stroke:").Append(stroke).Append(",color:#212121\n");
            text.Append("  class ").Append(string.Join(",", ids.Select(id => "n" + Int(id)))).Append(" mtl").Append(kind).Append('\n');
        }
        return text.ToString();
    }

    private static NetworkPlan PlanOf<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets> =>
        model.NetworkPlan ?? throw new ArgumentException($"{model.GetName()} has no network plan: only models the MtlDsl generator wrote can be drawn.", nameof(model));

    private static (string Fill, string Stroke) Colours(DiagramKind kind) => kind switch
    {
        DiagramKind.Input => ("#e3f2fd", "#1e88e5"),
        DiagramKind.Expert => ("#e8f5e9", "#43a047"),
        DiagramKind.Column => ("#e0f7fa", "#00838f"),
        DiagramKind.Gate => ("#fff8e1", "#f9a825"),
        DiagramKind.Unit => ("#fff3e0", "#ef6c00"),
        DiagramKind.Attention => ("#f3e5f5", "#8e24aa"),
        DiagramKind.Head => ("#fce4ec", "#d81b60"),
        DiagramKind.Loss => ("#eceff1", "#455a64"),
        _ => ("#fafafa", "#616161"),
    };

    // Text for XML content and double-quoted attribute values: &, <, > and " as entities, and what XML 1.0 cannot hold at all
    // (control characters, lone surrogates, U+FFFE/U+FFFF) as U+FFFD.
    internal static string Xml(string text)
    {
        var escaped = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': escaped.Append("&amp;"); break;
                case '<': escaped.Append("&lt;"); break;
                case '>': escaped.Append("&gt;"); break;
                case '"': escaped.Append("&quot;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        escaped.Append(c).Append(text[++i]);
                    }
                    else if (c is '\t' or '\n' or '\r' || (c >= ' ' && !char.IsSurrogate(c) && c is not ('\uFFFE' or '\uFFFF')))
                    {
                        escaped.Append(c is '\t' or '\n' or '\r' ? ' ' : c);
                    }
                    else escaped.Append('\uFFFD');
                    break;
            }
        }
        return escaped.ToString();
    }

    // Text inside a quoted Mermaid label: '#' first (it starts Mermaid's entity codes), then what would end the quote
    // or read as markup, as Mermaid's entity codes; line breaks and control characters as spaces.
    internal static string MermaidText(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            escaped.Append(c switch
            {
                '#' => "#35;",
                '"' => "#quot;",
                '<' => "#lt;",
                '>' => "#gt;",
                '&' => "#amp;",
                '`' => "#96;",
                '|' => "#124;",
                _ when char.IsControl(c) => " ",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    // A Mermaid comment runs to the end of its line.
    private static string Comment(string text) => new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    private static string Px(double value) => Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
