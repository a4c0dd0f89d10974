namespace MtlDsl;

// One source for the runtime and the generator: the generator compiles this file too (linked in
// MtlDsl.Generators.csproj, where MTLDSL_GENERATOR makes it internal), each layer kind's definition says its home with
// these values, and the generated plan writes global::MtlDsl.PyTorchHome.{name}. Keep it free of usings and of
// anything but the enum.

/// <summary>
/// Where a layer kind's PyTorch class lives, which the PyTorch twin writes it from (<c>PlanLayer.Home</c>):
/// PyTorch's own <c>torch.nn</c>, or MtlDsl's PyTorch support file <c>mtldsl_torch.py</c>, shipped beside every twin,
/// for the kinds PyTorch has no class for (the feature interactions of recommendation models).
/// </summary>
#if MTLDSL_GENERATOR
internal
#else
public
#endif
enum PyTorchHome
{
    /// <summary>PyTorch's <c>torch.nn.{Kind}</c>; the twin writes <c>nn.{Kind}(…)</c>.</summary>
    TorchNn,

    /// <summary>MtlDsl's <c>mtldsl_torch.{Kind}</c> (imported as <c>mtl</c>); the twin writes <c>mtl.{Kind}(…)</c>.</summary>
    MtlDslTorch,
}
