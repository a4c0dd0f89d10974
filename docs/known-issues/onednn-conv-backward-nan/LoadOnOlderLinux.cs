using System.Runtime.CompilerServices;

// Not part of the reproduction: lets TorchSharp 0.107's native library load on Debian 12 / Ubuntu 22.04
// (MtlDsl's loader; it changes nothing where the system's libstdc++ is GCC 13's or newer).
internal static class LoadOnOlderLinux
{
    [ModuleInitializer]
    internal static void Load() => MtlDsl.Native.TorchNative.EnsureLoaded();
}
