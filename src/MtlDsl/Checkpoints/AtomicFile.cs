using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MtlDsl.Checkpoints;

/// <summary>
/// Writes a file so that a crash mid-write never leaves a half file in its place: the bytes go to a temporary file
/// in the same folder, are flushed to the disk, and the temporary file is then renamed over the target (an atomic
/// replace on one file system). Either the old file or the complete new one is there, never a mix.
/// </summary>
/// <remarks>
/// The temporary file is named <c>.{name}.{process id}-{32 hex digits}.tmp</c>. A process killed mid-write leaves
/// its temporary file behind; the next write into that folder deletes every such file whose process is no longer
/// running (or is this one, restarted under the same id, and not writing it) and that no one holds open. Files of
/// any other name are never touched.
/// </remarks>
public static partial class AtomicFile
{
    // The temporary files this process is writing now (full paths), which its own clean-up must leave alone.
    private static readonly ConcurrentDictionary<string, byte> s_writing = new(StringComparer.Ordinal);

    /// <summary>Writes <paramref name="write"/>'s output to <paramref name="path"/> atomically; creates the folder if needed.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        DeleteStaleTemporaryFiles(folder);
        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        s_writing[temporary] = 0;
        try
        {
            // Opened without sharing, which also locks it (flock on Unix) until it is closed: another process's
            // clean-up cannot take it while it is written.
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
            s_writing.TryRemove(temporary, out _);
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Deletes the temporary files that writes killed mid-way left in <paramref name="folder"/> (see the remarks of
    /// <see cref="AtomicFile"/>); every write calls it. Returns how many it deleted.
    /// </summary>
    public static int DeleteStaleTemporaryFiles(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) return 0;
        int deleted = 0;
        foreach (string file in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            Match match = TemporaryName().Match(Path.GetFileName(file));
            if (!match.Success || s_writing.ContainsKey(file)) continue;
            if (!int.TryParse(match.Groups["pid"].ValueSpan, out int pid) || (pid != Environment.ProcessId && IsRunning(pid))) continue;
            if (TryDeleteUnheld(file)) deleted++;
        }
        return deleted;
    }

    [GeneratedRegex(@"^\..+\.(?<pid>[0-9]{1,10})-[0-9a-f]{32}\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex TemporaryName();

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            // No such process (gone): its files are stale. One this process may not inspect: left alone.
            return e is not ArgumentException and not InvalidOperationException;
        }
    }

    // Deletes the file if no one holds it: a writer keeps its temporary file open and locked until it renames it.
    private static bool TryDeleteUnheld(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;  // held by a live writer, gone already, or not ours to delete
        }
    }
}
