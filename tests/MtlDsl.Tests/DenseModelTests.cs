using MtlDsl.Data;
using MtlDsl.Losses;
using MtlDsl.Metrics;
using MtlDsl.TestModels;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// A dense-prediction task beside a classification one: per-pixel class scores from a head that upsamples (a
/// transposed convolution and bilinear upsampling), trained with missing pixels, scored by pixel accuracy and mean IoU.
/// </summary>
public class DenseModelTests
{
    // Images of one bright rectangle on noise: the mask is the rectangle (a tenth of the pixels' labels missing), the
    // shape whether it is wider than tall, taller than wide, or neither.
    internal static (Tensor Images, DenseModel.Targets Targets) Rectangles(int count, int seed, double missing = 0.1)
    {
        var random = new Random(seed);
        var images = new float[count * 256];
        var masks = new long[count * 256];
        var shapes = new long[count];
        for (int n = 0; n < count; n++)
        {
            int height = random.Next(3, 11), width = random.Next(3, 11);
            int top = random.Next(0, 17 - height), left = random.Next(0, 17 - width);
            shapes[n] = width > height + 1 ? 0 : height > width + 1 ? 1 : 2;
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                {
                    bool inside = y >= top && y < top + height && x >= left && x < left + width;
                    int i = n * 256 + y * 16 + x;
                    images[i] = (inside ? 1f : 0f) + (float)(random.NextDouble() - 0.5) * 0.6f;
                    masks[i] = random.NextDouble() < missing ? TaskLosses.MissingClass : inside ? 1 : 0;
                }
        }
        return (tensor(images).reshape(count, 1, 16, 16), new DenseModel.Targets(tensor(masks).reshape(count, 16, 16), tensor(shapes)));
    }

    [Fact]
    public void TheMaskHeadGivesClassScoresForEveryPixel()
    {
        torch.manual_seed(1);
        using var model = new DenseModel();
        Assert.Equal([2, 16, 16], DenseModel.TaskDefinitions[0].OutputShape);
        var (images, _) = Rectangles(4, seed: 1);
        using var noGrad = no_grad();
        Assert.Equal([4L, 2, 16, 16], model.forward(images).Mask.shape);
        Assert.Equal(["accuracy", "macro_f1", "mean_iou"], TaskMetrics.Default(DenseModel.TaskDefinitions[0]).Select(m => m.Name));
        Assert.Equal(["accuracy", "macro_f1"], TaskMetrics.Default(DenseModel.TaskDefinitions[1]).Select(m => m.Name));
    }

    [Fact]
    public void LearnsTheMaskAndTheShapeWithMissingPixels()
    {
        torch.manual_seed(3);
        using var model = new DenseModel();
        var (images, targets) = Rectangles(768, seed: 5);
        var (testImages, testTargets) = Rectangles(256, seed: 6, missing: 0);
        var trainer = model.CreateTrainer(parameters => new Optimizers.Adam(parameters, lr: 3e-3));
        var history = trainer.Fit(MultiTaskData<DenseModel.Targets>.Shared(images, targets), new FitOptions { Epochs = 12, BatchSize = 32, Seed = 2 });

        IReadOnlyList<double> first = history.Epochs[0].TrainLosses, last = history.Epochs[^1].TrainLosses;
        Assert.True(last[0] < 0.5 * first[0], $"mask loss {first[0]:F3} → {last[0]:F3}");
        EvaluationResult result = trainer.Evaluate(MultiTaskData<DenseModel.Targets>.Shared(testImages, testTargets));
        Assert.True(result["Mask", "accuracy"] > 0.95, result.ToString());
        Assert.True(result["Mask", "mean_iou"] > 0.85, result.ToString());
        Assert.True(result["Shape", "accuracy"] > 0.6, result.ToString());
    }

    [Fact]
    public void MissingPixelsLeaveTheLossAndTheMetrics()
    {
        // The loss of a class map with missing pixels is the mean over the pixels present, as PyTorch's ignore_index.
        torch.manual_seed(1);
        var task = DenseModel.TaskDefinitions[0];
        Tensor scores = randn(2, 2, 16, 16);
        var (_, targets) = Rectangles(2, seed: 4, missing: 0.3);
        Tensor mask = targets.Mask;
        Tensor present = mask.ne(TaskLosses.MissingClass);
        double expected = nn.functional.cross_entropy(scores, mask, ignore_index: TaskLosses.MissingClass).item<float>();
        Assert.Equal(expected, TaskLosses.Compute(task, scores, mask).item<float>(), 5);

        var iou = new MeanIoU(2);
        iou.Update(scores, mask);
        Tensor predicted = scores.argmax(1);
        double Iou(long c)
        {
            Tensor p = predicted.eq(c) & present, t = mask.eq(c);
            return (double)(p & t).sum().item<long>() / (p | t).sum().item<long>();
        }
        Assert.Equal((Iou(0) + Iou(1)) / 2, iou.Compute(), 10);
    }
}
