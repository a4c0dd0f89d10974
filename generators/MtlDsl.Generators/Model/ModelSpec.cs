using System.Linq;
using MtlDsl.Generators.Architectures;

namespace MtlDsl.Generators.Model;

// The parser's output: a declared model as plain, equatable data. No ISymbol, SyntaxNode, Location or
// Compilation may appear here (a test walks these types by reflection), so unrelated edits hit the cache.

/// <summary>A type that contains the model class: it is re-declared around the generated partial.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>A model declaration as written.</summary>
internal sealed record ModelSpec(
    string? Namespace,
    string ClassName,
    string Accessibility,
    EquatableArray<ContainingType> ContainingTypes,
    LocationInfo? ClassLocation,
    EquatableArray<InputSpec> Inputs,
    EquatableArray<BlockSpec> Blocks,
    EquatableArray<MemberInfo> OtherMembers,
    bool CompilerRejects = false,
    EquatableArray<ArchitectureSpec> Architectures = default)
{
    /// <summary>The declared architecture: the one attribute written, or hard sharing (several are MTL030).</summary>
    public ArchitectureSpec Architecture => Architectures.Count > 0 ? Architectures[0] : ArchitectureSpec.HardSharing;

    /// <summary>The names of the members every model inherits (MultiTaskModule's and TorchSharp's): generated names avoid them.</summary>
    public EquatableArray<string> InheritedMembers { get; init; } = EquatableArray<string>.Empty;

    /// <summary>
    /// What block <paramref name="b"/> of a group that reads by name (hard sharing's trunk, or the shared bottom) reads:
    /// what it names, else the block before it, else the (first) input.
    /// </summary>
    public System.Collections.Generic.IEnumerable<string> SourcesOf(System.Collections.Generic.IReadOnlyList<BlockSpec> blocks, int b) =>
        blocks[b].NamesSources ? blocks[b].Sources : b == 0 ? [Inputs[0].EffectiveName] : [blocks[b - 1].Name];

    /// <summary>The blocks of the shared bottom (<c>[Trunk(Bottom = true)]</c>), in declaration order.</summary>
    public System.Collections.Generic.List<BlockSpec> Bottom => Blocks.Where(b => b.Kind == BlockKind.Bottom).ToList();

    /// <summary>
    /// In an architecture other than hard sharing, what it reads (its first trunk block and its gates): what the first
    /// trunk block names, else the last bottom block, else the (first) input.
    /// </summary>
    public System.Collections.Generic.IEnumerable<string> ArchitectureSources(System.Collections.Generic.IReadOnlyList<BlockSpec> trunk, System.Collections.Generic.IReadOnlyList<BlockSpec> bottom) =>
        trunk.Count > 0 && trunk[0].NamesSources ? trunk[0].Sources : bottom.Count > 0 ? [bottom[bottom.Count - 1].Name] : [Inputs[0].EffectiveName];

    /// <summary>The shape of the first (or only) input; empty when none is declared.</summary>
    public EquatableArray<int> InputShape => Inputs.Count > 0 ? Inputs[0].Shape : EquatableArray<int>.Empty;

    /// <summary>Where the first input is declared.</summary>
    public LocationInfo? InputLocation => Inputs.Count > 0 ? Inputs[0].Location : null;

    /// <summary>Whether the model names its inputs (and so gets a typed Inputs record).</summary>
    public bool NamedInputs => Inputs.Any(i => i.Name is not null);

    /// <summary>The model's full name as metadata spells it (no <c>@</c>): namespace, containing types, class.</summary>
    public string FullName
    {
        get
        {
            var parts = new System.Collections.Generic.List<string>();
            if (Namespace is not null) parts.Add(Namespace);
            foreach (ContainingType type in ContainingTypes) parts.Add(type.Name);
            parts.Add(ClassName);
            return string.Join(".", parts).Replace("@", "");
        }
    }

    /// <summary>
    /// The model's identity as metadata names it: namespace, then the containing types and the class joined by '+'
    /// (so that class B in namespace A and class B nested in class A differ, where <see cref="FullName"/> does not).
    /// </summary>
    public string MetadataName
    {
        get
        {
            string types = string.Join("+", ContainingTypes.Select(t => t.Name).Append(ClassName)).Replace("@", "");
            return Namespace is null ? types : Namespace.Replace("@", "") + "." + types;
        }
    }

    /// <summary>
    /// The generated file's hint name: the full name in the characters a hint name allows (letters, digits, '.' and
    /// '_'), and, when another model's hint name is the same ignoring case (hint names are compared so: Net and NET;
    /// A.B the namespace and A.B the nested class; Café and Caf_), a hash of its metadata name, which no other
    /// model has. Files the generator writes besides models use a '-', which no model's hint name contains.
    /// </summary>
    public string HintName(bool disambiguate)
    {
        var name = new System.Text.StringBuilder();
        foreach (char c in FullName) name.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' ? c : '_');
        if (disambiguate) name.Append('.').Append(StableHash(MetadataName).ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
        return name + ".g.cs";
    }

    /// <summary>The lower-case form two hint names collide on.</summary>
    public string HintKey => HintName(false).ToLowerInvariant();

    // FNV-1a over the UTF-16 code units: the same on every machine and run (string.GetHashCode is not).
    private static uint StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text) hash = (hash ^ c) * 16777619;
        return hash;
    }
}

