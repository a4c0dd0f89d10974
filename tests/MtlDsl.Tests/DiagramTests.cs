using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;

namespace MtlDsl.Tests;

/// <summary>
/// <see cref="ModelDiagram"/>: for every test and sample model, the SVG is a well-formed SVG document that names every
/// input, trunk block and head and each task's loss, whose boxes do not overlap, whose text fits its box and whose
/// arrows run from box to box without crossing a third; the Mermaid flowchart names every block and defines every
/// box an arrow joins. Awkward names (XML's specials, Mermaid's keywords) go through both unharmed. The pictures in
/// docs/images/models are the ones the models draw (<c>MTLDSL_ACCEPT_DOCS=1</c> rewrites them).
/// </summary>
public class DiagramTests
{
    private static readonly XNamespace SvgNamespace = "http://www.w3.org/2000/svg";

    private sealed record Drawing(string Svg, string Mermaid, NetworkPlan Plan, IReadOnlyList<TaskDefinition> Tasks);

    private static Drawing Draw<TOutputs, TTargets>(MultiTaskModule<TOutputs, TTargets> model)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        using (model)
            return new Drawing(ModelDiagram.Svg(model), ModelDiagram.Mermaid(model), model.NetworkPlan!, model.Tasks);
    }

    // The architectures' test models, the samples' models and the feature interactions' example: the pictures docs/images/models holds.
    private static readonly Dictionary<string, Func<Drawing>> DocsModels = new()
    {
        [nameof(HardSharingModel)] = () => Draw(new HardSharingModel()),
        [nameof(MMoEModel)] = () => Draw(new MMoEModel()),
        [nameof(OMoEModel)] = () => Draw(new OMoEModel()),
        [nameof(CGCModel)] = () => Draw(new CGCModel()),
        [nameof(CGCPerTaskModel)] = () => Draw(new CGCPerTaskModel()),
        [nameof(PLEModel)] = () => Draw(new PLEModel()),
        [nameof(PLEPerTaskModel)] = () => Draw(new PLEPerTaskModel()),
        [nameof(CrossStitchModel)] = () => Draw(new CrossStitchModel()),
        [nameof(MTANModel)] = () => Draw(new MTANModel()),
        [nameof(MMoEBottomModel)] = () => Draw(new MMoEBottomModel()),
        [nameof(PLEBottomModel)] = () => Draw(new PLEBottomModel()),
        [nameof(EsmmModel)] = () => Draw(new EsmmModel()),
        [nameof(AitmModel)] = () => Draw(new AitmModel()),
        [nameof(MultiMnist.MultiLeNet)] = () => Draw(new MultiMnist.MultiLeNet()),
        [nameof(MultiMnist.MMoELeNet)] = () => Draw(new MultiMnist.MMoELeNet()),
        [nameof(MultiMnist.CGCLeNet)] = () => Draw(new MultiMnist.CGCLeNet()),
        [nameof(MultiMnist.PLELeNet)] = () => Draw(new MultiMnist.PLELeNet()),
        [nameof(MultiMnist.CrossStitchLeNet)] = () => Draw(new MultiMnist.CrossStitchLeNet()),
        [nameof(MultiMnist.MTANLeNet)] = () => Draw(new MultiMnist.MTANLeNet()),
        [nameof(Penguins.PenguinModel)] = () => Draw(new Penguins.PenguinModel()),
        [nameof(MmoeSynthetic.SharedBottom)] = () => Draw(new MmoeSynthetic.SharedBottom()),
        [nameof(MmoeSynthetic.OneGateMoE)] = () => Draw(new MmoeSynthetic.OneGateMoE()),
        [nameof(MmoeSynthetic.MultiGateMoE)] = () => Draw(new MmoeSynthetic.MultiGateMoE()),
        [nameof(SeedExample.VisionModel)] = () => Draw(new SeedExample.VisionModel()),
        [nameof(InteractionModel)] = () => Draw(new InteractionModel()),
        [nameof(Funnel.FunnelSharedBottom)] = () => Draw(new Funnel.FunnelSharedBottom()),
        [nameof(Funnel.FunnelMmoe)] = () => Draw(new Funnel.FunnelMmoe()),
        [nameof(Funnel.FunnelPle)] = () => Draw(new Funnel.FunnelPle()),
        [nameof(Funnel.FunnelEsmm)] = () => Draw(new Funnel.FunnelEsmm()),
        [nameof(Funnel.FunnelAitm)] = () => Draw(new Funnel.FunnelAitm()),
    };

    // Every other test model: drawn and checked, not published.
    private static readonly Dictionary<string, Func<Drawing>> OtherModels = new()
    {
        [nameof(AuxiliaryHeadModel)] = () => Draw(new AuxiliaryHeadModel()),
        [nameof(DenseModel)] = () => Draw(new DenseModel()),
        [nameof(ImbalanceModel)] = () => Draw(new ImbalanceModel()),
        [nameof(NormalizationModel)] = () => Draw(new NormalizationModel()),
        [nameof(OwnModuleModel)] = () => Draw(new OwnModuleModel()),
        [nameof(PooledImageModel)] = () => Draw(new PooledImageModel()),
        [nameof(RecommenderModel)] = () => Draw(new RecommenderModel()),
        [nameof(ReservedNamesModel)] = () => Draw(new ReservedNamesModel()),
        [nameof(ResidualModel)] = () => Draw(new ResidualModel()),
        [nameof(SameShapeReadsModel)] = () => Draw(new SameShapeReadsModel()),
        [nameof(SignalModel)] = () => Draw(new SignalModel()),
        [nameof(TabularModel)] = () => Draw(new TabularModel()),
        [nameof(MultiMnist.DenseMultiLeNet)] = () => Draw(new MultiMnist.DenseMultiLeNet()),
    };

    public static TheoryData<string> Models => new(DocsModels.Keys.Concat(OtherModels.Keys));

    private static Drawing DrawModel(string name) => (DocsModels.TryGetValue(name, out var draw) ? draw : OtherModels[name])();

    [Theory]
    [MemberData(nameof(Models))]
    public void TheSvgIsWellFormedNamesEveryBlockAndNothingOverlaps(string name)
    {
        Drawing drawing = DrawModel(name);
        CheckSvg(drawing.Svg, drawing.Plan, drawing.Tasks);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TheMermaidNamesEveryBlockAndDefinesEveryBoxItsArrowsJoin(string name)
    {
        Drawing drawing = DrawModel(name);
        CheckMermaid(drawing.Mermaid, drawing.Plan, drawing.Tasks);
    }

    [Fact]
    public void TheArchitectureIsDrawnAsItRuns()
    {
        string Titles(Drawing d) => string.Join("|", XDocument.Parse(d.Svg).Descendants(SvgNamespace + "text").Where(t => (string?)t.Attribute("class") == "title").Select(t => t.Value));
        string Captions(Drawing d) => string.Join("|", XDocument.Parse(d.Svg).Descendants(SvgNamespace + "text").Where(t => (string?)t.Attribute("class") == "caption").Select(t => t.Value));

        // MMoE: one stack of 3 experts per block, a gate per task; OMoE one gate.
        Drawing mmoe = DocsModels[nameof(MMoEModel)]();
        Assert.Contains("×3 shared experts", Captions(mmoe));
        Assert.Contains("gate of Digit", Titles(mmoe));
        Assert.Contains("gate of Position", Titles(mmoe));
        Drawing omoe = DocsModels[nameof(OMoEModel)]();
        Assert.DoesNotContain("gate of", Titles(omoe));
        Assert.Contains("one gate for every task", Captions(omoe));
        // CGC per task: Digit has one expert of its own, Position two; their gates span 3 and 4.
        Drawing cgc = DocsModels[nameof(CGCPerTaskModel)]();
        Assert.Contains("×1 expert of Digit", Captions(cgc));
        Assert.Contains("×2 experts of Position", Captions(cgc));
        Assert.Contains("Linear 144→3 · Softmax", cgc.Svg);
        Assert.Contains("Linear 144→4 · Softmax", cgc.Svg);
        // PLE per task (0 and 1): no Digit experts; a shared gate on the first level only.
        Drawing ple = DocsModels[nameof(PLEPerTaskModel)]();
        Assert.DoesNotContain("of Digit", Captions(ple).Replace("gate of Digit", ""));
        Assert.Single(Regex.Matches(Titles(ple), "shared gate"));
        // Cross-stitch: a column per task and stage, one unit between the two stages.
        Drawing cross = DocsModels[nameof(CrossStitchModel)]();
        Assert.Single(Regex.Matches(Titles(cross), "cross-stitch unit"));
        Assert.Equal(4, Regex.Matches(Captions(cross), "column of").Count);
        // MTAN: attention per task and stage; the block between stages with its pooling.
        Drawing mtan = DocsModels[nameof(MTANModel)]();
        Assert.Equal(4, Regex.Matches(Titles(mtan), "attention of").Count);
        Assert.Contains("f1: Conv2d 4→8 k3 · BatchNorm2d · ReLU ·", mtan.Svg);
        Assert.Contains(">MaxPool2d 2<", mtan.Svg);
        // Hard sharing: the concatenation, the ids, the residual shortcut.
        Drawing penguins = DocsModels[nameof(Penguins.PenguinModel)]();
        Assert.Contains("concat(Measurements, IslandEmbedding)", penguins.Svg);
        Assert.Contains("input · ids in [0, 3)", penguins.Svg);
        Drawing residual = OtherModels[nameof(ResidualModel)]();
        Assert.Contains("residual: + Conv2d 16→32 k1 s2 · BatchNorm2d of the input", residual.Svg);
        Assert.Contains("Conv2d 1→16 k3 · BatchNorm2d · ReLU", residual.Svg);
        Drawing own = OtherModels[nameof(OwnModuleModel)]();
        Assert.Contains("BasicBlock", own.Svg);
    }

    [Fact]
    public void TasksThatAreNotThePlansHeadsAreRefused()
    {
        using var model = new HardSharingModel();
        NetworkPlan plan = model.NetworkPlan!;
        var error = Assert.Throws<ArgumentException>(() => ModelDiagram.Svg(plan, model.Tasks.Take(1).ToArray()));
        Assert.Contains("2 heads, but 1 tasks", error.Message);
    }

    // Names no C# model can have but a plan built by hand can: XML's specials, Mermaid's keywords and entity codes,
    // brackets that would close a Mermaid label, and characters from beyond ASCII.
    private static readonly string[] AwkwardNames =
    [
        "end", "graph", "class", "subgraph", "flowchart", "style", "click", "classDef", "linkStyle", "direction", "n0", "n1",
        "Class<T>", "Tom & Jerry", "say \"hi\"", "it's", "#quot;", "#35;", "a]b", "x(y)", "{z}", "a|b", "`tick`", "]]>", "<!--", "--> n0",
        "ünïcödé", "名前の長いブロック", "😀 smile", "&amp;", "<b>bold</b>", "%% comment", "a;b", "x:::y",
    ];

    public static TheoryData<ModelArchitecture, bool, int> Architectures => new()
    {
        { ModelArchitecture.HardSharing, false, 1 }, { ModelArchitecture.HardSharing, false, 2 },
        { ModelArchitecture.MMoE, false, 3 }, { ModelArchitecture.MMoE, true, 4 },
        { ModelArchitecture.CGC, false, 5 }, { ModelArchitecture.CGC, true, 6 },
        { ModelArchitecture.PLE, false, 7 }, { ModelArchitecture.PLE, true, 8 },
        { ModelArchitecture.CrossStitch, false, 9 }, { ModelArchitecture.CrossStitch, false, 10 },
        { ModelArchitecture.MTAN, false, 11 }, { ModelArchitecture.MTAN, false, 12 },
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void AwkwardNamesAreEscapedInBothForms(ModelArchitecture architecture, bool variant, int seed)
    {
        var random = new Random(seed);
        for (int round = 0; round < 5; round++)
        {
            (NetworkPlan plan, TaskDefinition[] tasks) = Plan(architecture, variant, random);
            string svg = ModelDiagram.Svg(plan, tasks);
            CheckSvg(svg, plan, tasks);
            string mermaid = ModelDiagram.Mermaid(plan, tasks);
            CheckMermaid(mermaid, plan, tasks);
        }
    }

    [Fact]
    public void CharactersXmlCannotHoldBecomeReplacementCharacters()
    {
        var random = new Random(3);
        (NetworkPlan plan, TaskDefinition[] tasks) = Plan(ModelArchitecture.HardSharing, false, random);
        plan = plan with { Trunk = [plan.Trunk[0] with { Name = "bell\u0007 tab\t nul\0 lone\uD800 " }, .. plan.Trunk.Skip(1)] };
        XDocument document = XDocument.Parse(ModelDiagram.Svg(plan, tasks));
        Assert.Contains(document.Descendants(SvgNamespace + "text"), t => t.Value == "bell\uFFFD tab  nul\uFFFD lone\uFFFD ");
        string mermaid = ModelDiagram.Mermaid(plan, tasks);
        Assert.DoesNotContain('\0', mermaid);
        Assert.DoesNotContain('\u0007', mermaid);
    }

    [Fact]
    public void TheDocsPicturesAreTheModels()
    {
        string folder = Path.Combine(RepositoryRoot(), "docs", "images", "models");
        bool accept = Environment.GetEnvironmentVariable("MTLDSL_ACCEPT_DOCS") == "1";
        var stale = new List<string>();
        foreach ((string name, Func<Drawing> draw) in DocsModels)
        {
            Drawing drawing = draw();
            Assert.Equal(name, drawing.Plan.Model);
            foreach ((string extension, string text) in new[] { ("svg", drawing.Svg), ("mmd", drawing.Mermaid) })
            {
                string path = Path.Combine(folder, $"{name}.{extension}");
                string? written = File.Exists(path) ? File.ReadAllText(path).Replace("\r\n", "\n") : null;
                if (written == text) continue;
                if (accept)
                {
                    Directory.CreateDirectory(folder);
                    File.WriteAllText(path, text);
                }
                else stale.Add($"docs/images/models/{name}.{extension}" + (written is null ? " (missing)" : ""));
            }
        }
        Assert.True(stale.Count == 0,
            $"These pictures are not what the models draw now: {string.Join(", ", stale)}. Run the tests with MTLDSL_ACCEPT_DOCS=1 " +
            "(dotnet test tests/MtlDsl.Tests --filter FullyQualifiedName~Diagram) to rewrite them, look at them, and commit them.");
    }

    private static string RepositoryRoot([CallerFilePath] string path = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));

    // ---- checks ----

    private sealed record Rect(double X, double Y, double W, double H)
    {
        public bool Overlaps(Rect o) => X < o.X + o.W && o.X < X + W && Y < o.Y + o.H && o.Y < Y + H;
    }

    private static double Number(XElement element, string attribute) =>
        double.Parse((string?)element.Attribute(attribute) ?? throw new Xunit.Sdk.XunitException($"<{element.Name.LocalName}> has no {attribute}."), CultureInfo.InvariantCulture);

    private static Rect RectOf(XElement rect) => new(Number(rect, "x"), Number(rect, "y"), Number(rect, "width"), Number(rect, "height"));

    private static void CheckSvg(string svg, NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        XDocument document = XDocument.Parse(svg);
        XElement root = document.Root!;
        Assert.Equal(SvgNamespace + "svg", root.Name);
        double width = Number(root, "width"), height = Number(root, "height");
        Assert.True(width > 0 && height > 0);
        Assert.Equal($"0 0 {(string?)root.Attribute("width")} {(string?)root.Attribute("height")}", (string?)root.Attribute("viewBox"));

        var nodes = root.Descendants(SvgNamespace + "g").Where(g => ((string?)g.Attribute("class"))?.StartsWith("node ", StringComparison.Ordinal) == true).ToList();
        var titles = nodes.Select(n => n.Elements(SvgNamespace + "text").First(t => (string?)t.Attribute("class") == "title").Value).ToList();
        string Clean(string name) => MtlDslXmlText(name);
        foreach (InputDefinition input in plan.Inputs) Assert.Contains(Clean(input.Name), titles);
        foreach (PlanBlock block in plan.Trunk) Assert.Contains(Clean(block.Name), titles);
        foreach (PlanBlock head in plan.Heads) Assert.Contains(Clean(head.Name), titles);
        var texts = root.Descendants(SvgNamespace + "text").Select(t => t.Value).ToList();
        foreach (TaskDefinition task in tasks)
            Assert.Contains(texts, t => t.StartsWith(task.Loss + " · weight ", StringComparison.Ordinal));

        // Boxes (with their stacked copies) apart, inside the picture, and each line of text inside its box.
        var boxes = new Dictionary<string, Rect>();
        var extents = new List<(string Id, Rect Extent)>();
        foreach (XElement node in nodes)
        {
            string id = (string)node.Attribute("id")!;
            Rect box = RectOf(node.Elements(SvgNamespace + "rect").Single(r => (string?)r.Attribute("class") == "box"));
            boxes[id] = box;
            Rect extent = node.Elements(SvgNamespace + "rect").Select(RectOf)
                .Aggregate((a, b) => new Rect(Math.Min(a.X, b.X), Math.Min(a.Y, b.Y), Math.Max(a.X + a.W, b.X + b.W) - Math.Min(a.X, b.X), Math.Max(a.Y + a.H, b.Y + b.H) - Math.Min(a.Y, b.Y)));
            Assert.True(extent.X >= 0 && extent.Y >= 0 && extent.X + extent.W <= width && extent.Y + extent.H <= height, $"Box {id} lies outside the picture.");
            extents.Add((id, extent));
            foreach (XElement text in node.Elements(SvgNamespace + "text"))
            {
                double size = text.Attribute("font-size") is { } s ? double.Parse(s.Value, CultureInfo.InvariantCulture) : 12;
                double charWidth = size >= 13 ? DiagramLayout.TitleCharWidth : DiagramLayout.CharWidth;
                double x = Number(text, "x"), y = Number(text, "y");
                Assert.True(x >= box.X && x + DiagramLayout.TextWidth(text.Value, charWidth) <= box.X + box.W + 0.5, $"'{text.Value}' runs out of its box {id}.");
                Assert.True(y - size >= box.Y - 1 && y <= box.Y + box.H, $"'{text.Value}' lies outside its box {id} vertically.");
            }
        }
        for (int i = 0; i < extents.Count; i++)
            for (int j = i + 1; j < extents.Count; j++)
                Assert.False(extents[i].Extent.Overlaps(extents[j].Extent), $"Boxes {extents[i].Id} and {extents[j].Id} overlap.");

        // Arrows: from the bottom of one box to the top of another, crossing no third box.
        var arrows = root.Descendants(SvgNamespace + "polyline").ToList();
        Assert.NotEmpty(arrows);
        foreach (XElement arrow in arrows)
        {
            string from = (string)arrow.Attribute("data-from")!, to = (string)arrow.Attribute("data-to")!;
            var points = ((string)arrow.Attribute("points")!).Split(' ')
                .Select(p => p.Split(',')).Select(p => (X: double.Parse(p[0], CultureInfo.InvariantCulture), Y: double.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
            Rect source = extents.Single(x => x.Id == from).Extent, target = boxes[to];
            Assert.Equal(source.Y + source.H, points[0].Y, 0.11);
            Assert.InRange(points[0].X, source.X, source.X + source.W);
            Assert.Equal(target.Y, points[^1].Y, 0.11);
            Assert.InRange(points[^1].X, target.X, target.X + target.W);
            Assert.Equal("url(#arrow)", (string?)arrow.Attribute("marker-end"));
            for (int k = 0; k + 1 < points.Count; k++)
                foreach ((string id, Rect extent) in extents)
                    if (id != from && id != to)
                        Assert.False(Crosses(points[k], points[k + 1], extent), $"The arrow {from} → {to} crosses box {id}.");
        }
    }

    // The text the SVG shows for a name: what XML cannot hold replaced, tabs and line breaks as spaces.
    private static string MtlDslXmlText(string name) => XDocument.Parse("<t>" + ModelDiagram.Xml(name) + "</t>").Root!.Value;

    // Whether the segment a–b passes through the inside of r (Liang–Barsky clipping).
    private static bool Crosses((double X, double Y) a, (double X, double Y) b, Rect r)
    {
        double t0 = 0, t1 = 1, dx = b.X - a.X, dy = b.Y - a.Y;
        bool Clip(double p, double q)
        {
            if (p == 0) return q > 0;
            double t = q / p;
            if (p < 0) { if (t > t1) return false; if (t > t0) t0 = t; }
            else { if (t < t0) return false; if (t < t1) t1 = t; }
            return true;
        }
        const double inset = 0.5;
        return Clip(-dx, a.X - (r.X + inset)) && Clip(dx, r.X + r.W - inset - a.X) && Clip(-dy, a.Y - (r.Y + inset)) && Clip(dy, r.Y + r.H - inset - a.Y) && t0 < t1;
    }

    private static readonly Regex MermaidNode = new(@"^  (n\d+)(\(\[|\{\{|\[)""([^""]*)""(\]\)|\}\}|\])$", RegexOptions.CultureInvariant);
    private static readonly Regex MermaidEdge = new(@"^  (n\d+) (-->|-\.->) (n\d+)$", RegexOptions.CultureInvariant);

    private static void CheckMermaid(string mermaid, NetworkPlan plan, IReadOnlyList<TaskDefinition> tasks)
    {
        string[] lines = mermaid.TrimEnd('\n').Split('\n');
        Assert.Equal("flowchart TD", lines[0]);
        var defined = new Dictionary<string, string>();
        var used = new List<string>();
        foreach (string line in lines.Skip(1))
        {
            if (MermaidNode.Match(line) is { Success: true } node)
            {
                Assert.True(defined.TryAdd(node.Groups[1].Value, node.Groups[3].Value), $"Box {node.Groups[1].Value} is defined twice.");
                // Only the diagram's own markup; every < of a name is an entity code.
                string label = node.Groups[3].Value;
                Assert.DoesNotContain(Regex.Replace(label, "<(/?b|/?i|br/)>", ""), c => c is '<' or '>' or '"' or '`' or '|');
            }
            else if (MermaidEdge.Match(line) is { Success: true } edge) used.AddRange([edge.Groups[1].Value, edge.Groups[3].Value]);
            else Assert.Matches(@"^  (%% [^\n]*|classDef mtl[A-Za-z]+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#212121|class n\d+(,n\d+)* mtl[A-Za-z]+)$", line);
        }
        foreach (string id in used) Assert.True(defined.ContainsKey(id), $"An arrow joins {id}, which is not defined.");
        string Title(string label) => Decode(Regex.Match(label, "^<b>(.*?)</b>").Groups[1].Value);
        var titles = defined.Values.Select(Title).ToList();
        string Shown(string name) => new(name.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        foreach (InputDefinition input in plan.Inputs) Assert.Contains(Shown(input.Name), titles);
        foreach (PlanBlock block in plan.Trunk) Assert.Contains(Shown(block.Name), titles);
        foreach (PlanBlock head in plan.Heads) Assert.Contains(Shown(head.Name), titles);
        foreach (TaskDefinition task in tasks) Assert.Contains(defined.Values, l => l.Contains(task.Loss + " · weight ", StringComparison.Ordinal));
    }

    // Mermaid's entity codes back to text: #name; and #number;.
    private static string Decode(string text) => Regex.Replace(text, "#([a-z]+|[0-9]+);", m => m.Groups[1].Value switch
    {
        "quot" => "\"",
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        var number when char.IsDigit(number[0]) => ((char)int.Parse(number, CultureInfo.InvariantCulture)).ToString(),
        _ => m.Value,
    });

    // ---- plans by hand ----

    private static PlanLayer Linear(int inputs, int outputs) =>
        new("Linear", [inputs], [outputs], [new("in_features", (long)inputs), new("out_features", (long)outputs), new("bias", true)]);

    private static PlanLayer Activation(string kind, IReadOnlyList<int> shape) => new(kind, shape, shape, []);

    private static PlanLayer Conv(int inputs, int outputs, int size) =>
        new("Conv2d", [inputs, size, size], [outputs, size, size], [new("in_channels", (long)inputs), new("out_channels", (long)outputs),
            new("kernel_size", new long[] { 3, 3 }), new("stride", new long[] { 1, 1 }), new("padding", new long[] { 1, 1 })]);

    // A plan of the given architecture with names drawn from AwkwardNames: two or three trunk blocks and two or three
    // tasks (variant: one gate in MMoE, a count per task in CGC and PLE).
    private static (NetworkPlan, TaskDefinition[]) Plan(ModelArchitecture architecture, bool variant, Random random)
    {
        var names = AwkwardNames.OrderBy(_ => random.Next()).ToList();
        int next = 0;
        string Name() => names[next++ % names.Count];
        int blocks = 2 + random.Next(2), taskCount = 2 + random.Next(2);
        var inputs = new List<InputDefinition>();
        var trunk = new List<PlanBlock>();
        PlanArchitecture shape;
        IReadOnlyList<int> representation;
        if (architecture == ModelArchitecture.MTAN)
        {
            inputs.Add(new InputDefinition(Name(), [3, 8, 8]));
            var stages = new List<PlanAttentionStage>();
            int channels = 3;
            for (int b = 0; b < blocks; b++)
            {
                int size = b == 0 ? 8 : 4;
                var layers = new List<PlanLayer>();
                if (b == 1) layers.Add(new PlanLayer("MaxPool2d", [channels, 8, 8], [channels, 4, 4], [new("kernel_size", new long[] { 2, 2 }), new("stride", new long[] { 2, 2 })]));
                layers.Add(Conv(channels, 4 * (b + 1), size));
                layers.Add(Activation("ReLU", [4 * (b + 1), size, size]));
                trunk.Add(new PlanBlock(Name(), "block" + b, layers, []));
                stages.Add(new PlanAttentionStage(4 * (b + 1), 4 * (b + 1), b == 1 ? 2 : 1));
                channels = 4 * (b + 1);
            }
            shape = new PlanArchitecture(0, 0, false, [], stages, []);
            representation = trunk[^1].Layers[^1].OutputShape;
        }
        else
        {
            inputs.Add(new InputDefinition(Name(), [6]));
            if (architecture == ModelArchitecture.HardSharing) inputs.Add(new InputDefinition(Name(), [], InputKind.Ids, 7, "an embedding"));
            int features = 6;
            for (int b = 0; b < blocks; b++)
            {
                IReadOnlyList<PlanSource> sources = architecture != ModelArchitecture.HardSharing ? []
                    : b == 0 ? [new PlanSource(true, 0), new PlanSource(true, 1)] : [new PlanSource(false, b - 1)];
                int width = b == 0 && architecture == ModelArchitecture.HardSharing ? 7 : features;
                PlanShortcut? shortcut = b == 1 ? new PlanShortcut(PlanShortcutKind.Linear, width, 8, 1) : null;
                trunk.Add(new PlanBlock(Name(), "block" + b, [Linear(width, 8), Activation("ReLU", [8])], sources, shortcut, b == 1));
                features = 8;
            }
            int[] perTask = Enumerable.Range(0, taskCount).Select(t => t % 3).ToArray();
            shape = architecture switch
            {
                ModelArchitecture.HardSharing => new PlanArchitecture(0, 0, false, [], [], Enumerable.Range(0, taskCount).Select(t => t == 0 ? 0 : blocks - 1).ToArray()),
                ModelArchitecture.MMoE => new PlanArchitecture(3, 0, variant, [6], [], []),
                ModelArchitecture.CGC => variant ? new PlanArchitecture(2, 0, false, [6], [], [], perTask) : new PlanArchitecture(2, 1, false, [6], [], []),
                ModelArchitecture.PLE => variant
                    ? new PlanArchitecture(1, 0, false, Enumerable.Range(0, blocks).Select(b => b == 0 ? 6L : 8L).ToArray(), [], [], perTask)
                    : new PlanArchitecture(2, 2, false, Enumerable.Range(0, blocks).Select(b => b == 0 ? 6L : 8L).ToArray(), [], []),
                _ => new PlanArchitecture(0, 0, false, [], [], []),
            };
            representation = [8];
        }
        var heads = new List<PlanBlock>();
        var tasks = new TaskDefinition[taskCount];
        Loss[] losses = Enum.GetValues<Loss>();
        for (int t = 0; t < taskCount; t++)
        {
            string name = Name();
            int inputsOfHead = representation.Count == 1 ? representation[0] : representation.Aggregate(1, (a, b) => a * b);
            var layers = new List<PlanLayer>();
            if (representation.Count > 1) layers.Add(new PlanLayer("Flatten", representation, [inputsOfHead], []));
            layers.Add(Linear(inputsOfHead, 2 + t));
            heads.Add(new PlanBlock(name, "head" + t, layers, []));
            tasks[t] = new TaskDefinition(name, losses[random.Next(losses.Length)], 0.25 * (t + 1), [2 + t], "", representation);
        }
        return (new NetworkPlan(Name(), architecture, inputs, trunk, heads, shape), tasks);
    }
}
