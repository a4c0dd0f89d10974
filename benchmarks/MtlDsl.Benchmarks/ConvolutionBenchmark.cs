using System.Diagnostics;
using System.Runtime.InteropServices;
using MultiMnist;
using SeedExample;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MtlDsl.Benchmarks;

/// <summary>
/// The candidate fixes for libtorch 2.10's oneDNN faults in convolutions (docs/known-issues), side by side on the
/// article's network, on MultiMNIST's LeNet and on a head of transposed convolutions, in one process: the unprotected network
/// written by hand with TorchSharp's convolutions, the same with oneDNN turned off for ATen
/// (<c>at::globalContext().setUserEnabledMkldnn(false)</c>, only while its steps run), and the generated model,
/// whose convolutions compute with channels padded to the block (<see cref="BlockAlignedConv"/>).
/// Step times are measured in interleaved rounds (the order rotates every round); the ratios are medians of the
/// per-round ratios to the unprotected network.
/// </summary>
internal static class ConvolutionBenchmark
{
    public static void Run(int rounds, int stepsPerRound)
    {
        Console.WriteLine($"Convolution fix candidates; {torch.get_num_threads()} thread(s); TorchSharp native: {Native.TorchNative.LoadedFrom}");
        Compare("article network (batch 64 of 3x28x28; convolutions 32, 64, 128, 35 channels)", SeedCandidates(), rounds, stepsPerRound);
        Compare("MultiMNIST LeNet (batch 64 of 1x28x28; convolutions 10, 20 channels)", LeNetCandidates(), rounds, stepsPerRound);
        Compare("dense head (batch 64 of 20x14x14; ConvTranspose2d 20->10 k3 s1, Conv2d 10->20 k3, ConvTranspose2d 20->3 k4 s2)", TransposedCandidates(), rounds, stepsPerRound);
    }

