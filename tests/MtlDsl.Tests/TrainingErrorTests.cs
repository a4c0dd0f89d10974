using MtlDsl.Losses;
using MtlDsl.TestModels;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>Bad tensors stop training with an exception that names the task, the tensor and the expected shape.</summary>
public class TrainingErrorTests
{
    private static (Tensor Images, Tensor Classes, Tensor Boxes) Batch() => SyntheticVision.Generate(8, seed: 5);

    [Fact]
    public void TargetOfTheWrongShapeNamesTaskAndExpectedShape()
    {
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        var (images, classes, _) = Batch();
        var error = Assert.Throws<TaskTensorException>(() => trainer.Step(images, new VisionModel.Targets(classes, zeros(8, 35))));
        Assert.Equal("Detection", error.Task);
        Assert.Equal("target", error.Tensor);
        Assert.Contains("[8, 35, 7, 7]", error.Message);
        Assert.Contains("[8, 35]", error.Message);
    }

    [Fact]
    public void ClassLabelOutOfRangeNamesTheRange()
    {
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        var (images, _, boxes) = Batch();
        var error = Assert.Throws<TaskTensorException>(() => trainer.Step(images, new VisionModel.Targets(full(8, 10L, dtype: ScalarType.Int64), boxes)));
        Assert.Equal("Classification", error.Task);
        Assert.Contains("[0, 9]", error.Message);
        Assert.Contains("10", error.Message);
    }

    [Fact]
    public void ClassIndicesOfTheWrongShapeAreRejected()
    {
        using var model = new VisionModel();
        var (images, _, boxes) = Batch();
        var error = Assert.Throws<TaskTensorException>(() => model.ComputeLoss(model.forward(images), new VisionModel.Targets(zeros(8, 1, dtype: ScalarType.Int64), boxes)));
        Assert.Contains("expected [8]", error.Message);
    }

    [Fact]
    public void InputOfTheWrongShapeNamesTheDeclaredShape()
    {
        using var model = new VisionModel();
        var error = Assert.Throws<InputTensorException>(() => model.forward(zeros(4, 1, 28, 28)));
        Assert.Equal("input", error.Input);
        Assert.Contains("[4, 1, 28, 28]", error.Message);
        Assert.Contains("[N, 3, 28, 28]", error.Message);
    }

    [Theory]
    [InlineData(ScalarType.Float64, "Convert the input (input.to(ScalarType.Float32)), or the model (model.to(ScalarType.Float64))")]
    [InlineData(ScalarType.Byte, "Convert the input to Float32 (input.to(ScalarType.Float32)), scaled as the model expects")]
    public void AnInputOfAnotherTypeIsRefusedWithBothTypesNamed(ScalarType type, string advice)
    {
        using var model = new VisionModel();
        var (images, _, _) = Batch();
        var error = Assert.Throws<InputTensorException>(() => model.forward(images.to(type)));
        Assert.Contains($"the input is {type}, the model computes in Float32", error.Message);
        Assert.Contains(advice, error.Message);
    }

    [Fact]
    public void FloatingPointClassIndicesAreRefusedWithBothFormsNamed()
    {
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        var (images, classes, boxes) = Batch();
        var error = Assert.Throws<TaskTensorException>(() => trainer.Step(images, new VisionModel.Targets(classes.to(ScalarType.Float32), boxes)));
        Assert.Equal("Classification", error.Task);
        Assert.Contains("the target has shape [8] and type Float32: class indices must be integers, usually Int64 (target.to(ScalarType.Int64)", error.Message);
        Assert.Contains("class probabilities, of shape [8, 10]", error.Message);
    }