/// <summary>
/// An architecture attribute as written (its definition, <see cref="Definition"/>, reads it): MMoE's experts are
/// <see cref="SharedExperts"/> (its <c>Experts</c>); CGC and PLE have both counts, the task experts either one for
/// every task (<see cref="TaskExperts"/>) or one per task in declaration order (<see cref="TaskExpertsPerTask"/>, not
/// null, of any length until validation checks it); Cross-stitch and MTAN neither.
/// </summary>
internal sealed record ArchitectureSpec(ModelArchitecture Kind, LocationInfo? Location, int SharedExperts = 0, int TaskExperts = 0,
    EquatableArray<ArgumentLocation> Arguments = default, bool OneGate = false, EquatableArray<int>? TaskExpertsPerTask = null)
{
    public static readonly ArchitectureSpec HardSharing = new(ModelArchitecture.HardSharing, null);

    /// <summary>What the generator knows of the architecture: its rules, shapes and code.</summary>
    public ArchitectureDefinition Definition => ArchitectureDefinitions.Of(Kind);

    public LocationInfo? LocationOf(string argument)
    {
        foreach (ArgumentLocation written in Arguments)
            if (written.Name == argument) return written.Location;
        return Location;
    }
}

/// <summary>One [Input] as written: its name (null for a model's one unnamed input), per-sample shape, and kind (the runtime's InputKind).</summary>
internal sealed record InputSpec(string? Name, EquatableArray<int> Shape, int Kind, LocationInfo? Location, EquatableArray<ArgumentLocation> Arguments = default)
{
    /// <summary>The name blocks read it by and the runtime reports it by.</summary>
    public string EffectiveName => Name ?? "input";

    /// <summary>Whether it holds categorical ids.</summary>
    public bool Ids => Kind == 1;

    public LocationInfo? LocationOf(string argument)
    {
        foreach (ArgumentLocation written in Arguments)
            if (written.Name == argument) return written.Location;
        return Location;
    }
}

internal enum BlockKind
{
    /// <summary>A trunk block: hard sharing's shared blocks; the experts', columns' or stages' blocks of the other architectures.</summary>
    Trunk,

    /// <summary>A task head.</summary>
    Task,

    /// <summary>A block of the shared bottom (<c>[Trunk(Bottom = true)]</c>): run once before an architecture's experts, columns or stages.</summary>
    Bottom,
}

/// <summary>
/// A member of the model class that is not a block: the generator must not declare one of the same name. A
/// member that carries layer attributes without [Trunk] or [Task] has <see cref="HasLayers"/> set.
/// </summary>
internal sealed record MemberInfo(string Name, string Kind, LocationInfo? Location, bool HasLayers, LocationInfo? FirstLayerLocation);