    // A dense-prediction head with transposed convolutions at stride 1 (where oneDNN 3.7.1's deconvolution is wrong on
    // some CPUs) and 2: TorchSharp's modules unprotected and with oneDNN off, and MtlDsl's padded ones.
    private static (string, Action)[] TransposedCandidates()
    {
        Tensor[] x = torch.randn(64 * 4, 20, 14, 14).split(64);
        Tensor[] y = torch.randn(64 * 4, 3, 28, 28).split(64);
        int cursor = 0;
        (string, Action) Candidate(string name, bool aligned, bool oneDnnOff)
        {
            torch.manual_seed(0);
            Sequential model = aligned
                ? Sequential(BlockAlignedConv.ConvTranspose2d(20, 10, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1)), ReLU(), BlockAlignedConv.Conv2d(10, 20, 3, padding: 1), ReLU(),
                    BlockAlignedConv.ConvTranspose2d(20, 3, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1)))
                : Sequential(ConvTranspose2d(20, 10, 3, padding: 1), ReLU(), Conv2d(10, 20, 3, padding: 1), ReLU(), ConvTranspose2d(20, 3, 4, stride: 2, padding: 1));
            var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
            void Step()
            {
                using var scope = torch.NewDisposeScope();
                int i = cursor++ % x.Length;
                optimizer.zero_grad();
                // The first layer reads a tensor that needs a gradient, as a head reads the trunk's output.
                functional.mse_loss(model.forward(x[i].requires_grad_(true)), y[i]).backward();
                optimizer.step();
            }
            return (name, oneDnnOff ? () => WithoutOneDnn(Step) : Step);
        }
        return [Candidate("hand-written, unprotected", false, false), Candidate("hand-written, oneDNN off", false, true), Candidate("block-aligned (MtlDsl's layers)", true, false)];
    }

    private static void Compare(string title, (string Name, Action Step)[] candidates, int rounds, int stepsPerRound)
    {
        foreach (var (_, step) in candidates)
            for (int i = 0; i < 10; i++) step();
        var (times, ratios) = Statistics.Interleaved(candidates.Length, rounds, c =>
        {
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < stepsPerRound; s++) candidates[c].Step();
            return watch.Elapsed.TotalMilliseconds / stepsPerRound;
        });
        Console.WriteLine();
        Console.WriteLine($"{title}, {rounds} rounds of {stepsPerRound} steps, median:");
        for (int c = 0; c < candidates.Length; c++)
            Console.WriteLine($"  {candidates[c].Name,-44} {Statistics.Median(times[c]),7:F2} ms   ratio {Statistics.Median(ratios[c]),5:F3}");
    }

    private static (string, Action)[] SeedCandidates()
    {
        torch.manual_seed(0);
        var (images, classes, boxes) = SyntheticVision.Generate(64 * 4, seed: 1);
        Tensor[] x = images.split(64), c = classes.split(64), b = boxes.split(64);
        var generated = new VisionModel();
        var trainer = generated.CreateTrainer(optim.Adam(generated.parameters(), lr: 1e-3));
        return Candidates(generated, aligned => new HandWrittenVisionModel(aligned), x.Length,
            (model, optimizer, i) => model.Step(optimizer, x[i], c[i], b[i]),
            i => trainer.Step(x[i], new VisionModel.Targets(c[i], b[i])));
    }

    private static (string, Action)[] LeNetCandidates()
    {
        torch.manual_seed(0);
        Tensor[] x = torch.rand(64 * 4, 1, 28, 28).split(64);
        Tensor[] left = torch.randint(0, 10, [64 * 4]).split(64), right = torch.randint(0, 10, [64 * 4]).split(64);
        var generated = new MultiLeNet();
        var trainer = generated.CreateTrainer(optim.Adam(generated.parameters(), lr: 1e-3));
        return Candidates(generated, aligned => new HandWrittenLeNet(aligned), x.Length,
            (model, optimizer, i) => model.Step(optimizer, x[i], left[i], right[i]),
            i => trainer.Step(x[i], new MultiLeNet.Targets(left[i], right[i])));
    }

    // The hand-written network three ways (unprotected, with oneDNN off, with block-aligned convolutions), each from
    // the generated model's weights with an Adam of its own, and the generated model; every candidate takes the next
    // of the batches.
    private static (string, Action)[] Candidates<TModel>(nn.Module generated, Func<bool, TModel> handWritten, int batches,
        Action<TModel, optim.Optimizer, int> handWrittenStep, Action<int> generatedStep) where TModel : nn.Module
    {
        int cursor = 0;
        (string, Action) HandWritten(string name, bool aligned, bool oneDnnOff)
        {
            TModel model = handWritten(aligned);
            model.load_state_dict(generated.state_dict());
            var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
            void Step() => handWrittenStep(model, optimizer, cursor++ % batches);
            return (name, oneDnnOff ? () => WithoutOneDnn(Step) : Step);
        }
        return
        [
            HandWritten("hand-written, unprotected", aligned: false, oneDnnOff: false),
            HandWritten("hand-written, oneDNN off", aligned: false, oneDnnOff: true),
            HandWritten("hand-written, block-aligned convolutions", aligned: true, oneDnnOff: false),
            ("generated, block-aligned convolutions", () => generatedStep(cursor++ % batches)),
        ];
    }

    private static unsafe void WithoutOneDnn(Action action)
    {
        var (context, setEnabled) = OneDnnSwitch.Value;
        setEnabled(context, 0);
        try { action(); }
        finally { setEnabled(context, 1); }
    }

    // at::globalContext() and at::Context::setUserEnabledMkldnn(bool), which TorchSharp does not expose.
    private static readonly Lazy<(IntPtr, Action<IntPtr, byte>)> OneDnnSwitch = new(() =>
    {
        IntPtr library = NativeLibrary.Load("libtorch_cpu.so", typeof(torch).Assembly, null);
        unsafe
        {
            var globalContext = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "_ZN2at13globalContextEv");
            var setUserEnabledMkldnn = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb");
            return (globalContext(), (context, enabled) => setUserEnabledMkldnn(context, enabled));
        }
    });

    /// <summary>MultiMNIST's LeNet (samples/MultiMnist) in plain TorchSharp, with its state-dict names.</summary>
    private sealed class HandWrittenLeNet : Module<Tensor, (Tensor Left, Tensor Right)>
    {
        private readonly Sequential shared, left, right;

        public HandWrittenLeNet(bool blockAligned = false) : base(nameof(HandWrittenLeNet))
        {
            Module<Tensor, Tensor> Conv(long inChannels, long outChannels) =>
                blockAligned ? BlockAlignedConv.Conv2d(inChannels, outChannels, 5) : Conv2d(inChannels, outChannels, 5);
            shared = Sequential(Conv(1, 10), MaxPool2d(2), ReLU(), Conv(10, 20), Dropout(0.5), MaxPool2d(2), ReLU(), Flatten(), Linear(320, 50), ReLU());
            left = Sequential(Linear(50, 50), ReLU(), Dropout(0.5), Linear(50, 10));
            right = Sequential(Linear(50, 50), ReLU(), Dropout(0.5), Linear(50, 10));
            RegisterComponents();
        }

        public override (Tensor Left, Tensor Right) forward(Tensor input)
        {
            Tensor representation = shared.forward(input);
            return (left.forward(representation), right.forward(representation));
        }

        public void Step(optim.Optimizer optimizer, Tensor images, Tensor leftDigits, Tensor rightDigits)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var (l, r) = forward(images);
            Tensor leftLoss = functional.cross_entropy(l, leftDigits), rightLoss = functional.cross_entropy(r, rightDigits);
            Tensor total = leftLoss + rightLoss;
            _ = stack([total, leftLoss, rightLoss]).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
            total.backward();
            optimizer.step();
        }
    }
}
