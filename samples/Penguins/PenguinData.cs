using System.Text.Json;
using static TorchSharp.torch;

namespace Penguins;

/// <summary>One penguin as the file records it (Row: its position in the file, from 1); null where a value is missing.</summary>
public sealed record Penguin(int Row, string Species, string Island, double? BeakLength, double? BeakDepth, double? FlipperLength, double? BodyMass, string? Sex);

/// <summary>What the loader did with incomplete rows, for the report.</summary>
/// <param name="Total">Rows in the file.</param>
/// <param name="DroppedNoFeatures">Rows dropped because a feature (beak or flipper measurement) is missing: nothing to predict from.</param>
/// <param name="SexMissing">Rows kept with the sex label masked (missing, or recorded as ".").</param>
/// <param name="MassMissing">Rows kept with the body-mass target masked.</param>
public sealed record MissingReport(int Total, IReadOnlyList<int> DroppedNoFeatures, IReadOnlyList<int> SexMissing, IReadOnlyList<int> MassMissing);

/// <summary>The penguins as tensors: features standardised with the training rows' statistics, targets with missing labels marked.</summary>
public sealed class PenguinData
{
    /// <summary>Beak length, beak depth and flipper length, standardised.</summary>
    public const int MeasurementCount = 3;

    /// <summary>The islands, by id: Biscoe 0, Dream 1, Torgersen 2.</summary>
    public const int IslandCount = 3;

    /// <summary>The species in class order.</summary>
    public static readonly string[] SpeciesNames = ["Adelie", "Chinstrap", "Gentoo"];

    private static readonly string[] s_islands = ["Biscoe", "Dream", "Torgersen"];

    /// <summary>The default file, next to the program.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "Data", "penguins.json");

    /// <summary>Reads the file: every row, with missing values (JSON null) and the sex "." as null.</summary>
    public static List<Penguin> Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        double? Number(JsonElement row, string name) => row.GetProperty(name).ValueKind == JsonValueKind.Number ? row.GetProperty(name).GetDouble() : null;
        var penguins = new List<Penguin>();
        int record = 0;
        foreach (JsonElement row in document.RootElement.EnumerateArray())
        {
            string? sex = row.GetProperty("Sex").ValueKind == JsonValueKind.String ? row.GetProperty("Sex").GetString() : null;
            penguins.Add(new Penguin(++record, row.GetProperty("Species").GetString()!, row.GetProperty("Island").GetString()!,
                Number(row, "Beak Length (mm)"), Number(row, "Beak Depth (mm)"), Number(row, "Flipper Length (mm)"), Number(row, "Body Mass (g)"),
                sex is "MALE" or "FEMALE" ? sex : null));
        }
        return penguins;
    }

    /// <summary>
    /// Splits the usable rows (a seeded shuffle, <paramref name="testFraction"/> for test), standardises features and
    /// body mass with the training rows' mean and deviation, and marks missing labels: sex NaN (masked by the loss and
    /// the metrics), body mass NaN.
    /// </summary>
    public static (PenguinData Train, PenguinData Test, MissingReport Report) Load(IReadOnlyList<Penguin> penguins, double testFraction, int seed)
    {
        var usable = penguins.Where(p => p.BeakLength is not null && p.BeakDepth is not null && p.FlipperLength is not null).ToList();
        var report = new MissingReport(penguins.Count,
            penguins.Except(usable).Select(p => p.Row).ToList(),
            usable.Where(p => p.Sex is null).Select(p => p.Row).ToList(),
            usable.Where(p => p.BodyMass is null).Select(p => p.Row).ToList());
        var order = usable.ToArray();
        new Random(seed).Shuffle(order);
        int testCount = (int)Math.Round(order.Length * testFraction);
        Penguin[] test = order[..testCount], train = order[testCount..];

        var scales = new[] { Scale(train.Select(p => p.BeakLength!.Value)), Scale(train.Select(p => p.BeakDepth!.Value)),
            Scale(train.Select(p => p.FlipperLength!.Value)) };
        var mass = Scale(train.Where(p => p.BodyMass is not null).Select(p => p.BodyMass!.Value));
        return (new PenguinData(train, scales, mass), new PenguinData(test, scales, mass), report);
    }

    private PenguinData(IReadOnlyList<Penguin> rows, (double Mean, double Deviation)[] scales, (double Mean, double Deviation) mass)
    {
        Rows = rows;
        MassScale = mass;
        MeasurementScales = scales;
        int n = rows.Count;
        var measurements = new float[n * MeasurementCount];
        var islands = new long[n];
        var species = new long[n];
        var sex = new float[n];
        var bodyMass = new float[n];
        for (int i = 0; i < n; i++)
        {
            Penguin p = rows[i];
            double[] measured = [p.BeakLength!.Value, p.BeakDepth!.Value, p.FlipperLength!.Value];
            for (int f = 0; f < MeasurementCount; f++) measurements[i * MeasurementCount + f] = (float)((measured[f] - scales[f].Mean) / scales[f].Deviation);
            int island = Array.IndexOf(s_islands, p.Island);
            if (island < 0) throw new InvalidDataException($"Row {p.Row}: unknown island '{p.Island}'.");
            islands[i] = island;
            species[i] = Array.IndexOf(SpeciesNames, p.Species) is int s and >= 0 ? s : throw new InvalidDataException($"Row {p.Row}: unknown species '{p.Species}'.");
            sex[i] = p.Sex switch { "MALE" => 1, "FEMALE" => 0, _ => float.NaN };
            bodyMass[i] = p.BodyMass is double m ? (float)((m - mass.Mean) / mass.Deviation) : float.NaN;
        }
        Measurements = tensor(measurements, [n, MeasurementCount]);
        Islands = tensor(islands);
        Species = tensor(species);
        Sex = tensor(sex, [n, 1]);
        BodyMass = tensor(bodyMass, [n, 1]);
    }

    /// <summary>The penguins, in tensor order.</summary>
    public IReadOnlyList<Penguin> Rows { get; }

    /// <summary>[N, 3] standardised measurements.</summary>
    public Tensor Measurements { get; }

    /// <summary>[N] island ids (int64): Biscoe 0, Dream 1, Torgersen 2.</summary>
    public Tensor Islands { get; }

    /// <summary>The model's inputs: the measurements and the island.</summary>
    public PenguinModel.Inputs Inputs => new(Measurements, Islands);

    /// <summary>[N] species class.</summary>
    public Tensor Species { get; }

    /// <summary>[N, 1] sex: 1 male, 0 female, NaN missing.</summary>
    public Tensor Sex { get; }

    /// <summary>[N, 1] standardised body mass (NaN missing).</summary>
    public Tensor BodyMass { get; }

    /// <summary>The mean and deviation (mm) that standardise each measurement: beak length, beak depth, flipper length.</summary>
    public IReadOnlyList<(double Mean, double Deviation)> MeasurementScales { get; }

    /// <summary>The islands in id order.</summary>
    public static IReadOnlyList<string> IslandNames => s_islands;

    /// <summary>The mean and deviation (grams) that standardise the body mass.</summary>
    public (double Mean, double Deviation) MassScale { get; }

    private static (double Mean, double Deviation) Scale(IEnumerable<double> values)
    {
        double[] v = values.ToArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)));
    }
}
