using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MtlDsl.Checkpoints;
using MtlDsl.TestModels;
using MtlDsl.Training;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A checkpoint is loaded all or nothing: every refusal, of a file crafted with a valid checksum or of an ordinary
/// file given to the wrong trainer, leaves the model's state dict, the optimizer's state and the trainer's and
/// strategy's state bit for bit as they were, and names the file, the section and what was expected.
/// </summary>
public class CheckpointRefusalTests : TemporaryFolderTest
{
    private static readonly JsonSerializerOptions s_json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static (TabularModel, MultiTaskTrainer<TabularModel.Outputs, TabularModel.Targets, TabularModel.LossValues>) Create(
        string weighting = "UW", int seed = 21)
    {
        torch.manual_seed(seed);
        var model = new TabularModel();
        return (model, model.CreateTrainer(parameters => optim.Adam(parameters, lr: 5e-3), WeightingStrategies.Create(weighting, seed: 4)));
    }

    private static FitOptions Options(int epochs, string folder) => new()
    {
        Epochs = epochs, BatchSize = 32, Seed = 6, OutputDirectory = folder,
        EarlyStopping = new EarlyStopping("BodyMass", "mae", Patience: 10),
    };

    // Everything a load may touch, as bytes: the state dict (safetensors), the optimizer's state (TorchSharp's
    // format) and the trainer's state with the strategy's (JSON).
    private sealed record Snapshot(byte[] Model, byte[] Optimizer, string Trainer);

