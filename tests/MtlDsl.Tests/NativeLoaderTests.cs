using MtlDsl.Native;
using TorchSharp;

namespace MtlDsl.Tests;

public class NativeLoaderTests
{
    private static string NativeLibrary()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        return Path.Combine(directory, "libLibTorchSharp.so");
    }

    [Fact]
    public void TorchSharpIsLoadedAndWorks()
    {
        TorchNative.EnsureLoaded();
        Assert.NotNull(TorchNative.LoadedFrom);
        Assert.Equal(6f, torch.ones(2, 3).sum().item<float>());
    }

    [Fact]
    public void OpenMpThreadsSleepBetweenOperationsUnlessTheEnvironmentSaysOtherwise()
    {
        TorchNative.EnsureLoaded();
        string policy = OpenMpWaitPolicy.Policy!;
        if (policy.EndsWith("(from the environment)", StringComparison.Ordinal)) return;  // whoever runs the tests chose
        Assert.Equal("PASSIVE (MtlDsl's default)", policy);
        if (OperatingSystem.IsWindows()) return;
        // What OpenMP reads when libtorch loads: the C library's environment, which .NET's own copy does not reach.
        Assert.True(System.Runtime.InteropServices.NativeLibrary.TryGetExport(System.Runtime.InteropServices.NativeLibrary.GetMainProgramHandle(), "getenv", out IntPtr getenv));
        var read = System.Runtime.InteropServices.Marshal.GetDelegateForFunctionPointer<GetEnv>(getenv);
        Assert.Equal("PASSIVE", System.Runtime.InteropServices.Marshal.PtrToStringUTF8(read("OMP_WAIT_POLICY")));
    }

    [System.Runtime.InteropServices.UnmanagedFunctionPointer(System.Runtime.InteropServices.CallingConvention.Cdecl)]
    private delegate IntPtr GetEnv([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string name);

    [Fact]
    public void TheRelaxedVersionNeedIsNeverUsedByARelocation()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(NativeLibrary())) return; // the ELF check is about the Linux build
        var elf = ElfVersionNeeds.Parse(File.ReadAllBytes(NativeLibrary()));
        var needs = elf.VersionNeeds();
        Assert.Contains(needs, n => n.File == "libstdc++.so.6" && n.Version == "GLIBCXX_3.4.9");
        var marker = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        var (symbols, relocated) = elf.SymbolsOfVersion(marker.Index);
        Assert.Equal(["_ZSt21ios_base_library_initv"], symbols);
        Assert.False(relocated);

        // A version whose symbols are used is reported as relocated, so it would never be relaxed.
        var used = needs.First(n => n.Version == "GLIBCXX_3.4.9");
        Assert.True(elf.SymbolsOfVersion(used.Index).Relocated);

        Assert.False(marker.IsWeak);
        elf.MarkWeak(marker);
        Assert.True(elf.VersionNeeds().Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
    }

    [Fact]
    public void AFileThatIsNotElfIsRejected() =>
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Parse(new byte[128]));
}
