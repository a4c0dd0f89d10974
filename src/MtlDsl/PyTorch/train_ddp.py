"""Trains an MtlDsl model's PyTorch twin under torchrun, one process per device (gloo on CPUs, NCCL on GPUs), on data
MtlDsl exported (MultiTaskData.Save: one safetensors file per split, "input.<name>" for every input and
"target.<task>" for every task, the samples first, missing labels -100 or NaN), from weights MtlDsl exported
(model.ExportPyTorch), and writes the trained weights as safetensors for SafeTensors.Load in C#:

    torchrun --nproc_per_node=2 train_ddp.py --model RecommenderModel --data train.safetensors \\
        --weights RecommenderModel.safetensors --out trained.safetensors --epochs 2 --batch-size 64 --lr 0.05

It takes the steps MtlDsl's Fit takes on one process. Every step takes the next global batch of --batch-size samples
(in file order, as Fit with Shuffle = false, or with --shuffle the order of Fit with Seed = --seed) and splits it
into contiguous shards, one per process, of sizes that differ by at most one (the last batch of an epoch may be
smaller, as in Fit). Each task's loss is the mean over the labels present in the whole global batch (the shards'
counts, or with class weights the labels' total weights, are summed across processes). Every epoch reseeds torch's
generator from --seed as Fit does, and sets the learning rate to the base rate times its --lr-factors entry (Fit's
LearningRateSchedule, epoch by epoch).

The tasks are weighted as declared (default), or by any of MtlDsl's strategies (--weighting, the names of
WeightingStrategies: EW, DWA, UW, RLW, GLS, GradNorm, MGDA, PCGrad, CAGrad, IMTL, Aligned-MTL, GradVac, Nash-MTL,
FAMO, FairGrad, UPGrad, DualProj, ConFIG; their options as --weighting-option name=value, the C# constructor's
parameters in Python's spelling; --strategy-seed as WeightingStrategies.Create's seed), computed as MtlDsl computes
them (mtldsl_weighting.py). The loss-weighting strategies weight the losses from their global values and let
DistributedDataParallel average the gradients; the gradient methods take each task's gradient of the shared
parameters on every process, average them across the processes, and combine them from the global Gram matrix
identically on every process, so their state (moments, random streams, warm starts) stays in step.
--max-grad-norm clips the gradients (model and strategy parameters) to a global L2 norm, as the trainer's
MaxGradientNorm; every step checks that the gradients are finite first and stops (--non-finite throw) or skips the
optimizer step, leaving the weights, BatchNorm's statistics and the strategy's state as they were (--non-finite
skip, at most --max-skipped-steps times), as Fit's NonFiniteGradients does.
BatchNorm keeps per-process statistics on CPUs (PyTorch's SyncBatchNorm needs GPUs; --sync-batchnorm there).
Without torchrun the script runs as one process.
"""
import argparse
import importlib
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtldsl_torch as mtl  # noqa: E402
import mtldsl_weighting as weighting  # noqa: E402


class Refused(Exception):
    """A step MtlDsl's Fit would refuse (a non-finite loss or gradient): the message names the task or parameter and the step."""


U64 = (1 << 64) - 1


def epoch_batches(count, batch_size, seed, epoch, shuffle=True):
    """Fit's batches of one epoch over count samples (MtlDsl's Batches.Epoch): a permutation from a generator seeded
    with seed · 1000003 + epoch (as 64-bit unsigned numbers), or file order."""
    order = (torch.randperm(count, generator=torch.Generator().manual_seed(((seed & U64) * 1_000_003 + epoch) & U64)) if shuffle
             else torch.arange(count))
    return [order[start:start + batch_size] for start in range(0, count, batch_size)]


def task_seed(seed, task):
    """Each task's dataset is shuffled from a seed of its own (Batches.TaskSeed)."""
    return weighting._int32(seed + 7919 * (task + 1))


