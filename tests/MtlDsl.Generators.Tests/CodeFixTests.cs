using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using MtlDsl.CodeFixes;

namespace MtlDsl.Generators.Tests;

public class CodeFixTests
{
    private const string Source = "using MtlDsl;\nusing TorchSharp.Modules;\n[MultiTaskModel, Input(3, 8, 8)]\npublic partial class M\n{\n" +
        "    [Trunk, Conv2d(4, kernelSize: 3)] public partial Sequential Shared { get; }\n" +
        "    [Task(Loss.CrossEntropy), Linear(10)] public partial Sequential A { get; }\n" +
        "    [Task(Loss.MeanSquaredError), Flatten, Linear(1)] public partial Sequential B { get; }\n}\n";

    private static async Task<List<CodeAction>> FixesFor(Document document, Diagnostic diagnostic)
    {
        // The generator reports by file and span; the IDE maps that onto the open document, as done here.
        SyntaxTree tree = (await document.GetSyntaxTreeAsync())!;
        Diagnostic located = Diagnostic.Create(diagnostic.Descriptor, Location.Create(tree, diagnostic.Location.SourceSpan), diagnostic.Properties);
        var actions = new List<CodeAction>();
        await new InsertFlattenCodeFix().RegisterCodeFixesAsync(new CodeFixContext(document, located, (action, _) => actions.Add(action), CancellationToken.None));
        return actions;
    }

    private static Document Document(string source)
    {
        var workspace = new AdhocWorkspace();
        Project project = workspace.AddProject("Models", LanguageNames.CSharp)
            .WithParseOptions(GeneratorHarness.ParseOptions)
            .WithMetadataReferences(GeneratorHarness.References.Value);
        return project.AddDocument("Model0.cs", source);
    }

    [Fact]
    public async Task InsertFlattenBeforeALinearLayerThatReceivesAnImage()
    {
        Diagnostic diagnostic = Assert.Single(GeneratorHarness.Diagnostics(Source));
        Assert.Equal("MTL005", diagnostic.Id);
        Document document = Document(Source);

        CodeAction action = Assert.Single(await FixesFor(document, diagnostic));
        Assert.Equal("Insert [Flatten] before this layer", action.Title);
        var change = (await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single();
        string fixedSource = (await change.ChangedSolution.GetDocument(document.Id)!.GetTextAsync()).ToString();

        Assert.Contains("[Task(Loss.CrossEntropy), Flatten, Linear(10)]", fixedSource);
        Assert.Empty(GeneratorHarness.Diagnostics(fixedSource));
    }

    [Fact]
    public async Task NoFlattenOfferedWhereFlattenWouldNotHelp()
    {
        // Conv2d on a vector: MTL005 too, but flattening cannot fix it.
        string source = Source.Replace("[Trunk, Conv2d(4, kernelSize: 3)]", "[Trunk, Flatten, Conv2d(4, kernelSize: 3)]");
        Diagnostic diagnostic = Assert.Single(GeneratorHarness.Diagnostics(source));
        Assert.Equal("MTL005", diagnostic.Id);
        Assert.Empty(await FixesFor(Document(source), diagnostic));
    }
}
