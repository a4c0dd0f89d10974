namespace MtlDsl;

/// <summary>
/// A top-to-bottom layered layout of a <see cref="DiagramGraph"/>: every box on the rank of its longest path from an
/// input (the heads on one rank, the joint loss below them), arrows that skip ranks routed through slots of their own
/// on the ranks between (so no arrow crosses a box), the order within a rank by the barycentre of the neighbours,
/// and each box placed over (under) the boxes it is joined to where the room allows. Boxes are sized from their text
/// with a fixed-width estimate of a monospace font.
/// </summary>
internal sealed class DiagramLayout
{
    public const double CharWidth = 7.3, TitleCharWidth = 8.0, LineHeight = 16, Padding = 10, CopyOffset = 4, RuleGap = 4;
    private const double HorizontalGap = 28, RankGap = 56, Margin = 20, SlotWidth = 14, MinimumWidth = 90, HeaderHeight = 46;

    private DiagramLayout(DiagramGraph graph) => Graph = graph;

    public DiagramGraph Graph { get; }

    /// <summary>Each box's rectangle (the front card of a stack), by node id.</summary>
    public IReadOnlyList<Box> Boxes { get; private set; } = [];

    /// <summary>Each arrow's points, from the source's bottom to the target's top, in edge order.</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> Arrows { get; private set; } = [];

    public double Width { get; private set; }

    public double Height { get; private set; }

    /// <summary>A box's place and size (the front card; a stack's copies lie behind it, down and to the right).</summary>
    public sealed record Box(double X, double Y, double Width, double Height);

    private sealed class Slot
    {
        public int? Node;
        public double Width, Height, X; // X: the centre
        public int Rank, Order;
        public readonly List<Slot> Up = [], Down = [];
    }

    public static DiagramLayout Compute(DiagramGraph graph)
    {
        var layout = new DiagramLayout(graph);
        layout.Run();
        return layout;
    }

    /// <summary>The width a line of text takes (wide East Asian characters count twice).</summary>
    public static double TextWidth(string text, double charWidth)
    {
        double columns = 0;
        foreach (char c in text)
            if (!char.IsLowSurrogate(c)) columns += c >= '\u2E80' && c <= '\uFFDC' && c is not ('\uFE0F') ? 2 : 1;
        return columns * charWidth;
    }

    /// <summary>A box's size (the front card): the widest line and the lines' height, with padding.</summary>
    public static (double Width, double Height) Size(DiagramNode node)
    {
        double width = TextWidth(node.Title, TitleCharWidth);
        foreach (string line in node.Body.Concat(node.Footer).Append(node.Caption)) width = Math.Max(width, TextWidth(line, CharWidth));
        int lines = 1 + (node.Caption.Length > 0 ? 1 : 0) + node.Body.Count + node.Footer.Count;
        return (Math.Max(MinimumWidth, width + 2 * Padding), lines * LineHeight + 2 * Padding - 2 + (HasRule(node) ? RuleGap : 0));
    }

    /// <summary>Whether a rule separates the box's footer (its shape; a head's loss) from its body.</summary>
    public static bool HasRule(DiagramNode node) => node.Footer.Count > 0 && (node.Body.Count > 0 || node.Kind == DiagramKind.Head);

    public static double StackOffset(DiagramNode node) => node.Copies > 2 ? 2 * CopyOffset : node.Copies == 2 ? CopyOffset : 0;

