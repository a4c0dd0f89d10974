using System.Globalization;
using System.Text;
using MtlDsl;
using MtlDsl.Data;
using MtlDsl.Metrics;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Penguins;

/// <summary>One metric of one task: the multi-task model's value and the single-task baseline's.</summary>
public sealed record TaskComparison(string Task, string Metric, double MultiTask, double SingleTask, bool HigherIsBetter);

/// <summary>Trains the three-task model and one single-task model per task, and compares their test metrics.</summary>
public static class PenguinExperiment
{
    /// <summary>
    /// Trains everything with the same seed, optimizer and epochs; returns one comparison per task metric. With
    /// <paramref name="onnxPath"/>, the trained multi-task model is also exported there as ONNX (for samples/OnnxServing).
    /// </summary>
    public static IReadOnlyList<TaskComparison> Run(PenguinData train, PenguinData test, int epochs, int seed, string? outputDirectory, string? onnxPath = null)
    {
        FitOptions Options(string name) => new()
        {
            Epochs = epochs, BatchSize = 32, Seed = seed,
            OutputDirectory = outputDirectory is null ? null : Path.Combine(outputDirectory, name),
            Schedule = LearningRateSchedule.Cosine(epochs, minFactor: 0.05),
        };
        Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> adam = parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 1e-2);

        var trainData = MultiTaskData<PenguinModel.Targets>.Shared(train.Inputs, new PenguinModel.Targets(train.Species, train.Sex, train.BodyMass));
        var testData = MultiTaskData<PenguinModel.Targets>.Shared(test.Inputs, new PenguinModel.Targets(test.Species, test.Sex, test.BodyMass));

        // Every model starts from the same weights. A baseline is the same network trained on one task, the other
        // tasks' labels masked: exactly a trunk and that task's head trained alone.
        EvaluationResult Train(string name, string? only)
        {
            torch.manual_seed(seed);
            using var model = new PenguinModel();
            var trainer = model.CreateTrainer(adam);
            trainer.Fit(only is null ? trainData : trainData.OnlyTask(only), Options(name));
            if (only is null && onnxPath is not null) model.ExportOnnx(onnxPath, ServingMetadata(train));
            return trainer.Evaluate(testData);
        }
        EvaluationResult multi = Train("multi-task", null);
        EvaluationResult speciesResult = Train("species-only", "Species");
        EvaluationResult sexResult = Train("sex-only", "Sex");
        EvaluationResult massResult = Train("mass-only", "BodyMass");

        double grams = train.MassScale.Deviation;
        return
        [
            new("Species", "accuracy", multi["Species", "accuracy"], speciesResult["Species", "accuracy"], true),
            new("Species", "macro_f1", multi["Species", "macro_f1"], speciesResult["Species", "macro_f1"], true),
            new("Sex", "accuracy", multi["Sex", "accuracy"], sexResult["Sex", "accuracy"], true),
            new("BodyMass", "mae (g)", multi["BodyMass", "mae"] * grams, massResult["BodyMass", "mae"] * grams, false),
            new("BodyMass", "rmse (g)", multi["BodyMass", "rmse"] * grams, massResult["BodyMass", "rmse"] * grams, false),
        ];
    }

    // What a client of the served model needs: how the inputs are standardised and coded, and how to read the outputs.
    private static Dictionary<string, string> ServingMetadata(PenguinData train)
    {
        string Numbers(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        return new()
        {
            ["penguins.Measurements"] = "beak length, beak depth, flipper length (mm), each standardised: (value − mean) / deviation",
            ["penguins.Measurements.mean"] = Numbers(train.MeasurementScales.Select(s => s.Mean)),
            ["penguins.Measurements.deviation"] = Numbers(train.MeasurementScales.Select(s => s.Deviation)),
            ["penguins.Island"] = string.Join(", ", PenguinData.IslandNames.Select((name, id) => $"{id} {name}")),
            ["penguins.Species"] = string.Join(", ", PenguinData.SpeciesNames.Select((name, c) => $"{c} {name}")),
            ["penguins.Sex"] = "the logit of male (probability: male)",
            ["penguins.BodyMass"] = $"standardised body mass: grams = output · {train.MassScale.Deviation.ToString("R", CultureInfo.InvariantCulture)} + {train.MassScale.Mean.ToString("R", CultureInfo.InvariantCulture)}",
        };
    }

    /// <summary>Δm (LibMTL's formula) of the multi-task model over every compared metric, in percent.</summary>
    public static double DeltaMOf(IReadOnlyList<TaskComparison> comparisons) =>
        DeltaM.Compute(comparisons.Select(c => new MetricComparison(c.MultiTask, c.SingleTask, c.HigherIsBetter)).ToList());

    /// <summary>The comparison as a text table.</summary>
    public static string Format(IReadOnlyList<TaskComparison> comparisons)
    {
        static string F(double v, string metric) => metric.Contains("(g)", StringComparison.Ordinal)
            ? v.ToString("F0", CultureInfo.InvariantCulture) : (100 * v).ToString("F1", CultureInfo.InvariantCulture) + " %";
        var text = new StringBuilder();
        text.AppendLine($"{"task",-9} {"metric",-9} {"multi-task",11} {"single-task",12}");
        foreach (TaskComparison c in comparisons)
            text.AppendLine($"{c.Task,-9} {c.Metric,-9} {F(c.MultiTask, c.Metric),11} {F(c.SingleTask, c.Metric),12}");
        text.Append($"Δm (multi-task vs single-task, over the {comparisons.Count} metrics): {DeltaMOf(comparisons).ToString("+0.00;-0.00", CultureInfo.InvariantCulture)} %");
        return text.ToString();
    }
}
