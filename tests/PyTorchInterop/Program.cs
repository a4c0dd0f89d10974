using MtlDsl.Checkpoints;
using MultiMnist;
using TorchSharp;
using static TorchSharp.torch;

// export <folder>: writes the MultiMNIST network's weights (weights.safetensors) and, for a fixed input batch, the
//   input and both heads' outputs in eval mode (io.safetensors), for check.py to compare with PyTorch.
// import <folder>: loads the weights PyTorch wrote (from_pytorch.safetensors) and checks that the outputs equal the
//   ones PyTorch computed (from_pytorch_io.safetensors).
// architectures <folder>: see Architectures.cs.
// generated <folder>: see Generated.cs.
// distributed-export|distributed-check <folder>: see Distributed.cs.
// strategies-export|strategies-check <folder>: see Strategies.cs.
// resume-export|resume-check <folder>: see Resume.cs.
string[] commands = ["export", "import", "architectures", "generated", "distributed-export", "distributed-check", "strategies-export", "strategies-check", "resume-export", "resume-check"];
if (args.Length != 2 || !commands.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: dotnet run --project tests/PyTorchInterop -- {string.Join("|", commands)} <folder>");
    return 2;
}
string folder = args[1];
if (args[0] == "architectures") return ArchitectureExport.Run(folder);
if (args[0] == "generated") return GeneratedExport.Run(folder);
if (args[0] == "distributed-export") return DistributedCheck.Export(folder);
if (args[0] == "distributed-check") return DistributedCheck.Check(folder);
if (args[0] == "strategies-export") return MtlDsl.Interop.StrategyCheck.Export(folder);
if (args[0] == "strategies-check") return MtlDsl.Interop.StrategyCheck.Check(folder);
if (args[0] == "resume-export") return MtlDsl.Interop.ResumeCheck.Export(folder);
if (args[0] == "resume-check") return MtlDsl.Interop.ResumeCheck.Check(folder);
Directory.CreateDirectory(folder);
if (args[0] == "export")
{
    torch.manual_seed(5);
    using var model = new MultiLeNet();
    model.eval();
    Tensor input = rand(8, 1, 28, 28);
    using var noGrad = no_grad();
    var outputs = model.forward(input);
    SafeTensors.Save(model, Path.Combine(folder, "weights.safetensors"));
    File.WriteAllBytes(Path.Combine(folder, "io.safetensors"), SafeTensors.Serialize(
        new Dictionary<string, Tensor> { ["input"] = input, ["left"] = outputs.Left, ["right"] = outputs.Right }));

    using var tabular = new MtlDsl.TestModels.TabularModel();
    using (enable_grad())
    {
        tabular.train();  // a few batches move BatchNorm's running statistics away from their initial values
        for (int i = 0; i < 5; i++) tabular.forward(randn(32, 12) * 2 + 1);
    }
    tabular.eval();
    Tensor features = randn(16, 12);
    var tabularOutputs = tabular.forward(features);
    SafeTensors.Save(tabular, Path.Combine(folder, "tabular_weights.safetensors"));
    File.WriteAllBytes(Path.Combine(folder, "tabular_io.safetensors"), SafeTensors.Serialize(new Dictionary<string, Tensor>
    {
        ["input"] = features, ["species"] = tabularOutputs.Species, ["is_male"] = tabularOutputs.IsMale, ["body_mass"] = tabularOutputs.BodyMass,
    }));
    Console.WriteLine($"exported {model.state_dict().Count} + {tabular.state_dict().Count} tensors to {folder}");
    return 0;
}
else
{
    torch.manual_seed(99);
    using var model = new MultiLeNet();
    model.eval();
    SafeTensors.Load(model, Path.Combine(folder, "from_pytorch.safetensors"));
    var (io, _) = SafeTensors.Deserialize(File.ReadAllBytes(Path.Combine(folder, "from_pytorch_io.safetensors")));
    using var noGrad = no_grad();
    var outputs = model.forward(io["input"]);
    double left = (outputs.Left - io["left"]).abs().max().item<float>(), right = (outputs.Right - io["right"]).abs().max().item<float>();
    Console.WriteLine($"PyTorch's weights in TorchSharp: largest output difference left {left:E2}, right {right:E2}");
    return left < 1e-5 && right < 1e-5 ? 0 : 1;
}
