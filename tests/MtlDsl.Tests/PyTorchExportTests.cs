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
    public void TheTwinOfAProductTaskNamesItsFactorsAndTheWeightZeroFactor()
    {
        using var model = new EsmmModel();
        string twin = model.PyTorchTwin.Source!;
        Assert.Contains("FACTORS = [None, None, [0, 1]]", twin);
        Assert.Contains("WEIGHTS = [1, 0, 1]", twin);
        Assert.Contains("self._modules[\"click_and_conversion\"] = nn.Sequential()", twin);
        Assert.Contains("def product_logit(factors):", PyTorchTwin.SupportSource);
        // The training script counts a weight-0 task as without labels.
        Assert.Contains("0.0 if weight == 0 or task not in outputs else", PyTorchTwin.TrainingScript);
        // …and no FACTORS line where no task is a product.
        using var recommender = new RecommenderModel();
        Assert.DoesNotContain("FACTORS", recommender.PyTorchTwin.Source!);
    }

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
        Assert.Contains("self._modules[\"tag_bag\"] = nn.Sequential(nn.EmbeddingBag(num_embeddings=30, embedding_dim=4, mode=\"mean\", padding_idx=0))", twin);
        Assert.Contains("block2 = self._modules[\"body\"](torch.cat([input0, block0, block1], 1))", twin);
        Assert.Contains("def task_loss(kind, output, target, weight=None, pos_weight=None):", File.ReadAllText(export.Support));
        Assert.Contains("DistributedDataParallel", File.ReadAllText(export.TrainingScript));
        Assert.Equal(Path.Combine(Folder, "mtldsl_weighting.py"), export.Weighting);
        Assert.Equal(PyTorchTwin.WeightingSource, File.ReadAllText(export.Weighting));
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
    public void EveryLayerIsWrittenAsItsClassInItsHomeWithThePlansArguments()
    {
        // The twin writes what the plan says, whatever the kind: PyTorch's keyword arguments as Python literals.
        var layer = new PlanLayer("Upsample", [4, 8, 8], [4, 16, 16],
            [new("scale_factor", new double[] { 2, 2 }), new("mode", "nearest"), new("align_corners", null)]);
        Assert.Equal("nn.Upsample(scale_factor=(2.0, 2.0), mode=\"nearest\", align_corners=None)", PyTorchTwinWriter.Layer(layer));
        Assert.Equal("nn.Conv2d(in_channels=3, kernel_size=(3, 3), bias=False)", PyTorchTwinWriter.Layer(new PlanLayer("Conv2d", [3, 8, 8], [4, 6, 6],
            [new("in_channels", 3L), new("kernel_size", new long[] { 3, 3 }), new("bias", false)])));
        Assert.Equal("nn.GELU()", PyTorchTwinWriter.Layer(new PlanLayer("GELU", [4], [4], [])));
        // A kind PyTorch has no class for lives in MtlDsl's support file, imported as mtl.
        Assert.Equal(PyTorchHome.TorchNn, layer.Home);
        Assert.Equal("mtl.Cross(in_features=16, num_layers=2, matrix=False)", PyTorchTwinWriter.Layer(new PlanLayer("Cross", [16], [16],
            [new("in_features", 16L), new("num_layers", 2L), new("matrix", false)]) { Home = PyTorchHome.MtlDslTorch }));
        Assert.Equal("(32,)", PyTorchTwinWriter.Literal(new long[] { 32 }));
        Assert.Equal("()", PyTorchTwinWriter.Literal(Array.Empty<long>()));
        Assert.Equal("0.5", PyTorchTwinWriter.Literal(0.5));
        Assert.Equal("1E-05", PyTorchTwinWriter.Literal(1e-5));
        Assert.Equal("True", PyTorchTwinWriter.Literal(true));
        Assert.Equal("\"a\\\"b\"", PyTorchTwinWriter.Literal("a\"b"));
        Assert.Equal("-1", PyTorchTwinWriter.Literal(-1L));
    }

    [Fact]
    public void TheTwinIsWrittenFromThePlanAtRunTime()
    {
        using var model = new TestModels.Architectures.PLEPerTaskModel();
        PyTorchTwin twin = model.PyTorchTwin;
        Assert.Equal("PLEPerTaskModel", twin.ClassName);
        Assert.StartsWith($"# <auto-generated/> by MtlDsl {typeof(PyTorchTwin).Assembly.GetName().Version!.ToString(3)}: the PyTorch twin of MtlDsl.TestModels.Architectures.PLEPerTaskModel.\n", twin.Source);
        Assert.Contains("\"\"\"MtlDsl.TestModels.Architectures.PLEPerTaskModel, PLE: forward(*inputs)", twin.Source);
        Assert.Contains("self._modules[\"stem\"] = mtl.Experts(lambda: nn.Sequential(nn.Conv2d(in_channels=1, out_channels=4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), " +
            "dilation=(1, 1), bias=True), nn.BatchNorm2d(num_features=4), nn.ReLU()), 2, task_names, [0, 1], gate_inputs=144, shared_gate=True)\n", twin.Source);
        Assert.Contains("    WEIGHTS = [1, 0.5]\n", twin.Source);
        Assert.Contains("    LOSS_ARGS = [{}, {}]\n", twin.Source);
        Assert.Contains("        return mtl.levels([self._modules[\"stem\"], self._modules[\"stage\"]], input0, self.HEADS)\n", twin.Source);
        Assert.Equal("MtlDsl.Tests.PyTorchExportTests.Nested", PyTorchTwinWriter.FullName(typeof(Nested)));
    }

    [Fact]
    public void TheTwinPassesTheClassAndPositiveWeightsToItsLosses()
    {
        using var model = new ImbalanceModel();
        string source = model.PyTorchTwin.Source!;
        Assert.Contains("    LOSSES = [\"cross_entropy\", \"binary_cross_entropy_with_logits\", \"binary_cross_entropy_with_logits\", \"cross_entropy\"]\n", source);
        Assert.Contains("    LOSS_ARGS = [{\"weight\": (1.0, 4.0, 12.0)}, {\"pos_weight\": (9.0,)}, {\"pos_weight\": (2.0, 6.0, 0.5)}, {\"weight\": (0.5, 3.0)}]\n", source);
    }

    private static class Nested
    {
    }

    [Fact]
    public void TheTwinNamesItsSharedModulesAndItsParametersInMtlDslsOrder()
    {
        // train_ddp.py's gradient methods take the task gradients of SHARED, and its optimizer holds PARAMETERS in this
        // order, so that its state reads and writes as MtlDsl's checkpoints hold it (CHECKPOINT_MODEL names the model).
        using var model = new TestModels.Architectures.MMoEBottomModel();
        string twin = model.PyTorchTwin.Source!;
        Assert.Contains($"    SHARED = [{string.Join(", ", model.SharedModules.Select(m => $"\"{m}\""))}]\n", twin);
        Assert.Contains($"    PARAMETERS = [{string.Join(", ", model.named_parameters().Select(p => $"\"{p.name}\""))}]\n", twin);
        Assert.Contains($"    CHECKPOINT_MODEL = \"{typeof(TestModels.Architectures.MMoEBottomModel).FullName}\"\n", twin);
        Assert.NotEmpty(model.SharedModules);
        Assert.Contains("class PCGrad(GradientStrategy):", PyTorchTwin.WeightingSource);
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

        // One unnamed input is "input.input"; one dataset per task names each task's inputs.
        var (features, tabular) = TabularProblem.Generate(6, seed: 2);
        string single = Path.Combine(Folder, "tabular.safetensors");
        MultiTaskData<TabularModel.Targets>.Shared(features, tabular).Save(single);
        Assert.Contains("input.input", SafeTensors.Deserialize(File.ReadAllBytes(single), single, allowNaN).Tensors.Keys);
        var (fewer, fewerTargets) = TabularProblem.Generate(4, seed: 3);
        var perTask = MultiTaskData<TabularModel.Targets>.PerTask([features, fewer, features],
            new TabularModel.Targets(tabular.Species, fewerTargets.IsMale, tabular.BodyMass));
        string perTaskPath = Path.Combine(Folder, "per-task.safetensors");
        perTask.Save(perTaskPath);
        var saved = SafeTensors.Deserialize(File.ReadAllBytes(perTaskPath), perTaskPath, allowNaN).Tensors;
        Assert.Equal(["target.BodyMass", "target.IsMale", "target.Species", "task.BodyMass.input.input", "task.IsMale.input.input", "task.Species.input.input"], saved.Keys.Order());
        Assert.True(saved["task.IsMale.input.input"].eq(fewer).all().item<bool>());
        Assert.Equal(4, saved["target.IsMale"].shape[0]);
    }
}
