namespace MtlDsl;

// One source for the runtime and the generator: the generator compiles this file too (linked in
// MtlDsl.Generators.csproj, where MTLDSL_GENERATOR makes it internal), finds each architecture's definition by these
// values and writes global::MtlDsl.ModelArchitecture.{name}. Keep it free of usings and of anything but the enum.

/// <summary>How a model shares its parts between tasks (see docs/architectures.md).</summary>
#if MTLDSL_GENERATOR
internal
#else
public
#endif
enum ModelArchitecture
{
    /// <summary>Hard parameter sharing: one chain of trunk blocks; each head reads the last block or the block it names.</summary>
    HardSharing,

    /// <summary>Multi-gate mixture of experts (Ma et al., KDD 2018): shared experts, one gate per task.</summary>
    MMoE,

    /// <summary>Customized gate control (Tang et al., RecSys 2020): shared and task-specific experts, one gate per task.</summary>
    CGC,

    /// <summary>Progressive layered extraction (Tang et al., RecSys 2020): CGC levels, one per trunk block.</summary>
    PLE,

    /// <summary>Cross-stitch networks (Misra et al., CVPR 2016): one column per task, mixed after every stage.</summary>
    CrossStitch,

    /// <summary>Multi-task attention network (Liu et al., CVPR 2019): one shared network, per-task attention over every stage.</summary>
    MTAN,
}