def per_task_epoch(counts, batch_size, seed, epoch):
    """TaskInterleaving.AllTasks (Batches.PerTaskEpoch): every step one batch of every task; the epoch lasts as many
    steps as the largest dataset needs, and a smaller one starts again, reshuffled, when it runs out."""
    steps = max((count + batch_size - 1) // batch_size for count in counts)
    per_task = []
    for task, count in enumerate(counts):
        batches, passes = [], 0
        while len(batches) < steps:
            batches += epoch_batches(count, batch_size, task_seed(seed, task), epoch * 1000 + passes)
            passes += 1
        per_task.append(batches)
    return [[batches[step] for batches in per_task] for step in range(steps)]


def interleave(counts, batch_size, seed, epoch, proportional):
    """TaskInterleaving.RoundRobin and Proportional (Batches.Interleave): one task per step, every task's batches once;
    the tasks take turns, or each step draws a task with probability proportional to the batches it has left."""
    queues = [epoch_batches(count, batch_size, task_seed(seed, task), epoch) for task, count in enumerate(counts)]
    steps = []
    if not proportional:
        while any(queues):
            for task, queue in enumerate(queues):
                if queue:
                    steps.append((task, queue.pop(0)))
        return steps
    random = weighting.DotNetRandom(weighting._int32(seed * 1_000_003 + epoch))
    left = sum(len(queue) for queue in queues)
    while left > 0:
        pick = random.next_int64(left)
        task = 0
        while pick >= len(queues[task]):
            pick -= len(queues[task])
            task += 1
        steps.append((task, queues[task].pop(0)))
        left -= 1
    return steps


def strategy_name(value):
    """--weighting: a name of WeightingStrategies (any case), or declared / static for the declared weights."""
    lower = value.lower()
    if lower in ("declared", "static"):
        return "Static"
    for name in weighting.NAMES:
        if name.lower() == lower or name.lower().replace("-", "") == lower.replace("-", ""):
            return name
    raise argparse.ArgumentTypeError(f"unknown weighting '{value}'; use declared or one of {', '.join(weighting.NAMES)}")


def option(value):
    """--weighting-option name=value: a number, true/false, or a word (MGDA's normalization)."""
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"'{value}' is not name=value (e.g. alpha=0.5)")
    name, text = value.split("=", 1)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return name, lowered == "true"
    try:
        return name, int(text)
    except ValueError:
        pass
    try:
        return name, float(text)
    except ValueError:
        return name, text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the model's class, also its module's name (the file <model>.py beside this script)")
    parser.add_argument("--data", required=True, help="the training split, as MultiTaskData.Save wrote it")
    parser.add_argument("--weights", help="initial weights (safetensors); default: the twin's own initialisation")
    parser.add_argument("--out", required=True, help="where process 0 writes the trained weights (safetensors)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch, split across the processes")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--lr-factors", help="the learning rate's factor in each epoch, comma-separated (Fit's schedule); default 1 in every epoch")
    parser.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="sgd", help="as MtlDsl.Optimizers' SGD, Adam and AdamW")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD's momentum")
    parser.add_argument("--dampening", type=float, default=0.0, help="SGD's dampening")
    parser.add_argument("--nesterov", action="store_true", help="SGD's Nesterov momentum")
    parser.add_argument("--betas", default="0.9,0.999", help="Adam's and AdamW's beta1,beta2")
    parser.add_argument("--eps", type=float, default=1e-8, help="Adam's and AdamW's epsilon")
    parser.add_argument("--amsgrad", action="store_true", help="Adam's and AdamW's AMSGrad")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="Fit's Seed: reseeds torch's generator every epoch, and orders the batches with --shuffle")
    parser.add_argument("--shuffle", nargs="?", type=int, const=-1, default=None,
                        help="shuffle the samples every epoch as Fit does (an optional value is the seed, as --seed)")
    parser.add_argument("--interleaving", choices=["all-tasks", "round-robin", "proportional"], default="all-tasks",
                        help="with one dataset per task: every task in every step, or one task per step in turns or drawn by the batches left (Fit's Interleaving)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--sync-batchnorm", action="store_true", help="on GPUs: BatchNorm statistics over the global batch")
    parser.add_argument("--weighting", type=strategy_name, default="Static", help="declared (the declared weights) or a strategy's name")
    parser.add_argument("--weighting-option", type=option, action="append", default=[], metavar="NAME=VALUE", help="an option of the strategy (repeatable)")
    parser.add_argument("--strategy-seed", type=int, default=None, help="the strategy's seed (WeightingStrategies.Create's): RLW's draws, PCGrad's and GradVac's shuffles")
    parser.add_argument("--temperature", type=float, default=None, help="DWA's temperature (as --weighting-option temperature=T)")
    parser.add_argument("--validation", help="validation data (as --data): evaluated after every epoch with every task's loss and default metrics, as Fit")
    parser.add_argument("--evaluation-batch-size", type=int, default=512, help="samples per validation batch (Fit's EvaluationBatchSize)")
    parser.add_argument("--early-stopping", metavar="TASK:METRIC", help="stop when this validation metric (loss, accuracy, macro_f1, auc, mae, …) has not improved for --patience epochs")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--min-delta", type=float, default=0.0, help="the least change that counts as an improvement")
    parser.add_argument("--no-restore-best", action="store_true", help="keep the last epoch's weights rather than the best epoch's")
    parser.add_argument("--output-dir", help="as Fit's OutputDirectory: process 0 writes <dir>/checkpoints/last.ckpt, MtlDsl's checkpoint, after every epoch")
    parser.add_argument("--resume-from", help="a checkpoint MtlDsl's Fit or this script wrote: training goes on at the epoch after it")
    parser.add_argument("--max-grad-norm", type=float, default=None, help="clip the gradients to this global L2 norm (the trainer's MaxGradientNorm)")
    parser.add_argument("--non-finite", choices=["throw", "skip"], default="throw", help="a step with non-finite gradients stops training or is skipped (Fit's NonFiniteGradients)")
    parser.add_argument("--max-skipped-steps", type=int, default=10, help="with --non-finite skip: how many skipped steps the run tolerates")
    args = parser.parse_args()
    if args.shuffle is not None and args.shuffle != -1:
        args.seed = args.shuffle
    options = dict(args.weighting_option)
    if args.temperature is not None:
        options["temperature"] = args.temperature

    if "RANK" not in os.environ:  # not under torchrun: one process
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)

    def fail(message):
        if rank == 0:
            print(f"train_ddp.py: {message}", file=sys.stderr, flush=True)
        leave(2)

    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = getattr(importlib.import_module(args.model), args.model)().to(dtype)
    if args.weights:
        model.load_state_dict(mtl.load_safetensors(args.weights), strict=True)
    if args.sync_batchnorm:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device).train()
    tasks = len(model.TASKS)
    try:
        strategy = weighting.create(args.weighting, tasks, dtype, device, seed=args.strategy_seed, declared_weights=model.WEIGHTS, **options)
    except (TypeError, ValueError) as e:
        fail(f"--weighting {args.weighting}: {e}")
    shared = model.shared_parameters()
    if strategy.uses_gradients and not shared:
        fail(f"{args.model} has no shared parameters for {strategy.name} to take task gradients of")
    shared_ids = {id(p) for p in shared}
    others = [p for p in model.parameters() if id(p) not in shared_ids] + strategy.parameters()
    # The optimizer holds the parameters in MtlDsl's order (the twin's PARAMETERS), so its state reads and writes as
    # MtlDsl's checkpoints hold it.
    by_name = dict(model.named_parameters())
    guarded = [by_name[name] for name in model.PARAMETERS] + strategy.parameters()
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(guarded, lr=args.lr, momentum=args.momentum, dampening=args.dampening, weight_decay=args.weight_decay, nesterov=args.nesterov)
    else:
        betas = tuple(float(b) for b in args.betas.split(","))
        make = torch.optim.Adam if args.optimizer == "adam" else torch.optim.AdamW
        optimizer = make(guarded, lr=args.lr, betas=betas, eps=args.eps, weight_decay=args.weight_decay, amsgrad=args.amsgrad)
    factors = [float(f) for f in args.lr_factors.split(",")] if args.lr_factors else []
    if factors and len(factors) < args.epochs:
        fail(f"--lr-factors has {len(factors)} factors for {args.epochs} epochs; give one per epoch")
    epoch_losses = []  # every finished epoch's average loss per task (DWA and GradNorm read them)
    # Early stopping's state, as Fit keeps it: the best epoch and value, the epochs since, whether it stopped, and the
    # best epoch's weights (safetensors bytes) when they are restored at the end.
    best = {"BestEpoch": None, "BestValue": None, "EpochsWithoutImprovement": 0, "StoppedEarly": False, "weights": None}

    def checkpoint(next_epoch, rates, epochs, steps_taken):
        """The sections of MtlDsl's checkpoint of the fit after an epoch: what Fit's OutputDirectory writes."""
        meta = {"Model": model.CHECKPOINT_MODEL, "Tasks": list(model.TASKS), "Optimizer": mtl.optimizer_kind(optimizer),
                "Trainer": {"StepCount": steps_taken, "EpochLosses": [list(e) for e in epoch_losses], "EpochSums": [0.0] * tasks,
                            "EpochCounts": [0] * tasks, "Weighting": strategy.name, "WeightingState": strategy.state()},
                "Fit": {"NextEpoch": next_epoch, "BaseLearningRates": list(rates), "BestEpoch": best["BestEpoch"], "BestValue": best["BestValue"],
                        "EpochsWithoutImprovement": best["EpochsWithoutImprovement"], "History": epochs, "StoppedEarly": best["StoppedEarly"]}}
        sections = [("meta", json.dumps(mtl.json_numbers(meta), indent=2).encode("utf-8")),
                    ("model", mtl.safetensors_bytes(model.state_dict())),
                    ("optimizer", mtl.optimizer_state_bytes(optimizer, guarded, rates))]
        return sections + ([("best_model", best["weights"])] if best["weights"] is not None else [])

    def resume(path):
        """Continues a fit from a checkpoint MtlDsl's Fit (or this script) wrote: checked whole before anything is
        loaded (the model, its tasks, the optimizer and the strategy it was written for; every tensor's name, dtype and
        shape; the optimizer's and the strategy's states), then the weights, the optimizer's and strategy's states, the
        step count and the epochs' losses. Returns the next epoch, the base learning rates, the history and the steps."""
        try:
            sections = mtl.read_checkpoint(path)
            meta = mtl.python_numbers(json.loads(sections["meta"].decode("utf-8")))
            trainer, fit = meta.get("Trainer") or {}, meta.get("Fit")
            if meta.get("Model") != model.CHECKPOINT_MODEL or meta.get("Tasks") != list(model.TASKS):
                raise ValueError(f"it was written for {meta.get('Model')} (tasks {meta.get('Tasks')}), not for {model.CHECKPOINT_MODEL} (tasks {list(model.TASKS)})")
            if meta.get("Optimizer") != mtl.optimizer_kind(optimizer):
                raise ValueError(f"it holds the state of the optimizer {meta.get('Optimizer')}; this run uses {mtl.optimizer_kind(optimizer)} (--optimizer)")
            if trainer.get("Weighting") != strategy.name:
                raise ValueError(f"it was written with the {trainer.get('Weighting')} weighting strategy; this run uses {strategy.name} (--weighting)")
            if fit is None:
                raise ValueError("it was saved outside a fit (SaveCheckpoint); only a fit's checkpoint can be resumed")
            if len(fit["BaseLearningRates"]) != len(optimizer.param_groups) or len(fit["History"]) != fit["NextEpoch"]:
                raise ValueError("its fit state does not fit this optimizer (one base rate per parameter group) or its history (one entry per epoch)")
            weights = mtl.parse_safetensors(sections["model"], f"the checkpoint '{path}' (its 'model' section)")
            state = model.state_dict()
            if set(weights) != set(state):
                raise ValueError(f"its model section holds {sorted(set(weights) ^ set(state))[:4]} where {args.model} differs")
            for section in ("model", "best_model") if "best_model" in sections else ("model",):
                held = weights if section == "model" else mtl.parse_safetensors(sections[section], f"the checkpoint '{path}' (its '{section}' section)")
                wrong = [name for name in state if name not in held or held[name].dtype != state[name].dtype or held[name].shape != state[name].shape]
                if wrong or set(held) != set(state):
                    name = (wrong or sorted(set(held) ^ set(state)))[0]
                    if name not in state:
                        raise ValueError(f"its '{section}' section holds '{name}', which {args.model} does not have")
                    if name not in held:
                        raise ValueError(f"its '{section}' section lacks '{name}' of {args.model}")
                    raise ValueError(f"its '{section}' section holds '{name}' as {held[name].dtype} {list(held[name].shape)}; {args.model} has it as "
                                     f"{state[name].dtype} {list(state[name].shape)}" + (" (--dtype)" if held[name].dtype != state[name].dtype else ""))
            if (fit.get("BestEpoch") is None) != (fit.get("BestValue") is None):
                raise ValueError("it gives a best epoch without a best value, or a value without an epoch")
            trial = weighting.create(args.weighting, tasks, dtype, device, seed=args.strategy_seed, declared_weights=model.WEIGHTS, **options)
            trial.load_state(trainer["WeightingState"])
            epochs = [list(e) for e in trainer["EpochLosses"]]
            if any(len(e) != tasks for e in epochs):
                raise ValueError("its epoch losses are not one per task")
            # The last check applies the optimizer's state, and nothing before it changed anything.
            mtl.load_optimizer_state(optimizer, guarded, sections["optimizer"], f"the checkpoint '{path}'")
        except (ValueError, KeyError, TypeError) as error:
            fail(f"--resume-from {path}: {error}; nothing was loaded")
        with torch.no_grad():
            for name, tensor in state.items():
                tensor.copy_(weights[name])
        strategy.load_state(trainer["WeightingState"])
        epoch_losses.extend(epochs)
        best.update({key: fit.get(key, best[key]) for key in ("BestEpoch", "BestValue", "EpochsWithoutImprovement", "StoppedEarly")})
        best["weights"] = sections.get("best_model")
        if rank == 0:
            print(f"resumed {path} after {fit['NextEpoch']} finished epochs ({trainer['StepCount']} steps taken)", flush=True)
        return fit["NextEpoch"], list(fit["BaseLearningRates"]), list(fit["History"]), int(trainer["StepCount"])

    names = list(model.PARAMETERS)
    base_rates = [args.lr]  # the learning rate the schedule's factors multiply (a resumed run's is the checkpoint's)
    first_epoch, history, step = 0, [], 0
    if args.resume_from:
        first_epoch, base_rates, history, step = resume(args.resume_from)

    def floating(x):
        return x.to(dtype) if x.is_floating_point() else x

    def load_data(path):
        """One dataset for all tasks ("input.<name>"), or one per task ("task.<task>.input.<name>"), as MultiTaskData.Save
        wrote it: whether it is per task, every task's inputs (with one dataset, the same tensors), the targets by task,
        and each task's number of samples."""
        try:
            data = mtl.load_safetensors(path)
        except (OSError, ValueError) as error:
            fail(f"{path}: {error}")
        per_task = any(name.startswith("task.") for name in data)
        expected = ([f"task.{task}.input.{name}" for task in model.TASKS for name in model.INPUTS] if per_task
                    else ["input." + name for name in model.INPUTS]) + ["target." + task for task in model.TASKS]
        missing = [name for name in expected if name not in data]
        if missing:
            fail(f"{path} is not data of {args.model}: it lacks {', '.join(missing)} (it holds {', '.join(sorted(data))}; "
                 f"{args.model} reads {', '.join(expected)}). Write it with MultiTaskData<{args.model}.Targets>.Save.")
        inputs = [[floating(data[(f"task.{task}." if per_task else "") + "input." + name]) for name in model.INPUTS] for task in model.TASKS]
        targets = {task: floating(data["target." + task]) for task in model.TASKS}
        counts = [targets[task].shape[0] for task in model.TASKS]
        wrong = [task for task, xs, n in zip(model.TASKS, inputs, counts) for x in xs if x.shape[0] != n]
        if wrong or (not per_task and len(set(counts)) > 1):
            fail(f"{path}: task '{wrong[0] if wrong else model.TASKS[counts.index(max(counts))]}' has inputs and targets of different numbers of samples")
        return per_task, inputs, targets, counts

    per_task, inputs, targets, counts = load_data(args.data)
    validation = load_data(args.validation) if args.validation else None
    stop = None
    if args.early_stopping:
        if validation is None:
            fail("--early-stopping watches a validation metric: give the validation data with --validation")
        stop_task, _, stop_metric = args.early_stopping.partition(":")
        if stop_task not in model.TASKS:
            fail(f"--early-stopping watches task '{stop_task}', which {args.model} does not have; its tasks are {', '.join(model.TASKS)}")
        kind = model.LOSSES[model.TASKS.index(stop_task)]
        known = ["loss"] + {"cross_entropy": ["accuracy", "macro_f1", "mean_iou"], "binary_cross_entropy_with_logits": ["accuracy", "auc", "log_loss"]}.get(kind, ["mae", "rmse"])
        if stop_metric not in known:
            fail(f"--early-stopping watches metric '{stop_metric}' of task '{stop_task}', which has {', '.join(known)} (TASK:METRIC)")
        if args.patience < 1:
            fail("--patience must be at least 1")
        stop = (stop_task, stop_metric, mtl.higher_is_better(kind, stop_metric))
    interleaving = args.interleaving if per_task else "all-tasks"
    if per_task and interleaving != "all-tasks" and strategy.fixed_weights is None:
        fail(f"{strategy.name} weights the tasks from all of their losses or gradients at once, so it cannot train one task per step "
             f"(--interleaving {interleaving}); use --interleaving all-tasks, or the declared weights or EW (as Fit)")
    # DDP averages the gradients of the loss-weighting strategies' one backward pass; the gradient methods take K
    # passes and average each task's gradient themselves.
    # With one dataset per task each task's batch runs on its own, so the gradients are averaged here too.
    ddp = None if strategy.uses_gradients or per_task else DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    loss_args = model.LOSS_ARGS or [{}] * tasks  # each task's class or positive weights

    def all_mean(tensor):
        """The mean over the processes (every process holds it after)."""
        dist.all_reduce(tensor)
        return tensor.div_(world)

    def shares(outputs, y):
        """Each task's share of its global-batch loss, times the number of processes (so that the processes' mean is the
        loss), and which tasks have labels in the global batch. A weight-0 task (a factor of a product task, ESMM's
        conversion) is scored only: it counts as without labels, as in Fit. A task without an output (the others of a one-task
        step) counts as without labels too."""
        counts = torch.tensor([0.0 if weight == 0 or task not in outputs else mtl.loss_denominator(kind, y[task], options_.get("weight"))
                               for task, kind, options_, weight in zip(model.TASKS, model.LOSSES, loss_args, model.WEIGHTS)],
                              dtype=torch.float64, device=device)
        totals = counts.clone()
        dist.all_reduce(totals)
        values = []
        for k, (task, kind, options_) in enumerate(zip(model.TASKS, model.LOSSES, loss_args)):
            if task not in outputs:  # a one-task step: the other tasks do not run
                values.append(torch.zeros((), dtype=dtype, device=device))
                continue
            if counts[k] == 0:  # no label of the task in this shard (or none that weighs): a 0 still in the graph
                values.append(outputs[task].sum() * 0.0)
                continue
            value, _ = mtl.task_loss(kind, outputs[task], y[task], **options_)
            values.append(value * float(counts[k] * world / totals[k]))
        return values, [bool(totals[k] > 0) for k in range(tasks)]

    def global_values(values):
        """Each task's loss over the global batch (float64, every process the same)."""
        return [float(v) for v in all_mean(torch.stack([v.detach() for v in values]).to(torch.float64))]

    def gradients_finite():
        sums = [p.grad.sum() for p in guarded if p.grad is not None]
        return not sums or bool(torch.stack(sums).sum().isfinite()) or all(bool(p.grad.isfinite().all()) for p in guarded if p.grad is not None)

    def non_finite_parameters():
        labels = names + [f"{strategy.name} parameter {i}" for i in range(len(strategy.parameters()))]
        return [label for label, p in zip(labels, guarded) if p.grad is not None and not bool(p.grad.isfinite().all())]

    def run_step(plan, epoch):
        """One step of the plan: [(None, batch)] for one dataset (every task on the batch), [(k, batch_k) for every task]
        with one dataset per task interleaved AllTasks, [(k, batch)] for one task's step (RoundRobin, Proportional).
        Returns each task's global loss (NaN where it has no labels or did not take part) and the task weights, or
        (None, None) for a step skipped for non-finite gradients."""
        def forward():
            if plan[0][0] is None:
                mine = torch.tensor_split(plan[0][1], world)[rank]
                return (ddp or model)(*[t[mine].to(device) for t in inputs[0]]), {task: t[mine].to(device) for task, t in targets.items()}
            outputs, y = {}, {}
            for k, batch in plan:
                mine = torch.tensor_split(batch, world)[rank]
                outputs[model.TASKS[k]] = model.forward_task(k, *[t[mine].to(device) for t in inputs[k]])
                y[model.TASKS[k]] = targets[model.TASKS[k]][mine].to(device)
            return outputs, y

        nonlocal skipped
        saved_state = strategy.state()
        saved_buffers = [b.detach().clone() for b in model.buffers()]
        optimizer.zero_grad()
        outputs, y = forward()
        taking = [k for k, _ in plan] if plan[0][0] is not None else list(range(tasks))
        values, present = shares(outputs, y)
        losses = global_values(values)
        bad = next((k for k in taking if not math.isfinite(losses[k])), None)
        if bad is not None:
            fail(f"step {step}: the loss of task '{model.TASKS[bad]}' is {losses[bad]} (Fit stops with NonFiniteLossException)")
        if len(taking) < tasks:  # one task's step, with its fixed weight (Fit's StepTask)
            k = taking[0]
            weights = strategy.fixed_weights
            (values[k] * weights[k]).backward()
            weighting.average_gradients(guarded, all_mean)
        else:
            context = weighting.Context(epoch, epoch_losses, present, losses)
            weights = weighting.backward(strategy, values, context, shared, others, all_mean)
            if ddp is None and not strategy.uses_gradients:
                weighting.average_gradients(list(model.parameters()), all_mean)
        bad_weight = next((k for k in range(tasks) if not math.isfinite(weights[k])), None)
        if bad_weight is not None or not gradients_finite():
            where = (f"{strategy.name} gave task '{model.TASKS[bad_weight]}' the weight {weights[bad_weight]}" if bad_weight is not None
                     else f"the gradient is not finite in {', '.join(non_finite_parameters()[:4])}")
            optimizer.zero_grad()
            strategy.load_state(saved_state)
            with torch.no_grad():
                for b, saved in zip(model.buffers(), saved_buffers):
                    b.copy_(saved)
            if args.non_finite == "throw":
                fail(f"step {step}: {where} (Fit stops with NonFiniteGradientException)")
            skipped += 1
            if rank == 0:
                print(f"step {step} skipped: {where}", flush=True)
            if skipped > args.max_skipped_steps:
                fail(f"{skipped} steps had non-finite gradients, more than --max-skipped-steps {args.max_skipped_steps}; the last: {where}")
            return None, None
        if args.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(guarded, args.max_grad_norm)
        optimizer.step()
        if strategy.needs_losses_after_step:  # FAMO: the batch's losses after the step
            with torch.no_grad():
                after = global_values(shares(*forward())[0])
            strategy.after_step([after[k] if present[k] else float("nan") for k in range(tasks)])
        return [losses[k] if present[k] and k in taking else float("nan") for k in range(tasks)], weights

    skipped = 0
    last_weights = []
    def validation_batches():
        """The validation data in batches of --evaluation-batch-size in file order, every task's or each task's own."""
        held_per_task, held_inputs, held_targets, held_counts = validation
        size = args.evaluation_batch_size
        for k in range(tasks) if held_per_task else [None]:
            for start in range(0, held_counts[k or 0], size):
                chosen = held_targets if k is None else {model.TASKS[k]: held_targets[model.TASKS[k]]}
                yield k, [t[start:start + size].to(device) for t in held_inputs[k or 0]], {task: t[start:start + size].to(device) for task, t in chosen.items()}

    for epoch in range(first_epoch, args.epochs):
        if best["StoppedEarly"]:
            break
        clock = time.monotonic()
        steps_before, skipped_before = step, skipped
        torch.manual_seed(args.seed * 1_000_003 + epoch)  # as Fit: dropout and RLW's default generator
        factor = factors[epoch] if factors else 1.0
        for group, rate in zip(optimizer.param_groups, base_rates):
            group["lr"] = rate * factor
        sums, steps = [0.0] * tasks, [0] * tasks
        if not per_task:
            plans = [[(None, batch)] for batch in epoch_batches(counts[0], args.batch_size, args.seed, epoch, args.shuffle is not None)]
        elif interleaving == "all-tasks":
            plans = [list(enumerate(batches)) for batches in per_task_epoch(counts, args.batch_size, args.seed, epoch)]
        else:
            plans = [[(task, batch)] for task, batch in interleave(counts, args.batch_size, args.seed, epoch, interleaving == "proportional")]
        for plan in plans:
            step += 1
            losses, weights = run_step(plan, epoch)
            if losses is None:
                continue
            last_weights = weights
            for k in range(tasks):
                if not math.isnan(losses[k]):
                    sums[k] += losses[k]
                    steps[k] += 1
        epoch_losses.append([sums[k] / steps[k] if steps[k] else float("nan") for k in range(tasks)])
        # Validation on every process (the whole set: the same numbers everywhere, so every process stops alike).
        result = mtl.evaluate(model, validation_batches()) if validation is not None else None
        history.append({"Epoch": epoch, "LearningRate": optimizer.param_groups[0]["lr"], "Seconds": time.monotonic() - clock, "Steps": step - steps_before,
                        "TrainLosses": list(epoch_losses[-1]), "Weights": [float(w) for w in last_weights], "Validation": result,
                        "SkippedSteps": skipped - skipped_before})
        improved = False
        if stop is not None:
            stop_task, stop_metric, higher = stop
            k = model.TASKS.index(stop_task)
            value = result["Losses"][k] if stop_metric == "loss" else result["Metrics"][k].get(stop_metric, math.nan)
            previous = best["BestValue"]
            improved = not math.isnan(value) and (previous is None or (value > previous + args.min_delta if higher else value < previous - args.min_delta))
            if improved:
                best.update({"BestEpoch": epoch, "BestValue": value, "EpochsWithoutImprovement": 0})
                if not args.no_restore_best:
                    best["weights"] = mtl.safetensors_bytes(model.state_dict())
            else:
                best["EpochsWithoutImprovement"] += 1
            best["StoppedEarly"] = best["EpochsWithoutImprovement"] >= args.patience and epoch + 1 < args.epochs
        if rank == 0:
            watched = (f"; validation losses {', '.join(f'{t} {v:.4f}' for t, v in zip(model.TASKS, result['Losses']))}" if result is not None else "") + \
                      (f"; {stop[0]} {stop[1]} {value:.4f}{' (best)' if improved else ''}" if stop is not None else "")
            print(f"epoch {epoch + 1} of {args.epochs}: {step} steps, average losses {', '.join(f'{t} {v:.4f}' for t, v in zip(model.TASKS, epoch_losses[-1]))}; "
                  f"{strategy.name} weights {', '.join(f'{w:.4f}' for w in last_weights)}{watched}; {history[-1]['Seconds']:.3f} s", flush=True)
            if args.output_dir:  # as Fit's OutputDirectory: the checkpoint to resume from after every epoch, and the best epoch's
                sections = checkpoint(epoch + 1, base_rates, history, step)
                mtl.write_checkpoint(os.path.join(args.output_dir, "checkpoints", "last.ckpt"), sections)
                if improved:
                    mtl.write_checkpoint(os.path.join(args.output_dir, "checkpoints", "best.ckpt"), sections)
    if stop is not None and not args.no_restore_best and best["weights"] is not None:  # as Fit: the best epoch's weights
        restored = mtl.parse_safetensors(best["weights"], "the best epoch's weights")
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                tensor.copy_(restored[name])
        if rank == 0:
            print(f"restored the weights of epoch {best['BestEpoch'] + 1} (TrainingHistory.BestEpoch {best['BestEpoch']}, counted from 0), the best by {stop[0]} {stop[1]} ({best['BestValue']:.6g})"
                  f"{', stopped early' if best['StoppedEarly'] else ''}", flush=True)
    if rank == 0:
        mtl.save_safetensors(model.state_dict(), args.out)
        print(f"wrote {args.out} ({world} process{'es' if world > 1 else ''}, {step} steps, {skipped} skipped)", flush=True)
    dist.barrier()  # every process has finished its communication (and process 0 its files)
    leave(0)


def leave(code):
    """Ends the process without tearing down the process group. PyTorch 1.13's gloo group can deadlock in its
    destructor: it joins its worker threads while holding the GIL, and a worker that is freeing a tensor waits for the
    GIL (seen on this machine at the end of a run, after everything was written). The outputs are flushed and closed
    by then, so nothing is lost."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
