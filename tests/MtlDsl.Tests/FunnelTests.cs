using Funnel;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MtlDsl.Tests;

/// <summary>
/// The funnel sample: its world has the selection bias it claims, and its ESMM and AITM declarations learn the conversion rate
/// over the entire space better than the conversion model trained on the clicked impressions (one seed, fewer
/// impressions than the sample; the sample runs five seeds).
/// </summary>
public class FunnelTests(ITestOutputHelper output)
{
    [Fact]
    public void TheWorldObservesConversionsOnlyAfterAClickAndClicksSelectTheBetterImpressions()
    {
        var world = new FunnelWorld(seed: 2018);
        Impressions data = world.Draw(20_000, seed: 3);
        Tensor clicked = (data.Click > 0.5).squeeze(1);
        // The log's conversion label: present exactly on the clicked impressions.
        Assert.True(data.ObservedConversion.isnan().squeeze(1).eq(clicked.logical_not()).all().item<bool>());
        Assert.True(data.ClickAndConversion.eq(data.Click * data.Converts).all().item<bool>());
        // The same world and seed draw the same impressions.
        Assert.True(world.Draw(500, seed: 3).Converts.eq(data.Converts[..500]).all().item<bool>());
        Assert.True(new FunnelWorld(seed: 2018).Draw(500, seed: 3).Item.eq(data.Item[..500]).all().item<bool>());
        // Clicks select impressions that convert more often than the impressions a model is used on.
        double clickRate = data.Click.mean().item<float>(), onClicked = data.Converts[clicked].mean().item<float>(), overall = data.Converts.mean().item<float>();
        output.WriteLine($"clicked {clickRate:P1}; conversion rate on clicked impressions {onClicked:P1}, on all {overall:P1}");
        Assert.InRange(clickRate, 0.1, 0.3);
        Assert.True(onClicked > overall + 0.1, $"the clicked impressions convert at {onClicked:P1}, all at {overall:P1}: no selection bias");
        // The world's own logits give the labels' best AUC; ids stay in their vocabularies.
        FunnelScores ceiling = FunnelScores.Of(data.ClickLogit, data.ConversionLogit, data);
        Assert.InRange(ceiling.ConversionEntireSpace, 0.8, 0.9);
        Assert.True(data.User.max().item<long>() < Vocabulary.Users && data.Item.max().item<long>() < Vocabulary.Items && data.Tags.max().item<long>() < Vocabulary.Tags);
    }

    [Fact]
    public void EsmmAndAitmBeatTheConversionModelTrainedOnClicksOverTheEntireSpace()
    {
        var world = new FunnelWorld(seed: 2018);
        Impressions train = world.Draw(30_000, seed: 1), test = world.Draw(10_000, seed: 1_000_000);
        var scores = FunnelExperiment.Models.ToDictionary(m => m, m => FunnelExperiment.Run(m, train, test, epochs: 30, seed: 0));
        foreach (var (model, s) in scores)
            output.WriteLine($"{model}: click {s.Click:F3}, CVR clicked {s.ConversionClicked:F3}, CVR entire space {s.ConversionEntireSpace:F3}, CTCVR {s.ClickAndConversion:F3}");

        Assert.True(double.IsNaN(scores["CVR alone"].Click), "CVR alone has no click prediction");
        Assert.True(scores["ESMM"].ConversionEntireSpace > scores["CVR alone"].ConversionEntireSpace + 0.015,
            $"ESMM {scores["ESMM"].ConversionEntireSpace:F3} against CVR alone {scores["CVR alone"].ConversionEntireSpace:F3} over the entire space");
        // Every multi-task model learns both tasks (the chance AUC is 0.5; the world's own probabilities give about 0.84).
        foreach (string model in new[] { "Shared-bottom", "MMoE", "PLE", "ESMM", "AITM" })
        {
            Assert.True(scores[model].Click > 0.68, $"{model}: click AUC {scores[model].Click:F3}");
            Assert.True(scores[model].ConversionEntireSpace > 0.65, $"{model}: entire-space CVR AUC {scores[model].ConversionEntireSpace:F3}");
        }
        // AITM's second step is the click followed by a conversion over every impression: it ranks those better than
        // the conversion model trained on clicks alone ranks conversions.
        Assert.True(scores["AITM"].ConversionEntireSpace > scores["CVR alone"].ConversionEntireSpace + 0.015,
            $"AITM {scores["AITM"].ConversionEntireSpace:F3} against CVR alone {scores["CVR alone"].ConversionEntireSpace:F3} over the entire space");
        Assert.Throws<ArgumentException>(() => FunnelExperiment.Run("DeepFM", train, test, epochs: 1, seed: 0));
    }
}
