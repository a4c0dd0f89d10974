using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using TorchSharp;

namespace MtlDsl.Native;

/// <summary>
/// Makes TorchSharp's native library load on Linux machines whose libstdc++ is older than the one it was
/// built against (Debian 12, Ubuntu 22.04), with nothing done by hand. Elsewhere it changes nothing.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> records a need for <c>GLIBCXX_3.4.32</c> (GCC 13) for a
/// single marker symbol that no relocation uses. Where the system's libstdc++ lacks that version, a copy of
/// the library with that requirement marked weak is written to a cache folder and handed to TorchSharp.
/// A requirement whose symbols are actually used is never relaxed: the load then fails with an exception
/// that says what to install. Generated models call <see cref="EnsureLoaded"/> from a module initializer,
/// so it runs before the first TorchSharp call of a program.
/// </remarks>
public static partial class TorchNative
{
    private const string LibraryName = "LibTorchSharp";
    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly string[] Dependencies = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    private static readonly object Gate = new();
    private static bool s_loaded;
    private static TorchNativeLoadException? s_failure;

    /// <summary>How the native library was loaded: <c>system</c> (unchanged) or the path of the relaxed copy.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>
    /// Loads TorchSharp's native library, relaxing an unused libstdc++ version need where needed; first sets
    /// OpenMP's wait policy to passive unless the environment has one (<see cref="OpenMpWaitPolicy"/>).
    /// </summary>
    /// <exception cref="TorchNativeLoadException">The library cannot be loaded; the message says why and what to do.</exception>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (s_failure is not null) throw s_failure;
            if (s_loaded) return;
            // Before libtorch loads: its OpenMP reads the wait policy once, then (OpenMpWaitPolicy).
            OpenMpWaitPolicy.Apply();
            try
            {
                if (OperatingSystem.IsLinux()) LoadOnLinux();
            }
            catch (TorchNativeLoadException e)
            {
                s_failure = e;
                throw;
            }
            s_loaded = true;
        }
    }

    private static void LoadOnLinux()
    {
        string? nativeDirectory = FindNativeDirectory();
        if (nativeDirectory is null)
        {
            // Not an app layout we know (for example a custom LD_LIBRARY_PATH set-up): let TorchSharp search.
            LoadedFrom = "TorchSharp's own search";
            return;
        }

        string original = Path.Combine(nativeDirectory, LibraryFile);
        string? firstError = LoadError(original, out _);
        if (firstError is null)
        {
            LoadedFrom = original;
            return;
        }

        var relaxed = new HashSet<string>(StringComparer.Ordinal);
        string error = firstError;
        byte[] image = File.ReadAllBytes(original);
        for (int attempt = 0; attempt < 8; attempt++)
        {
            Match missing = MissingVersion().Match(error);
            if (!missing.Success || !relaxed.Add(missing.Groups[1].Value))
                throw new TorchNativeLoadException(
                    $"TorchSharp's native library '{original}' does not load: {firstError}. " +
                    "Install the libstdc++ of GCC 13 or newer (Debian 13, Ubuntu 24.04 and Fedora 39 have it), " +
                    "or check that the TorchSharp-cpu package restored completely.");

            var elf = ElfVersionNeeds.Parse(image);
            foreach (var need in elf.VersionNeeds().Where(n => n.Version == missing.Groups[1].Value))
            {
                var (symbols, relocated) = elf.SymbolsOfVersion(need.Index);
                if (relocated)
                    throw new TorchNativeLoadException(
                        $"TorchSharp's native library '{original}' needs {need.Version} of {need.File} for " +
                        $"{string.Join(", ", symbols)}, which this system's {need.File} does not provide. " +
                        "Install the libstdc++ of GCC 13 or newer (Debian 13, Ubuntu 24.04, Fedora 39 or later).");
                elf.MarkWeak(need);
            }

            foreach (string dependency in Dependencies)
            {
                string path = Path.Combine(nativeDirectory, dependency);
                if (File.Exists(path)) NativeLibrary.Load(path);
            }

            string copy = WriteCachedCopy(image);
            string? copyError = LoadError(copy, out IntPtr handle);
            if (copyError is null)
            {
                Register(handle);
                LoadedFrom = copy;
                return;
            }
            error = copyError;
        }
        throw new TorchNativeLoadException($"TorchSharp's native library '{original}' does not load: {error}");
    }

    private static void Register(IntPtr handle)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(torch).Assembly,
                (name, _, _) => name == LibraryName ? handle : IntPtr.Zero);
        }
        catch (InvalidOperationException e)
        {
            throw new TorchNativeLoadException(
                "Another component already set a native-library resolver for TorchSharp, so MtlDsl cannot hand it " +
                "the relaxed copy of libLibTorchSharp.so. Call MtlDsl.Native.TorchNative.EnsureLoaded() first.", e);
        }
    }

    private static string? FindNativeDirectory()
    {
        var roots = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? "" };
        foreach (string root in roots.Where(r => r.Length > 0).Distinct())
        {
            foreach (string candidate in new[] { Path.Combine(root, "runtimes", RuntimeId, "native"), root })
                if (File.Exists(Path.Combine(candidate, LibraryFile))) return candidate;
        }
        return null;
    }

    private static string RuntimeId => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>Loads the library: null and its handle on success, else the loader's message (which names a missing version).</summary>
    private static string? LoadError(string path, out IntPtr handle)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            return null;
        }
        catch (DllNotFoundException e)
        {
            handle = IntPtr.Zero;
            return e.Message;
        }
    }

    private static string WriteCachedCopy(byte[] image)
    {
        string hash = Convert.ToHexString(SHA256.HashData(image))[..16].ToLowerInvariant();
        foreach (string root in CacheRoots())
        {
            try
            {
                string directory = Path.Combine(root, "mtldsl", "native", hash);
                string target = Path.Combine(directory, LibraryFile);
                if (File.Exists(target) && new FileInfo(target).Length == image.Length) return target;
                Directory.CreateDirectory(directory);
                // Written beside the target and renamed: another process never sees a half-written library.
                string temporary = Path.Combine(directory, $"{LibraryFile}.{Environment.ProcessId}.tmp");
                File.WriteAllBytes(temporary, image);
                File.Move(temporary, target, overwrite: true);
                return target;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        throw new TorchNativeLoadException("No writable cache folder for the relaxed copy of libLibTorchSharp.so; set XDG_CACHE_HOME to a writable folder.");
    }

    private static IEnumerable<string> CacheRoots()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) yield return xdg;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home)) yield return Path.Combine(home, ".cache");
        yield return Path.GetTempPath();
    }

    [GeneratedRegex(@"version `([^']+)' not found")]
    private static partial Regex MissingVersion();
}

/// <summary>TorchSharp's native library could not be loaded; the message says why and what to do.</summary>
public sealed class TorchNativeLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchNativeLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
