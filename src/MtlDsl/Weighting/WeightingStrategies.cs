using TorchSharp;

namespace MtlDsl.Weighting;

/// <summary>The strategies by name, with LibMTL's default hyper-parameters: for configuration files and command lines.</summary>
public static class WeightingStrategies
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["EW", "DWA", "UW", "RLW", "GLS", "GradNorm", "MGDA", "PCGrad", "CAGrad", "IMTL", "Aligned-MTL",
         "GradVac", "Nash-MTL", "FAMO", "FairGrad", "UPGrad", "DualProj", "ConFIG"];

    /// <summary>
    /// A new strategy with default hyper-parameters. <paramref name="seed"/> fixes the random draws of RLW and the
    /// shuffles of PCGrad and GradVac. (Static weights are the trainer's default; create <see cref="StaticWeighting"/> with the weights.)
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static WeightingStrategy Create(string name, int? seed = null) => name switch
    {
        "EW" => new EqualWeighting(),
        "DWA" => new DynamicWeightAverage(),
        "UW" => new UncertaintyWeighting(),
        "RLW" => new RandomLossWeighting(seed is int s ? new torch.Generator((ulong)s) : null),
        "GLS" => new GeometricLossStrategy(),
        "GradNorm" => new GradNorm(),
        "MGDA" => new Mgda(),
        "PCGrad" => new PCGrad(seed),
        "CAGrad" => new CAGrad(),
        "IMTL" => new Imtl(),
        "Aligned-MTL" => new AlignedMtl(),
        "GradVac" => new GradVac(seed: seed),
        "Nash-MTL" => new NashMtl(),
        "FAMO" => new Famo(),
        "FairGrad" => new FairGrad(),
        "UPGrad" => new UPGrad(),
        "DualProj" => new DualProj(),
        "ConFIG" => new ConFIG(),
        _ => throw new ArgumentException($"Unknown weighting strategy '{name}'; use one of {string.Join(", ", Names)}.", nameof(name)),
    };
}
