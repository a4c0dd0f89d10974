namespace MtlDsl.Tests;

/// <summary>A test's own folder under the system's temporary folder, deleted with the test class.</summary>
public abstract class TemporaryFolderTest : IDisposable
{
    /// <summary>The folder (not created until something writes into it).</summary>
    protected string Folder { get; } = Path.Combine(Path.GetTempPath(), "mtldsl-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
