using MtlDsl.Reporting;
using MtlDsl.Training;
using MtlDslApp;
using TorchSharp;

const int seed = 1;
torch.manual_seed(seed);

// The network as the generator built it: layers, shapes and parameter counts, known at compile time.
Console.WriteLine(PointModel.Summary);
Console.WriteLine();

var (train, validation) = PointData.Create(count: 4000, seed).Split(validationFraction: 0.2, seed);

using var model = new PointModel();
var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 3e-3));
var options = new FitOptions { Epochs = 8, BatchSize = 64, Seed = seed };
trainer.FitWithProgress(train, options, validation);

// Each task's loss and metrics on the validation points (accuracy and macro F1; MAE and RMSE).
Console.WriteLine();
Console.WriteLine(trainer.Evaluate(validation));
