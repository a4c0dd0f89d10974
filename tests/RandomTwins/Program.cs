using System.Reflection;
using MtlDsl.Generators.Tests;

// random <folder> [count]: writes the generated PyTorch twins of `count` random valid declarations (the fuzzer of
// the generator's tests: every layer, 2-D form, input kind, residual block and architecture) with their weights and
// a batch (TwinExport), and models.txt, for generated_twins.py to check in PyTorch.
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: dotnet run --project tests/RandomTwins -- <folder> [count]");
    return 2;
}
string folder = args[0];
int wanted = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 60;
Directory.CreateDirectory(folder);

var (models, types, enough) = RandomDeclarations.Build(wanted);
MethodInfo export = typeof(TwinExport).GetMethod(nameof(TwinExport.Export))!;
var names = new List<string>();
var architectures = new SortedDictionary<string, int>(StringComparer.Ordinal);
foreach (var (model, type) in models.Zip(types))
{
    Type module = type.BaseType!; // MultiTaskModule<Outputs, Targets>
    object instance = Activator.CreateInstance(type)!;
    export.MakeGenericMethod(module.GetGenericArguments()).Invoke(null, [folder, instance]);
    names.Add(model.ClassName);
    string architecture = RandomDeclarations.Architecture(model);
    architectures[architecture] = architectures.GetValueOrDefault(architecture) + 1;
}
File.WriteAllLines(Path.Combine(folder, "models.txt"), names);
Console.WriteLine($"exported the generated twins of {names.Count} random declarations ({string.Join(", ", architectures.Select(a => $"{a.Key} {a.Value}"))}; " +
                  string.Join(", ", RandomDeclarations.Forms.Where(f => !f.StartsWith('[')).Select(f => $"{f.TrimEnd('(')} {models.Count(m => m.Source.Contains(f, StringComparison.Ordinal))}")) + ")");
return enough ? 0 : 1;
