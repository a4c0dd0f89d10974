using System.IO.Compression;
using MultiMnist;

namespace MtlDsl.Tests;

/// <summary>The full MNIST shipped with the MultiMNIST sample: the standard files, checked, and the paper's construction on them.</summary>
public class MnistFilesTests
{
    private static readonly Lazy<(MnistDigits Train, MnistDigits Test)> s_mnist = new(() => MnistFiles.Load(MnistFiles.DefaultFolder));

    [Fact]
    public void TheShippedFilesAreTheStandardMnist()
    {
        var (train, test) = s_mnist.Value;
        Assert.Equal((60_000, 10_000), (train.Count, test.Count));
        Assert.Equal((28, 28, 28, 28), (train.Rows, train.Columns, test.Rows, test.Columns));
        // The standard per-digit counts of MNIST's training and test sets.
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], Enumerable.Range(0, 10).Select(d => train.Labels.Count(l => l == d)));
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], Enumerable.Range(0, 10).Select(d => test.Labels.Count(l => l == d)));
    }

    [Fact]
    public void AFileThatIsNotTheStandardOneIsRefusedWithItsHash()
    {
        string folder = Directory.CreateTempSubdirectory("mnist-").FullName;
        try
        {
            foreach (string file in Directory.GetFiles(MnistFiles.DefaultFolder, "*.gz")) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            // The test labels with one label changed: still a valid IDX file, no longer MNIST's.
            string labels = Path.Combine(folder, "t10k-labels-idx1-ubyte.gz");
            byte[] content;
            using (var gzip = new GZipStream(File.OpenRead(labels), CompressionMode.Decompress))
            using (var memory = new MemoryStream()) { gzip.CopyTo(memory); content = memory.ToArray(); }
            content[100] = (byte)((content[100] + 1) % 10);
            using (var gzip = new GZipStream(File.Create(labels), CompressionLevel.Fastest)) gzip.Write(content);

            var error = Assert.Throws<InvalidDataException>(() => MnistFiles.Load(folder));
            Assert.Contains("t10k-labels-idx1-ubyte", error.Message);
            Assert.Contains(MnistFiles.Md5["t10k-labels-idx1-ubyte"], error.Message);

            File.Delete(labels);
            var missing = Assert.Throws<FileNotFoundException>(() => MnistFiles.Load(folder));
            Assert.Contains("t10k-labels-idx1-ubyte.gz", missing.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ThePapersConstructionPairsTrainingDigitsWithTrainingDigitsAndTestWithTest()
    {
        var (train, test) = s_mnist.Value;
        var small = (Train: MnistDigits.Create(train.Labels[..600], train.Pixels[..(600 * 784)], 28, 28),
                     Test: MnistDigits.Create(test.Labels[..200], test.Pixels[..(200 * 784)], 28, 28));
        MultiMnistImages images = MultiMnistImages.FromFullMnist(small.Train, small.Test, seed: 1);
        Assert.Equal([600L, 1, 28, 28], images.TrainImages.shape);
        Assert.Equal([200L, 1, 28, 28], images.TestImages.shape);
        // One image per digit, that digit on the left.
        Assert.Equal(small.Train.Labels.Select(l => (long)l), images.TrainLeft.data<long>().ToArray());
        Assert.Equal(small.Test.Labels.Select(l => (long)l), images.TestLeft.data<long>().ToArray());

        // Held out for tuning: both parts from training digits, disjoint, and no test digit used.
        MultiMnistImages tuning = MultiMnistImages.FromFullMnist(small.Train, small.Test, seed: 1, holdOut: 100);
        Assert.Equal([500L, 1, 28, 28], tuning.TrainImages.shape);
        Assert.Equal([100L, 1, 28, 28], tuning.TestImages.shape);
    }

    [Fact]
    public void ThePaperProtocolIsSgdWithMomentumAndTheRateHalvedEveryThirtyEpochs()
    {
        var options = new ExperimentOptions(100, 60_000, 10_000, ["Static"], "out", BatchSize: 256, LearningRate: Tuning.PaperRate, Paper: true);
        using var layer = TorchSharp.torch.nn.Linear(2, 1);
        var optimizer = options.CreateOptimizer(layer.parameters());
        Assert.IsType<MtlDsl.Optimizers.SGD>(optimizer);
        Assert.Equal([1.0, 1.0, 0.5, 0.5, 0.25, 0.125], new[] { 0, 29, 30, 59, 60, 99 }.Select(options.Schedule.Factor));
        Assert.Contains("SGD momentum 0.9", options.Protocol);
    }
}
