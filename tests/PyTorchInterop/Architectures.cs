using MtlDsl;
using MtlDsl.Checkpoints;
using MtlDsl.TestModels;
using MtlDsl.TestModels.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// architectures &lt;folder&gt;: for every architecture test model (and the model whose auxiliary head reads an early
/// block, the dense-prediction model with missing pixels, the residual model, the model of hand-written modules, and the recommendation model of three named inputs), in float64: the initial weights, one training-mode forward pass on a fixed batch, the joint loss with the
/// declared weights and its gradients, and the state after the pass (BatchNorm's running statistics); architectures.py
/// rebuilds each network in PyTorch, loads the weights strictly and compares.
/// </summary>
internal static class ArchitectureExport
{
    public static int Run(string folder)
    {
        Directory.CreateDirectory(folder);
        Export<HardSharingModel.Outputs, HardSharingModel.Targets>(folder, "hard_sharing", new HardSharingModel(), Images(12), ImageTargets);
        Export<MMoEModel.Outputs, MMoEModel.Targets>(folder, "mmoe", new MMoEModel(), Images(12), ImageTargets);
        Export<OMoEModel.Outputs, OMoEModel.Targets>(folder, "omoe", new OMoEModel(), Images(12), ImageTargets);
        Export<CGCModel.Outputs, CGCModel.Targets>(folder, "cgc", new CGCModel(), Images(12), ImageTargets);
        Export<PLEModel.Outputs, PLEModel.Targets>(folder, "ple", new PLEModel(), Images(12), ImageTargets);
        Export<CGCPerTaskModel.Outputs, CGCPerTaskModel.Targets>(folder, "cgc_per_task", new CGCPerTaskModel(), Images(12), ImageTargets);
        Export<PLEPerTaskModel.Outputs, PLEPerTaskModel.Targets>(folder, "ple_per_task", new PLEPerTaskModel(), Images(12), ImageTargets);
        Export<CrossStitchModel.Outputs, CrossStitchModel.Targets>(folder, "cross_stitch", new CrossStitchModel(), Images(12), ImageTargets);
        Export<MTANModel.Outputs, MTANModel.Targets>(folder, "mtan", new MTANModel(), Images(12), ImageTargets);
        Export<AuxiliaryHeadModel.Outputs, AuxiliaryHeadModel.Targets>(folder, "auxiliary_head", new AuxiliaryHeadModel(), Images(16),
            batch => [randint(0, 10, [batch], dtype: ScalarType.Int64), randn(batch, 1, 8, 8, dtype: ScalarType.Float64)]);
        Export<DenseModel.Outputs, DenseModel.Targets>(folder, "dense", new DenseModel(), randn(6, 1, 16, 16, dtype: ScalarType.Float64), batch =>
        {
            // Per-pixel classes with a fifth of the pixels missing (-100), and a class per image.
            Tensor pixels = randint(0, 2, [batch, 16, 16], dtype: ScalarType.Int64);
            Tensor missing = full([batch, 16, 16], MtlDsl.Losses.TaskLosses.MissingClass, dtype: ScalarType.Int64);
            return [where(rand(batch, 16, 16).lt(0.2), missing, pixels), randint(0, 3, [batch], dtype: ScalarType.Int64)];
        });
        Export<ResidualModel.Outputs, ResidualModel.Targets>(folder, "residual", new ResidualModel(), Images(12), ImageTargets);
        // Hand-written TorchSharp modules (a ResNet basic block, a small perceptron) inside a declaration.
        Export<OwnModuleModel.Outputs, OwnModuleModel.Targets>(folder, "own_modules", new OwnModuleModel(), Images(12), ImageTargets);
        // Several named inputs: dense features, a user id through an embedding, a bag of tag ids with padding (0) through
        // a mean bag, concatenated. Ids are int64 and stay so when the model turns float64.
        Export<RecommenderModel.Outputs, RecommenderModel.Targets>(folder, "recommender", new RecommenderModel(),
            [randn(8, 6, dtype: ScalarType.Float64), randint(0, RecommenderModel.Users, [8], dtype: ScalarType.Int64),
             randint(0, RecommenderModel.Tags, [8, 5], dtype: ScalarType.Int64) * randint(0, 2, [8, 5], dtype: ScalarType.Int64)],
            batch => [randint(0, 2, [batch, 1], dtype: ScalarType.Int64).to(ScalarType.Float64), randn(batch, 1, dtype: ScalarType.Float64)]);
        // Experts over a shared bottom: the same three inputs, the embeddings and the bag run once before the experts.
        Tensor[] recommendation = [randn(8, 6, dtype: ScalarType.Float64), randint(0, MMoEBottomModel.Users, [8], dtype: ScalarType.Int64),
            randint(0, MMoEBottomModel.Tags, [8, 5], dtype: ScalarType.Int64) * randint(0, 2, [8, 5], dtype: ScalarType.Int64)];
        Export<MMoEBottomModel.Outputs, MMoEBottomModel.Targets>(folder, "mmoe_bottom", new MMoEBottomModel(), recommendation,
            batch => [randint(0, 2, [batch, 1], dtype: ScalarType.Int64).to(ScalarType.Float64), randn(batch, 1, dtype: ScalarType.Float64)]);
        Export<PLEBottomModel.Outputs, PLEBottomModel.Targets>(folder, "ple_bottom", new PLEBottomModel(), recommendation,
            batch => [randint(0, 2, [batch, 1], dtype: ScalarType.Int64).to(ScalarType.Float64), randint(0, 2, [batch, 1], dtype: ScalarType.Int64).to(ScalarType.Float64)]);
        return 0;
    }

