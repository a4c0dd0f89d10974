using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Emit;

/// <summary>
/// The names the generated code gives its own private members (the fields that hold blocks and an architecture's
/// modules, static tables) and its records' indexers, chosen to avoid every name the user's declaration brings: the
/// class's own name, its members and blocks, the members it inherits, its tasks and inputs. A preferred name
/// (<c>_shared</c> for block Shared) is kept where it is free, else suffixed (<c>_shared_1</c>), so any legal
/// identifier works as a block, task, input or model name. What the generated bodies reference besides these is
/// qualified (<c>this.</c>, <c>global::</c>) or is a parameter or local of the generated method, which no user name
/// can reach. The public API's names (Outputs, Summary, Forward{Task}, …) are fixed: validation reports a clash with
/// one of them as a located diagnostic.
/// </summary>
internal sealed class GeneratedNames
{
    private static readonly ConditionalWeakTable<ModelSpec, GeneratedNames> Cache = new();

    private readonly HashSet<string> _taken;
    private readonly Dictionary<string, string> _allocated = new(StringComparer.Ordinal);

    private GeneratedNames(ModelSpec model)
    {
        _taken = new HashSet<string>(StringComparer.Ordinal) { Bare(model.ClassName) };
        foreach (ContainingType outer in model.ContainingTypes) _taken.Add(Bare(outer.Name));
        foreach (MemberInfo member in model.OtherMembers) _taken.Add(Bare(member.Name));
        foreach (BlockSpec block in model.Blocks) _taken.Add(Bare(block.Name));
        foreach (string inherited in model.InheritedMembers) _taken.Add(inherited);
        // The public API's fixed names: validation reports a user's name that takes one; no private name may.
        foreach (var (name, _, _) in GeneratedApi.DeclaredMembers(model)) _taken.Add(name);
        // In declaration order, so that the same declaration always gets the same names.
        foreach (BlockSpec block in model.Blocks) Allocate("block:" + Bare(block.Name), "_" + char.ToLowerInvariant(Bare(block.Name)[0]) + Bare(block.Name).Substring(1));
        foreach (var (field, _, _) in model.Architecture.Definition.Fields(model.Architecture)) Allocate(field, field);
        foreach (string field in new[] { "s_inputShape", "s_taskStateNames", "s_pools" }) Allocate(field, field);
        TaskIndexer = IndexerName(model.Blocks.Where(b => b.Kind == BlockKind.Task).Select(b => Bare(b.Name)));
        InputIndexer = IndexerName(model.Inputs.Select(i => i.EffectiveName));
    }

    /// <summary>The names for a model (computed once per declaration).</summary>
    public static GeneratedNames Of(ModelSpec model) => Cache.GetValue(model, m => new GeneratedNames(m));

    /// <summary>The field that holds a block.</summary>
    public string Field(string blockName) => _allocated["block:" + Bare(blockName)];

    /// <summary>A private member of the generated code by its preferred name (<c>__gates</c>, <c>s_pools</c>).</summary>
    public string this[string preferred] => _allocated[preferred];

    /// <summary>The metadata name of the Outputs and Targets records' indexer, or null for C#'s default (Item), when no task takes it.</summary>
    public string? TaskIndexer { get; }

    /// <summary>The same for the Inputs record and its inputs.</summary>
    public string? InputIndexer { get; }

    private void Allocate(string key, string preferred)
    {
        string name = preferred;
        for (int n = 1; _taken.Contains(name); n++) name = preferred + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _taken.Add(name);
        _allocated[key] = name;
    }

    // A record's indexer is named Item in metadata: a property of that name (a task or an input called Item) would
    // collide with it, so the indexer then takes another metadata name (C# code indexes it the same way).
    private static string? IndexerName(IEnumerable<string> properties)
    {
        var names = new HashSet<string>(properties, StringComparer.Ordinal);
        if (!names.Contains("Item")) return null;
        string name = "TensorAt";
        for (int n = 1; names.Contains(name); n++) name = "TensorAt" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }

    // A name as metadata spells it: without the @ that C# source puts before a keyword.
    private static string Bare(string name) => name.TrimStart('@');
}
