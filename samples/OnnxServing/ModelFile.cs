using System.Security.Cryptography;
using Google.Protobuf;

namespace OnnxServing;

/// <summary>
/// The server cannot start, and why (one line, naming the file or setting and how to fix it): Program prints the
/// message and exits with a non-zero code instead of a stack trace.
/// </summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Checks that an ONNX file is what MtlDsl's <c>ExportOnnx</c> wrote, byte for byte: its last field is a metadata
/// entry <c>mtldsl.sha256</c> whose value is the SHA-256 of every byte before it (the graph with its weights, the
/// operator set and every other metadata entry). The file is walked at the protobuf wire level with Google.Protobuf's
/// <see cref="CodedInputStream"/>: nothing is decoded beyond the top-level fields and the digest's entry, so a damaged
/// file is refused before ONNX Runtime parses any of it.
/// </summary>
public static class ModelFile
{
    /// <summary>The metadata key MtlDsl writes the digest under.</summary>
    public const string DigestKey = "mtldsl.sha256";

    private const int MetadataField = 14; // ModelProto.metadata_props
    private const int KeyField = 1, ValueField = 2; // StringStringEntryProto

    /// <summary>
    /// The file's bytes, once they match their digest. The server hands ONNX Runtime these very bytes, so what runs is
    /// what was checked even if the file is replaced meanwhile.
    /// </summary>
    /// <exception cref="StartupException">The file is missing, not a file, not protobuf, carries no digest as its last entry, or does not match it.</exception>
    public static byte[] Read(string path, out string digest)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw Refuse(full, "is a directory, not an ONNX file; pass the .onnx file itself");
        if (!File.Exists(full)) throw Refuse(full, "does not exist");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Refuse(full, $"cannot be read ({e.Message})", e);
        }
        if (bytes.Length == 0) throw Refuse(full, "is empty");
        (int digestAt, string? stored) = FindDigest(bytes, full);
        if (stored is null)
            throw Refuse(full, $"carries no '{DigestKey}' digest as its last metadata entry: it was not written by MtlDsl's ExportOnnx (or by a version before the digest), or entries were added after export");
        digest = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, digestAt)));
        if (!string.Equals(stored, digest, StringComparison.Ordinal))
            throw Refuse(full, $"does not match its digest ({DigestKey} {Short(stored)}, bytes {Short(digest)}): it was changed or damaged after export");
        return bytes;
    }

    /// <summary>What every refusal of the file says: the file, what is wrong, and the fix.</summary>
    public static StartupException Refuse(string path, string problem, Exception? inner = null) =>
        new($"{path} {OneLine(problem)}. Serve a file written by model.ExportOnnx(path) (re-export it from the trained model).", inner);

    /// <summary>A message on one line (ONNX Runtime's and the protobuf library's may hold several).</summary>
    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    // Where the last top-level field starts, and the digest if that field is a metadata entry keyed DigestKey.
    private static (int At, string? Digest) FindDigest(byte[] bytes, string path)
    {
        var input = new CodedInputStream(bytes);
        int at = 0, lastAt = 0;
        string? digest = null;
        try
        {
            while (true)
            {
                at = (int)input.Position;
                uint tag = input.ReadTag();
                if (tag == 0) break;
                lastAt = at;
                digest = null;
                if (tag == WireFormat.MakeTag(MetadataField, WireFormat.WireType.LengthDelimited))
                    digest = DigestOf(input.ReadBytes());
                else
                    input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Refuse(path, $"is not an ONNX file: its protobuf encoding breaks in the field at byte {at} of {bytes.Length} ({e.Message})", e);
        }
        return (lastAt, digest);
    }

    // The value of a StringStringEntryProto whose key is DigestKey; null for any other entry. Bytes, not strings: a
    // damaged key or value must compare unequal, not throw on invalid UTF-8.
    private static string? DigestOf(ByteString entry)
    {
        var input = new CodedInputStream(entry.ToByteArray());
        ByteString? key = null, value = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == WireFormat.MakeTag(KeyField, WireFormat.WireType.LengthDelimited)) key = input.ReadBytes();
            else if (tag == WireFormat.MakeTag(ValueField, WireFormat.WireType.LengthDelimited)) value = input.ReadBytes();
            else input.SkipLastField();
        }
        return key is not null && key.Span.SequenceEqual(DigestKeyBytes) ? System.Text.Encoding.UTF8.GetString(value is null ? [] : value.Span) : null;
    }

    private static readonly byte[] DigestKeyBytes = System.Text.Encoding.UTF8.GetBytes(DigestKey);

    // Enough of a digest to tell two apart; a damaged one is not echoed (it may hold any character).
    private static string Short(string digest) =>
        digest.Length == 64 && digest.All(char.IsAsciiHexDigitLower) ? digest[..16] + "…" : "(not a SHA-256 in lowercase hex)";
}
