using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// Your own TorchSharp modules in a declaration (tests/Models/OwnModuleModel.cs): a hand-written ResNet block as trunk
/// layers, its output shape computed at compile time by its static method, and a hand-written head with a declared
/// shape; where their parameters go, what the summary says, the check of every output, and learning.
/// </summary>
public class OwnModuleTests
{
    [Fact]
    public void TheModulesSitInTheModelUnderTheirOwnStateNames()
    {
        torch.manual_seed(1);
        using var model = new OwnModuleModel();
        Assert.IsType<BasicBlock>(model.Blocks[0]);
        Assert.IsType<SmallPerceptron>(model.Position[0]);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("blocks.0.conv1.weight", names);
        Assert.Contains("blocks.1.downsample.0.weight", names);
        Assert.DoesNotContain("blocks.0.downsample.0.weight", names);   // the first block keeps the shape: no projection
        Assert.Contains("position.0.first.weight", names);

        // The compile-time count is the declared layers'; the modules' come on top, counted here.
        long own = model.Blocks.parameters().Sum(p => p.numel()) + model.Position.parameters().Sum(p => p.numel());
        Assert.Equal(model.parameters().Sum(p => p.numel()), OwnModuleModel.ParameterCount + own);
        Assert.Equal(OwnModuleModel.ParameterCount, OwnModuleModel.Summary.ParameterCount);
        string summary = OwnModuleModel.Summary.ToString();
        Assert.Contains("BasicBlock(16, 32, 2)", summary);
        Assert.Contains("[32, 6, 6]", summary);      // computed by BasicBlock.OutputShape at compile time
        Assert.Contains("and your own modules' (?, counted at run time)", summary);

        // Shared where it sits: the trunk's blocks are shared, the head's module is the task's own.
        var shared = model.SharedParameters();
        Assert.Contains(shared, p => p.Handle == ((BasicBlock)model.Blocks[1]).parameters().First().Handle);
        Assert.DoesNotContain(shared, p => model.Position.parameters().Any(q => q.Handle == p.Handle));
    }

    [Fact]
    public void TheForwardPassRunsTheHandWrittenBlocksAsWritten()
    {
        torch.manual_seed(2);
        using var model = new OwnModuleModel();
        model.eval();
        using var noGrad = no_grad();
        Tensor images = randn(3, 1, 12, 12);
        Tensor features = model.Pool.forward(model.Blocks[1].call(model.Blocks[0].call(model.Stem.forward(images))));
        var outputs = model.forward(images);
        Assert.True(outputs.Kind.allclose(model.Kind.forward(features)));
        Assert.True(outputs.Position.allclose(((SmallPerceptron)model.Position[0]).forward(features)));
    }

    [Fact]
    public void AModuleThatReturnsAnotherShapeThanDeclaredIsNamedAtTheFirstForwardPass()
    {
        using var model = new WrongOwnShape();
        var error = Assert.Throws<ModuleOutputException>(() => model.forward(randn(4, 8)));
        Assert.Equal("SmallPerceptron (layer 0 of 'Shared')", error.Module);
        Assert.Equal([5], error.Expected);
        Assert.Equal([4L, 3], error.Actual);
        Assert.Contains("SmallPerceptron (layer 0 of 'Shared') returned shape [4, 3] for an input of shape [4, 8], but the model was generated for [N, 5] (its declared OutputShape)", error.Message);
    }

    [Fact]
    public void AModuleThatFailsInsideTheForwardPassIsNamedWithItsInput()
    {
        // SmallPerceptron(7, 2) on [8]: libtorch's "mat1 and mat2 shapes cannot be multiplied", with the module named.
        using var model = new WrongOwnInSize();
        var error = Assert.Throws<OwnModuleException>(() => model.forward(randn(4, 8)));
        Assert.Equal("SmallPerceptron (layer 0 of 'Shared')", error.Module);
        Assert.Equal([4L, 8], error.InputShape);
        Assert.StartsWith("SmallPerceptron (layer 0 of 'Shared') failed on an input of shape [4, 8]: ", error.Message);
        Assert.Contains("The generator infers no size for a module of your own", error.Message);
        Assert.NotNull(error.InnerException);
        // Nothing is left behind: the next failure elsewhere is not blamed on it.
        using var good = new OwnModuleModel();
        Assert.Throws<InputTensorException>(() => good.forward(randn(2, 1, 11, 12)));
        Assert.Equal([2L, 5], good.forward(randn(2, 1, 12, 12)).Kind.shape);
    }

    [Fact]
    public void AResNetOfHandWrittenBlocksLearnsBothTasks()
    {
        var (images, classes, positions) = ArchitectureTests.Squares(768, seed: 9);
        var (testImages, testClasses, testPositions) = ArchitectureTests.Squares(256, seed: 10);
        torch.manual_seed(4);
        using var model = new OwnModuleModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 3e-3));
        var history = trainer.Fit(MultiTaskData<OwnModuleModel.Targets>.Shared(images, new OwnModuleModel.Targets(classes, positions)),
            new FitOptions { Epochs = 6, BatchSize = 32, Seed = 4 });
        var result = trainer.Evaluate(MultiTaskData<OwnModuleModel.Targets>.Shared(testImages, new OwnModuleModel.Targets(testClasses, testPositions)));
        Assert.True(result["Kind", "accuracy"] > 0.8, result.ToString());
        Assert.True(history.Epochs[^1].TrainLosses[1] < 0.5 * history.Epochs[0].TrainLosses[1], result.ToString());
    }
}

/// <summary>A declaration whose OutputShape is wrong: SmallPerceptron(8, 3) gives [3], the attribute says [5].</summary>
[MultiTaskModel]
[Input(8)]
public partial class WrongOwnShape
{
    [Trunk]
    [Module(typeof(SmallPerceptron), 8, 3, OutputShape = new[] { 5 })]
    public partial Sequential Shared { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential A { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential B { get; }
}

/// <summary>A declaration that gives its own module the wrong in-size: SmallPerceptron(7, 2) reads [8].</summary>
[MultiTaskModel]
[Input(8)]
public partial class WrongOwnInSize
{
    [Trunk]
    [Module(typeof(SmallPerceptron), 7, 2, OutputShape = new[] { 2 })]
    public partial Sequential Shared { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential A { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(1)]
    public partial Sequential B { get; }
}
