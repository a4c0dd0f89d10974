using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Architectures;

/// <summary>
/// One module per task, registered under the task's state-dict name (<c>gates.left</c>, <c>attention.right.0</c>).
/// TorchSharp's <c>ModuleDict</c> cannot be moved with <c>to(dtype)</c> or <c>to(device)</c> in 0.107: it has two
/// public indexers, and <c>Module.to</c> collects a module's public properties by name into a dictionary, which
/// throws on the second <c>Item</c>. This container has one.
/// </summary>
/// <typeparam name="T">The modules' type.</typeparam>
public sealed class TaskModules<T> : nn.Module where T : nn.Module
{
    private readonly T[] _modules;

    /// <summary>Registers one module per task, in declaration order.</summary>
    public TaskModules(IReadOnlyList<string> taskNames, Func<int, T> create) : base(nameof(TaskModules<T>))
    {
        ArgumentNullException.ThrowIfNull(taskNames);
        ArgumentNullException.ThrowIfNull(create);
        _modules = new T[taskNames.Count];
        for (int t = 0; t < _modules.Length; t++)
        {
            _modules[t] = create(t);
            register_module(taskNames[t], _modules[t]);
        }
    }

    /// <summary>The number of tasks.</summary>
    public int Count => _modules.Length;

    /// <summary>The module of task <paramref name="task"/> (declaration order).</summary>
    public T this[int task] => _modules[task];
}
