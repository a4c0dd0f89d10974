using System.Buffers;

namespace OnnxServing;

/// <summary>
/// A request body read whole into one array rented from a pool (<see cref="RequestGate.Buffers"/>) and given back on
/// <see cref="Dispose"/>. With a Content-Length the array is rented once at that size; a chunked body starts at 64 KB
/// and doubles, never past the limit. Either way the limit is enforced as the bytes arrive, before the body is held
/// whole.
/// </summary>
public sealed class RequestBody : IDisposable
{
    private readonly ArrayPool<byte> _pool;
    private byte[]? _array;

    private RequestBody(ArrayPool<byte> pool, byte[] array, int length) => (_pool, _array, Length) = (pool, array, length);

    /// <summary>The body's length in bytes.</summary>
    public int Length { get; }

    /// <summary>The body's bytes (valid until <see cref="Dispose"/>).</summary>
    public ReadOnlyMemory<byte> Memory => (_array ?? throw new ObjectDisposedException(nameof(RequestBody))).AsMemory(0, Length);

    /// <summary>Reads the request's body, at most <paramref name="maxBytes"/> bytes.</summary>
    /// <exception cref="BadHttpRequestException">The body is over the limit (413), or Kestrel refuses how it is sent (400).</exception>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, ArrayPool<byte> pool, long maxBytes, CancellationToken cancellationToken)
    {
        maxBytes = Math.Min(maxBytes, Array.MaxLength - 1);
        if (request.ContentLength is long declared && declared > maxBytes)
            throw TooLarge($"The body is {declared} bytes", maxBytes);
        long? exact = request.ContentLength;
        // One byte past the limit is room enough to tell a body over it.
        long room = exact ?? maxBytes + 1;
        byte[] array = pool.Rent((int)Math.Max(1, Math.Min(exact ?? 64 << 10, room)));
        int length = 0;
        try
        {
            while (length < room)
            {
                int capacity = (int)Math.Min(array.Length, room);
                if (length == capacity)
                {
                    byte[] larger = pool.Rent((int)Math.Min(2L * array.Length, room));
                    array.AsSpan(0, length).CopyTo(larger);
                    pool.Return(array);
                    array = larger;
                    capacity = (int)Math.Min(array.Length, room);
                }
                int read = await request.Body.ReadAsync(array.AsMemory(length, capacity - length), cancellationToken);
                if (read == 0) break;
                length += read;
            }
            // Kestrel stops a body past MaxRequestBodySize itself; this keeps the bound under any other server.
            if (length > maxBytes) throw TooLarge("The body is longer", maxBytes);
            return new RequestBody(pool, array, length);
        }
        catch
        {
            pool.Return(array);
            throw;
        }
    }

    private static BadHttpRequestException TooLarge(string what, long maxBytes) =>
        new($"{what} than this server takes: at most {maxBytes} bytes (--MaxRequestBytes).", StatusCodes.Status413PayloadTooLarge);

    /// <summary>Gives the array back to the pool.</summary>
    public void Dispose()
    {
        if (_array is { } array) _pool.Return(array);
        _array = null;
    }
}
