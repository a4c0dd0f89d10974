using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Training;

/// <summary>
/// A copy of a module's buffers (BatchNorm's running mean and variance and its batch count, and any buffer a module of
/// one's own writes in its forward pass), taken before a training step and copied back when the step does not reach its
/// optimizer step, so that a batch that is skipped or refused leaves no trace in them.
/// </summary>
/// <remarks>
/// A training-mode forward pass writes the buffers before anything can tell that the batch is bad: a NaN feature made
/// the running statistics NaN for good (running_mean ← (1 − m)·running_mean + m·NaN), and every later prediction in
/// evaluation mode NaN, although the step was refused. The copies live as long as the trainer and are refilled in
/// place every step: a step costs one copy per buffer and no allocation. Loading weights copies into the buffers, so
/// they stay the same tensors; when a buffer is replaced (the module moved to another device, say) the copies follow.
/// </remarks>
internal sealed class BufferSnapshot(nn.Module module)
{
    private Tensor[] _buffers = [];
    private Tensor[] _copies = [];

    /// <summary>Copies every buffer's current value.</summary>
    public void Save()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (!Current()) Build();
        for (int i = 0; i < _buffers.Length; i++) _copies[i].copy_(_buffers[i]);
    }

    /// <summary>Puts back the values of the last <see cref="Save"/>.</summary>
    public void Restore()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < _buffers.Length; i++) _buffers[i].copy_(_copies[i]);
    }

    // Whether the module's buffers are still the tensors the copies were made for.
    private bool Current()
    {
        int i = 0;
        foreach (Tensor buffer in module.buffers())
        {
            if (i >= _buffers.Length || buffer.Handle != _buffers[i].Handle) return false;
            i++;
        }
        return i == _buffers.Length;
    }

    private void Build()
    {
        foreach (Tensor copy in _copies) copy.Dispose();
        _buffers = [.. module.buffers()];
        // Made outside the caller's dispose scope: the copies live as long as the trainer.
        _copies = [.. _buffers.Select(b => empty_like(b).DetachFromDisposeScope())];
    }
}