    [Fact]
    public void NonFiniteLossStopsBeforeTheOptimizerStep()
    {
        using var model = new VisionModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        var (images, classes, boxes) = Batch();
        images[0, 0, 0, 0] = tensor(float.NaN); // a NaN input (a NaN target would be a missing label)
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var error = Assert.Throws<NonFiniteLossException>(() => trainer.Step(images, new VisionModel.Targets(classes, boxes)));
        Assert.Equal("Classification", error.Task);
        Assert.Equal(1, error.Step);
        foreach (var (name, value) in model.state_dict())
            Assert.True(value.allclose(before[name], rtol: 0, atol: 0), $"{name} changed although the step was refused");
    }

    [Fact]
    public void EvaluateUsesEvalModeWithoutGradientsAndRestoresTrainingMode()
    {
        torch.manual_seed(3);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        Tensor input = randn(16, 12);
        var targets = new TabularModel.Targets(randint(0, 3, [16]), rand(16, 1), randn(16, 1));
        var first = trainer.Evaluate(input, targets);
        var second = trainer.Evaluate(input, targets); // dropout off, batch-norm running stats used: repeatable
        Assert.Equal(first, second);
        Assert.True(model.training);
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
    }

    [Fact]
    public void JointLossIsTheWeightedSumOfTaskLosses()
    {
        torch.manual_seed(4);
        using var model = new TabularModel();
        Tensor input = randn(16, 12);
        var losses = model.ComputeLoss(model.forward(input), new TabularModel.Targets(randint(0, 3, [16]), rand(16, 1), randn(16, 1)));
        double expected = losses.Species.item<float>() * 1.0 + losses.IsMale.item<float>() * 0.5 + losses.BodyMass.item<float>() * 2.0;
        Assert.Equal(expected, losses.Total.item<float>(), 1e-5);
    }

    [Fact]
    public void MissingLabelsAreLeftOutOfTheirTaskAndTheOtherTasksStillTrain()
    {
        torch.manual_seed(8);
        using var model = new VisionModel();
        var (images, classes, boxes) = Batch();

        // Half the class labels and half the detection targets missing: each loss is its mean over the rest.
        Tensor someClasses = classes.clone();
        someClasses[TensorIndex.Slice(0, 4)] = tensor(TaskLosses.MissingClass);
        Tensor someBoxes = boxes.clone();
        someBoxes[TensorIndex.Slice(4, 8)] = tensor(float.NaN);
        var outputs = model.forward(images);
        var losses = model.ComputeLoss(outputs, new VisionModel.Targets(someClasses, someBoxes));
        Tensor expectedClassification = nn.functional.cross_entropy(outputs.Classification[TensorIndex.Slice(4, 8)], classes[TensorIndex.Slice(4, 8)]);
        Tensor expectedDetection = nn.functional.mse_loss(outputs.Detection[TensorIndex.Slice(0, 4)], boxes[TensorIndex.Slice(0, 4)]);
        Assert.Equal(expectedClassification.item<float>(), losses.Classification.item<float>(), 5);
        Assert.Equal(expectedDetection.item<float>(), losses.Detection.item<float>(), 6);

        // Every class label missing: that task's loss is 0, its head gets no gradient, and the detection task trains.
        var trainer = model.CreateTrainer(optim.SGD(model.parameters(), 0.1));
        Tensor noClasses = full(8, TaskLosses.MissingClass, dtype: ScalarType.Int64);
        var detectionBefore = model.Detection.parameters().Select(p => p.clone()).ToList();
        var classificationBefore = model.Classification.parameters().Select(p => p.clone()).ToList();
        var step = trainer.Step(images, new VisionModel.Targets(noClasses, boxes));
        Assert.True(double.IsNaN(step.Classification), "a task without labels in the batch has no loss (NaN), not a loss of 0");
        Assert.True(step.Detection > 0);
        Assert.Equal(step.Detection * 0.5, step.Total, 12);
        Assert.All(model.Classification.parameters().Zip(classificationBefore), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 0, atol: 0)));
        Assert.Contains(model.Detection.parameters().Zip(detectionBefore), pair => !pair.First.allclose(pair.Second, rtol: 0, atol: 0));
    }
}
