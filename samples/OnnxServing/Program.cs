using OnnxServing;

// Serves an ONNX file that MtlDsl exported (model.ExportOnnx) with ONNX Runtime alone:
//   dotnet run -c Release --project samples/OnnxServing -- --Model penguins.onnx [--urls http://127.0.0.1:5080]
// GET / describes the model (inputs, tasks); POST /predict takes {"inputs": {name: [sample, ...]}} and answers every
// task's prediction for every sample. A request that does not fit the model is a 400 that says what is wrong. A file
// that is not what ExportOnnx wrote (its digest does not match, or ONNX Runtime cannot load it) or a setting out of
// range stops the server at startup with one line on stderr and exit code 1.
string? model = args.SkipWhile(a => a != "--Model").Skip(1).FirstOrDefault() ?? Environment.GetEnvironmentVariable("MODEL");
if (model is null)
{
    Console.Error.WriteLine("usage: dotnet run --project samples/OnnxServing -- --Model <model.onnx> [--urls http://127.0.0.1:5080]");
    Console.Error.WriteLine("  (an ONNX file from MtlDsl: dotnet run --project samples/Penguins -- --onnx penguins.onnx)");
    return 2;
}
WebApplication app;
try
{
    app = ServingApp.Build(model, args);
}
catch (StartupException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
using (app) app.Run();
return 0;