    private static Tensor Images(int size) => randn(6, 1, size, size, dtype: ScalarType.Float64);

    private static Tensor[] ImageTargets(long batch) => [randint(0, 5, [batch], dtype: ScalarType.Int64), randn(batch, 2, dtype: ScalarType.Float64)];

    private static void Export<TOutputs, TTargets>(string folder, string name, MultiTaskModule<TOutputs, TTargets> model, Tensor input, Func<long, Tensor[]> targets)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets> =>
        Export(folder, name, model, [input], targets);

    // inputs: one tensor per declared input (written as "input", or "input.0", "input.1", … for several).
    private static void Export<TOutputs, TTargets>(string folder, string name, MultiTaskModule<TOutputs, TTargets> model, Tensor[] inputs, Func<long, Tensor[]> targets)
        where TOutputs : ITaskTensors<TOutputs>
        where TTargets : ITaskTensors<TTargets>
    {
        Tensor input = inputs[0];
        TOutputs Forward() => TwinExport.Forward(model, inputs);
        torch.manual_seed(17);
        using var _ = model;
        model.to(ScalarType.Float64);
        // Cross-stitch units start at the paper's values; move them so that the check sees a mixture that is not the initial one.
        using (no_grad())
        using (Scalar tenth = 0.1.ToScalar())
            foreach (var (parameter, value) in model.named_parameters())
                if (parameter.StartsWith("cross_stitch.", StringComparison.Ordinal)) value.add_(rand_like(value), tenth);
        model.train();
        SafeTensors.Save(model, Path.Combine(folder, $"{name}.weights.safetensors"));

        Tensor[] target = targets(input.shape[0]);
        TOutputs outputs = Forward();
        JointLoss loss = model.ComputeJointLoss(outputs, TTargets.Create(target));
        model.zero_grad();
        loss.Total.backward();

        var io = new Dictionary<string, Tensor> { ["loss"] = loss.Total.detach() };
        if (inputs.Length == 1) io["input"] = input;
        else for (int i = 0; i < inputs.Length; i++) io[$"input.{i}"] = inputs[i];
        for (int k = 0; k < model.Tasks.Count; k++)
        {
            io[$"output.{k}"] = outputs[k].detach();
            io[$"target.{k}"] = target[k];
        }
        foreach (var (parameter, value) in model.named_parameters())
            io[$"grad.{parameter}"] = value.grad ?? zeros_like(value);
        File.WriteAllBytes(Path.Combine(folder, $"{name}.io.safetensors"), SafeTensors.Serialize(io));
        SafeTensors.Save(model, Path.Combine(folder, $"{name}.after.safetensors"));

        // Eval mode: BatchNorm's running statistics, as updated by the pass above.
        model.eval();
        using (no_grad())
        {
            TOutputs evaluated = Forward();
            File.WriteAllBytes(Path.Combine(folder, $"{name}.eval.safetensors"), SafeTensors.Serialize(
                Enumerable.Range(0, model.Tasks.Count).ToDictionary(k => $"output.{k}", k => evaluated[k])));
        }
        Console.WriteLine($"exported {name}: {model.named_parameters().Count()} parameters, weights [{string.Join(", ", model.Tasks.Select(t => t.Weight))}]");
    }
}
