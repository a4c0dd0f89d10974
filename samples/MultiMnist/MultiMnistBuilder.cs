using static TorchSharp.torch;

namespace MultiMnist;

/// <summary>
/// MultiMNIST as Sener &amp; Koltun (2018) build it: for each image a second random image; a 36×36 canvas with the
/// first digit at the top-left (rows and columns 0–27) and the second at offset (6, 6) (rows and columns 6–33),
/// overlapping pixels taking the maximum; the canvas resized to 28×28 by nearest neighbour. Tasks: the left (first)
/// digit and the right (second) digit.
/// </summary>
public static class MultiMnistBuilder
{
    /// <summary>The canvas side and the offset of the second digit.</summary>
    public const int Canvas = 36, Offset = 6, Side = 28;

    /// <summary>
    /// Nearest-neighbour source row (or column) of output row <paramref name="index"/> when a 36-pixel side becomes
    /// 28: the pixel whose centre is nearest, floor((index + 0.5) · 36 / 28).
    /// </summary>
    public static int Source(int index) => Math.Min(Canvas - 1, (int)Math.Floor((index + 0.5) * Canvas / Side));

    /// <summary>One MultiMNIST image (28×28 grey levels) from two 28×28 digits.</summary>
    public static byte[] Compose(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != Side * Side || right.Length != Side * Side) throw new ArgumentException("Both digits must be 28×28.");
        Span<byte> canvas = stackalloc byte[Canvas * Canvas];
        canvas.Clear();
        for (int r = 0; r < Side; r++)
            left.Slice(r * Side, Side).CopyTo(canvas.Slice(r * Canvas, Side));
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
            {
                int target = (r + Offset) * Canvas + c + Offset;
                canvas[target] = Math.Max(canvas[target], right[r * Side + c]);
            }
        var image = new byte[Side * Side];
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
                image[r * Side + c] = canvas[Source(r) * Canvas + Source(c)];
        return image;
    }

    /// <summary>The grey level from which a pixel belongs to a digit (half of full intensity).</summary>
    public const byte Ink = 128;

    /// <summary>
    /// Which digit each pixel of the image <see cref="Compose"/> makes shows: 0 the background, 1 the left digit, 2 the
    /// right digit. A pixel shows a digit where that digit's grey level at the canvas pixel it is taken from is at least
    /// <see cref="Ink"/>; where both are, the brighter one (the maximum the image keeps), the left one where equal.
    /// </summary>
    public static byte[] Regions(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != Side * Side || right.Length != Side * Side) throw new ArgumentException("Both digits must be 28×28.");
        var regions = new byte[Side * Side];
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
            {
                int row = Source(r), column = Source(c);
                byte l = row < Side && column < Side ? left[row * Side + column] : (byte)0;
                bool onRight = row >= Offset && row < Offset + Side && column >= Offset && column < Offset + Side;
                byte q = onRight ? right[(row - Offset) * Side + column - Offset] : (byte)0;
                regions[r * Side + c] = l >= Ink && l >= q ? (byte)1 : q >= Ink ? (byte)2 : (byte)0;
            }
        return regions;
    }

    /// <summary>
    /// <see cref="Build"/>, and every image's <see cref="Regions"/>: <c>[N, 28, 28]</c> class indices (Int64).
    /// </summary>
    public static (Tensor Images, Tensor Left, Tensor Right, Tensor Regions) BuildWithRegions(MnistDigits digits, IReadOnlyList<int> indices, int seed)
    {
        (int Left, int Right)[] pairs = Pairs(indices, seed);
        var (images, left, right) = Build(digits, pairs);
        int size = Side * Side;
        var regions = new byte[pairs.Length * size];
        for (int i = 0; i < pairs.Length; i++)
            Regions(digits.Pixels.AsSpan(pairs[i].Left * size, size), digits.Pixels.AsSpan(pairs[i].Right * size, size)).CopyTo(regions, i * size);
        return (images, left, right, tensor(regions, [pairs.Length, Side, Side]).to_type(ScalarType.Int64));
    }

    /// <summary>
    /// Builds MultiMNIST from the digits at <paramref name="indices"/>: each of them is the left digit once, with a
    /// right digit drawn at random (seeded) from the same indices, so training and test images never share a digit.
    /// Returns images [N, 1, 28, 28] scaled to [0, 1] and the left and right labels [N].
    /// </summary>
    public static (Tensor Images, Tensor Left, Tensor Right) Build(MnistDigits digits, IReadOnlyList<int> indices, int seed) =>
        Build(digits, Pairs(indices, seed));

    // Each index is the left digit once, with a right digit drawn at random (seeded) from the same indices.
    private static (int Left, int Right)[] Pairs(IReadOnlyList<int> indices, int seed)
    {
        var random = new Random(seed);
        return [.. indices.Select(a => (a, indices[random.Next(indices.Count)]))];
    }

    private static (Tensor Images, Tensor Left, Tensor Right) Build(MnistDigits digits, (int Left, int Right)[] pairs)
    {
        int n = pairs.Length, size = Side * Side;
        var pixels = new byte[n * size];
        var left = new long[n];
        var right = new long[n];
        for (int i = 0; i < n; i++)
        {
            var (a, b) = pairs[i];
            Compose(digits.Pixels.AsSpan(a * size, size), digits.Pixels.AsSpan(b * size, size)).CopyTo(pixels, i * size);
            left[i] = digits.Labels[a];
            right[i] = digits.Labels[b];
        }
        Tensor images = tensor(pixels, [n, 1, Side, Side]).to_type(ScalarType.Float32).div_(255f);
        return (images, tensor(left), tensor(right));
    }

    /// <summary>
    /// A fixed split of the digits: a seeded shuffle; the last <paramref name="testCount"/> build the test images and
    /// the first <paramref name="trainCount"/> the training images, so every training size shares one test set.
    /// </summary>
    public static (int[] Train, int[] Test) Split(int count, int trainCount, int testCount, int seed)
    {
        if (trainCount < 1 || testCount < 1 || trainCount + testCount > count)
            throw new ArgumentOutOfRangeException(nameof(trainCount), $"{trainCount} training and {testCount} test digits do not fit in {count}.");
        int[] order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return (order[..trainCount], order[^testCount..]);
    }
}
