using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;

namespace MtlDsl.Generators.Diagnostics;

/// <summary>Every diagnostic MtlDsl's generator reports. IDs are stable; new ones go to AnalyzerReleases.Unshipped.md.</summary>
internal static class DiagnosticDescriptors
{
    /// <summary>
    /// The documentation site's address, ending with '/': the MSBuild property <c>MtlDslDocsUrl</c> when the generator
    /// was built (Directory.Build.props), read from the assembly's metadata. Declared before the descriptors, which
    /// read it when they are created.
    /// </summary>
    internal static readonly string DocsUrl = typeof(DiagnosticDescriptors).Assembly.GetCustomAttributes(typeof(AssemblyMetadataAttribute), false)
        .Cast<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "MtlDslDocsUrl")?.Value ?? "";

    /// <summary>The site's page that explains every diagnostic, with an example and the fix; each ID is an anchor.</summary>
    internal const string HelpPage = "diagnostics.html";

    private const string Declaration = "MtlDsl.Declaration";
    private const string Shapes = "MtlDsl.Shapes";
    private const string Generator = "MtlDsl.Generator";
    private const string Export = "MtlDsl.Export";

    public static readonly DiagnosticDescriptor ModelNotPartial = Error("MTL001", Declaration,
        "Multi-task model must be partial",
        "Model '{0}' must be declared partial so that the generator can complete it: write 'partial class {0}'");

    public static readonly DiagnosticDescriptor InvalidInputShape = Error("MTL002", Declaration,
        "Model needs a valid input shape",
        "Model '{0}' {1}: declare the shape of one sample without the batch dimension, for example [Input(3, 28, 28)] or [Input(16)]");

    public static readonly DiagnosticDescriptor NoTask = Error("MTL003", Declaration,
        "Model has no task head",
        "Model '{0}' has no task head: add a partial Sequential property marked [Task(Loss.…)] with its layers");

    public static readonly DiagnosticDescriptor NoTrunk = Error("MTL004", Declaration,
        "Model has no trunk",
        "Model '{0}' has no trunk: add a partial Sequential property marked [Trunk] with the shared layers");

    public static readonly DiagnosticDescriptor LayerInputMismatch = Error("MTL005", Shapes,
        "Layer does not accept its input shape",
        "{0} receives {1} but expects {2}{3}");

    public static readonly DiagnosticDescriptor DimensionShrinksToZero = Error("MTL006", Shapes,
        "Layer shrinks a dimension to zero",
        "{0} on input {1} would give {2}: {3}");

    public static readonly DiagnosticDescriptor InSizeMismatch = Error("MTL007", Shapes,
        "Explicit input size disagrees with the inferred one",
        "{0} declares {1} = {2}, but its input {3} gives {4}: remove {1} (it is inferred) or change it to {4}");

    public static readonly DiagnosticDescriptor InvalidWeight = Error("MTL008", Declaration,
        "Task weight must be a positive, finite number",
        "Task '{0}' has weight {1}: a task weight must be a positive, finite number (default 1){2}");

    public static readonly DiagnosticDescriptor DuplicateTaskName = Error("MTL009", Declaration,
        "Two blocks share one name",
        "'{0}' and '{1}' both become the state-dict name '{2}': rename one of them");

    public static readonly DiagnosticDescriptor ArgumentOutOfRange = Error("MTL010", Shapes,
        "Layer argument out of range",
        "{0}: {1} is {2}, but must be {3}");

    public static readonly DiagnosticDescriptor InvalidBlockMember = Error("MTL011", Declaration,
        "Trunk block or task head must be a partial Sequential property",
        "'{0}' {1}: declare it as 'public partial Sequential {0} {{ get; }}' (TorchSharp.Modules.Sequential)");

    public static readonly DiagnosticDescriptor UnsupportedModelDeclaration = Error("MTL012", Declaration,
        "Model declaration cannot be completed",
        "Model '{0}' cannot be completed by the generator: {1}");

    public static readonly DiagnosticDescriptor ReservedTaskName = Error("MTL013", Declaration,
        "Block name clashes with a generated or inherited member",
        "'{0}' clashes with the member '{0}' {1}: rename the property");

    public static readonly DiagnosticDescriptor TrunkAndTask = Error("MTL014", Declaration,
        "Member is both trunk and task",
        "'{0}' is marked both [Trunk] and [Task]: a block is either shared (trunk) or a task's own head");

    public static readonly DiagnosticDescriptor SizeTooLarge = Error("MTL015", Shapes,
        "Model is too large",
        "{0}: {1} exceeds the largest supported size ({2})");

    public static readonly DiagnosticDescriptor LayersOnNonBlockMember = Warning("MTL016", Declaration,
        "Layers on a member that is neither trunk nor task",
        "'{0}' carries layer attributes but is neither [Trunk] nor [Task], so its layers are ignored: mark it [Trunk] or [Task(Loss.…)], or remove the layers");

    public static readonly DiagnosticDescriptor GeneratedMemberClash = Error("MTL017", Declaration,
        "Member clashes with a generated member",
        "The {0} '{1}' clashes with the generated {2}: rename or remove yours");

    public static readonly DiagnosticDescriptor SingleTask = Warning("MTL018", Declaration,
        "Model has a single task",
        "Model '{0}' has one task, '{1}', so it is not multi-task: add a second [Task] head to learn tasks jointly");

    public static readonly DiagnosticDescriptor LossDoesNotFitOutput = Error("MTL019", Shapes,
        "Task loss does not fit the head's output",
        "Task '{0}' uses {1}, but its head's output per sample is {2}: {3}");

    public static readonly DiagnosticDescriptor UnusedBlock = Warning("MTL020", Declaration,
        "Block outside a multi-task model",
        "'{0}' is marked [{1}], but '{2}' is not a [MultiTaskModel], so the block is never used: add [MultiTaskModel] to '{2}' or remove [{1}]");

    public static readonly DiagnosticDescriptor EmptyTrunkBlock = Warning("MTL021", Declaration,
        "Trunk block without layers",
        "Trunk block '{0}' has no layers and does nothing: add layer attributes or remove it");

    public static readonly DiagnosticDescriptor UnknownLoss = Error("MTL022", Declaration,
        "Unknown loss",
        "Task '{0}' has the loss value {1}, which is not a member of MtlDsl.Loss: use one of {2}");

    public static readonly DiagnosticDescriptor SeveralArchitectures = Error("MTL023", Declaration,
        "Model declares more than one architecture",
        "Model '{0}' declares both [{1}] and [{2}]: a model has one architecture; keep one of them");

    public static readonly DiagnosticDescriptor InvalidExperts = Error("MTL024", Declaration,
        "Architecture argument out of range",
        "[{0}] on model '{1}': {2} is {3}, but it must be {4}");

    public static readonly DiagnosticDescriptor InvalidReads = Error("MTL025", Declaration,
        "Task head reads something it cannot",
        "Task '{0}' reads '{1}', {2}");

    public static readonly DiagnosticDescriptor StageDoesNotFit = Error("MTL026", Shapes,
        "Trunk block does not fit the architecture",
        "Trunk block '{0}' of the {1} model '{2}' {3}");

    public static readonly DiagnosticDescriptor CrossStitchWithoutUnits = Warning("MTL027", Declaration,
        "Cross-stitch network with one stage",
        "Model '{0}' is a Cross-stitch network with a single stage, so its columns are never mixed and the tasks share nothing: split the trunk into several [Trunk] blocks (the stages)");

    public static readonly DiagnosticDescriptor UnreadTrunkBlock = Warning("MTL028", Declaration,
        "Trunk block that no head reads",
        "Trunk block '{0}' is read by no head and no other block, so nothing uses its output and it never learns: remove it, or let a head or block read it (a head reads the last trunk block unless it says otherwise with Reads)");

    public static readonly DiagnosticDescriptor ResidualDoesNotFit = Error("MTL029", Shapes,
        "Residual block cannot add its input",
        "Residual block '{0}' turns {1} into {2}: {3}");

    public static readonly DiagnosticDescriptor InvalidSource = Error("MTL030", Declaration,
        "Trunk block reads something it cannot",
        "Trunk block '{0}' {1}");

    public static readonly DiagnosticDescriptor InvalidInput = Error("MTL031", Declaration,
        "Invalid input declaration",
        "Model '{0}': {1}");

    public static readonly DiagnosticDescriptor ConcatDoesNotFit = Error("MTL032", Shapes,
        "Concatenated sources do not fit together",
        "Block '{0}' concatenates {1}: {2}");

    public static readonly DiagnosticDescriptor UnreadInput = Warning("MTL033", Declaration,
        "Input that no block reads",
        "Input '{0}' of model '{1}' is read by no block, so the model ignores it: let a trunk block read it (Reads = \"{0}\" or [Concat(\"{0}\", …)]), or remove it");

    public static readonly DiagnosticDescriptor OwnModuleProblem = Error("MTL034", Shapes,
        "Your own module cannot be used as declared",
        "{0} {1}");

    public static readonly DiagnosticDescriptor ExportRefused = Warning("MTL035", Export,
        "Model cannot be exported to that engine",
        "{1} cannot export model '{0}': {2}; the call throws NotSupportedException");

    public static readonly DiagnosticDescriptor InvalidLossWeights = Error("MTL036", Declaration,
        "Class or positive weights do not fit the task",
        "Task '{0}' {1}");

    public static readonly DiagnosticDescriptor InvalidProduct = Error("MTL038", Declaration,
        "Task built from tasks cannot be declared so",
        "{0} {1}");

    public static readonly DiagnosticDescriptor InvalidTransfer = Error("MTL039", Declaration,
        "Transfer point cannot be declared so",
        "{0} {1}");

    public static readonly DiagnosticDescriptor InternalError = Error("MTL999", Generator,
        "MtlDsl's generator failed",
        "MtlDsl's generator failed on model '{0}' ({1}); nothing was generated for it. Please report this with the declaration.");

    private static readonly Dictionary<string, DiagnosticDescriptor> Catalogue = typeof(DiagnosticDescriptors)
        .GetFields()
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
        .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
        .ToDictionary(d => d.Id);

    public static IEnumerable<DiagnosticDescriptor> All => Catalogue.Values;

    public static DiagnosticDescriptor ById(string id) => Catalogue[id];

    private static DiagnosticDescriptor Error(string id, string category, string title, string message) =>
        Create(id, category, title, message, DiagnosticSeverity.Error);

    private static DiagnosticDescriptor Warning(string id, string category, string title, string message) =>
        Create(id, category, title, message, DiagnosticSeverity.Warning);

    private static DiagnosticDescriptor Create(string id, string category, string title, string message, DiagnosticSeverity severity) =>
        new(id, title, message, category, severity, isEnabledByDefault: true,
            helpLinkUri: $"{DocsUrl}{HelpPage}#{id.ToLowerInvariant()}");
}
