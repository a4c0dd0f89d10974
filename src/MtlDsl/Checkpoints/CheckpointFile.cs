using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MtlDsl.Checkpoints;

/// <summary>
/// The container of a checkpoint: named byte sections behind a magic number and a format version, closed by a
/// SHA-256 of everything before it. A truncated, corrupt or foreign file is recognised before any of it is used.
/// </summary>
/// <remarks>
/// Layout: <c>MTLDSLCK</c>, version (u32), section count (u32), then per section its UTF-8 name (u16 length +
/// bytes) and its bytes (u64 length + bytes), then the 32-byte SHA-256 of all of the above. Little-endian.
/// </remarks>
internal static class CheckpointFile
{
    public const int Version = 1;
    private static readonly byte[] s_magic = "MTLDSLCK"u8.ToArray();

    public static void Write(string path, IReadOnlyList<(string Name, byte[] Bytes)> sections)
    {
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                hash.AppendData(bytes);
            }
            Span<byte> number = stackalloc byte[8];
            Put(s_magic);
            BinaryPrimitives.WriteUInt32LittleEndian(number, Version);
            Put(number[..4]);
            BinaryPrimitives.WriteUInt32LittleEndian(number, (uint)sections.Count);
            Put(number[..4]);
            foreach (var (name, bytes) in sections)
            {
                byte[] utf8 = Encoding.UTF8.GetBytes(name);
                BinaryPrimitives.WriteUInt16LittleEndian(number, (ushort)utf8.Length);
                Put(number[..2]);
                Put(utf8);
                BinaryPrimitives.WriteUInt64LittleEndian(number, (ulong)bytes.Length);
                Put(number);
                Put(bytes);
            }
            stream.Write(hash.GetHashAndReset());
        });
    }

    /// <exception cref="FileNotFoundException">There is no file.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is of a newer version, or is truncated or corrupt.</exception>
    public static Dictionary<string, byte[]> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No checkpoint at '{path}'.", path);
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < s_magic.Length || !file.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
            throw new InvalidDataException($"'{path}' is not an MtlDsl checkpoint (it does not start with MTLDSLCK). Give the path of a file written by SaveCheckpoint or by Fit's OutputDirectory.");
        if (file.Length < s_magic.Length + 8 + 32)
            throw Corrupt(path, $"it has only {file.Length} bytes");
        int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        if (version != Version)
            throw new InvalidDataException($"'{path}' is an MtlDsl checkpoint of format version {version}; this version of MtlDsl reads version {Version}.");
        int body = file.Length - 32;
        if (!SHA256.HashData(file.AsSpan(0, body)).AsSpan().SequenceEqual(file.AsSpan(body)))
            throw Corrupt(path, "its checksum does not match its content");
        var sections = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        int position = 12;
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position));
        position += 4;
        for (uint i = 0; i < count; i++)
        {
            if (position + 2 > body) throw Corrupt(path, "a section header runs past the end");
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(position));
            position += 2;
            if (position + nameLength + 8 > body) throw Corrupt(path, "a section header runs past the end");
            string name = Encoding.UTF8.GetString(file, position, nameLength);
            position += nameLength;
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(position));
            position += 8;
            if (length > (ulong)(body - position)) throw Corrupt(path, $"section '{name}' runs past the end");
            if (!sections.TryAdd(name, file.AsSpan(position, (int)length).ToArray()))
                throw Corrupt(path, $"it holds two sections named '{name}'");
            position += (int)length;
        }
        if (position != body) throw Corrupt(path, $"{body - position} bytes follow its last section");
        return sections;
    }

    private static InvalidDataException Corrupt(string path, string why) =>
        new($"The checkpoint '{path}' is truncated or corrupt: {why}. Resume from an earlier checkpoint, or start training afresh.");
}
