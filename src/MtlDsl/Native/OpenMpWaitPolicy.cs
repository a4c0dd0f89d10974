using System.Runtime.InteropServices;
using System.Text;

namespace MtlDsl.Native;

/// <summary>
/// How libtorch's OpenMP worker threads wait for work between two parallel operations. MtlDsl makes them sleep
/// (<c>OMP_WAIT_POLICY=PASSIVE</c>) unless the environment says otherwise, because OpenMP's default, spinning for a
/// while after every operation, makes small models train 10–30× slower as soon as anything else uses the cores
/// (docs/performance.md has the measurements and the benchmark that reproduces them).
/// </summary>
/// <remarks>
/// OpenMP reads its settings once, when libtorch loads, from the process environment: MtlDsl sets
/// <c>OMP_WAIT_POLICY</c> there (with the C library's <c>setenv</c>: .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach native code on Linux and macOS)
/// before it loads TorchSharp's native library, which a generated model's module initializer does before
/// <c>Main</c>. To keep OpenMP's own default, set <c>OMP_WAIT_POLICY=ACTIVE</c> (always spin) or
/// <c>GOMP_SPINCOUNT</c> (libgomp's spin count; 300000 is its default) in the environment: MtlDsl then changes
/// nothing. When libtorch was loaded before any MtlDsl code ran, the setting cannot apply and
/// <see cref="Policy"/> says so.
/// </remarks>
public static class OpenMpWaitPolicy
{
    /// <summary>The environment variable MtlDsl sets: <c>OMP_WAIT_POLICY</c>.</summary>
    public const string Variable = "OMP_WAIT_POLICY";

    /// <summary>The value MtlDsl sets when the environment has none: <c>PASSIVE</c>.</summary>
    public const string Default = "PASSIVE";

    private static readonly object Gate = new();

    /// <summary>
    /// What applies to this process: <c>PASSIVE (MtlDsl's default)</c>, the environment's own setting
    /// (<c>OMP_WAIT_POLICY=ACTIVE (from the environment)</c>, or <c>GOMP_SPINCOUNT=…</c>), or
    /// <c>OpenMP's default (libtorch was loaded before MtlDsl)</c>; null before TorchSharp's native library is loaded.
    /// </summary>
    public static string? Policy { get; private set; }

    /// <summary>Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the process environment unless a wait setting is already there.</summary>
    internal static void Apply()
    {
        lock (Gate)
        {
            if (Policy is not null) return;
            foreach (string variable in new[] { Variable, "GOMP_SPINCOUNT" })
                if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
                {
                    Policy = $"{variable}={value} (from the environment)";
                    return;
                }
            if (OperatingSystem.IsLinux() && OpenMpAlreadyLoaded())
            {
                Policy = "OpenMP's default (libtorch was loaded before MtlDsl)";
                return;
            }
            Environment.SetEnvironmentVariable(Variable, Default);  // for .NET code and child processes
            if (!OperatingSystem.IsWindows()) SetNative(Variable, Default);  // for OpenMP (Windows' OpenMP reads the process block)
            Policy = $"{Default} (MtlDsl's default)";
        }
    }

    // libgomp (bundled with libtorch as libgomp-<hash>.so.1) or libtorch_cpu itself already mapped into the process.
    private static bool OpenMpAlreadyLoaded()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
                if (line.Contains("/libgomp", StringComparison.Ordinal) || line.Contains("/libtorch_cpu.so", StringComparison.Ordinal)) return true;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    // setenv from the C library, found in the process's global symbols (libc on Linux, libSystem on macOS).
    private static unsafe void SetNative(string name, string value)
    {
        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "setenv", out IntPtr setenv)) return;
        byte[] n = Encoding.UTF8.GetBytes(name + "\0"), v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* pn = n)
        fixed (byte* pv = v)
            ((delegate* unmanaged<byte*, byte*, int, int>)setenv)(pn, pv, 1);
    }
}
