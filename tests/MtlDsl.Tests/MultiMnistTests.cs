using MtlDsl.Data;
using MtlDsl.Training;
using MultiMnist;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>The MultiMNIST sample: the shipped digits, the construction of Sener &amp; Koltun, and that the network learns both digits.</summary>
public class MultiMnistTests
{
    private static readonly Lazy<MnistDigits> s_digits = new(() => MnistDigits.Load(MnistDigits.DefaultPath));

    [Fact]
    public void TheShippedFileHoldsTheTenThousandDigitsOfTheNpmPackage()
    {
        MnistDigits digits = s_digits.Value;
        Assert.Equal(10_000, digits.Count);
        Assert.Equal((28, 28), (digits.Rows, digits.Columns));
        // Images per digit in the package's src/digits/<d>.json files.
        Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], Enumerable.Range(0, 10).Select(d => digits.Labels.Count(l => l == d)));
        Assert.Equal(255, digits.Pixels.Max());
        double ink = digits.Pixels.Average(p => (double)p) / 255;
        Assert.InRange(ink, 0.11, 0.15);  // MNIST's mean intensity is 0.13
    }

    [Fact]
    public void ComposeMatchesTheCanvasDefinition()
    {
        var random = new Random(3);
        byte[] left = new byte[784], right = new byte[784];
        random.NextBytes(left);
        random.NextBytes(right);
        byte[] image = MultiMnistBuilder.Compose(left, right);

        // The definition, written out: a 36×36 canvas, left at (0, 0), right at (6, 6), maximum where they overlap,
        // then nearest neighbour to 28×28 (the source pixel whose centre is nearest).
        var canvas = new byte[36, 36];
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) canvas[r, c] = left[r * 28 + c];
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) canvas[r + 6, c + 6] = Math.Max(canvas[r + 6, c + 6], right[r * 28 + c]);
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
            {
                int sr = (int)((r + 0.5) * 36 / 28), sc = (int)((c + 0.5) * 36 / 28);
                Assert.Equal(canvas[sr, sc], image[r * 28 + c]);
            }

        // Output (25, 25) samples canvas (32, 32), which only the right digit covers; (0, 0) only the left one.
        byte[] blank = new byte[784], ink = Enumerable.Repeat((byte)200, 784).ToArray();
        Assert.Equal(200, MultiMnistBuilder.Compose(blank, ink)[25 * 28 + 25]);
        Assert.Equal(0, MultiMnistBuilder.Compose(blank, ink)[0]);
        Assert.Equal(0, MultiMnistBuilder.Compose(ink, blank)[25 * 28 + 25]);
        Assert.Equal(200, MultiMnistBuilder.Compose(ink, blank)[0]);
    }

    [Fact]
    public void TrainingAndTestImagesUseDisjointDigits()
    {
        var (train, test) = MultiMnistBuilder.Split(10_000, 8_000, 2_000, seed: 1);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(10_000, train.Union(test).Count());
        var (smallTrain, sameTest) = MultiMnistBuilder.Split(10_000, 3_000, 2_000, seed: 1);
        Assert.Equal(test, sameTest);
        Assert.Equal(train[..3_000], smallTrain);

        var (images, leftLabels, rightLabels) = MultiMnistBuilder.Build(s_digits.Value, test[..100], seed: 5);
        Assert.Equal([100L, 1, 28, 28], images.shape);
        Assert.InRange(images.min().item<float>(), 0f, 0f);
        Assert.InRange(images.max().item<float>(), 1f, 1f);
        Assert.Equal(test[..100].Select(i => (long)s_digits.Value.Labels[i]), leftLabels.data<long>().ToArray());
        Assert.All(rightLabels.data<long>().ToArray(), l => Assert.InRange(l, 0, 9));
    }

    [Fact]
    public void TheMultiTaskLeNetLearnsBothDigits()
    {
        var (trainIndices, testIndices) = MultiMnistBuilder.Split(10_000, 3_000, 1_000, seed: 7);
        var (trainImages, trainLeft, trainRight) = MultiMnistBuilder.Build(s_digits.Value, trainIndices, seed: 8);
        var (testImages, testLeft, testRight) = MultiMnistBuilder.Build(s_digits.Value, testIndices, seed: 9);
        torch.manual_seed(7);
        using var model = new MultiLeNet();
        var trainer = model.CreateTrainer(parameters => optim.Adam(parameters, lr: 2e-3));
        var history = trainer.Fit(MultiTaskData<MultiLeNet.Targets>.Shared(trainImages, new MultiLeNet.Targets(trainLeft, trainRight)),
            new FitOptions { Epochs = 3, BatchSize = 64, Seed = 7 },
            MultiTaskData<MultiLeNet.Targets>.Shared(testImages, new MultiLeNet.Targets(testLeft, testRight)));
        EvaluationResult test = history.Epochs[^1].Validation!;
        // Chance is 10 %; three epochs on 3,000 images reach about 65 % (left) and 60 % (right).
        Assert.True(test["Left", "accuracy"] > 0.5, $"left {test["Left", "accuracy"]}");
        Assert.True(test["Right", "accuracy"] > 0.45, $"right {test["Right", "accuracy"]}");
        Assert.True(history.Epochs[^1].TrainLosses.Sum() < 0.8 * history.Epochs[0].TrainLosses.Sum());
    }

    [Fact]
    public void RegionsSayWhichDigitEveryPixelShows()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 20; trial++)
        {
            byte[] left = new byte[784], right = new byte[784];
            random.NextBytes(left);
            random.NextBytes(right);
            byte[] image = MultiMnistBuilder.Compose(left, right), regions = MultiMnistBuilder.Regions(left, right);
            for (int p = 0; p < 784; p++)
            {
                // A digit's pixel is ink in the image (the maximum keeps the brighter digit); the background is not.
                if (regions[p] == 0) Assert.True(image[p] < MultiMnistBuilder.Ink, $"pixel {p}: background but {image[p]}");
                else Assert.True(image[p] >= MultiMnistBuilder.Ink, $"pixel {p}: region {regions[p]} but {image[p]}");
            }
        }
        byte[] blank = new byte[784], ink = Enumerable.Repeat((byte)200, 784).ToArray();
        Assert.Equal(2, MultiMnistBuilder.Regions(blank, ink)[25 * 28 + 25]);
        Assert.Equal(0, MultiMnistBuilder.Regions(blank, ink)[0]);
        Assert.Equal(1, MultiMnistBuilder.Regions(ink, blank)[0]);
        Assert.Equal(1, MultiMnistBuilder.Regions(ink, ink)[12 * 28 + 12]);   // both cover it: the left where equal
        Assert.Equal(0, MultiMnistBuilder.Regions(ink, blank)[27 * 28 + 27]); // canvas (35, 35): only the right digit's area

        var (_, _, _, built) = MultiMnistBuilder.BuildWithRegions(s_digits.Value, [.. Enumerable.Range(0, 50)], seed: 5);
        Assert.Equal([50L, 28, 28], built.shape);
        long[] counts = [.. Enumerable.Range(0, 3).Select(c => built.eq(c).sum().item<long>())];
        Assert.True(counts.All(c => c > 0) && counts[0] > counts[1] && counts[0] > counts[2], string.Join(", ", counts));
    }

    [Fact]
    public void TheDenseLeNetLearnsThePixelsBesideTheDigits()
    {
        var (trainIndices, testIndices) = MultiMnistBuilder.Split(10_000, 2_000, 500, seed: 7);
        var (trainImages, trainLeft, trainRight, trainRegions) = MultiMnistBuilder.BuildWithRegions(s_digits.Value, trainIndices, seed: 8);
        var (testImages, testLeft, testRight, testRegions) = MultiMnistBuilder.BuildWithRegions(s_digits.Value, testIndices, seed: 9);
        torch.manual_seed(7);
        using var model = new DenseMultiLeNet();
        var trainer = model.CreateTrainer(parameters => new MtlDsl.Optimizers.Adam(parameters, lr: 2e-3));
        var history = trainer.Fit(MultiTaskData<DenseMultiLeNet.Targets>.Shared(trainImages, new DenseMultiLeNet.Targets(trainLeft, trainRight, trainRegions)),
            new FitOptions { Epochs = 3, BatchSize = 64, Seed = 7 },
            MultiTaskData<DenseMultiLeNet.Targets>.Shared(testImages, new DenseMultiLeNet.Targets(testLeft, testRight, testRegions)));
        EvaluationResult test = history.Epochs[^1].Validation!;
        // Predicting the background everywhere scores about 85 % of the pixels and a mean IoU of 28 %.
        Assert.True(test["Pixels", "mean_iou"] > 0.4, test.ToString());
        Assert.True(test["Pixels", "accuracy"] > 0.87, test.ToString());
        Assert.True(test["Left", "accuracy"] > 0.4, test.ToString());
        Assert.True(history.Epochs[^1].TrainLosses[2] < 0.7 * history.Epochs[0].TrainLosses[2]);
    }

    [Fact]
    public void TheResultTableShowsOursBesideThePublishedNumbers()
    {
        string table = ResultTable.Format(
            [new MethodResult("single-task", 0.9, 0.8, null, 10), new MethodResult("MGDA", 0.91, 0.79, 0.3, 12)], Experiment.Published);
        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("97.23 / 95.90", lines[1]);
        Assert.StartsWith("MGDA-UB", lines[2]);
        Assert.Contains("91.00", lines[2]);
        Assert.Contains("+0.30", lines[2]);
        Assert.Contains("97.26 / 95.90", lines[2]);
    }

    [Fact]
    public void TheQuickTableComparesLikeWithLikeWithoutThePublishedNumbers()
    {
        string table = ResultTable.Format(
            [new MethodResult("single-task", 0.9, 0.8, null, 10), new MethodResult("UW", 0.88, 0.8, -1.1, 5),
             new MethodResult(Experiment.EqualTime, 0.91, 0.82, 1.8, 10), new MethodResult("CGC", 0.9, 0.81, 0.6, 14)], published: null);
        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("published", table);
        Assert.DoesNotContain("97.23", table);
        Assert.Contains("loss weighting", lines[2]);
        Assert.StartsWith("Static 1:1", lines[3]);
        Assert.Contains("2× epochs: equal time", lines[3]);
        Assert.Contains("+1.80", lines[3]);
        Assert.Contains("architecture", lines[4]);
    }
}
