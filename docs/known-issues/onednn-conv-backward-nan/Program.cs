// libtorch 2.10 (TorchSharp 0.107, oneDNN 3.7.1): a convolution's input gradient sometimes holds whole channels of
// NaN when the output-channel count is not a multiple of oneDNN's block (16 with AVX-512, 8 with AVX2).
// Repeats one forward + backward on fixed tensors and counts the input gradients that differ from the first
// or are not finite. A deterministic op on identical inputs: both counts should be 0.
//   dotnet run -c Release -- [outChannels=20] [repetitions=3000]
// Compare: outChannels 32 (a multiple of the block), or ONEDNN_VERBOSE=1 to see the kernel (jit:avx512_core
// backward_data with diff_dst "ap" = padded).
using TorchSharp;
using static TorchSharp.torch;

int outChannels = args.Length > 0 ? int.Parse(args[0]) : 20;
int repetitions = args.Length > 1 ? int.Parse(args[1]) : 3000;

// MultiMNIST's LeNet, second convolution: 10 -> outChannels, 5x5, on a batch of 64 12x12 maps.
var input = torch.randn([64, 10, 12, 12], generator: new Generator(1)).requires_grad_(true);
var weight = (torch.randn([outChannels, 10, 5, 5], generator: new Generator(2)) * 0.1).requires_grad_(true);
var bias = torch.randn([outChannels], generator: new Generator(3)).requires_grad_(true);
var upstream = torch.randn([64, outChannels, 8, 8], generator: new Generator(4));

Tensor? first = null;
int different = 0, nonFinite = 0, firstBad = -1;
for (int i = 0; i < repetitions; i++)
{
    using var scope = torch.NewDisposeScope();
    input.grad?.zero_();
    nn.functional.conv2d(input, weight, bias).backward([upstream]);
    Tensor gradient = input.grad!.clone();
    bool finite = gradient.isfinite().all().item<bool>();
    bool same = first is null || gradient.equal(first).all().item<bool>();
    if (!finite) nonFinite++;
    if (!same) different++;
    if ((!finite || !same) && firstBad < 0)
    {
        firstBad = i;
        var channels = Enumerable.Range(0, 10).Where(c => !gradient[.., c].isfinite().all().item<bool>());
        Console.WriteLine($"repetition {i}: input-gradient channels with NaN: [{string.Join(", ", channels)}]");
    }
    first ??= gradient.MoveToOuterDisposeScope();
}
Console.WriteLine($"conv2d 10->{outChannels}, 5x5, input [64, 10, 12, 12], {torch.get_num_threads()} thread(s), " +
                  $"{repetitions} repetitions: {different} input gradients differ from the first, {nonFinite} are not finite");
return different == 0 && nonFinite == 0 ? 0 : 1;
