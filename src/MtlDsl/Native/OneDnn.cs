using System.Runtime.InteropServices;
using TorchSharp;

namespace MtlDsl;

/// <summary>
/// libtorch's switch for oneDNN (<c>at::globalContext().setUserEnabledMkldnn</c>, PyTorch's
/// <c>torch.backends.mkldnn.enabled</c>), which TorchSharp does not expose. Turned off, libtorch computes convolutions
/// with its own kernels: right where oneDNN 3.7.1 is not, 1.3–6 times slower (docs/known-issues). The backend check turns
/// it off only when a kernel is wrong even as MtlDsl runs it.
/// </summary>
internal static class OneDnn
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>Whether this process turned oneDNN off.</summary>
    public static bool Disabled { get; private set; }

    /// <summary>Turns oneDNN off for the whole process; false (with the reason) where libtorch's switch cannot be found.</summary>
    public static bool TryDisable(out string? why)
    {
        why = null;
        // The Itanium C++ names of libtorch_cpu on Linux and macOS; Windows builds name them otherwise.
        string library = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(library, typeof(torch).Assembly, null, out IntPtr handle))
        {
            why = $"{library} was not found beside TorchSharp";
            return false;
        }
        if (!NativeLibrary.TryGetExport(handle, "_ZN2at13globalContextEv", out IntPtr context)
            || !NativeLibrary.TryGetExport(handle, "_ZN2at7Context20setUserEnabledMkldnnEb", out IntPtr set))
        {
            why = $"{library} does not export at::globalContext and at::Context::setUserEnabledMkldnn under their Itanium names";
            return false;
        }
        IntPtr global = Marshal.GetDelegateForFunctionPointer<GlobalContext>(context)();
        Marshal.GetDelegateForFunctionPointer<SetUserEnabledMkldnn>(set)(global, false);
        Disabled = true;
        return true;
    }
}
