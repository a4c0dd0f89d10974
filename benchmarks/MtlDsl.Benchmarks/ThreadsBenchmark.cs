using System.Diagnostics;
using System.Globalization;
using MtlDsl.Data;
using MtlDsl.Training;
using MultiMnist;
using Penguins;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Benchmarks;

/// <summary>
/// Why a small model trains 10–30× slower with libtorch's default intra-op threads on a busy 2-core machine:
/// the same training epoch with 1 and with 2 intra-op threads (and variants of the OpenMP settings), on a quiet
/// machine and with the benchmark itself keeping every core busy (one spinning thread per core, in this
/// process), in interleaved rounds; medians and ratios to one thread. Each configuration is a worker process
/// of its own, started once, because OpenMP reads <c>OMP_WAIT_POLICY</c> and <c>GOMP_SPINCOUNT</c> only when
/// libtorch loads (before <c>Main</c>: MtlDsl's module initializer loads it): the worker gets them in its
/// environment and is told to run one epoch at a time over its standard input, answering with the epoch's wall
/// time and the CPU time the worker used in it (CPU ÷ wall above the thread count's share shows spinning).
/// </summary>
internal static class ThreadsBenchmark
{
    // Name, intra-op threads, extra environment. GOMP_SPINCOUNT=300000 is libgomp's own default, set explicitly so
    // that MtlDsl leaves the wait policy alone; the last configuration sets nothing: what MtlDsl users get.
    private static readonly (string Name, string Threads, (string, string)[] Environment)[] Configurations =
    [
        ("1 thread", "1", []),
        ("2 threads, OpenMP's default spin-wait", "2", [("GOMP_SPINCOUNT", "300000")]),
        ("2 threads, OMP_WAIT_POLICY=PASSIVE", "2", [("OMP_WAIT_POLICY", "PASSIVE")]),
        ("2 threads, nothing set (MtlDsl default)", "2", []),
    ];

    public static void Run(int rounds, string model, int images, int batch, int spinners, bool skipQuiet)
    {
        var workers = Configurations.Select(c => new Worker(c.Name, c.Threads, c.Environment, model, images, batch)).ToArray();
        try
        {
            string sizes = model == "penguins" ? "Penguins MLP (about 270 rows, batch 32)" : $"MultiLeNet on {images:N0} MultiMNIST-sized images, batch {batch}";
            Console.WriteLine($"One training epoch of the {sizes}; {Environment.ProcessorCount} logical CPUs; " +
                              $"load average before: {LoadAverage()}");
            foreach (Worker w in workers) Console.WriteLine($"  worker '{w.Name}': {w.Banner}");
            foreach (Worker w in workers) w.Epoch(); // warm-up: the first epoch allocates and checks the kernels

            var conditions = skipQuiet ? new[] { true } : new[] { false, true };
            var times = new Dictionary<(bool Busy, int Config), List<(double Wall, double Cpu)>>();
            using var spin = new Spinners(spinners);
            for (int round = 0; round < rounds; round++)
            {
                foreach (bool busy in conditions)
                {
                    spin.Running = busy;
                    if (busy) Thread.Sleep(200);  // let the scheduler see the competitors
                    for (int j = 0; j < workers.Length; j++)
                    {
                        int c = (j + round) % workers.Length;  // the order rotates every round
                        (double wall, double cpu) = workers[c].Epoch();
                        if (!times.TryGetValue((busy, c), out var list)) times[(busy, c)] = list = [];
                        list.Add((wall, cpu));
                    }
                    spin.Running = false;
                }
                Console.Error.Write($"\rround {round + 1}/{rounds}");
            }
            Console.Error.WriteLine();

            foreach (bool busy in conditions)
            {
                Console.WriteLine();
                Console.WriteLine(busy
                    ? $"busy: {spinners} spinning thread(s) in the benchmark's process compete for the {Environment.ProcessorCount} CPUs ({rounds} rounds, median)"
                    : $"quiet: nothing else started by the benchmark ({rounds} rounds, median)");
                Console.WriteLine($"  {"configuration",-38} {"epoch s",8} {"× 1 thread",10} {"worker CPU s",13}");
                double one = Statistics.Median(times[(busy, 0)].Select(t => t.Wall));
                for (int c = 0; c < workers.Length; c++)
                {
                    double wall = Statistics.Median(times[(busy, c)].Select(t => t.Wall));
                    double cpu = Statistics.Median(times[(busy, c)].Select(t => t.Cpu));
                    Console.WriteLine($"  {workers[c].Name,-38} {wall,8:F3} {wall / one,10:F2} {cpu,13:F3}");
                }
            }
            if (!skipQuiet)
            {
                double quiet = Statistics.Median(times[(false, 1)].Select(t => t.Wall)), busy = Statistics.Median(times[(true, 1)].Select(t => t.Wall));
                double quietOne = Statistics.Median(times[(false, 0)].Select(t => t.Wall)), busyOne = Statistics.Median(times[(true, 0)].Select(t => t.Wall));
                Console.WriteLine();
                Console.WriteLine($"busy ÷ quiet: 1 thread {busyOne / quietOne:F2}×, 2 threads {busy / quiet:F2}×");
            }
            Console.WriteLine($"load average after: {LoadAverage()}");
        }
        finally
        {
            foreach (Worker w in workers) w.Dispose();
        }
    }