    private void Run()
    {
        IReadOnlyList<DiagramNode> nodes = Graph.Nodes;
        IReadOnlyList<DiagramEdge> edges = Graph.Edges;

        // Ranks: the longest path from a box without arrows in; the heads share the deepest head's rank, and the
        // tasks built from other heads' outputs (ProductOf) the rank below them.
        var rank = new int[nodes.Count];
        foreach (DiagramEdge edge in edges.OrderBy(e => e.To))
            rank[edge.To] = Math.Max(rank[edge.To], rank[edge.From] + 1);
        var products = new HashSet<int>(edges.Where(e => nodes[e.From].Kind == DiagramKind.Head && nodes[e.To].Kind == DiagramKind.Head).Select(e => e.To));
        int[] heads = nodes.Where(n => n.Kind == DiagramKind.Head && !products.Contains(n.Id)).Select(n => n.Id).ToArray();
        if (heads.Length > 0)
        {
            int deepest = heads.Max(h => rank[h]);
            foreach (int head in heads) rank[head] = deepest;
            foreach (int product in products) rank[product] = deepest + 1;
            foreach (DiagramNode node in nodes.Where(n => n.Kind == DiagramKind.Loss)) rank[node.Id] = deepest + (products.Count > 0 ? 2 : 1);
        }

        var slots = new List<Slot>();
        var ofNode = new Slot[nodes.Count];
        foreach (DiagramNode node in nodes)
        {
            (double w, double h) = Size(node);
            double offset = StackOffset(node);
            ofNode[node.Id] = new Slot { Node = node.Id, Width = w + offset, Height = h + offset, Rank = rank[node.Id] };
            slots.Add(ofNode[node.Id]);
        }
        // Every arrow as a path of slots, one per rank it passes.
        var paths = new List<List<Slot>>();
        foreach (DiagramEdge edge in edges)
        {
            var path = new List<Slot> { ofNode[edge.From] };
            for (int r = rank[edge.From] + 1; r < rank[edge.To]; r++)
            {
                var through = new Slot { Width = SlotWidth, Height = 0, Rank = r };
                slots.Add(through);
                path.Add(through);
            }
            path.Add(ofNode[edge.To]);
            for (int k = 0; k + 1 < path.Count; k++)
            {
                path[k].Down.Add(path[k + 1]);
                path[k + 1].Up.Add(path[k]);
            }
            paths.Add(path);
        }

        int ranks = slots.Max(s => s.Rank) + 1;
        var byRank = Enumerable.Range(0, ranks).Select(r => slots.Where(s => s.Rank == r).ToList()).ToList();
        Renumber(byRank);

        // Order within ranks: barycentre sweeps, down then up.
        for (int sweep = 0; sweep < 4; sweep++)
        {
            for (int r = 1; r < ranks; r++) Sort(byRank, r, s => s.Up);
            for (int r = ranks - 2; r >= 0; r--) Sort(byRank, r, s => s.Down);
        }
        for (int r = 1; r < ranks; r++) Sort(byRank, r, s => s.Up);

        // Places: each rank side by side, then over and under its neighbours.
        foreach (List<Slot> row in byRank)
        {
            double x = 0;
            foreach (Slot slot in row)
            {
                slot.X = x + slot.Width / 2;
                x += slot.Width + HorizontalGap;
            }
        }
        for (int pass = 0; pass < 3; pass++)
        {
            for (int r = 1; r < ranks; r++) Place(byRank[r], s => s.Up);
            for (int r = ranks - 2; r >= 0; r--) Place(byRank[r], s => s.Down);
        }
        for (int r = 1; r < ranks; r++) Place(byRank[r], s => s.Up);

        // Rows: top-aligned, one after the other.
        double left = slots.Min(s => s.X - s.Width / 2);
        double headerWidth = Math.Max(TextWidth(Graph.Title, TitleCharWidth * 1.25), TextWidth(Graph.Subtitle, CharWidth));
        double contentWidth = slots.Max(s => s.X + s.Width / 2) - left;
        double shift = Margin - left + Math.Max(0, (headerWidth - contentWidth) / 2);
        foreach (Slot slot in slots) slot.X += shift;
        var top = new double[ranks];
        var bottom = new double[ranks];
        double y = Margin + HeaderHeight;
        for (int r = 0; r < ranks; r++)
        {
            top[r] = y;
            bottom[r] = y + byRank[r].Select(s => s.Height).DefaultIfEmpty(0).Max();
            y = bottom[r] + RankGap;
        }
        Width = Math.Ceiling(Math.Max(contentWidth, headerWidth) + 2 * Margin);
        Height = Math.Ceiling(bottom[ranks - 1] + Margin);

        Boxes = nodes.Select(n =>
        {
            Slot slot = ofNode[n.Id];
            double offset = StackOffset(n);
            return new Box(slot.X - slot.Width / 2, top[slot.Rank], slot.Width - offset, slot.Height - offset);
        }).ToArray();

        // Where each arrow leaves and arrives: spread along the bottom (top) of the box, in the order of the other ends.
        var leave = new Dictionary<(int Edge, bool Out), double>();
        foreach (DiagramNode node in nodes)
        {
            Box box = Boxes[node.Id];
            Spread(Enumerable.Range(0, edges.Count).Where(e => edges[e].From == node.Id).OrderBy(e => paths[e][1].X).ToList(), box, leave, true);
            Spread(Enumerable.Range(0, edges.Count).Where(e => edges[e].To == node.Id).OrderBy(e => paths[e][^2].X).ToList(), box, leave, false);
        }

        var arrows = new List<IReadOnlyList<(double X, double Y)>>();
        for (int e = 0; e < edges.Count; e++)
        {
            List<Slot> path = paths[e];
            Box from = Boxes[edges[e].From], to = Boxes[edges[e].To];
            double startX = leave[(e, true)], endX = leave[(e, false)];
            // From under the stack of copies, where there is one.
            double start = from.Y + from.Height + StackOffset(nodes[edges[e].From]);
            var points = new List<(double X, double Y)> { (startX, start) };
            if (bottom[path[0].Rank] > start) points.Add((startX, bottom[path[0].Rank]));
            foreach (Slot through in path.Skip(1).SkipLast(1))
            {
                points.Add((through.X, top[through.Rank]));
                points.Add((through.X, bottom[through.Rank]));
            }
            points.Add((endX, to.Y - 12));
            points.Add((endX, to.Y));
            arrows.Add(points);
        }
        Arrows = arrows;
    }

