using MtlDsl;
using MtlDsl.Checkpoints;
using MtlDsl.Data;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using MtlDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// distributed-export &lt;folder&gt;: the recommendation model (three named inputs, ids, a bag, missing labels) in
/// float64: its twin, training script and initial weights (ExportPyTorch), 120 training samples (MultiTaskData.Save),
/// and the references: the same model trained by MtlDsl's Fit in one process from the same weights, global batches
/// of 32 in file order, SGD at 0.05, with the declared weights (2 epochs), UW (2 epochs) and DWA (3 epochs, so that its
/// weights move) (reference_{weighting}.safetensors). run.sh then trains the twin with torchrun --nproc_per_node=2
/// (DDP, gloo) for each. distributed-check &lt;folder&gt;: loads what the two processes wrote back into the C# model
/// and compares it with each reference, parameter by parameter. The same for ImbalanceModel (class and positive
/// weights) and MMoEBottomModel (experts over a shared bottom), with the declared weights, and for EsmmModel (a
/// product task and its weight-0 factor), with the declared weights and DWA; and for the funnel sample's ESMM and MMoE
/// declarations on the sample's impressions, and for AitmModel (transfer points between the towers), with the declared
/// weights.
/// </summary>
internal static class DistributedCheck
{
    private const int Samples = 120, BatchSize = 32, Epochs = 2; // the last batch of an epoch holds 24
    private const double LearningRate = 0.05;

    public static int Export(string folder)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed(31);
        using var model = new RecommenderModel();
        model.to(ScalarType.Float64);
        model.ExportPyTorch(folder);

        Tensor dense = randn(Samples, 6, dtype: ScalarType.Float64);
        Tensor users = randint(0, RecommenderModel.Users, [Samples], dtype: ScalarType.Int64);
        Tensor tags = randint(0, RecommenderModel.Tags, [Samples, 5], dtype: ScalarType.Int64) * randint(0, 2, [Samples, 5], dtype: ScalarType.Int64);
        Tensor NaNWhere(Tensor values) => where(rand(values.shape).lt(0.15), full(values.shape, double.NaN, dtype: ScalarType.Float64), values);
        Tensor clicks = NaNWhere(randint(0, 2, [Samples, 1], dtype: ScalarType.Int64).to(ScalarType.Float64));
        Tensor ratings = NaNWhere(randn(Samples, 1, dtype: ScalarType.Float64));
        var data = MultiTaskData<RecommenderModel.Targets>.Shared(new RecommenderModel.Inputs(dense, users, tags), new RecommenderModel.Targets(clicks, ratings));
        data.Save(Path.Combine(folder, "train.safetensors"));