    private static Snapshot Take<TO, TT, TL>(MultiTaskTrainer<TO, TT, TL> trainer)
        where TO : ITaskTensors<TO> where TT : ITaskTensors<TT> where TL : ITaskLossValues<TL>
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true)) ((OptimizerHelper)trainer.Optimizer).save_state_dict(writer);
        return new Snapshot(SafeTensors.Serialize(trainer.Model.state_dict()), stream.ToArray(), JsonSerializer.Serialize(trainer.GetState(), s_json));
    }

    private static void AssertUnchanged(Snapshot before, Snapshot after, string what)
    {
        Assert.True(before.Model.AsSpan().SequenceEqual(after.Model), $"{what}: the model's state dict changed");
        Assert.True(before.Optimizer.AsSpan().SequenceEqual(after.Optimizer), $"{what}: the optimizer's state changed");
        Assert.Equal(before.Trainer, after.Trainer);
    }

    // A trained trainer (different weights, moments and scales from a fresh one) and its fit's checkpoint.
    private string FitCheckpoint(string weighting = "UW")
    {
        var (model, trainer) = Create(weighting);
        using var _ = model;
        trainer.Fit(TabularProblem.Data(160, seed: 1), Options(2, Path.Combine(Folder, "fit")), TabularProblem.Data(64, seed: 2));
        return Path.Combine(Folder, "fit", "checkpoints", "last.ckpt");
    }

    // The file at source with its sections changed, written with a valid checksum.
    private string Craft(string source, string name, Action<Dictionary<string, byte[]>> change)
    {
        var sections = CheckpointFile.Read(source);
        change(sections);
        string path = Path.Combine(Folder, name + ".ckpt");
        CheckpointFile.Write(path, [.. sections.Select(s => (s.Key, s.Value))]);
        return path;
    }

    private static void EditMeta(Dictionary<string, byte[]> sections, Action<JsonObject> edit)
    {
        var meta = JsonNode.Parse(sections["meta"])!.AsObject();
        edit(meta);
        sections["meta"] = Encoding.UTF8.GetBytes(meta.ToJsonString());
    }

    // A trainer that differs in every respect from the checkpoint's (other weights, one step of Adam and UW taken).
    private static (TabularModel, MultiTaskTrainer<TabularModel.Outputs, TabularModel.Targets, TabularModel.LossValues>) Other(string weighting = "UW")
    {
        var (model, trainer) = Create(weighting, seed: 99);
        var (x, targets) = TabularProblem.Generate(32, seed: 5);
        trainer.Step(x, targets);
        trainer.EndEpoch();
        return (model, trainer);
    }

    private void AssertRefused(string path, params string[] expected) => AssertRefusedBy("UW", path, expected);

    private void AssertRefusedBy(string weighting, string path, params string[] expected)
    {
        foreach (bool resume in new[] { false, true })
        {
            var (model, trainer) = Other(weighting);
            using var _ = model;
            Snapshot before = Take(trainer);
            var error = Assert.Throws<InvalidDataException>(() =>
            {
                if (resume) trainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions { Epochs = 3, ResumeFrom = path });
                else trainer.LoadCheckpoint(path);
            });
            Assert.Contains(path, error.Message);
            foreach (string part in expected) Assert.Contains(part, error.Message);
            AssertUnchanged(before, Take(trainer), $"{Path.GetFileName(path)} ({(resume ? "ResumeFrom" : "LoadCheckpoint")}): {error.Message}");
        }
    }

    [Fact]
    public void AGoodCheckpointStillLoadsAndResumes()
    {
        string good = FitCheckpoint();
        string copy = Craft(good, "copy", _ => { });
        var (model, trainer) = Other();
        using var _ = model;
        trainer.LoadCheckpoint(copy);
        Assert.Equal(2, trainer.Epoch);
        var history = trainer.Fit(TabularProblem.Data(160, seed: 1), Options(3, Path.Combine(Folder, "fit")) with { ResumeFrom = copy }, TabularProblem.Data(64, seed: 2));
        Assert.Equal(3, history.Epochs.Count);
    }

    [Fact]
    public void ACheckpointForAnOptimizerOverOtherParametersIsRefusedBeforeAnythingIsLoaded()
    {
        // Written by a trainer whose optimizer covers every parameter, loaded by one whose optimizer covers only
        // the species head, and the other way round: both used to throw after the weights were replaced.
        string full = FitCheckpoint("EW");
        torch.manual_seed(5);
        using var model = new TabularModel();
        var partial = model.CreateTrainer(optim.Adam(model.Species.parameters(), lr: 1e-2), new EqualWeighting());
        var (x, targets) = TabularProblem.Generate(32, seed: 5);
        partial.Step(x, targets);
        Snapshot before = Take(partial);
        var error = Assert.Throws<InvalidDataException>(() => partial.LoadCheckpoint(full));
        Assert.Contains(full, error.Message);
        Assert.Contains("'optimizer' section", error.Message);
        AssertUnchanged(before, Take(partial), error.Message);

        string partialPath = Path.Combine(Folder, "partial.ckpt");
        partial.SaveCheckpoint(partialPath);
        var (other, fullTrainer) = Other("EW");
        using var _ = other;
        before = Take(fullTrainer);
        error = Assert.Throws<InvalidDataException>(() => fullTrainer.LoadCheckpoint(partialPath));
        Assert.Contains("parameters; expected this optimizer's", error.Message);
        AssertUnchanged(before, Take(fullTrainer), error.Message);
    }

    [Fact]
    public void ASaveCheckpointFileGivenToResumeFromIsRefusedBeforeAnythingIsLoaded()
    {
        var (saved, savedTrainer) = Create();
        using var __ = saved;
        savedTrainer.Fit(TabularProblem.Data(64, seed: 3), new FitOptions { Epochs = 1 });
        string path = Path.Combine(Folder, "saved.ckpt");
        savedTrainer.SaveCheckpoint(path);

        var (model, trainer) = Other();
        using var _ = model;
        Snapshot before = Take(trainer);
        var error = Assert.Throws<InvalidDataException>(() => trainer.Fit(TabularProblem.Data(64, seed: 1), new FitOptions { Epochs = 2, ResumeFrom = path }));
        Assert.Contains("saved outside a fit", error.Message);
        AssertUnchanged(before, Take(trainer), error.Message);
    }

    public static TheoryData<string, string[]> MetaEdits => new()
    {
        { "null-trainer", ["'meta' section", "lacks a field"] },
        { "null-tasks", ["'meta' section", "lacks a field"] },
        { "short-sums", ["'meta' section", "running loss sums; expected one per task, 3"] },
        { "null-sums", ["'meta' section", "no running loss sums"] },
        { "negative-count", ["'meta' section", "negative running step count"] },
        { "negative-steps", ["'meta' section", "-5 steps"] },
        { "short-epoch-losses", ["'meta' section", "losses for epoch 0"] },
        { "infinite-sum", ["'meta' section", "not finite"] },
        { "short-scale", ["'meta' section", "'loss_scale' has 2 values; expected 3"] },
        { "nan-scale", ["'meta' section", "'loss_scale' holds NaN"] },
        { "null-strategy-state", ["'meta' section", "no state of UW"] },
        { "negative-next-epoch", ["'meta' section", "next epoch as -1"] },
        { "no-rates", ["'meta' section", "0 base learning rates; expected one per parameter group of the optimizer, 1"] },
        { "two-rates", ["'meta' section", "2 base learning rates"] },
        { "nan-rate", ["'meta' section", "base learning rate NaN"] },
        { "short-history", ["'meta' section", "history of 1 epochs; expected one per finished epoch, 2"] },
        { "null-history", ["'meta' section", "no epochs"] },
        { "null-epoch", ["'meta' section", "epoch 0 is null"] },
        { "renumbered-epoch", ["'meta' section", "epoch 1 is numbered 7"] },
        { "null-train-losses", ["'meta' section", "no training losses"] },
        { "short-weights", ["'meta' section", "1 task weights"] },
        { "bad-validation", ["'meta' section", "validation results"] },
        { "best-epoch-out-of-range", ["'meta' section", "best epoch as 9"] },
        { "best-value-without-epoch", ["'meta' section", "best epoch without a best value"] },
        { "negative-patience", ["'meta' section", "-1 epochs without improvement"] },
        { "null-meta", ["'meta' section", "is empty"] },
        { "not-json", ["unreadable metadata"] },
    };

    [Theory]
    [MemberData(nameof(MetaEdits))]
    public void MetadataWithNonsenseFieldsIsRefusedBeforeAnythingIsLoaded(string edit, string[] expected)
    {
        string good = FitCheckpoint();
        string path = Craft(good, edit, sections =>
        {
            if (edit == "null-meta") { sections["meta"] = "null"u8.ToArray(); return; }
            if (edit == "not-json") { sections["meta"] = "{\"Model\": "u8.ToArray(); return; }
            EditMeta(sections, meta =>
            {
                JsonObject trainer = meta["Trainer"]!.AsObject(), fit = meta["Fit"]!.AsObject();
                JsonArray history = fit["History"]!.AsArray();
                switch (edit)
                {
                    case "null-trainer": meta["Trainer"] = null; break;
                    case "null-tasks": meta["Tasks"] = null; break;
                    case "short-sums": trainer["EpochSums"] = new JsonArray(1.0, 2.0); break;
                    case "null-sums": trainer["EpochSums"] = null; break;
                    case "negative-count": trainer["EpochCounts"] = new JsonArray(0, -1, 0); break;
                    case "negative-steps": trainer["StepCount"] = -5; break;
                    case "short-epoch-losses": trainer["EpochLosses"]![0] = new JsonArray(1.0); break;
                    case "infinite-sum": trainer["EpochSums"] = new JsonArray(1.0, "Infinity", 0.0); break;
                    case "short-scale": trainer["WeightingState"]!["loss_scale"] = new JsonArray(0.0, 0.0); break;
                    case "nan-scale": trainer["WeightingState"]!["loss_scale"] = new JsonArray(0.0, "NaN", 0.0); break;
                    case "null-strategy-state": trainer["WeightingState"] = null; break;
                    case "negative-next-epoch": fit["NextEpoch"] = -1; break;
                    case "no-rates": fit["BaseLearningRates"] = new JsonArray(); break;
                    case "two-rates": fit["BaseLearningRates"] = new JsonArray(0.1, 0.1); break;
                    case "nan-rate": fit["BaseLearningRates"] = new JsonArray("NaN"); break;
                    case "short-history": history.RemoveAt(1); break;
                    case "null-history": fit["History"] = null; break;
                    case "null-epoch": history[0] = null; break;
                    case "renumbered-epoch": history[1]!["Epoch"] = 7; break;
                    case "null-train-losses": history[0]!["TrainLosses"] = null; break;
                    case "short-weights": history[0]!["Weights"] = new JsonArray(1.0); break;
                    case "bad-validation": history[0]!["Validation"]!["Losses"] = new JsonArray(1.0); break;
                    case "best-epoch-out-of-range": fit["BestEpoch"] = 9; break;
                    case "best-value-without-epoch": fit["BestEpoch"] = null; break;
                    case "negative-patience": fit["EpochsWithoutImprovement"] = -1; break;
                    default: throw new ArgumentException(edit);
                }
            });
        });
        AssertRefused(path, expected);
    }

    public static TheoryData<string, string> StrategyEdits => new()
    {
        { "FAMO", "adam_second" },
        { "GradVac", "targets" },
        { "Nash-MTL", "alpha" },
        { "PCGrad", "seed" },
        { "FairGrad", "start" },
    };

    [Theory]
    [MemberData(nameof(StrategyEdits))]
    public void AStrategyStateOfTheWrongLengthOrRangeIsRefusedBeforeAnythingIsLoaded(string weighting, string key)
    {
        string good = FitCheckpoint(weighting);
        string path = Craft(good, weighting, sections => EditMeta(sections, meta =>
        {
            JsonObject state = meta["Trainer"]!["WeightingState"]!.AsObject();
            if (key == "seed") state["shuffle"] = new JsonArray(0.5, 3.0);  // a seed that is not a whole number
            else state[key] = new JsonArray(1.0, 2.0);                      // two values for three tasks
        }));
        AssertRefusedBy(weighting, path, "'meta' section", weighting, key);
    }

    public static TheoryData<string, string> OptimizerEdits => new()
    {
        { "truncated", "truncated" },
        { "type", "state of the optimizer SGD; expected Adam" },
        { "groups", "2 parameter groups; expected this optimizer's 1" },
        { "states", "the states of 3 parameters" },
        { "transposed", "has the shape [12, 64]; expected the parameter's [64, 12]" },
        { "swapped", "has 1 dimensions; expected the parameter's shape [64, 12]" },
        { "nan-moment", "NaN or infinite value" },
        { "negative-rate", "learning rate is -0.1" },
        { "beta", "beta1 is 1.5" },
        { "bool", "is the byte 7; expected 0 or 1" },
        { "amsgrad", "no max_exp_avg_sq although its group uses amsgrad" },
        { "negative-step", "step is -3" },
        { "trailing", "4 bytes follow the last parameter's state" },
        { "dtype", "has dtype Float64; expected the parameter's Float32" },
    };

    [Theory]
    [MemberData(nameof(OptimizerEdits))]
    public void AnOptimizerSectionThatDoesNotFitIsRefusedBeforeAnythingIsLoaded(string edit, string expected)
    {
        string good = FitCheckpoint();
        // The trainer's Adam states, rewritten in TorchSharp's layout with one change each.
        var (model, trainer) = Create();
        using var _ = model;
        trainer.LoadCheckpoint(good);
        var adam = (OptimizerHelper)trainer.Optimizer;
        Parameter[] parameters = adam.parameters().ToArray();
        var states = adam.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
        Assert.Equal(CheckpointFile.Read(good)["optimizer"], AdamBytes(parameters, states, ""));  // the writer below is TorchSharp's layout
        string path = Craft(good, "optimizer-" + edit, sections => sections["optimizer"] = edit == "truncated"
            ? sections["optimizer"][..(sections["optimizer"].Length / 2)]
            : AdamBytes(parameters, states, edit));
        AssertRefused(path, "'optimizer' section", expected);
    }

    // Adam's state as TorchSharp's save_state_dict writes it (one parameter group), with one change.
    private static byte[] AdamBytes(Parameter[] parameters, TorchSharp.Modules.Adam.State[] states, string edit)
    {
        var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        void Leb(long value)
        {
            do
            {
                byte b = (byte)(value & 0x7F);
                value >>= 7;
                writer.Write(value == 0 ? b : (byte)(b | 0x80));
            } while (value != 0);
        }
        void Tensor(Tensor tensor)
        {
            Leb((long)tensor.dtype);
            Leb(tensor.shape.Length);
            foreach (long d in tensor.shape) Leb(d);
            writer.Write(tensor.contiguous().bytes);
        }
        writer.Write(edit == "type" ? "SGD" : "Adam");
        Leb(edit == "groups" ? 2 : 1);
        Leb(edit == "states" ? 3 : states.Length);
        writer.Write(5e-3);                                  // initial learning rate
        writer.Write(edit == "negative-rate" ? -0.1 : 5e-3); // learning rate
        writer.Write(edit == "beta" ? 1.5 : 0.9);
        writer.Write(0.999);
        writer.Write(1e-8);
        writer.Write(0.0);                                   // weight decay
        writer.Write(edit == "amsgrad");                     // amsgrad (no state has max_exp_avg_sq)
        if (edit == "bool") writer.Write((byte)7); else writer.Write(false);  // maximize
        for (int i = 0; i < states.Length; i++)
        {
            writer.Write(edit == "negative-step" && i == 0 ? -3L : states[i].step);
            Tensor exp = edit switch
            {
                "transposed" when i == 0 => states[0].exp_avg.t().contiguous(),
                "swapped" when i == 0 => states[1].exp_avg,
                "nan-moment" when i == 2 => states[i].exp_avg.clone().index_fill_(0, torch.tensor(new long[] { 0 }), double.NaN.ToScalar()),
                "dtype" when i == 1 => states[i].exp_avg.to(ScalarType.Float64),
                _ => states[i].exp_avg,
            };
            Tensor(exp);
            Tensor(states[i].exp_avg_sq);
            writer.Write(false);
        }
        if (edit == "trailing") writer.Write(0);
        writer.Flush();
        return stream.ToArray();
    }

    public static TheoryData<string> Optimizers => ["Adam", "Adam-amsgrad", "AdamW", "SGD", "SGD-momentum", "MtlDsl.Adam", "MtlDsl.SGD-nesterov"];

    private static optim.Optimizer MakeOptimizer(string kind, IEnumerable<Parameter> parameters) => kind switch
    {
        "Adam" => optim.Adam(parameters, lr: 5e-3),
        "Adam-amsgrad" => optim.Adam(parameters, lr: 5e-3, amsgrad: true),
        "AdamW" => optim.AdamW(parameters, lr: 5e-3, weight_decay: 0.01),
        "SGD" => optim.SGD(parameters, learningRate: 0.05),
        "SGD-momentum" => optim.SGD(parameters, learningRate: 0.05, momentum: 0.9),
        "MtlDsl.Adam" => new MtlDsl.Optimizers.Adam(parameters, lr: 5e-3),
        "MtlDsl.SGD-nesterov" => new MtlDsl.Optimizers.SGD(parameters, lr: 0.05, momentum: 0.9, nesterov: true),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void EveryOptimizerWhoseStateIsCheckedFieldByFieldLoadsItsOwnCheckpoints(string kind)
    {
        var data = TabularProblem.Data(96, seed: 1);
        torch.manual_seed(21);
        using var source = new TabularModel();
        var sourceTrainer = source.CreateTrainer(parameters => MakeOptimizer(kind, parameters), new UncertaintyWeighting());
        sourceTrainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 32 });
        string path = Path.Combine(Folder, kind + ".ckpt");
        sourceTrainer.SaveCheckpoint(path);

        torch.manual_seed(99);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => MakeOptimizer(kind, parameters), new UncertaintyWeighting());
        trainer.LoadCheckpoint(path);
        AssertUnchanged(Take(sourceTrainer), Take(trainer), $"{kind}: the loaded trainer is not the saved one");
    }

    [Fact]
    public void AnSgdStateThatDoesNotFitIsRefusedBeforeAnythingIsLoaded()
    {
        var data = TabularProblem.Data(96, seed: 1);
        torch.manual_seed(21);
        using var source = new TabularModel();
        var sourceTrainer = source.CreateTrainer(parameters => MakeOptimizer("SGD-momentum", parameters), new UncertaintyWeighting());
        sourceTrainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 32 });
        string good = Path.Combine(Folder, "sgd.ckpt");
        sourceTrainer.SaveCheckpoint(good);
        var sgd = (OptimizerHelper)sourceTrainer.Optimizer;
        Parameter[] parameters = sgd.parameters().ToArray();
        Tensor[] buffers = sgd.state_dict().State.Cast<TorchSharp.Modules.SGD.State>().Select(s => s.momentum_buffer).ToArray();
        Assert.Equal(CheckpointFile.Read(good)["optimizer"], SgdBytes(buffers, ""));  // the writer below is TorchSharp's layout

        foreach (var (edit, expected) in new[]
                 {
                     ("transposed", "momentum_buffer has the shape [12, 64]; expected the parameter's [64, 12]"),
                     ("nan", "momentum_buffer holds a NaN or infinite value at element 0"),
                     ("momentum", "momentum is -0.5; expected a finite number ≥ 0"),
                 })
        {
            string path = Craft(good, "sgd-" + edit, s => s["optimizer"] = SgdBytes(buffers, edit));
            torch.manual_seed(99);
            using var model = new TabularModel();
            var trainer = model.CreateTrainer(parameters => MakeOptimizer("SGD-momentum", parameters), new UncertaintyWeighting());
            var (x, targets) = TabularProblem.Generate(32, seed: 5);
            trainer.Step(x, targets);
            Snapshot before = Take(trainer);
            var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path));
            Assert.Contains("'optimizer' section", error.Message);
            Assert.Contains(expected, error.Message);
            AssertUnchanged(before, Take(trainer), error.Message);
        }
    }

    // SGD's state as TorchSharp's save_state_dict writes it (one parameter group, momentum 0.9), with one change.
    private static byte[] SgdBytes(Tensor[] buffers, string edit)
    {
        var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write("SGD");
        writer.Write((byte)1);
        writer.Write((byte)buffers.Length);
        writer.Write(0.05);                                 // initial learning rate
        writer.Write(0.05);                                 // learning rate
        writer.Write(edit == "momentum" ? -0.5 : 0.9);
        writer.Write(0.0);                                  // dampening
        writer.Write(0.0);                                  // weight decay
        writer.Write(false);                                // nesterov
        writer.Write(false);                                // maximize
        for (int i = 0; i < buffers.Length; i++)
        {
            Tensor buffer = edit switch
            {
                "transposed" when i == 0 => buffers[0].t().contiguous(),
                "nan" when i == 0 => buffers[0].clone().view(-1).index_fill_(0, torch.tensor(new long[] { 0 }), double.NaN.ToScalar()).view(buffers[0].shape),
                _ => buffers[i],
            };
            writer.Write(true);
            writer.Write((byte)buffer.dtype);
            writer.Write((byte)buffer.shape.Length);
            foreach (long d in buffer.shape) writer.Write((byte)d);  // every count here is below 128: one LEB128 byte
            writer.Write(buffer.contiguous().bytes);
        }
        writer.Flush();
        return stream.ToArray();
    }

    [Fact]
    public void ModelWeightsThatDoNotFitOrAreNotFiniteAreRefusedBeforeAnythingIsLoaded()
    {
        string good = FitCheckpoint();
        var (model, _) = Create();
        using var __ = model;
        Dictionary<string, Tensor> State() => model.state_dict().ToDictionary(s => s.Key, s => s.Value.detach().clone());

        var nan = State();
        nan["encoder.0.weight"][3, 4] = torch.tensor(float.NaN);
        AssertRefused(Craft(good, "nan-weight", s => s["model"] = SafeTensors.Serialize(nan)), "'model' section", "'encoder.0.weight'", "NaN or infinite value at element 40");

        var wide = State();
        wide["encoder.0.weight"] = wide["encoder.0.weight"].to(ScalarType.Float64);
        AssertRefused(Craft(good, "float64-weight", s => s["model"] = SafeTensors.Serialize(wide)), "'model' section", "'encoder.0.weight' is F64 in the file, Float32 in the model");

        var missing = State();
        missing.Remove("bottleneck.1.weight");
        AssertRefused(Craft(good, "missing-weight", s => s["model"] = SafeTensors.Serialize(missing)), "'model' section", "missing 'bottleneck.1.weight'");

        var reshaped = State();
        reshaped["species.2.bias"] = torch.zeros(4);
        AssertRefused(Craft(good, "reshaped-weight", s => s["model"] = SafeTensors.Serialize(reshaped)), "'model' section", "'species.2.bias' is [4] in the file, [3] in the model");

        var badBest = State();
        badBest["body_mass.2.weight"][0, 0] = torch.tensor(float.PositiveInfinity);
        AssertRefused(Craft(good, "infinite-best", s => s["best_model"] = SafeTensors.Serialize(badBest)), "'best_model' section", "'body_mass.2.weight'");
    }

    [Fact]
    public void UnknownMissingAndRepeatedSectionsAreRefused()
    {
        string good = FitCheckpoint();
        AssertRefused(Craft(good, "unknown-section", s => s["extra"] = [1, 2, 3]), "section 'extra'", "does not know");
        AssertRefused(Craft(good, "no-optimizer", s => s.Remove("optimizer")), "no 'optimizer' section");

        var sections = CheckpointFile.Read(good);
        string repeated = Path.Combine(Folder, "repeated.ckpt");
        CheckpointFile.Write(repeated, [.. sections.Select(s => (s.Key, s.Value)), ("model", sections["model"])]);
        AssertRefused(repeated, "two sections named 'model'");
    }

    // A strategy whose own LoadState refuses a value after it changed something, and has no CheckState: the checks
    // before the load cannot see the problem, so it shows only while the checkpoint is applied.
    private sealed class CountingWeighting : LossWeighting
    {
        public double Counter { get; private set; } = 1;

        public override string Name => "Counting";

        protected override (Tensor Objective, double[] Weights) Objective(IReadOnlyList<Tensor> losses, WeightingContext context)
        {
            Counter++;
            double[] weights = Enumerable.Repeat(1.0, TaskCount).ToArray();
            return (WeightedSum(losses, weights), weights);
        }

        public override IReadOnlyDictionary<string, double[]> GetState() => new Dictionary<string, double[]> { ["counter"] = [Counter] };

        public override void LoadState(IReadOnlyDictionary<string, double[]> state)
        {
            Counter = state["counter"][0];
            if (Counter < 0) throw new ArgumentException("Counting: the counter cannot be negative.", nameof(state));
        }
    }

    [Fact]
    public void AFailureWhileTheCheckpointIsAppliedPutsEverythingBack()
    {
        var data = TabularProblem.Data(96, seed: 1);
        torch.manual_seed(21);
        using var source = new TabularModel();
        var sourceTrainer = source.CreateTrainer(parameters => optim.Adam(parameters, lr: 5e-3), new CountingWeighting());
        sourceTrainer.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32 });
        string good = Path.Combine(Folder, "counting.ckpt");
        sourceTrainer.SaveCheckpoint(good);
        string path = Craft(good, "negative-counter", s => EditMeta(s, meta => meta["Trainer"]!["WeightingState"]!["counter"] = new JsonArray(-1.0)));

        torch.manual_seed(99);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 5e-3), new CountingWeighting());
        var (x, targets) = TabularProblem.Generate(32, seed: 5);
        trainer.Step(x, targets);
        Snapshot before = Take(trainer);
        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path));
        Assert.Contains("could not be applied", error.Message);
        Assert.Contains("counter cannot be negative", error.Message);
        AssertUnchanged(before, Take(trainer), error.Message);
        Assert.Equal(2, ((CountingWeighting)trainer.Weighting).Counter);

        trainer.LoadCheckpoint(good);  // and the same trainer still loads a good one
        Assert.Equal(((CountingWeighting)sourceTrainer.Weighting).Counter, ((CountingWeighting)trainer.Weighting).Counter);
    }

    [Fact]
    public void AnOptimizerStateOfAnUncheckedLayoutThatFailsToLoadPutsEverythingBack()
    {
        // RMSprop's layout is not written out in MtlDsl; its state is checked by loading it, inside the transaction.
        var data = TabularProblem.Data(96, seed: 1);
        torch.manual_seed(21);
        using var source = new TabularModel();
        var sourceTrainer = source.CreateTrainer(parameters => optim.RMSProp(parameters, lr: 1e-3), new EqualWeighting());
        sourceTrainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = 32 });
        string good = Path.Combine(Folder, "rmsprop.ckpt");
        sourceTrainer.SaveCheckpoint(good);

        torch.manual_seed(99);
        using var model = new TabularModel();
        var trainer = model.CreateTrainer(parameters => optim.RMSProp(parameters, lr: 1e-3), new EqualWeighting());
        var (x, targets) = TabularProblem.Generate(32, seed: 5);
        trainer.Step(x, targets);
        foreach (var (name, change) in new (string, Func<byte[], byte[]>)[]
                 {
                     ("rmsprop-truncated", bytes => bytes[..(bytes.Length * 3 / 4)]),
                     ("rmsprop-trailing", bytes => [.. bytes, 0, 0, 0]),
                 })
        {
            string path = Craft(good, name, s => s["optimizer"] = change(s["optimizer"]));
            Snapshot before = Take(trainer);
            var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path));
            Assert.Contains("could not be applied", error.Message);
            AssertUnchanged(before, Take(trainer), $"{name}: {error.Message}");
        }
        trainer.LoadCheckpoint(good);
        Assert.Equal(1, trainer.Epoch);
    }

    [Fact]
    public void TrainerLoadStateChecksTheWholeStateBeforeChangingAnything()
    {
        var (model, trainer) = Other();
        using var _ = model;
        TrainerState state = trainer.GetState();
        string before = JsonSerializer.Serialize(trainer.GetState(), s_json);
        var bad = state with { StepCount = 1000, EpochLosses = [[1, 2, 3], [1, 2, 3]], EpochSums = [1, 2] };
        Assert.Contains("running loss sums", Assert.Throws<ArgumentException>(() => trainer.LoadState(bad)).Message);
        Assert.Equal(before, JsonSerializer.Serialize(trainer.GetState(), s_json));
        var badScale = state with { StepCount = 1000, WeightingState = new Dictionary<string, double[]> { ["loss_scale"] = [1, double.NaN, 1] } };
        Assert.Contains("loss_scale", Assert.Throws<ArgumentException>(() => trainer.LoadState(badScale)).Message);
        Assert.Equal(before, JsonSerializer.Serialize(trainer.GetState(), s_json));
    }
}
