using System.Buffers.Binary;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MtlDsl.Checkpoints;

/// <summary>Checks on the raw little-endian bytes of a tensor, made before any tensor is allocated for them.</summary>
internal static class RawValues
{
    /// <summary>Whether <paramref name="type"/> holds floating-point values (which can be NaN or infinite).</summary>
    public static bool IsFloating(ScalarType type) => type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>The index of the first NaN or infinite value in <paramref name="bytes"/> of <paramref name="type"/>, or −1.</summary>
    public static long FirstNonFinite(ReadOnlySpan<byte> bytes, ScalarType type)
    {
        switch (type)
        {
            case ScalarType.Float64:
                ReadOnlySpan<double> doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < doubles.Length; i++)
                    if (!double.IsFinite(doubles[i])) return i;
                return -1;
            case ScalarType.Float32:
                ReadOnlySpan<float> floats = MemoryMarshal.Cast<byte, float>(bytes);
                for (int i = 0; i < floats.Length; i++)
                    if (!float.IsFinite(floats[i])) return i;
                return -1;
            case ScalarType.Float16:
                ReadOnlySpan<Half> halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < halves.Length; i++)
                    if (!Half.IsFinite(halves[i])) return i;
                return -1;
            case ScalarType.BFloat16:
                // bfloat16 is the upper half of a float32: all exponent bits set means NaN or infinite.
                for (int i = 0; i + 1 < bytes.Length; i += 2)
                    if ((BinaryPrimitives.ReadUInt16LittleEndian(bytes[i..]) & 0x7F80) == 0x7F80) return i / 2;
                return -1;
            default:
                return -1;
        }
    }
}
