using MtlDsl.Data;
using MtlDsl.Losses;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A non-finite feature, prediction or target in an evaluation is an error naming the task (or the input) and the row
/// of the data, never a silently smaller average: a NaN prediction was left out of MAE, RMSE and the loss exactly as a
/// missing label is. Missing labels are still left out.
/// </summary>
public class EvaluationErrorTests
{
    private static (TabularModel Model, MultiTaskTrainer<TabularModel.Outputs, TabularModel.Targets, TabularModel.LossValues> Trainer) Trained()
    {
        torch.manual_seed(5);
        var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05));
        trainer.Fit(TabularProblem.Data(128, seed: 1), new FitOptions { Epochs = 1, BatchSize = 32 });
        return (model, trainer);
    }

    [Fact]
    public void ANaNFeatureNamesTheInputAndTheRowOfTheValidationData()
    {
        var (model, trainer) = Trained();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(64, seed: 2);
        x[37, 4] = tensor(float.NaN); // the third batch of 16, its sample 5

        var error = Assert.Throws<InputTensorException>(() => trainer.Evaluate(MultiTaskData<TabularModel.Targets>.Shared(x, targets), batchSize: 16));

        Assert.Equal("input", error.Input);
        Assert.Equal(37, error.Row);
        Assert.StartsWith("Evaluation: TabularModel: the input holds NaN (row 37 of the data)", error.Message);
    }

    [Fact]
    public void ANonFinitePredictionFromFiniteFeaturesNamesTheTaskAndTheRow()
    {
        var (model, trainer) = Trained();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(64, seed: 2);
        x[21] = full(12, 3e38f); // finite, but the first layer's sum overflows

        var error = Assert.Throws<TaskTensorException>(() => trainer.Evaluate(MultiTaskData<TabularModel.Targets>.Shared(x, targets), batchSize: 16));

        Assert.Equal("Species", error.Task);
        Assert.Equal("output", error.Tensor);
        Assert.Equal(21, error.Row);
        Assert.Matches(@"^Evaluation: Task 'Species': the prediction for row 21 of the data is (NaN|-?∞|-?Infinity), from finite inputs", error.Message);
    }

    [Fact]
    public void AnInfiniteTargetIsAnErrorAndAMissingOneIsLeftOut()
    {
        var (model, trainer) = Trained();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(64, seed: 2);
        Tensor mass = targets.BodyMass.clone();
        mass[50, 0] = tensor(float.PositiveInfinity);
        var error = Assert.Throws<TaskTensorException>(() =>
            trainer.Evaluate(MultiTaskData<TabularModel.Targets>.Shared(x, targets with { BodyMass = mass }), batchSize: 16));
        Assert.Equal("BodyMass", error.Task);
        Assert.Equal("target", error.Tensor);
        Assert.Equal(50, error.Row);
        Assert.StartsWith($"Evaluation: Task 'BodyMass': the target of row 50 of the data is {double.PositiveInfinity}", error.Message);

        // Missing labels (NaN, −100) are not errors: their rows are left out, and the rest averaged.
        Tensor someMass = targets.BodyMass.clone(), someSpecies = targets.Species.clone();
        someMass[TensorIndex.Slice(0, 32)] = tensor(float.NaN);
        someSpecies[TensorIndex.Slice(0, 32)] = tensor(TaskLosses.MissingClass);
        var withMissing = trainer.Evaluate(MultiTaskData<TabularModel.Targets>.Shared(x, targets with { BodyMass = someMass, Species = someSpecies }), batchSize: 16);
        var secondHalf = trainer.Evaluate(MultiTaskData<TabularModel.Targets>.Shared(x[32..], new TabularModel.Targets(targets.Species[32..], targets.IsMale[32..], targets.BodyMass[32..])));
        Assert.Equal(secondHalf["BodyMass", "mae"], withMissing["BodyMass", "mae"], 12);
        Assert.Equal(secondHalf["Species", "accuracy"], withMissing["Species", "accuracy"], 12);
    }

    [Fact]
    public void WithOneDatasetPerTaskTheErrorNamesTheTasksData()
    {
        var (model, trainer) = Trained();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(48, seed: 3);
        Tensor isMaleInputs = x[..20].clone();
        isMaleInputs[3, 0] = tensor(float.NegativeInfinity);
        var data = MultiTaskData<TabularModel.Targets>.PerTask([x, isMaleInputs, x[..30]],
            new TabularModel.Targets(targets.Species, targets.IsMale[..20], targets.BodyMass[..30]));

        var error = Assert.Throws<InputTensorException>(() => trainer.Evaluate(data, batchSize: 8));

        Assert.Equal(3, error.Row);
        Assert.StartsWith($"Evaluation: TabularModel: the input holds {double.NegativeInfinity} (row 3 of the data of task 'IsMale')", error.Message);
    }

    [Fact]
    public void AFitWithNaNInItsValidationDataStopsInsteadOfReportingASmallerError()
    {
        torch.manual_seed(6);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.05));
        var (x, targets) = TabularProblem.Generate(64, seed: 2);
        x[10, 0] = tensor(float.NaN);
        var error = Assert.Throws<InputTensorException>(() => trainer.Fit(TabularProblem.Data(64, seed: 1),
            new FitOptions { Epochs = 1, BatchSize = 32 }, validation: MultiTaskData<TabularModel.Targets>.Shared(x, targets)));
        Assert.Equal(10, error.Row);
    }

    [Fact]
    public void TheOneBatchEvaluationNamesTheSampleOfTheBatch()
    {
        var (model, trainer) = Trained();
        using var _ = model;
        var (x, targets) = TabularProblem.Generate(16, seed: 2);
        x[9, 2] = tensor(float.NaN);
        var error = Assert.Throws<InputTensorException>(() => trainer.Evaluate(x, targets));
        Assert.StartsWith("TabularModel: the input holds NaN (sample 9 of the batch)", error.Message);
    }

    [Fact]
    public void TheErrorMetricsGiveNaNForANaNPredictionWhereTheLabelIsPresent()
    {
        var mae = new Metrics.MeanAbsoluteError();
        mae.Update(tensor(new float[] { 1, float.NaN, 3 }).reshape(3, 1), tensor(new float[] { 2, 4, 5 }).reshape(3, 1));
        Assert.True(double.IsNaN(mae.Compute()), "a NaN prediction was left out of the mean, as a missing label is");
        var rmse = new Metrics.RootMeanSquaredError();
        rmse.Update(tensor(new float[] { 1, float.NaN, 3 }).reshape(3, 1), tensor(new float[] { 2, float.NaN, 5 }).reshape(3, 1));
        Assert.Equal(Math.Sqrt(2.5), rmse.Compute(), 6); // a missing label's row is left out, whatever was predicted
    }
}