/// <summary>A trunk block or task head: an attributed partial property and its layers in source order.</summary>
internal sealed record BlockSpec(
    string Name,
    BlockKind Kind,
    string Accessibility,
    string? MemberProblem,
    int Loss,
    double Weight,
    int? Classes,
    LocationInfo? ClassesLocation,
    LocationInfo? Location,
    LocationInfo? KindLocation,
    LocationInfo? WeightLocation,
    EquatableArray<LayerSpec> Layers,
    string? Reads = null,
    LocationInfo? ReadsLocation = null,
    LocationInfo? ResidualLocation = null,
    bool ReLUAfterSum = false,
    EquatableArray<string> Concat = default,
    LocationInfo? ConcatLocation = null,
    LocationInfo? BottomLocation = null,
    EquatableArray<double>? PositiveWeights = null,
    LocationInfo? PositiveWeightsLocation = null,
    EquatableArray<double>? ClassWeights = null,
    LocationInfo? ClassWeightsLocation = null,
    EquatableArray<string> ProductOf = default,
    LocationInfo? ProductOfLocation = null,
    EquatableArray<ArgumentLocation> FactorLocations = default)
{
    /// <summary>Whether the task is [ProductOf]: its output is the logit of its factors' probabilities' product.</summary>
    public bool IsProduct => ProductOfLocation is not null;

    /// <summary>Where factor <paramref name="i"/> of [ProductOf] is written (its own argument), else the attribute.</summary>
    public LocationInfo? FactorLocation(int i) => i < FactorLocations.Count ? FactorLocations[i].Location ?? ProductOfLocation : ProductOfLocation;

    /// <summary>Whether the block names what it reads ([Concat] or Reads).</summary>
    public bool NamesSources => ConcatLocation is not null || Reads is not null;

    /// <summary>What the block reads as written: Concat's names, else Reads, else none (the default).</summary>
    public EquatableArray<string> Sources => ConcatLocation is not null ? Concat : Reads is not null ? new string[] { Reads }.ToEquatableArray() : EquatableArray<string>.Empty;

    /// <summary>Where what it reads is written.</summary>
    public LocationInfo? SourcesLocation => ConcatLocation ?? ReadsLocation ?? KindLocation;

    /// <summary>Whether the block is [Residual]: its output is its layers' output plus its (projected) input.</summary>
    public bool Residual => ResidualLocation is not null;
}

/// <summary>
/// One layer attribute with the arguments that were written (<see cref="Values"/>, by PascalCase parameter or property
/// name): an argument not written is absent, so that its definition (<see cref="Definition"/>, one file per kind in
/// Layers/) can tell "not given" from "given as zero" and apply its own default.
/// </summary>
internal sealed record LayerSpec(
    string Kind,
    LocationInfo? Location,
    EquatableArray<LayerArgument> Values = default,
    EquatableArray<ArgumentLocation> Arguments = default,
    OwnModule? Module = null)
{
    /// <summary>The kind's definition.</summary>
    public Layers.LayerDefinition Definition => Layers.LayerRegistry.Get(Kind);

    /// <summary>Whether the argument was written.</summary>
    public bool Has(string name) => Find(name) is not null;

    /// <summary>An int argument as written, or null.</summary>
    public int? Int(string name) => Find(name)?.Integer;

    /// <summary>A number argument as written (an int one converted), or null.</summary>
    public double? Double(string name) => Find(name) is { } argument ? argument.Real ?? argument.Integer : null;

    /// <summary>A bool argument as written, or null.</summary>
    public bool? Flag(string name) => Find(name)?.Flag;

    /// <summary>A string argument as written, or null (not written, or null).</summary>
    public string? Text(string name) => Find(name)?.Text;

    /// <summary>An int-array argument as written (a null array is empty), or empty.</summary>
    public EquatableArray<int> Ints(string name) => Find(name)?.Ints ?? EquatableArray<int>.Empty;

    private LayerArgument? Find(string name)
    {
        if (!Definition.Arguments.Contains(name))
            throw new System.InvalidOperationException($"The {Kind} definition reads the argument '{name}', which is not in its Arguments list.");
        foreach (LayerArgument argument in Values)
            if (argument.Name == name) return argument;
        return null;
    }

    /// <summary>Where the named argument (constructor parameter or property, PascalCase) was written, else the attribute.</summary>
    public LocationInfo? LocationOf(string argument)
    {
        foreach (ArgumentLocation written in Arguments)
            if (written.Name == argument) return written.Location;
        return Location;
    }
}

/// <summary>
/// One written argument of a layer attribute as the compiler converted it: an integral constant that fits an int
/// (<see cref="Integer"/>; enums as their number), a floating-point one (<see cref="Real"/>), a bool, an int array, or a
/// string (<see cref="Text"/>: a task's name).
/// </summary>
internal sealed record LayerArgument(string Name, int? Integer = null, double? Real = null, bool? Flag = null, EquatableArray<int>? Ints = null, string? Text = null);

