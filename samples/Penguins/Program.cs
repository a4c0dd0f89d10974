using Penguins;

// The Palmer penguins (vega-datasets 3.2.1, shipped in Data/): one network predicts species, sex and body mass
// from beak, flipper and island; missing sex labels are masked, not dropped. Compared with one model per task.
//   dotnet run --project samples/Penguins [-- --epochs N] [--out folder] [--onnx penguins.onnx]
// --onnx writes the trained multi-task network as ONNX, which samples/OnnxServing serves with ONNX Runtime alone.
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
int epochs = int.TryParse(Value("--epochs"), out int e) ? e : 60;
string output = Value("--out") ?? Path.Combine("out", "penguins");
const int seed = 7;

var penguins = PenguinData.Read(PenguinData.DefaultPath);
var (train, test, report) = PenguinData.Load(penguins, testFraction: 0.3, seed);
Console.WriteLine($"{report.Total} penguins in the file.");
Console.WriteLine($"  dropped {report.DroppedNoFeatures.Count} without beak or flipper measurements (records {string.Join(", ", report.DroppedNoFeatures)}): nothing to predict from.");
Console.WriteLine($"  kept {report.SexMissing.Count} whose sex is missing or recorded as \".\" (records {string.Join(", ", report.SexMissing)}): the sex loss and metrics leave them out, species and body mass train on them.");
if (report.MassMissing.Count > 0)
    Console.WriteLine($"  kept {report.MassMissing.Count} whose body mass is missing (records {string.Join(", ", report.MassMissing)}): masked in the body-mass task.");
Console.WriteLine($"  {train.Rows.Count} for training, {test.Rows.Count} for test (seeded split); body mass standardised with the training mean {train.MassScale.Mean:F0} g and deviation {train.MassScale.Deviation:F0} g.");
Console.WriteLine();
Console.WriteLine(PenguinModel.Summary);
Console.WriteLine();

string? onnx = Value("--onnx");
var comparisons = PenguinExperiment.Run(train, test, epochs, seed, output, onnx);
Console.WriteLine($"Test metrics after {epochs} epochs (Adam 1e-2, cosine schedule, batch 32):");
Console.WriteLine(PenguinExperiment.Format(comparisons));
Console.WriteLine($"Histories, plots and checkpoints in {Path.GetFullPath(output)}");
if (onnx is not null)
    Console.WriteLine($"The multi-task network as ONNX in {Path.GetFullPath(onnx)}: dotnet run -c Release --project samples/OnnxServing -- --Model {Path.GetFullPath(onnx)}");
