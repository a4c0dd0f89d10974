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
