using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// Snapshot checks named as Verify.SourceGenerators names them: one
/// <c>{TestClass}.{Method}#{HintName}.verified.cs</c> per generated file (the hint name without its <c>.cs</c>),
/// and <c>{TestClass}.{Method}.verified.txt</c> for diagnostics. A mismatch writes the <c>.received.</c> file
/// beside it and fails with a unified diff. Set MTLDSL_ACCEPT_SNAPSHOTS=1 to accept new output.
/// </summary>
internal static class Snapshot
{
    private static readonly string Directory = Path.Combine(GeneratorHarness.SourceDirectory(), "Snapshots");

    private static bool Accept => Environment.GetEnvironmentVariable("MTLDSL_ACCEPT_SNAPSHOTS") is "1" or "true";

    public static void Verify(string testClass, string method, GeneratorDriverRunResult run, Func<string, bool>? includeHint = null)
    {
        var failures = new List<string>();
        foreach (GeneratedSourceResult source in run.Results.SelectMany(r => r.GeneratedSources).Where(s => includeHint?.Invoke(s.HintName) ?? true))
        {
            string hint = source.HintName.EndsWith(".cs", StringComparison.Ordinal) ? source.HintName[..^3] : source.HintName;
            Check($"{testClass}.{method}#{hint}", ".cs", source.SourceText.ToString(), failures);
        }
        if (run.Diagnostics.Length > 0)
        {
            var text = new StringBuilder();
            foreach (Diagnostic d in run.Diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
                text.Append(d.Id).Append(' ').Append(d.Severity).Append(' ').Append(d.Location.GetLineSpan()).Append(": ").Append(d.GetMessage()).Append('\n');
            Check($"{testClass}.{method}", ".txt", text.ToString(), failures);
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private static void Check(string name, string extension, string actual, List<string> failures)
    {
        string verified = Path.Combine(Directory, $"{name}.verified{extension}");
        string received = Path.Combine(Directory, $"{name}.received{extension}");
        // The generator's version is scrubbed (as Verify does), so that a version bump does not rewrite every snapshot.
        actual = actual.Replace("\r\n", "\n").Replace($"\"MtlDsl.Generators\", \"{MtlDsl.Generators.MultiTaskModelGenerator.GeneratorVersion}\")", "\"MtlDsl.Generators\", \"{version}\")");
        string? expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        if (Accept)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        failures.Add(expected is null
            ? $"No snapshot {Path.GetFileName(verified)} yet; the output is in {Path.GetFileName(received)}. Review it, then accept it with MTLDSL_ACCEPT_SNAPSHOTS=1."
            : $"{Path.GetFileName(verified)} differs from the output (written to {Path.GetFileName(received)}):\n{UnifiedDiff(expected, actual)}");
    }

    private static string UnifiedDiff(string expected, string actual)
    {
        var diff = InlineDiffBuilder.Diff(expected, actual);
        var text = new StringBuilder();
        for (int i = 0; i < diff.Lines.Count; i++)
        {
            DiffPiece line = diff.Lines[i];
            bool nearChange = diff.Lines.Skip(Math.Max(0, i - 2)).Take(5).Any(l => l.Type != ChangeType.Unchanged);
            if (!nearChange) continue;
            text.Append(line.Type switch { ChangeType.Inserted => "+ ", ChangeType.Deleted => "- ", _ => "  " }).Append(line.Text).Append('\n');
        }
        return text.ToString();
    }
}
