using System.Reflection;
using Xunit.Abstractions;

namespace MtlDsl.Onnx.Tests;

/// <summary>
/// Random valid declarations (the generator tests' fuzzer: every layer and 2-D form, ids, [Concat], residual
/// blocks, every architecture), each exported and run in ONNX Runtime at batch 1 and 37 beside its TorchSharp module.
/// </summary>
public sealed class RandomDeclarationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mtldsl-onnx-random-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void EveryRandomDeclarationRunsInOnnxRuntimeAsInTorchSharp()
    {
        var (models, types, enough) = CompiledRandomDeclarations.Forty;
        Assert.True(enough, "The fuzzer did not bring every form and architecture the check needs.");
        MethodInfo exportMethod = typeof(OnnxRuntimeCheck).GetMethod(nameof(OnnxRuntimeCheck.Export))!;
        MethodInfo compare = typeof(OnnxRuntimeCheck).GetMethod(nameof(OnnxRuntimeCheck.Compare))!;
        var failures = new List<string>();
        double worst = 0;
        foreach (var (model, type) in models.Zip(types))
        {
            using var instance = (IDisposable)Activator.CreateInstance(type)!;
            Type[] generic = type.BaseType!.GetGenericArguments();
            OnnxExport export;
            try
            {
                export = (OnnxExport)exportMethod.MakeGenericMethod(generic).Invoke(null, [instance, _folder, 7])!;
            }
            catch (TargetInvocationException e)
            {
                failures.Add($"{model.ClassName} export: {e.InnerException!.GetType().Name}: {e.InnerException.Message}");
                continue;
            }
            // One file for every batch size: its first dimension is symbolic.
            foreach (long batch in new long[] { 1, 37 })
            {
                try
                {
                    var ratios = (IReadOnlyDictionary<string, double>)compare.MakeGenericMethod(generic).Invoke(null, [instance, export, batch, 11])!;
                    foreach (var (task, ratio) in ratios)
                    {
                        worst = Math.Max(worst, ratio);
                        if (!(ratio <= 1)) failures.Add($"{model.ClassName} batch {batch}: output '{task}' differs by {ratio:G3} times the tolerance");
                    }
                }
                catch (TargetInvocationException e)
                {
                    failures.Add($"{model.ClassName} batch {batch}: {e.InnerException!.GetType().Name}: {e.InnerException.Message}");
                }
            }
        }
        output.WriteLine($"{models.Count} random declarations ({string.Join(", ", models.GroupBy(RandomDeclarations.Architecture).Select(g => $"{g.Key} {g.Count()}"))}); " +
                         $"largest difference {worst:G3} times the tolerance");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20).Prepend($"{failures.Count} of {2 * models.Count} runs disagree:")) +
            Environment.NewLine + string.Join(Environment.NewLine + "----" + Environment.NewLine,
                models.Where(m => failures.Any(f => f.StartsWith(m.ClassName + " ", StringComparison.Ordinal))).Take(3).Select(m => m.Source)));
    }
}
