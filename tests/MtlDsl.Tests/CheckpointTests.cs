using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MtlDsl.Checkpoints;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using SeedExample;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>Checkpoints resume exactly, are written atomically, and refuse truncated or foreign files clearly; safetensors exchange.</summary>
public class CheckpointTests : TemporaryFolderTest
{
    private static (TabularModel, MultiTaskTrainer<TabularModel.Outputs, TabularModel.Targets, TabularModel.LossValues>) Create(string weighting = "UW")
    {
        torch.manual_seed(21);
        var model = new TabularModel();
        return (model, model.CreateTrainer(parameters => optim.Adam(parameters, lr: 5e-3), WeightingStrategies.Create(weighting, seed: 4)));
    }

    private static FitOptions Options(int epochs, string folder) => new()
    {
        Epochs = epochs, BatchSize = 32, Seed = 6, OutputDirectory = folder,
        Schedule = LearningRateSchedule.Cosine(6, minFactor: 0.1),
        EarlyStopping = new EarlyStopping("BodyMass", "mae", Patience: 10),
    };

    [Theory]
    [InlineData("UW")]
    [InlineData("DWA")]
    [InlineData("RLW")]
    [InlineData("PCGrad")]
    [InlineData("GradVac")]
    [InlineData("Nash-MTL")]
    [InlineData("FAMO")]
    [InlineData("FairGrad")]
    [InlineData("UPGrad")]
    public void ResumingContinuesExactlyAsIfTrainingHadNotStopped(string weighting)
    {
        var train = TabularProblem.Data(320, seed: 1);
        var validation = TabularProblem.Data(128, seed: 2);

        var (straight, straightTrainer) = Create(weighting);
        using var _ = straight;
        TrainingHistory full = straightTrainer.Fit(train, Options(6, Path.Combine(Folder, "straight")), validation);

        var (first, firstTrainer) = Create(weighting);
        using (first) firstTrainer.Fit(train, Options(3, Path.Combine(Folder, "resumed")), validation);

        torch.manual_seed(999);  // a different initialisation: everything must come from the checkpoint
        using var resumed = new TabularModel();
        var resumedTrainer = resumed.CreateTrainer(parameters => optim.Adam(parameters, lr: 5e-3), WeightingStrategies.Create(weighting, seed: 4));
        TrainingHistory continued = resumedTrainer.Fit(train,
            Options(6, Path.Combine(Folder, "resumed")) with { ResumeFrom = Path.Combine(Folder, "resumed", "checkpoints", "last.ckpt") }, validation);

        Assert.Equal(6, continued.Epochs.Count);
        for (int e = 0; e < 6; e++)
        {
            Assert.Equal(full.Epochs[e].TrainLosses, continued.Epochs[e].TrainLosses);
            Assert.Equal(full.Epochs[e].Validation!.Losses, continued.Epochs[e].Validation!.Losses);
            Assert.Equal(full.Epochs[e].LearningRate, continued.Epochs[e].LearningRate);
        }
        var expected = straight.state_dict();
        foreach (var (name, value) in resumed.state_dict())
            Assert.True(value.eq(expected[name]).all().item<bool>(), $"{weighting}: '{name}' differs after resuming");
        Assert.Equal(straightTrainer.StepCount, resumedTrainer.StepCount);
        Assert.Equal(full.BestEpoch, continued.BestEpoch);
        Assert.Equal(File.ReadAllText(Path.Combine(Folder, "straight", "history.csv")).Split('\n').Length,
            File.ReadAllText(Path.Combine(Folder, "resumed", "history.csv")).Split('\n').Length);
    }