/// <summary>
/// A [Module(typeof(T), …)] layer as the parser read it: the type and constructor arguments as C# text (each argument
/// an expression of the type the attribute bound it as, so the generated <c>new T(…)</c> binds to the constructor the
/// compiler chose for them), and its output shape: declared (<see cref="DeclaredShape"/>) or the static OutputShape
/// method's return value as expressions of the input's sizes (<see cref="Formula"/>, after its locals
/// <see cref="Locals"/>; <see cref="FormulaIsInput"/>: it returns its input). A problem found while reading it (not
/// a module, no constructor binds, a method it cannot evaluate) is <see cref="Problem"/>, reported by validation.
/// </summary>
internal sealed record OwnModule(
    string TypeName,
    string DisplayName,
    EquatableArray<string> Arguments,
    EquatableArray<string> ArgumentTexts,
    EquatableArray<int> DeclaredShape,
    bool HasDeclaredShape,
    EquatableArray<ShapeExpr> Formula,
    bool HasFormula,
    bool FormulaIsInput,
    string? Problem,
    LocationInfo? ProblemLocation,
    EquatableArray<ShapeExpr> Locals = default);

/// <summary>The C# simple types a shape formula computes with (decimal, nint and the rest are refused).</summary>
internal enum NumberType
{
    Boolean,
    Char,
    SByte,
    Byte,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Single,
    Double,
}

/// <summary>
/// An expression of an input's sizes, as a static OutputShape method computes it, typed as C# types it so that it is
/// evaluated at compile time by C#'s rules (Shapes/ShapeFormula.cs). The operands of an operator are already
/// converted to the operator's operand type, as the compiler bound them.
/// </summary>
internal abstract record ShapeExpr(NumberType Type);

/// <summary>
/// A constant of its type (a literal, a const, a constructor argument converted to its parameter): an integral value
/// (bool and char included) sign- or zero-extended to 64 bits; a float or double as the bits of the double it is.
/// </summary>
internal sealed record ConstantExpr(NumberType Type, long Bits) : ShapeExpr(Type);

/// <summary><c>input[Index]</c>; the index is of an integral type.</summary>
internal sealed record DimensionExpr(ShapeExpr Index) : ShapeExpr(NumberType.Int32);

/// <summary><c>input.Length</c>.</summary>
internal sealed record RankExpr() : ShapeExpr(NumberType.Int32);

/// <summary>A local declared before the return: the value of <see cref="OwnModule.Locals"/>[Index].</summary>
internal sealed record LocalExpr(int Index, NumberType Type) : ShapeExpr(Type);

/// <summary>A numeric conversion (implicit or a cast) to <see cref="ShapeExpr.Type"/>, checked or not.</summary>
internal sealed record ConvertExpr(ShapeExpr Operand, NumberType Type, bool Checked) : ShapeExpr(Type);

/// <summary>A unary operation: - + ~ !.</summary>
internal sealed record UnaryExpr(string Operator, ShapeExpr Operand, NumberType Type, bool Checked) : ShapeExpr(Type);

/// <summary>
/// A binary operation on operands of <see cref="Left"/>'s type (a shift's right operand is an int): + - * / % &amp; | ^
/// &lt;&lt; &gt;&gt; &gt;&gt;&gt;, the comparisons (bool), &amp;&amp; ||.
/// </summary>
internal sealed record BinaryExpr(string Operator, ShapeExpr Left, ShapeExpr Right, NumberType Type, bool Checked) : ShapeExpr(Type);

/// <summary><c>condition ? whenTrue : whenFalse</c>, both branches of its type.</summary>
internal sealed record ConditionalExpr(ShapeExpr Condition, ShapeExpr WhenTrue, ShapeExpr WhenFalse) : ShapeExpr(WhenTrue.Type);

/// <summary>A call of System.Math's Max, Min, Abs, Floor or Ceiling, the overload of <see cref="ShapeExpr.Type"/>.</summary>
internal sealed record MathExpr(string Method, EquatableArray<ShapeExpr> Arguments, NumberType Type) : ShapeExpr(Type);

/// <summary>Where one argument of an attribute was written.</summary>
internal sealed record ArgumentLocation(string Name, LocationInfo? Location);

/// <summary>The names of the runtime's <c>MtlDsl.Loss</c> (Shared/Loss.cs, compiled from the runtime's file), by value: [Task] holds the value.</summary>
internal static class LossNames
{
    public static readonly string[] All = System.Enum.GetNames(typeof(Loss));

    public static string Of(int loss) => loss >= 0 && loss < All.Length ? All[loss] : loss.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
