using System.Text;
using MtlDsl.Generators.Layers;
using Xunit;

namespace MtlDsl.Generators.Tests;

/// <summary>
/// The layer table of docs/declaring-models.md is written from the layer registry (each definition's <see cref="LayerDefinition.Doc"/>):
/// a kind added, renamed or documented differently fails here until the page shows it. <c>MTLDSL_ACCEPT_DOCS=1</c>
/// rewrites the table in place.
/// </summary>
public class LayerTableTests
{
    private const string Begin = "<!-- layer-table: written from the generator's layer registry (generators/MtlDsl.Generators/Layers) by LayerTableTests; MTLDSL_ACCEPT_DOCS=1 rewrites it -->";
    private const string End = "<!-- /layer-table -->";

    internal static string Table()
    {
        var table = new StringBuilder();
        table.Append("| layer | takes | gives | optional (default) | checked at compile time | PyTorch |\n");
        table.Append("|---|---|---|---|---|---|\n");
        foreach (LayerDefinition layer in LayerRegistry.All)
        {
            LayerDoc doc = layer.Doc;
            // torch.nn's as nn.Linear; MtlDsl's own as mtldsl_torch.Cross.
            string torch = layer.Name == Layers.Module.Kind ? "—"
                : $"`{(layer.PyTorchClass.StartsWith("torch.", StringComparison.Ordinal) ? layer.PyTorchClass["torch.".Length..] : layer.PyTorchClass)}`";
            table.Append($"| `{doc.Written}` | {doc.Takes} | {doc.Gives} | {doc.Options} | {doc.Checks} | {torch} |\n");
        }
        return table.ToString();
    }

    [Fact]
    public void TheReadmesLayerTableIsTheRegistrys()
    {
        string path = Path.Combine(GeneratorHarness.SourceDirectory(), "..", "..", "docs", "declaring-models.md");
        string readme = File.ReadAllText(path).Replace("\r\n", "\n");
        int begin = readme.IndexOf(Begin, StringComparison.Ordinal), end = readme.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"docs/declaring-models.md has no layer table between '{Begin}' and '{End}'.");
        string written = readme[(begin + Begin.Length)..end].Trim('\n') + "\n";
        string expected = Table();
        if (written != expected && Environment.GetEnvironmentVariable("MTLDSL_ACCEPT_DOCS") == "1")
        {
            File.WriteAllText(path, readme[..(begin + Begin.Length)] + "\n" + expected + readme[end..]);
            return;
        }
        Assert.Equal(expected, written);
    }

    [Fact]
    public void EveryKindHasItsRowAndDocumentsWhatItTakes()
    {
        foreach (LayerDefinition layer in LayerRegistry.All)
        {
            Assert.StartsWith(layer.Name, layer.Doc.Written, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(layer.Doc.Takes), layer.Name);
            Assert.False(string.IsNullOrWhiteSpace(layer.Doc.Gives), layer.Name);
        }
    }
}