    private static void Spread(List<int> edges, Box box, Dictionary<(int, bool), double> at, bool outgoing)
    {
        // Within the middle of the box, at most 24 apart: a few arrows stay close to the centre.
        double span = Math.Min(box.Width * 0.7, 24.0 * (edges.Count - 1));
        for (int k = 0; k < edges.Count; k++)
            at[(edges[k], outgoing)] = box.X + box.Width / 2 + (edges.Count == 1 ? 0 : -span / 2 + span * k / (edges.Count - 1));
    }

    private static void Renumber(List<List<Slot>> byRank)
    {
        foreach (List<Slot> row in byRank)
            for (int k = 0; k < row.Count; k++) row[k].Order = k;
    }

    // A row ordered by the mean place of each slot's neighbours on the row before (after); a slot without neighbours
    // keeps its place, ties keep their order.
    private static void Sort(List<List<Slot>> byRank, int r, Func<Slot, List<Slot>> neighbours)
    {
        double Key(Slot s) => neighbours(s) is { Count: > 0 } n ? n.Average(x => x.Order) : s.Order;
        byRank[r] = byRank[r].Select(s => (Slot: s, Key: Key(s), s.Order)).OrderBy(x => x.Key).ThenBy(x => x.Order).Select(x => x.Slot).ToList();
        for (int k = 0; k < byRank[r].Count; k++) byRank[r][k].Order = k;
    }

    // Each slot as near the mean of its neighbours' centres as the order and the gaps allow: pushed right where
    // needed, then the row moved back by the mean displacement.
    private static void Place(List<Slot> row, Func<Slot, List<Slot>> neighbours)
    {
        if (row.Count == 0) return;
        var wanted = row.Select(s => neighbours(s) is { Count: > 0 } n ? n.Average(x => x.X) : (double?)null).ToArray();
        double right = double.NegativeInfinity;
        for (int k = 0; k < row.Count; k++)
        {
            Slot slot = row[k];
            double centre = wanted[k] ?? slot.X;
            double leftEdge = Math.Max(centre - slot.Width / 2, right + HorizontalGap);
            slot.X = leftEdge + slot.Width / 2;
            right = leftEdge + slot.Width;
        }
        double[] moved = row.Select((s, k) => wanted[k] is double w ? s.X - w : double.NaN).Where(d => !double.IsNaN(d)).ToArray();
        if (moved.Length == 0) return;
        double back = moved.Average();
        foreach (Slot slot in row) slot.X -= back;
    }
}