    /// <summary>A worker: one model, one configuration; runs an epoch per "epoch" line and prints "wall cpu" in seconds.</summary>
    public static void Serve(string threads, string model, int images, int batch)
    {
        torch.set_num_threads(int.Parse(threads, CultureInfo.InvariantCulture));
        Func<double> epoch = model == "penguins" ? PenguinsEpoch() : LeNetEpoch(images, batch);
        Console.WriteLine($"{MtlDsl.Native.TorchNative.LoadedFrom}; libtorch threads {torch.get_num_threads()}, inter-op {torch.get_num_interop_threads()}; " +
                          $"OpenMP wait: {MtlDsl.Native.OpenMpWaitPolicy.Policy}");
        using var process = Process.GetCurrentProcess();
        while (Console.ReadLine() is "epoch")
        {
            process.Refresh();
            TimeSpan cpuBefore = process.TotalProcessorTime;
            double wall = epoch();
            process.Refresh();
            Console.WriteLine(FormattableString.Invariant($"{wall} {(process.TotalProcessorTime - cpuBefore).TotalSeconds}"));
        }
    }

    private static Func<double> LeNetEpoch(int images, int batch)
    {
        torch.manual_seed(1);
        var model = new MultiLeNet();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 2e-3));
        var data = MultiTaskData<MultiLeNet.Targets>.Shared(rand(images, 1, 28, 28),
            new MultiLeNet.Targets(randint(0, 10, [images]), randint(0, 10, [images])));
        var options = new FitOptions { Epochs = 1, BatchSize = batch, Seed = 1 };
        return () =>
        {
            var clock = Stopwatch.StartNew();
            trainer.Fit(data, options);
            return clock.Elapsed.TotalSeconds;
        };
    }

    private static Func<double> PenguinsEpoch()
    {
        var (train, _, _) = PenguinData.Load(PenguinData.Read(PenguinData.DefaultPath), testFraction: 0.2, seed: 7);
        var data = MultiTaskData<PenguinModel.Targets>.Shared(train.Inputs, new PenguinModel.Targets(train.Species, train.Sex, train.BodyMass));
        torch.manual_seed(1);
        var model = new PenguinModel();
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 1e-2));
        var options = new FitOptions { Epochs = 1, BatchSize = 32, Seed = 1 };
        return () =>
        {
            var clock = Stopwatch.StartNew();
            trainer.Fit(data, options);
            return clock.Elapsed.TotalSeconds;
        };
    }

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }

    private sealed class Worker : IDisposable
    {
        private readonly Process _process;

        public Worker(string name, string threads, (string, string)[] environment, string model, int images, int batch)
        {
            Name = name;
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            // Under "dotnet MtlDsl.Benchmarks.dll" the host is dotnet and the first argument the assembly.
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ThreadsBenchmark).Assembly.Location);
            foreach (string a in new[] { "threads-worker", threads, model, images.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(a);
            // The worker's thread count is the benchmark's choice alone: no inherited setting may change it.
            foreach (string variable in new[] { "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MTLDSL_THREADS" }) start.Environment.Remove(variable);
            foreach (var (key, value) in environment) start.Environment[key] = value;
            _process = Process.Start(start)!;
            Banner = _process.StandardOutput.ReadLine() ?? "worker failed to start";
        }

        public string Name { get; }

        public string Banner { get; }

        public (double Wall, double Cpu) Epoch()
        {
            _process.StandardInput.WriteLine("epoch");
            string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"worker '{Name}' ended");
            string[] parts = line.Split(' ');
            return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000)) _process.Kill();
            _process.Dispose();
        }
    }

    /// <summary>Busy loops, one per thread, that spin while <see cref="Running"/> and sleep otherwise.</summary>
    private sealed class Spinners : IDisposable
    {
        private readonly ManualResetEventSlim _go = new(false);
        private readonly Thread[] _threads;
        private volatile bool _running, _stopped;

        public Spinners(int count)
        {
            _threads = Enumerable.Range(0, count).Select(_ => new Thread(Spin) { IsBackground = true }).ToArray();
            foreach (Thread t in _threads) t.Start();
        }

        public bool Running
        {
            get => _running;
            set
            {
                _running = value;
                if (value) _go.Set();
                else _go.Reset();
            }
        }

        private void Spin()
        {
            double x = 1;
            while (!_stopped)
            {
                _go.Wait();
                while (_running) x = Math.Sqrt(x + 1);  // a CPU-bound loop, as a compiler's would be
            }
            GC.KeepAlive(x);
        }

        public void Dispose()
        {
            _stopped = true;
            Running = true;
            _running = false;
            foreach (Thread t in _threads) t.Join();
            _go.Dispose();
        }
    }
}
