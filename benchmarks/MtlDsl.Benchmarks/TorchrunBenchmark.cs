using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using MtlDsl.Data;
using MtlDsl.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Benchmarks;

/// <summary>A dense network of three tasks, large enough that a step is compute, not overhead: 64 features, two shared layers of 256.</summary>
[MultiTaskModel]
[Input(64)]
internal partial class ScaleModel
{
    [Trunk]
    [Linear(256), ReLU, Linear(256), ReLU]
    public partial Sequential Encoder { get; }

    [Task(Loss.BinaryCrossEntropyWithLogits)]
    [Linear(64), ReLU, Linear(1)]
    public partial Sequential Click { get; }

    [Task(Loss.MeanSquaredError)]
    [Linear(64), ReLU, Linear(1)]
    public partial Sequential Rating { get; }

    [Task(Loss.CrossEntropy)]
    [Linear(64), ReLU, Linear(5)]
    public partial Sequential Genre { get; }
}

/// <summary>
/// "torchrun": the PyTorch twin trained by train_ddp.py under torchrun with 1 and with 2 processes on this machine,
/// alternately, with the declared weights (DistributedDataParallel), PCGrad (each task's gradient of the shared
/// parameters averaged across the processes) and FAMO (a forward pass more per step): samples per second of the
/// training loop (train_ddp.py's own timing of each epoch, without Python's start), and the ratio of 2 processes to 1,
/// per round. Then what every step sends per process for each strategy, from the model's parameter counts: what a
/// GPU cluster's NCCL would carry. Needs torchrun (Debian's python3-torch).
/// Usage: torchrun [--rounds N] [--samples N] [--batch N]
/// </summary>
internal static class TorchrunBenchmark
{
    public static void Run(int rounds, int samples, int batch)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"mtldsl-torchrun-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            torch.manual_seed(1);
            using var model = new ScaleModel();
            model.ExportPyTorch(folder);
            Tensor x = randn(samples, 64);
            Tensor w = randn(64, 3);
            Tensor z = x.mm(w);
            var data = MultiTaskData<ScaleModel.Targets>.Shared(x, new ScaleModel.Targets(z[.., 0..1].gt(0).to(ScalarType.Float32), z[.., 1..2],
                z[.., 2].mul(1.5).add(2.5).clamp(0, 4.99).to(ScalarType.Int64)));
            data.Save(Path.Combine(folder, "train.safetensors"));

            Console.WriteLine($"ScaleModel's twin ({Count(model.parameters())} parameters, {Count(model.SharedParameters())} shared), {samples} samples in global batches of {batch}, SGD, float32;");
            Console.WriteLine($"torchrun --nproc_per_node 1 and 2 on this machine ({Environment.ProcessorCount} cores; torchrun gives each process one thread), {rounds} interleaved rounds of one epoch each:");
            Console.WriteLine();
            Console.WriteLine("  strategy   1 process      2 processes    2 / 1 (median of per-round ratios)");
            foreach (string strategy in new[] { "declared", "PCGrad", "FAMO" })
            {
                var (values, ratios) = Statistics.Interleaved(2, rounds, c => SamplesPerSecond(folder, strategy, c + 1, samples, batch));
                Console.WriteLine($"  {strategy,-9}  {Statistics.Median(values[0]),7:F0} /s    {Statistics.Median(values[1]),7:F0} /s     {Statistics.Median(ratios[1]),5:F2}");
            }
            Console.WriteLine();
            PrintCommunication(model);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static long Count(IEnumerable<Parameter> parameters) => parameters.Sum(p => p.numel());

    // One epoch under torchrun; the training loop's samples per second, as train_ddp.py timed its epoch.
    private static double SamplesPerSecond(string folder, string strategy, int processes, int samples, int batch)
    {
        var start = new ProcessStartInfo("torchrun")
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string argument in new[] { "--redirects", "1", "--tee", "1", "--master_port", FreePort().ToString(CultureInfo.InvariantCulture),
                     "--nproc_per_node", processes.ToString(CultureInfo.InvariantCulture), "train_ddp.py", "--model", "ScaleModel", "--data", "train.safetensors",
                     "--weights", "ScaleModel.safetensors", "--out", "trained.safetensors", "--epochs", "1", "--batch-size", batch.ToString(CultureInfo.InvariantCulture),
                     "--lr", "0.01", "--weighting", strategy, "--strategy-seed", "1" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("torchrun did not start");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) process.Kill(entireProcessTree: true);
        Match seconds = Regex.Match(output, @"epoch 1 of 1: .*; ([0-9.]+) s");
        if (process.ExitCode != 0 || !seconds.Success)
            throw new InvalidOperationException($"torchrun with {processes} processes and {strategy} failed ({process.ExitCode}): {output}\n{error.Result}");
        return samples / double.Parse(seconds.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    // What each process sends per step: a ring all-reduce of n numbers sends 2 (P − 1) / P · n of them per process.
    private static void PrintCommunication(ScaleModel model)
    {
        long all = Count(model.parameters()), shared = Count(model.SharedParameters()), heads = all - shared;
        const int tasks = 3;
        Console.WriteLine($"What one step all-reduces, per strategy ({tasks} tasks; shared parameters S = {shared}, the rest H = {heads}; numbers of 4 bytes in float32):");
        Console.WriteLine("  loss weighting (declared, EW, DWA, UW, RLW, GLS, FAMO): S + H gradients (DistributedDataParallel, in buckets during backward)");
        Console.WriteLine($"      = {all} numbers, {all * 4 / 1024.0:F0} KiB; plus 2K + K numbers (the counts of labels and the losses), and UW's K log-variances");
        Console.WriteLine("  gradient methods (MGDA, PCGrad, CAGrad, IMTL, GradVac, Aligned-MTL, Nash-MTL, FairGrad, UPGrad, DualProj, ConFIG, GradNorm):");
        Console.WriteLine($"      K·S + H gradients = {tasks * shared + heads} numbers, {(tasks * shared + heads) * 4 / 1024.0:F0} KiB ({(double)(tasks * shared + heads) / all:F2}× loss weighting), after the backward passes");
        Console.WriteLine("  FAMO: also the K losses after the optimizer step (a forward pass more per step)");
        Console.WriteLine("  ring all-reduce over P processes: each sends 2 (P − 1) / P of these; on P GPUs with NCCL at bandwidth B, time ≈ 2 (P − 1) / P · bytes / B");
    }
}
