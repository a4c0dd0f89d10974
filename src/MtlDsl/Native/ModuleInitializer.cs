using System.Runtime.CompilerServices;

namespace MtlDsl.Native;

internal static class RuntimeModuleInitializer
{
    // Covers programs that use the runtime without a generated model; generated models also call
    // EnsureLoaded from their own assembly's initializer, which runs before Main. A failure is not thrown
    // here (it would surface as an opaque TypeInitializationException): EnsureLoaded rethrows it, with its
    // explanation, from the first model constructor.
#pragma warning disable CA2255 // The runtime must prepare the native library before any TorchSharp call.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        try
        {
            TorchNative.EnsureLoaded();
        }
        catch (TorchNativeLoadException)
        {
        }
    }
}