    [Fact]
    public void ATruncatedCorruptOrForeignFileIsAClearError()
    {
        var (model, trainer) = Create();
        using var _ = model;
        string path = Path.Combine(Folder, "model.ckpt");
        trainer.SaveCheckpoint(path);
        byte[] good = File.ReadAllBytes(path);

        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        var truncated = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path));
        Assert.Contains("truncated or corrupt", truncated.Message);

        byte[] flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, flipped);
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path)).Message);

        File.WriteAllText(path, "PK\u0003\u0004 this is a zip, not a checkpoint");
        Assert.Contains("not an MtlDsl checkpoint", Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path)).Message);

        File.WriteAllBytes(path, []);
        Assert.Contains("not an MtlDsl checkpoint", Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path)).Message);
        Assert.Throws<FileNotFoundException>(() => trainer.LoadCheckpoint(Path.Combine(Folder, "none.ckpt")));

        // Another model's checkpoint, and another strategy's.
        File.WriteAllBytes(path, good);
        torch.manual_seed(1);
        using var vision = new VisionModel();
        var visionTrainer = vision.CreateTrainer(parameters => optim.Adam(parameters, lr: 1e-3), new UncertaintyWeighting());
        Assert.Contains("written for MtlDsl.TestModels.TabularModel", Assert.Throws<InvalidDataException>(() => visionTrainer.LoadCheckpoint(path)).Message);
        using var tabular = new TabularModel();
        var ew = tabular.CreateTrainer(optim.Adam(tabular.parameters(), lr: 1e-3), new EqualWeighting());
        Assert.Contains("UW weighting strategy", Assert.Throws<InvalidDataException>(() => ew.LoadCheckpoint(path)).Message);
        var sgd = tabular.CreateTrainer(parameters => optim.SGD(parameters, learningRate: 0.1), new UncertaintyWeighting());
        Assert.Contains("the optimizer Adam; this trainer uses SGD", Assert.Throws<InvalidDataException>(() => sgd.LoadCheckpoint(path)).Message);

        // A checkpoint saved outside a fit cannot be resumed by Fit.
        var resume = Assert.Throws<InvalidDataException>(() => trainer.Fit(TabularProblem.Data(64, 1), new FitOptions { ResumeFrom = path }));
        Assert.Contains("LoadCheckpoint", resume.Message);
    }

    [Fact]
    public void ACrashMidWriteLeavesThePreviousFileInPlace()
    {
        string path = Path.Combine(Folder, "file.bin");
        AtomicFile.WriteAllText(path, "the good checkpoint");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half of a new"u8);
            throw new IOException("disk full");
        }));
        Assert.Equal("the good checkpoint", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Folder));  // no temporary file left behind
    }

    [Fact]
    public void TheTemporaryFilesOfKilledWritesAreDeletedByTheNextWriteAndNothingElseIs()
    {
        Directory.CreateDirectory(Folder);
        string Temporary(string target, long pid) => Path.Combine(Folder, $".{target}.{pid}-{Guid.NewGuid():N}.tmp");
        int live = OperatingSystem.IsWindows() ? 4 : 1;  // the System process, init: always running
        string[] stale =
        [
            Temporary("last.ckpt", int.MaxValue),           // a process that no longer runs (no process has this id)
            Temporary("history.csv", Environment.ProcessId), // this process's id, not written by it: a restart under the same id
        ];
        string[] kept =
        [
            Temporary("best.ckpt", live),                    // a running process may be writing it
            Temporary("loss.png", Environment.ProcessId),    // held open below, as a writer holds its temporary file
            Path.Combine(Folder, ".notes.tmp"),              // other names: not AtomicFile's
            Path.Combine(Folder, $".last.ckpt.{Guid.NewGuid():N}.tmp"),
            Path.Combine(Folder, $".last.ckpt.{int.MaxValue}-{Guid.NewGuid().ToString("N").ToUpperInvariant()}.tmp"),
            Path.Combine(Folder, $"last.ckpt.{int.MaxValue}-{Guid.NewGuid():N}.tmp"),
            Path.Combine(Folder, "data.tmp"),
        ];
        foreach (string file in stale.Concat(kept)) File.WriteAllText(file, "half a file");
        using (new FileStream(kept[1], FileMode.Open, FileAccess.Write, FileShare.None))
            AtomicFile.WriteAllText(Path.Combine(Folder, "other.txt"), "a write into the folder");
        Assert.Equal(kept.Append(Path.Combine(Folder, "other.txt")).Order(StringComparer.Ordinal), Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
        // Once no one holds it, it goes too.
        Assert.Equal(1, AtomicFile.DeleteStaleTemporaryFiles(Folder));
        Assert.False(File.Exists(kept[1]));
    }

    [Fact]
    public void AFitAfterAKillLeavesNoTemporaryFileAndItsResumeCheckpointIsAtMostOneEpochOld()
    {
        // What a kill mid-write leaves: a temporary file of a process that no longer runs, beside each output.
        string checkpoints = Path.Combine(Folder, "checkpoints");
        Directory.CreateDirectory(checkpoints);
        File.WriteAllText(Path.Combine(Folder, $".history.csv.{int.MaxValue}-{Guid.NewGuid():N}.tmp"), "epoch,");
        File.WriteAllText(Path.Combine(checkpoints, $".last.ckpt.{int.MaxValue}-{Guid.NewGuid():N}.tmp"), "MTLDSLCK");
        File.WriteAllText(Path.Combine(checkpoints, $".best.ckpt.{int.MaxValue}-{Guid.NewGuid():N}.tmp"), "MTLDSLCK");

        var (model, trainer) = Create("EW");
        using var _ = model;
        var observer = new ResumePoint(Path.Combine(checkpoints, "last.ckpt"));
        trainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions { Epochs = 12, BatchSize = 32, OutputDirectory = Folder, Observers = [observer] });
        Assert.Empty(Directory.GetFiles(Folder, "*.tmp", SearchOption.AllDirectories));
        // Epochs of milliseconds: the 5 % budget would write every few epochs; the resume checkpoint is every epoch's.
        Assert.Equal(Enumerable.Range(1, 12), observer.NextEpochs);

        // With the write budget the checkpoint may lag behind, and is the last epoch's when the fit ends.
        var (budget, budgetTrainer) = Create("EW");
        using var __ = budget;
        var lagging = new ResumePoint(Path.Combine(Folder, "budget", "checkpoints", "last.ckpt"));
        budgetTrainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions
        {
            Epochs = 12, BatchSize = 32, OutputDirectory = Path.Combine(Folder, "budget"), CheckpointCadence = CheckpointCadence.WriteBudget, Observers = [lagging],
        });
        Assert.Equal(12, lagging.NextEpochs[^1]);
        Assert.All(lagging.NextEpochs.Select((next, e) => (next, e)), p => Assert.InRange(p.next, 0, p.e + 1));
    }

    // After every epoch, the epoch the resume checkpoint would continue from (0 when there is none yet).
    private sealed class ResumePoint(string path) : ITrainingObserver
    {
        public List<int> NextEpochs { get; } = [];

        public void EpochEnded(MtlDsl.Training.EpochResult result, TrainingHistory history) => NextEpochs.Add(!File.Exists(path) ? 0
            : JsonDocument.Parse(CheckpointFile.Read(path)["meta"]).RootElement.GetProperty("Fit").GetProperty("NextEpoch").GetInt32());
    }

    [Fact]
    public void LoadingRestoresModelOptimizerAndStrategy()
    {
        var (model, trainer) = Create();
        using var _ = model;
        var data = TabularProblem.Data(128, seed: 1);
        trainer.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32 });
        string path = Path.Combine(Folder, "a.ckpt");
        trainer.SaveCheckpoint(path);
        var (x, targets) = TabularProblem.Generate(32, seed: 8);
        torch.manual_seed(77);  // the same dropout masks in both steps
        var next = trainer.Step(x, targets);

        var (copy, copyTrainer) = Create();
        using var __ = copy;
        copyTrainer.LoadCheckpoint(path);
        Assert.Equal(trainer.GetState().WeightingState["loss_scale"].Length, copyTrainer.GetState().WeightingState["loss_scale"].Length);
        Assert.Equal(2, copyTrainer.Epoch);
        torch.manual_seed(77);
        var same = copyTrainer.Step(x, targets);
        Assert.Equal(next, same);  // same weights, same Adam moments, same UW scales: the same step
    }

    [Fact]
    public void SafetensorsUsePyTorchsNamesAndTheFormatsLayout()
    {
        torch.manual_seed(3);
        using var model = new TabularModel();
        string path = Path.Combine(Folder, "weights.safetensors");
        SafeTensors.Save(model, path, new Dictionary<string, string> { ["format"] = "pt" });

        // Read the file by the format's definition, independently of the reader under test.
        byte[] file = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, (int)headerLength).TrimEnd(' '));
        var names = header.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").ToList();
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        // PyTorch's names for nn.Sequential children: <block>.<index>.<parameter or buffer>.
        Assert.Contains("encoder.0.weight", names);
        Assert.Contains("encoder.1.running_mean", names);
        Assert.Contains("encoder.1.num_batches_tracked", names);
        Assert.Contains("bottleneck.1.weight", names);
        Assert.Contains("body_mass.2.weight", names);
        Assert.DoesNotContain("body_mass.2.bias", names);
        Assert.Equal(model.state_dict().Keys.Order(), names.Order());
        JsonElement weight = header.RootElement.GetProperty("encoder.0.weight");
        Assert.Equal("F32", weight.GetProperty("dtype").GetString());
        Assert.Equal([64L, 12L], weight.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        long begin = weight.GetProperty("data_offsets")[0].GetInt64();
        float first = BitConverter.ToSingle(file, (int)(8 + headerLength + begin));
        Assert.Equal(model.state_dict()["encoder.0.weight"][0, 0].item<float>(), first);
        Assert.Equal("I64", header.RootElement.GetProperty("encoder.1.num_batches_tracked").GetProperty("dtype").GetString());

        torch.manual_seed(4);
        using var other = new TabularModel();
        SafeTensors.Load(other, path);
        foreach (var (name, value) in model.state_dict()) Assert.True(value.eq(other.state_dict()[name]).all().item<bool>(), name);
    }

    [Fact]
    public void SafetensorsThatDoNotFitTheModelAreRefusedWithEveryProblemListed()
    {
        torch.manual_seed(3);
        using var tabular = new TabularModel();
        using var vision = new VisionModel();
        string path = Path.Combine(Folder, "vision.safetensors");
        SafeTensors.Save(vision, path);
        var before = tabular.state_dict()["encoder.0.weight"].clone();
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(tabular, path));
        Assert.Contains("missing 'encoder.0.weight' [64, 12]", error.Message);
        Assert.Contains("unexpected 'features.0.weight'", error.Message);
        Assert.True(before.eq(tabular.state_dict()["encoder.0.weight"]).all().item<bool>(), "nothing is changed when the file does not fit");

        byte[] good = File.ReadAllBytes(path);
        File.WriteAllBytes(path, good[..(good.Length - 100)]);
        Assert.Contains("truncated or corrupt", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(vision, path)).Message);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("not a valid safetensors file", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(vision, path)).Message);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(5L), .. "nope!"u8.ToArray()]);
        Assert.Contains("not JSON", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(vision, path)).Message);
    }
}
