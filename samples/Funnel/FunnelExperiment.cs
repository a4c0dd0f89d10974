using MtlDsl;
using MtlDsl.Data;
using MtlDsl.Metrics;
using MtlDsl.Training;
using static TorchSharp.torch;

namespace Funnel;

/// <summary>
/// One model's test AUCs: the click over every impression; the conversion on the clicked impressions (what a log can
/// score) and over every impression against whether the user would convert (the entire space, where the model is
/// used); a click followed by a conversion over every impression, scored by pCTR × pCVR. NaN where the model has no
/// click prediction.
/// </summary>
public sealed record FunnelScores(double Click, double ConversionClicked, double ConversionEntireSpace, double ClickAndConversion)
{
    /// <summary>The four, in the table's order.</summary>
    public double[] Values => [Click, ConversionClicked, ConversionEntireSpace, ClickAndConversion];

    /// <summary>Scores click and conversion logits of the <paramref name="test"/> impressions.</summary>
    public static FunnelScores Of(Tensor? click, Tensor conversion, Impressions test)
    {
        Tensor clicked = (test.Click > 0.5).squeeze(1);
        return new FunnelScores(
            click is null ? double.NaN : Auc(click, test.Click),
            Auc(conversion[clicked], test.Converts[clicked]),
            Auc(conversion, test.Converts),
            click is null ? double.NaN : Auc(TaskCombination.ProductLogit([click, conversion]), test.ClickAndConversion));
    }

    /// <summary>
    /// Scores a model that predicts the click and the click followed by a conversion (AITM's end-to-end steps): the
    /// conversion after a click is ranked by pCTCVR / pCTR (log σ(b) − log σ(a): the ratio's order), the click followed by
    /// a conversion by its own logit.
    /// </summary>
    public static FunnelScores OfSteps(Tensor click, Tensor clickAndConversion, Impressions test)
    {
        Tensor conversion = nn.functional.logsigmoid(clickAndConversion) - nn.functional.logsigmoid(click);
        Tensor clicked = (test.Click > 0.5).squeeze(1);
        return new FunnelScores(Auc(click, test.Click), Auc(conversion[clicked], test.Converts[clicked]), Auc(conversion, test.Converts),
            Auc(clickAndConversion, test.ClickAndConversion));
    }

    private static double Auc(Tensor scores, Tensor labels)
    {
        var auc = new AreaUnderCurve();
        auc.Update(scores, labels);
        return auc.Compute();
    }
}

/// <summary>The sample's five ways to learn the funnel, each trained and scored the same way.</summary>
public static class FunnelExperiment
{
    /// <summary>The models, in the table's order.</summary>
    public static readonly string[] Models = ["CVR alone", "Shared-bottom", "MMoE", "PLE", "ESMM", "AITM"];

    /// <summary>The batch size.</summary>
    public const int Batch = 256;

    /// <summary>Adam's learning rate.</summary>
    public const double LearningRate = 2e-3;

    /// <summary>The fraction of the training impressions held out for early stopping.</summary>
    public const double ValidationFraction = 0.1;

    /// <summary>
    /// Trains <paramref name="model"/> (one of <see cref="Models"/>) on <paramref name="train"/> from the seed
    /// <paramref name="seed"/> (initial weights, batch order, the validation split), with the declared task weights,
    /// and scores it on <paramref name="test"/>. Every model stops as its user would stop it: on the conversion loss
    /// of held-out clicked impressions (the only conversions a log has; AITM, which has no such task: on its
    /// click-and-conversion loss of the held-out impressions), after two epochs without improvement or at
    /// <paramref name="epochs"/>, and keeps its best epoch's weights.
    /// </summary>
    public static FunnelScores Run(string model, Impressions train, Impressions test, int epochs, int seed)
    {
        using var scope = NewDisposeScope();
        manual_seed(seed);
        return model switch
        {
            // The Shared-bottom declaration trained on the conversions of the clicked impressions alone: its click tower
            // gets no labels, so no gradient, and its scores are not used.
            "CVR alone" => Train<FunnelSharedBottom.Outputs, FunnelSharedBottom.Targets, FunnelSharedBottom.LossValues>(new FunnelSharedBottom(), d => new FunnelSharedBottom.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train.Select((train.Click > 0.5).squeeze(1)), d => [full_like(d.Click, double.NaN), d.Converts], test, epochs, seed, scoresClick: false),
            "Shared-bottom" => Train<FunnelSharedBottom.Outputs, FunnelSharedBottom.Targets, FunnelSharedBottom.LossValues>(new FunnelSharedBottom(), d => new FunnelSharedBottom.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train, d => [d.Click, d.ObservedConversion], test, epochs, seed),
            "MMoE" => Train<FunnelMmoe.Outputs, FunnelMmoe.Targets, FunnelMmoe.LossValues>(new FunnelMmoe(), d => new FunnelMmoe.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train, d => [d.Click, d.ObservedConversion], test, epochs, seed),
            "PLE" => Train<FunnelPle.Outputs, FunnelPle.Targets, FunnelPle.LossValues>(new FunnelPle(), d => new FunnelPle.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train, d => [d.Click, d.ObservedConversion], test, epochs, seed),
            "ESMM" => Train<FunnelEsmm.Outputs, FunnelEsmm.Targets, FunnelEsmm.LossValues>(new FunnelEsmm(), d => new FunnelEsmm.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train, d => [d.Click, d.ObservedConversion, d.ClickAndConversion], test, epochs, seed),
            // The steps over every impression; it has no conversion task of the log's, so it stops on its click-and-
            // conversion loss of the held-out impressions.
            "AITM" => Train<FunnelAitm.Outputs, FunnelAitm.Targets, FunnelAitm.LossValues>(new FunnelAitm(), d => new FunnelAitm.Inputs(d.Dense, d.User, d.Item, d.Tags),
                train, d => [d.Click, d.ClickAndConversion], test, epochs, seed, steps: true),
            _ => throw new ArgumentException($"There is no model '{model}'; the models are {string.Join(", ", Models)}.", nameof(model)),
        };
    }

    // Every model's tasks 0 and 1 are the click and the conversion (AITM's, with steps: the click and the click followed by a conversion).
    private static FunnelScores Train<TOutputs, TTargets, TLossValues>(MultiTaskModule<TOutputs, TTargets> model, Func<Impressions, IModelInputs> inputs,
        Impressions data, Func<Impressions, Tensor[]> targets, Impressions test, int epochs, int seed, bool scoresClick = true, bool steps = false)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
        where TLossValues : ITaskLossValues<TLossValues>
    {
        using var _ = model;
        var trainer = new MultiTaskTrainer<TOutputs, TTargets, TLossValues>(model, p => new MtlDsl.Optimizers.Adam(p, lr: LearningRate));
        var (fit, validation) = MultiTaskData<TTargets>.Shared(inputs(data), TTargets.Create(targets(data))).Split(ValidationFraction, seed);
        trainer.Fit(fit, new FitOptions { Epochs = epochs, BatchSize = Batch, Seed = seed, EarlyStopping = new EarlyStopping(steps ? "ClickAndConversion" : "Conversion", "loss", Patience: 2) }, validation);
        model.eval();
        using var noGrad = no_grad();
        TOutputs outputs = model.forward(inputs(test));
        return steps ? FunnelScores.OfSteps(outputs[0], outputs[1], test) : FunnelScores.Of(scoresClick ? outputs[0] : null, outputs[1], test);
    }
}