        foreach (var (weighting, strategy, epochs) in Runs())
        {
            using var fresh = new RecommenderModel();
            fresh.to(ScalarType.Float64);
            SafeTensors.Load(fresh, Path.Combine(folder, "RecommenderModel.safetensors"));
            var trainer = fresh.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate), strategy);
            trainer.Fit(data, new FitOptions { Epochs = epochs, BatchSize = BatchSize, Shuffle = false });
            SafeTensors.Save(fresh, Path.Combine(folder, $"reference_{weighting}.safetensors"));
        }
        // A model with BatchNorm (whose counter is a 0-dim tensor) and dropout: per-process statistics and random
        // numbers make it differ from one process, so only its round trip is checked (it trains, writes, loads).
        torch.manual_seed(32);
        using var tabular = new TabularModel();
        string tabularFolder = Path.Combine(folder, "tabular");
        tabular.ExportPyTorch(tabularFolder);
        var (features, targets) = TabularData(96);
        MultiTaskData<TabularModel.Targets>.Shared(features, targets).Save(Path.Combine(tabularFolder, "train.safetensors"));
        ExportImbalance(Path.Combine(folder, "imbalance"));
        ExportMixtureOverBottom(Path.Combine(folder, "bottom"));
        ExportEsmm(Path.Combine(folder, "esmm"));
        ExportFunnel(folder);
        ExportAitm(Path.Combine(folder, "aitm"));
        Console.WriteLine($"exported RecommenderModel's twin, {Samples} samples and the single-process references (global batches of {BatchSize}, SGD {LearningRate}: declared weights, UW, DWA); ImbalanceModel's (class and positive weights) and MMoEBottomModel's (a shared bottom) likewise; EsmmModel's (a weight-0 factor of a product task: declared weights, DWA); the funnel sample's ESMM and MMoE on its impressions");
        return 0;
    }

    // The model with class and positive weights, in float64: its twin, rare classes and flags with missing labels, and
    // the single-process reference (declared weights). The processes' shards hold different total class weights, so
    // the global mean is right only if train_ddp.py adds the weights up, not the counts.
    private static void ExportImbalance(string folder)
    {
        torch.manual_seed(33);
        Tensor signals = randn([Samples, 2, 8], dtype: ScalarType.Float64);
        Tensor Missing(Tensor labels, double fraction) => where(rand(labels.shape).lt(fraction), full(labels.shape, MtlDsl.Losses.TaskLosses.MissingClass, dtype: ScalarType.Int64), labels);
        Tensor NaNWhere(Tensor values) => where(rand(values.shape).lt(0.1), full(values.shape, double.NaN, dtype: ScalarType.Float64), values);
        Tensor draw = rand(Samples);
        Tensor kind = Missing(draw.gt(0.75).to_type(ScalarType.Int64) + draw.gt(0.93).to_type(ScalarType.Int64), 0.15);   // 75 %, 18 %, 7 %
        Tensor alarm = NaNWhere(rand(Samples, 1, dtype: ScalarType.Float64).lt(0.1).to_type(ScalarType.Float64));
        Tensor events = NaNWhere(rand([Samples, 3, 8], dtype: ScalarType.Float64).lt(0.2).to_type(ScalarType.Float64));
        Tensor segments = Missing(rand([Samples, 8]).lt(0.2).to_type(ScalarType.Int64), 0.1);
        ExportReference<ImbalanceModel.Outputs, ImbalanceModel.Targets, ImbalanceModel.LossValues>(folder, () => new ImbalanceModel(), MultiTaskData<ImbalanceModel.Targets>.Shared(signals, new ImbalanceModel.Targets(kind, alarm, events, segments)));
    }

    // MMoE over a shared bottom (an embedding and a bag run once before the experts and gates), with missing labels.
    private static void ExportMixtureOverBottom(string folder)
    {
        torch.manual_seed(34);
        Tensor NaNWhere(Tensor values) => where(rand(values.shape).lt(0.15), full(values.shape, double.NaN, dtype: ScalarType.Float64), values);
        var inputs = new MMoEBottomModel.Inputs(randn(Samples, 6, dtype: ScalarType.Float64), randint(0, MMoEBottomModel.Users, [Samples], dtype: ScalarType.Int64),
            randint(0, MMoEBottomModel.Tags, [Samples, 5], dtype: ScalarType.Int64) * randint(0, 2, [Samples, 5], dtype: ScalarType.Int64));
        var targets = new MMoEBottomModel.Targets(NaNWhere(randint(0, 2, [Samples, 1], dtype: ScalarType.Int64).to(ScalarType.Float64)), NaNWhere(randn(Samples, 1, dtype: ScalarType.Float64)));
        ExportReference<MMoEBottomModel.Outputs, MMoEBottomModel.Targets, MMoEBottomModel.LossValues>(folder, () => new MMoEBottomModel(), MultiTaskData<MMoEBottomModel.Targets>.Shared(inputs, targets));
    }

    // The funnel sample's ESMM and MMoE declarations on the sample's own impressions (its world, in float64): the
    // conversion observed only after a click, the click and conversion on every impression for ESMM's product.
    private static void ExportFunnel(string folder)
    {
        Funnel.Impressions data = new Funnel.FunnelWorld(seed: 2018).Draw(Samples, seed: 5);
        Tensor F64(Tensor t) => t.to(ScalarType.Float64);
        torch.manual_seed(35);
        ExportReference<Funnel.FunnelEsmm.Outputs, Funnel.FunnelEsmm.Targets, Funnel.FunnelEsmm.LossValues>(Path.Combine(folder, "funnel-esmm"), () => new Funnel.FunnelEsmm(),
            MultiTaskData<Funnel.FunnelEsmm.Targets>.Shared(new Funnel.FunnelEsmm.Inputs(F64(data.Dense), data.User, data.Item, data.Tags),
                new Funnel.FunnelEsmm.Targets(F64(data.Click), F64(data.ObservedConversion), F64(data.ClickAndConversion))));
        torch.manual_seed(36);
        ExportReference<Funnel.FunnelMmoe.Outputs, Funnel.FunnelMmoe.Targets, Funnel.FunnelMmoe.LossValues>(Path.Combine(folder, "funnel-mmoe"), () => new Funnel.FunnelMmoe(),
            MultiTaskData<Funnel.FunnelMmoe.Targets>.Shared(new Funnel.FunnelMmoe.Inputs(F64(data.Dense), data.User, data.Item, data.Tags),
                new Funnel.FunnelMmoe.Targets(F64(data.Click), F64(data.ObservedConversion))));
    }

    // AITM (transfer points: each tower reads the one before it) on a funnel with missing labels: the conversion only
    // after a click, the purchase only after a conversion (NaN elsewhere).
    private static void ExportAitm(string folder)
    {
        torch.manual_seed(37);
        Tensor clicks = rand(Samples, 1, dtype: ScalarType.Float64).lt(0.5).to(ScalarType.Float64);
        Tensor conversions = where(clicks.eq(1), rand(Samples, 1, dtype: ScalarType.Float64).lt(0.5).to(ScalarType.Float64), full([Samples, 1], double.NaN, dtype: ScalarType.Float64));
        Tensor purchases = where(conversions.eq(1), rand(Samples, 1, dtype: ScalarType.Float64).lt(0.5).to(ScalarType.Float64), full([Samples, 1], double.NaN, dtype: ScalarType.Float64));
        var inputs = new AitmModel.Inputs(randn(Samples, 6, dtype: ScalarType.Float64), randint(0, AitmModel.Users, [Samples], dtype: ScalarType.Int64),
            randint(0, AitmModel.Items, [Samples], dtype: ScalarType.Int64));
        ExportReference<AitmModel.Outputs, AitmModel.Targets, AitmModel.LossValues>(folder, () => new AitmModel(),
            MultiTaskData<AitmModel.Targets>.Shared(inputs, new AitmModel.Targets(clicks, conversions, purchases)));
    }

    // A model's twin, its training data and the single-process reference in float64: Fit from the twin's initial
    // weights with the declared weights, global batches of 32 in file order, SGD (reference.safetensors).
    private static void ExportReference<TOutputs, TTargets, TLossValues>(string folder, Func<MultiTaskModule<TOutputs, TTargets>> create, MultiTaskData<TTargets> data)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
        where TLossValues : ITaskLossValues<TLossValues>
    {
        using (var model = create())
        {
            model.to(ScalarType.Float64);
            model.ExportPyTorch(folder);
        }
        data.Save(Path.Combine(folder, "train.safetensors"));
        using var fresh = create();
        fresh.to(ScalarType.Float64);
        SafeTensors.Load(fresh, Path.Combine(folder, fresh.GetName() + ".safetensors"));
        new MultiTaskTrainer<TOutputs, TTargets, TLossValues>(fresh, parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate))
            .Fit(data, new FitOptions { Epochs = Epochs, BatchSize = BatchSize, Shuffle = false });
        SafeTensors.Save(fresh, Path.Combine(folder, "reference.safetensors"));
    }

    // ESMM (a product task and its weight-0 factor) in float64: clicks on every sample, conversions only on the
    // clicked ones (NaN elsewhere), click ∧ conversion on every sample; the references with the declared weights and
    // DWA. The conversion tower's labels must train nothing: only the product moves it, in one process as in two.
    private static void ExportEsmm(string folder)
    {
        torch.manual_seed(34);
        using var model = new EsmmModel();
        model.to(ScalarType.Float64);
        model.ExportPyTorch(folder);
        Tensor dense = randn(Samples, 4, dtype: ScalarType.Float64);
        Tensor users = randint(0, EsmmModel.Users, [Samples], dtype: ScalarType.Int64);
        Tensor items = randint(0, EsmmModel.Items, [Samples], dtype: ScalarType.Int64);
        Tensor clicks = rand(Samples, 1, dtype: ScalarType.Float64).lt(0.4).to(ScalarType.Float64);
        Tensor converts = rand(Samples, 1, dtype: ScalarType.Float64).lt(0.5).to(ScalarType.Float64);
        Tensor conversions = where(clicks.eq(1), converts, full([Samples, 1], double.NaN, dtype: ScalarType.Float64));
        var data = MultiTaskData<EsmmModel.Targets>.Shared(new EsmmModel.Inputs(dense, users, items), new EsmmModel.Targets(clicks, conversions, clicks * converts));
        data.Save(Path.Combine(folder, "train.safetensors"));
        foreach (var (weighting, strategy, epochs) in Runs().Where(r => r.Name != "uw"))
        {
            using var fresh = new EsmmModel();
            fresh.to(ScalarType.Float64);
            SafeTensors.Load(fresh, Path.Combine(folder, "EsmmModel.safetensors"));
            fresh.CreateTrainer(parameters => new MtlDsl.Optimizers.SGD(parameters, LearningRate), strategy)
                .Fit(data, new FitOptions { Epochs = epochs, BatchSize = BatchSize, Shuffle = false });
            SafeTensors.Save(fresh, Path.Combine(folder, $"reference_{weighting}.safetensors"));
        }
    }

    // The weightings checked, as train_ddp.py names them, with MtlDsl's strategy and the epochs run.
    internal static IEnumerable<(string Name, MtlDsl.Weighting.WeightingStrategy? Strategy, int Epochs)> Runs() =>
    [
        ("declared", null, Epochs),
        ("uw", new MtlDsl.Weighting.UncertaintyWeighting(), Epochs),
        ("dwa", new MtlDsl.Weighting.DynamicWeightAverage(), Epochs + 1),
    ];

    public static int Check(string folder)
    {
        int failed = 0;
        foreach (var (weighting, _, epochs) in Runs()) failed += Check(folder, weighting, epochs);
        failed += CheckTabular(Path.Combine(folder, "tabular"));
        failed += CheckReference(Path.Combine(folder, "imbalance"), () => new ImbalanceModel(), "class and positive weights, missing labels");
        failed += CheckReference(Path.Combine(folder, "bottom"), () => new MMoEBottomModel(), "MMoE over a shared bottom of an embedding and a bag, missing labels");
        foreach (string weighting in new[] { "declared", "dwa" })
            failed += CheckReference(Path.Combine(folder, "esmm"), () => new EsmmModel(),
                $"a product task, its weight-0 factor trained only through it, {(weighting == "declared" ? "the declared weights" : "DWA")}", weighting, mustMove: "conversion.");
        failed += CheckReference(Path.Combine(folder, "funnel-esmm"), () => new Funnel.FunnelEsmm(), "the funnel sample's ESMM on its impressions", mustMove: "conversion.");
        failed += CheckReference(Path.Combine(folder, "funnel-mmoe"), () => new Funnel.FunnelMmoe(), "the funnel sample's MMoE over a shared bottom on its impressions");
        failed += CheckReference(Path.Combine(folder, "aitm"), () => new AitmModel(), "AITM's transfer points between the towers, missing labels", mustMove: "purchase.2.");
        return failed == 0 ? 0 : 1;
    }

    // What the two processes wrote against the single-process reference, parameter by parameter: trained.safetensors
    // against reference.safetensors (with a weighting: trained_{weighting} against reference_{weighting}), within the
    // tolerance; training must have moved the parameters, and those whose names start with mustMove too.
    internal static int CheckReference(string folder, Func<nn.Module> create, string what, string? weighting = null, string? mustMove = null, double tolerance = 1e-10)
    {
        string trainedFile = Path.Combine(folder, $"trained{(weighting is null ? "" : "_" + weighting)}.safetensors");
        if (!File.Exists(trainedFile))
        {
            Console.WriteLine($"FAIL torchrun --nproc_per_node=2 ({what}) wrote no weights: {trainedFile} is missing (see its log above)");
            return 1;
        }
        string name = "", suffix = weighting is null ? "" : "_" + weighting;
        nn.Module Load(string? file)
        {
            nn.Module model = create();
            name = model.GetName();
            model.to(ScalarType.Float64);
            SafeTensors.Load(model, Path.Combine(folder, file ?? name + ".safetensors"));
            return model;
        }
        using nn.Module trained = Load($"trained{suffix}.safetensors"), reference = Load($"reference{suffix}.safetensors"), initial = Load(null);
        var mine = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var start = initial.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double worst = 0, moved = 0, movedToo = 0;
        foreach (var (parameterName, parameter) in trained.named_parameters())
        {
            worst = Math.Max(worst, (parameter - mine[parameterName]).abs().max().item<double>());
            double change = (mine[parameterName] - start[parameterName]).abs().max().item<double>();
            moved = Math.Max(moved, change);
            if (mustMove is not null && parameterName.StartsWith(mustMove, StringComparison.Ordinal)) movedToo = Math.Max(movedToo, change);
        }
        bool pass = worst < tolerance && moved > 1e-3 && (mustMove is null || movedToo > 1e-4);
        Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun --nproc_per_node=2 trained {name}'s twin ({what}) as MtlDsl's single-process Fit did: " +
                          $"largest parameter difference {worst:E1} (training moved them by up to {moved:E1}{(mustMove is null ? "" : $", {mustMove}* by {movedToo:E1}")})");
        return pass ? 0 : 1;
    }

    // Twelve features; a class with some labels missing, a flag, a regression target with some NaN.
    private static (Tensor Features, TabularModel.Targets Targets) TabularData(int count)
    {
        Tensor features = randn(count, 12);
        Tensor species = where(rand(count).lt(0.2), full(count, MtlDsl.Losses.TaskLosses.MissingClass, dtype: ScalarType.Int64), randint(0, 3, [count], dtype: ScalarType.Int64));
        Tensor male = randint(0, 2, [count, 1]).to(ScalarType.Float32);
        Tensor mass = where(rand(count, 1).lt(0.2), full(count, 1, float.NaN), features[.., ..1] * 2);
        return (features, new TabularModel.Targets(species, male, mass));
    }

    private static int CheckTabular(string folder)
    {
        using var trained = new TabularModel();
        SafeTensors.Load(trained, Path.Combine(folder, "trained.safetensors"));
        using var initial = new TabularModel();
        SafeTensors.Load(initial, Path.Combine(folder, "TabularModel.safetensors"));
        var start = initial.state_dict();
        double moved = trained.named_parameters().Max(p => (p.parameter - start[p.name]).abs().max().item<float>());
        bool finite = trained.state_dict().Values.All(t => !t.is_floating_point() || t.isfinite().all().item<bool>());
        long batches = trained.state_dict()["encoder.1.num_batches_tracked"].item<long>();
        bool pass = finite && moved > 1e-3 && batches > 0;
        Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun --nproc_per_node=2 trained TabularModel's twin (BatchNorm, dropout) and C# loaded it back: " +
                          $"parameters moved by up to {moved:E1}, BatchNorm's counter {batches}, every tensor finite");
        return pass ? 0 : 1;
    }

    private static int Check(string folder, string weighting, int epochs)
    {
        using var trained = new RecommenderModel();
        trained.to(ScalarType.Float64);
        SafeTensors.Load(trained, Path.Combine(folder, $"trained_{weighting}.safetensors"));
        using var reference = new RecommenderModel();
        reference.to(ScalarType.Float64);
        SafeTensors.Load(reference, Path.Combine(folder, $"reference_{weighting}.safetensors"));
        using var initial = new RecommenderModel();
        initial.to(ScalarType.Float64);
        SafeTensors.Load(initial, Path.Combine(folder, "RecommenderModel.safetensors"));

        var mine = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var start = initial.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double worst = 0, moved = 0;
        foreach (var (name, parameter) in trained.named_parameters())
        {
            worst = Math.Max(worst, (parameter - mine[name]).abs().max().item<double>());
            moved = Math.Max(moved, (mine[name] - start[name]).abs().max().item<double>());
        }
        bool pass = worst < 1e-10 && moved > 1e-3;
        Console.WriteLine($"{(pass ? "PASS" : "FAIL")} torchrun --nproc_per_node=2 (DDP, gloo) trained RecommenderModel's generated twin with {(weighting == "declared" ? "the declared weights" : weighting.ToUpperInvariant())} as MtlDsl's single-process Fit did: " +
                          $"largest parameter difference {worst:E1} after {(Samples + BatchSize - 1) / BatchSize * epochs} steps (training moved them by up to {moved:E1}), weights loaded back into C#");
        return pass ? 0 : 1;
    }
}
