using System.IO.Compression;
using System.Security.Cryptography;

namespace MultiMnist;

/// <summary>
/// The full MNIST (60,000 training and 10,000 test digits) from the gzip-compressed IDX files in Data/mnist (see
/// its LICENSE.md: the data is LeCun's and Cortes's, CC BY-SA 3.0). Every file is checked against the MD5 of the
/// standard MNIST file before it is used.
/// </summary>
public static class MnistFiles
{
    /// <summary>The MD5 of each uncompressed file, as the standard MNIST distribution has it.</summary>
    public static IReadOnlyDictionary<string, string> Md5 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "6bbc9ace898e44ae57da46a324031adb",
        ["train-labels-idx1-ubyte"] = "a25bea736e30d166cdddb491f175f624",
        ["t10k-images-idx3-ubyte"] = "2646ac647ad5339dbf082846283269ea",
        ["t10k-labels-idx1-ubyte"] = "27ae3e4e09519cfbb04c329615203637",
    };

    /// <summary>The default folder, next to the program.</summary>
    public static string DefaultFolder => Path.Combine(AppContext.BaseDirectory, "Data", "mnist");

    /// <summary>The training digits (60,000) and the test digits (10,000).</summary>
    public static (MnistDigits Train, MnistDigits Test) Load(string folder) => (Load(folder, "train"), Load(folder, "t10k"));

    private static MnistDigits Load(string folder, string split)
    {
        byte[] images = Read(folder, $"{split}-images-idx3-ubyte");
        byte[] labels = Read(folder, $"{split}-labels-idx1-ubyte");
        // IDX: big-endian magic (0x00000803 images, 0x00000801 labels), the dimensions, then the bytes.
        int[] shape = Header(images, 0x0803, 3, $"{split}-images");
        (int count, int rows, int columns) = (shape[0], shape[1], shape[2]);
        int labelCount = Header(labels, 0x0801, 1, $"{split}-labels")[0];
        if (labelCount != count) throw new InvalidDataException($"MNIST {split}: {count} images but {labelCount} labels.");
        if (images.Length != 16 + count * rows * columns || labels.Length != 8 + count)
            throw new InvalidDataException($"MNIST {split}: the file sizes do not match {count} images of {rows}×{columns}.");
        return MnistDigits.Create(labels[8..], images[16..], rows, columns);
    }

    private static int[] Header(byte[] file, int magic, int dimensions, string name)
    {
        int Int(int at) => (file[at] << 24) | (file[at + 1] << 16) | (file[at + 2] << 8) | file[at + 3];
        if (file.Length < 4 + 4 * dimensions || Int(0) != magic)
            throw new InvalidDataException($"MNIST {name}: not an IDX file of {dimensions} dimension(s) (magic 0x{magic:x8} expected).");
        return Enumerable.Range(0, dimensions).Select(d => Int(4 + 4 * d)).ToArray();
    }

    private static byte[] Read(string folder, string name)
    {
        string path = Path.Combine(folder, name + ".gz");
        if (!File.Exists(path))
            throw new FileNotFoundException($"MNIST file '{path}' is missing; it is part of the repository (samples/MultiMnist/Data/mnist).", path);
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var content = new MemoryStream();
        gzip.CopyTo(content);
        byte[] bytes = content.ToArray();
        string md5 = Convert.ToHexStringLower(MD5.HashData(bytes));
        if (md5 != Md5[name])
            throw new InvalidDataException($"MNIST file '{path}' is not the standard {name}: its MD5 is {md5}, expected {Md5[name]}. Restore it from the repository (see Data/mnist/LICENSE.md).");
        return bytes;
    }
}
