using MtlDsl.Checkpoints;
using MtlDsl.Data;
using MtlDsl.TestModels;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// What ExportPyTorch and MultiTaskData.Save write, checked without Python (CI's tests/PyTorchInterop runs the twins
/// in PyTorch: generated_twins.py, and torchrun on train_ddp.py).
/// </summary>
public class PyTorchExportTests : TemporaryFolderTest
{
    [Fact]
    public void TheExportWritesTheTwinItsSupportTheTrainingScriptAndTheWeights()
    {
        torch.manual_seed(1);
        using var model = new RecommenderModel();
        PyTorchExport export = model.ExportPyTorch(Folder);
        Assert.Equal(Path.Combine(Folder, "RecommenderModel.py"), export.Module);
        string twin = File.ReadAllText(export.Module);
        Assert.Contains("class RecommenderModel(mtl.TwinModule):", twin);
        Assert.Contains("INPUTS = [\"Dense\", \"User\", \"Tags\"]", twin);
        Assert.Contains("self._modules[\"tag_bag\"] = nn.Sequential(nn.EmbeddingBag(30, 4, mode=\"mean\", padding_idx=0))", twin);
        Assert.Contains("block2 = self._modules[\"body\"](torch.cat([input0, block0, block1], 1))", twin);
        Assert.Contains("def task_loss(kind, output, target):", File.ReadAllText(export.Support));
        Assert.Contains("DistributedDataParallel", File.ReadAllText(export.TrainingScript));
        // The weights are the module's, under its state-dict names.
        var (tensors, _) = SafeTensors.Deserialize(File.ReadAllBytes(export.Weights));
        Assert.Equal(model.state_dict().Keys.Order(), tensors.Keys.Order());
        Assert.True(tensors["user_embedding.0.weight"].eq(((TorchSharp.Modules.Embedding)model.UserEmbedding[0]).weight!).all().item<bool>());
    }

    [Fact]
    public void EveryTestModelHasATwinButOneWithAModuleOfItsOwnSaysWhyNot()
    {
        foreach (var twin in new[] { new TabularModel().PyTorchTwin, new DenseModel().PyTorchTwin, new ResidualModel().PyTorchTwin,
                     new TestModels.Architectures.MTANModel().PyTorchTwin, new TestModels.Architectures.PLEModel().PyTorchTwin })
        {
            Assert.NotNull(twin.Source);
            Assert.Contains($"class {twin.ClassName}(mtl.TwinModule):", twin.Source);
        }
        using var own = new OwnModuleModel();
        Assert.Null(own.PyTorchTwin.Source);
#pragma warning disable MTL035 // the refusal the warning foretells is what this checks
        var error = Assert.Throws<NotSupportedException>(() => own.ExportPyTorch(Folder));
#pragma warning restore MTL035
        Assert.Equal("OwnModuleModel has no PyTorch twin: BasicBlock (layer 0 of 'Blocks') is a TorchSharp module of your own, which has no PyTorch counterpart MtlDsl could write.", error.Message);
        Assert.False(Directory.Exists(Folder) && Directory.EnumerateFiles(Folder).Any(), "nothing is written for a model without a twin");
    }

    [Fact]
    public void SavedDataHoldsEveryInputAndTargetByName()
    {
        var (inputs, targets) = CategoricalInputTests.Problem(10, seed: 1);
        Directory.CreateDirectory(Folder);
        string path = Path.Combine(Folder, "train.safetensors");
        MultiTaskData<RecommenderModel.Targets>.Shared(inputs, targets).Save(path);
        // Missing labels are NaN: data files are read with non-finite values allowed.
        var allowNaN = new SafeTensorsLoadOptions { AllowNonFinite = true };
        var (tensors, _) = SafeTensors.Deserialize(File.ReadAllBytes(path), path, allowNaN);
        Assert.Equal(["input.Dense", "input.Tags", "input.User", "target.Click", "target.Rating"], tensors.Keys.Order());
        Assert.True(tensors["input.Tags"].eq(inputs.Tags).all().item<bool>());
        Assert.Equal(ScalarType.Int64, tensors["input.User"].dtype);

        // One unnamed input is "input.input"; one dataset per task has no such format.
        var (features, tabular) = TabularProblem.Generate(6, seed: 2);
        string single = Path.Combine(Folder, "tabular.safetensors");
        MultiTaskData<TabularModel.Targets>.Shared(features, tabular).Save(single);
        Assert.Contains("input.input", SafeTensors.Deserialize(File.ReadAllBytes(single), single, allowNaN).Tensors.Keys);
        var perTask = MultiTaskData<TabularModel.Targets>.PerTask([features, features, features], tabular);
        Assert.Throws<NotSupportedException>(() => perTask.Save(Path.Combine(Folder, "per-task.safetensors")));
    }
}
