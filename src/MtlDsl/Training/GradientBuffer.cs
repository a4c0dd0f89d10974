using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Training;

/// <summary>
/// Every trained parameter's gradient as a slice of one flat tensor (one per dtype and device), so that zeroing all
/// gradients and checking them all for NaN and infinity are one native operation each instead of one per parameter.
/// </summary>
/// <remarks>
/// Autograd accumulates into a gradient that already exists in place, so a backward pass fills the slices. Anything
/// that sets a new gradient tensor instead (a strategy that assigns <c>.grad</c>, a backward with
/// <c>create_graph</c>, <c>Module.zero_grad()</c> between steps) takes that parameter out of the buffer:
/// <see cref="Intact"/> finds it, by storage address and offset, and the caller then checks each gradient on its
/// own; <see cref="Zero"/> puts the slices back at the next step. A parameter that does not require gradients gets
/// no slice (a zero gradient would still let weight decay move it), and the layout follows when that changes.
/// </remarks>
internal sealed class GradientBuffer
{
    private readonly Parameter[] _parameters;
    private bool[] _trained = [];
    private Tensor[] _flats = [];
    private Tensor?[] _slices = [];
    private int[] _flatOf = [];
    private long[] _offsets = [];   // in elements, within the slice's flat tensor
    private IntPtr[] _addresses = [];   // each flat tensor's storage address

    public GradientBuffer(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        Build();
    }

    // Whether the trained parameters' gradients can be a buffer at all (float32 and float64, on any device).
    private bool Supported { get; set; }

    /// <summary>Sets every gradient to zero, each trained parameter's as its slice of the buffer.</summary>
    public void Zero()
    {
        for (int i = 0; i < _parameters.Length; i++)
            if (_parameters[i].requires_grad != _trained[i]) { Build(); break; }
        if (!Supported) { ZeroEach(); return; }
        foreach (Tensor flat in _flats) flat.zero_();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_slices[i] is Tensor slice) _parameters[i].grad = slice;
            else if (!_trained[i]) ClearGradient(_parameters[i]);
        }
    }

    /// <summary>Whether every trained parameter's gradient is still its slice (nothing replaced one since <see cref="Zero"/>).</summary>
    public bool Intact()
    {
        if (!Supported) return false;
        using var scope = NewDisposeScope();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_slices[i] is null) continue;
            Tensor? grad = _parameters[i].grad;
            if (grad is null || grad.storage_offset() != _offsets[i] || StorageAddress(grad) != _addresses[_flatOf[i]]) return false;
        }
        return true;
    }

    /// <summary>
    /// Whether the sum of every gradient is finite, one reduction per flat tensor; null when the buffer is not intact
    /// (read each gradient then). A finite sum means every value is finite; a non-finite one may also be an overflow of
    /// large finite values.
    /// </summary>
    public bool? SumIsFinite()
    {
        if (!Intact()) return null;
        using var scope = NewDisposeScope();
        return _flats.All(f => double.IsFinite(f.dtype == ScalarType.Float64 ? f.sum().item<double>() : f.sum().item<float>()));
    }

    private void Build()
    {
        _trained = [.. _parameters.Select(p => p.requires_grad)];
        _slices = new Tensor?[_parameters.Length];
        _flatOf = new int[_parameters.Length];
        _offsets = new long[_parameters.Length];
        Supported = _parameters.All(p => !p.requires_grad || p.dtype is ScalarType.Float32 or ScalarType.Float64);
        if (!Supported) { _flats = []; _addresses = []; return; }

        var groups = new List<(ScalarType Dtype, Device Device, List<int> Members)>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (!_trained[i]) continue;
            Parameter p = _parameters[i];
            int g = groups.FindIndex(x => x.Dtype == p.dtype && x.Device.type == p.device.type && x.Device.index == p.device.index);
            if (g < 0) { groups.Add((p.dtype, p.device, [])); g = groups.Count - 1; }
            groups[g].Members.Add(i);
        }

        // Made outside any dispose scope of the caller's: the buffer lives as long as the trainer.
        using (var scope = NewDisposeScope())
        {
            _flats = new Tensor[groups.Count];
            for (int g = 0; g < groups.Count; g++)
            {
                long size = groups[g].Members.Sum(i => _parameters[i].numel());
                _flats[g] = zeros(size, dtype: groups[g].Dtype, device: groups[g].Device).DetachFromDisposeScope();
                long offset = 0;
                foreach (int i in groups[g].Members)
                {
                    long n = _parameters[i].numel();
                    _slices[i] = _flats[g].narrow(0, offset, n).view(_parameters[i].shape).DetachFromDisposeScope();
                    _flatOf[i] = g;
                    _offsets[i] = offset;
                    offset += n;
                }
            }
            _addresses = [.. _flats.Select(StorageAddress)];
        }
    }

    private void ZeroEach()
    {
        foreach (Parameter p in _parameters)
        {
            using Tensor? grad = p.grad;
            grad?.zero_();
        }
    }

    private static void ClearGradient(Parameter p)
    {
        using Tensor? grad = p.grad;
        if (grad is not null) p.grad = null;
    }

    private static IntPtr StorageAddress(Tensor t) => t.dtype == ScalarType.Float64 ? t.storage<double>().data_ptr() : t.storage<float>().data_ptr();
}
