using System.Buffers.Binary;
using System.Text;

namespace MtlDsl.Native;

/// <summary>
/// Reads and edits the symbol-version requirements (<c>.gnu.version_r</c>) of a 64-bit little-endian ELF
/// shared library. Used to relax a version requirement that a library records but never uses, so that it
/// loads against an older libstdc++ (see <see cref="TorchNative"/>).
/// </summary>
internal sealed class ElfVersionNeeds
{
    private const uint ShtDynSym = 11;
    private const uint ShtRela = 4;
    private const uint ShtGnuVerSym = 0x6fffffff;
    private const uint ShtGnuVerNeed = 0x6ffffffe;
    internal const ushort VerFlagWeak = 0x2;

    private readonly byte[] _image;
    private readonly List<Section> _sections;

    private readonly record struct Section(uint Type, ulong Offset, ulong Size, uint Link, ulong EntrySize);

    /// <summary>One version a library needs from another: <c>GLIBCXX_3.4.32</c> from <c>libstdc++.so.6</c>.</summary>
    internal readonly record struct VersionNeed(string File, string Version, ushort Index, ushort Flags, int FlagsOffset)
    {
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    private ElfVersionNeeds(byte[] image, List<Section> sections)
    {
        _image = image;
        _sections = sections;
    }

    public byte[] Image => _image;

    public static ElfVersionNeeds Parse(byte[] image)
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (image[4] != 2 || image[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        ulong shoff = ReadU64(image, 0x28);
        ushort shentsize = ReadU16(image, 0x3A);
        ushort shnum = ReadU16(image, 0x3C);
        if (shentsize < 64 || shoff + (ulong)shnum * shentsize > (ulong)image.Length)
            throw new InvalidDataException("ELF section header table lies outside the file");

        var sections = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            int at = checked((int)(shoff + (ulong)(i * shentsize)));
            var section = new Section(
                Type: ReadU32(image, at + 4),
                Offset: ReadU64(image, at + 24),
                Size: ReadU64(image, at + 32),
                Link: ReadU32(image, at + 40),
                EntrySize: ReadU64(image, at + 56));
            if (section.Type != 8 /* SHT_NOBITS */ && section.Offset + section.Size > (ulong)image.Length)
                throw new InvalidDataException($"ELF section {i} lies outside the file");
            sections.Add(section);
        }
        return new ElfVersionNeeds(image, sections);
    }

    /// <summary>Every version requirement recorded in <c>.gnu.version_r</c>.</summary>
    public IReadOnlyList<VersionNeed> VersionNeeds()
    {
        var result = new List<VersionNeed>();
        foreach (var section in _sections.Where(s => s.Type == ShtGnuVerNeed))
        {
            var strings = _sections[(int)section.Link];
            ulong entry = section.Offset;
            while (true)
            {
                ushort count = ReadU16(_image, (int)entry + 2);
                uint file = ReadU32(_image, (int)entry + 4);
                uint aux = ReadU32(_image, (int)entry + 8);
                uint next = ReadU32(_image, (int)entry + 12);
                string fileName = ReadString(strings, file);
                ulong auxAt = entry + aux;
                for (int i = 0; i < count; i++)
                {
                    ushort flags = ReadU16(_image, (int)auxAt + 4);
                    ushort index = ReadU16(_image, (int)auxAt + 6);
                    uint name = ReadU32(_image, (int)auxAt + 8);
                    uint auxNext = ReadU32(_image, (int)auxAt + 12);
                    result.Add(new VersionNeed(fileName, ReadString(strings, name), index, flags, (int)auxAt + 4));
                    if (auxNext == 0) break;
                    auxAt += auxNext;
                }
                if (next == 0) break;
                entry += next;
            }
        }
        return result;
    }

    /// <summary>
    /// The dynamic symbols bound to the version with this index, and whether any relocation refers to
    /// them: a version whose symbols are never relocated against is never used by the code.
    /// </summary>
    public (IReadOnlyList<string> Symbols, bool Relocated) SymbolsOfVersion(ushort versionIndex)
    {
        var dynsym = _sections.FirstOrDefault(s => s.Type == ShtDynSym);
        var versym = _sections.FirstOrDefault(s => s.Type == ShtGnuVerSym);
        if (dynsym.Type == 0 || versym.Type == 0) return (Array.Empty<string>(), false);

        var strings = _sections[(int)dynsym.Link];
        int symbolCount = (int)(dynsym.Size / 24);
        var symbolIndices = new HashSet<uint>();
        var names = new List<string>();
        for (int i = 0; i < symbolCount; i++)
        {
            ushort version = (ushort)(ReadU16(_image, (int)versym.Offset + 2 * i) & 0x7fff);
            if (version != versionIndex) continue;
            symbolIndices.Add((uint)i);
            names.Add(ReadString(strings, ReadU32(_image, (int)dynsym.Offset + 24 * i)));
        }

        bool relocated = false;
        foreach (var rela in _sections.Where(s => s.Type == ShtRela && s.EntrySize == 24))
        {
            for (ulong at = rela.Offset; at + 24 <= rela.Offset + rela.Size; at += 24)
            {
                uint symbol = (uint)(ReadU64(_image, (int)at + 8) >> 32);
                if (symbolIndices.Contains(symbol)) { relocated = true; break; }
            }
        }
        return (names, relocated);
    }

    /// <summary>Marks a version requirement weak: the dynamic loader then loads the library without it.</summary>
    public void MarkWeak(VersionNeed need)
    {
        ushort flags = (ushort)(ReadU16(_image, need.FlagsOffset) | VerFlagWeak);
        BinaryPrimitives.WriteUInt16LittleEndian(_image.AsSpan(need.FlagsOffset), flags);
    }

    private string ReadString(Section table, uint offset)
    {
        int start = checked((int)(table.Offset + offset));
        int end = start;
        while (end < _image.Length && _image[end] != 0) end++;
        return Encoding.ASCII.GetString(_image, start, end - start);
    }

    private static ushort ReadU16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
    private static uint ReadU32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
    private static ulong ReadU64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));
}
