"""Trains an MtlDsl model's PyTorch twin with DistributedDataParallel, one process per device (gloo on CPUs, NCCL on
GPUs), on data MtlDsl exported (MultiTaskData.Save: one safetensors file per split, "input.<name>" for every input
and "target.<task>" for every task, the samples first, missing labels -100 or NaN), from weights MtlDsl exported
(model.ExportPyTorch), and writes the trained weights as safetensors for SafeTensors.Load in C#:

    torchrun --nproc_per_node=2 train_ddp.py --model RecommenderModel --data train.safetensors \\
        --weights RecommenderModel.safetensors --out trained.safetensors --epochs 2 --batch-size 64 --lr 0.05

Every step takes the next global batch of --batch-size samples (in file order, as MtlDsl's Fit with Shuffle =
false, or with --shuffle S the order of Fit with Seed = S) and splits it into contiguous shards, one per process, of
sizes that differ by at most one (the last batch of an epoch may be smaller, as in Fit). Each task's loss is the mean
over the labels present in the whole global batch (the shards' counts, or with class weights the labels' total
weights, are summed across processes), so the
gradients DDP averages are those of the single-process step on the global batch. Without torchrun the script runs as
one process. The tasks are weighted as declared (default), or with
the strategies that need no more than the losses, as MtlDsl computes them: --weighting ew (equal weights), uw
(Kendall et al.'s uncertainty weighting, its log-variances learned with the model, their gradients averaged across
the processes), dwa (Liu et al.'s dynamic weight average, from the last two epochs' average losses).
BatchNorm keeps per-process statistics on CPUs (PyTorch's SyncBatchNorm needs GPUs; --sync-batchnorm there).
"""
import argparse
import importlib
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtldsl_torch as mtl  # noqa: E402


def dwa_weights(epoch_losses, tasks, temperature):
    """DWA (MtlDsl's DynamicWeightAverage): from the third epoch, K·softmax(L_k(t-1) / L_k(t-2) / T); before, 1."""
    if len(epoch_losses) < 2:
        return [1.0] * tasks
    import math
    ratio = [last / before / temperature for last, before in zip(epoch_losses[-1], epoch_losses[-2])]
    # A task without an average (no labels; a weight-0 factor of a product task) keeps 1, as MtlDsl's DWA.
    known = [k for k, r in enumerate(ratio) if math.isfinite(r)]
    weights = [1.0] * tasks
    if known:
        top = max(ratio[k] for k in known)
        total = sum(math.exp(ratio[k] - top) for k in known)
        for k in known:
            weights[k] = len(known) * math.exp(ratio[k] - top) / total
    return weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the model's class, also its module's name (the file <model>.py beside this script)")
    parser.add_argument("--data", required=True, help="the training split, as MultiTaskData.Save wrote it")
    parser.add_argument("--weights", help="initial weights (safetensors); default: the twin's own initialisation")
    parser.add_argument("--out", required=True, help="where process 0 writes the trained weights (safetensors)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch, split across the processes")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD's momentum")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--shuffle", type=int, default=None, help="a seed: shuffle the samples every epoch (default: file order)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--sync-batchnorm", action="store_true", help="on GPUs: BatchNorm statistics over the global batch")
    parser.add_argument("--weighting", choices=["declared", "ew", "uw", "dwa"], default="declared", help="how the task losses are weighted")
    parser.add_argument("--temperature", type=float, default=2.0, help="DWA's temperature")
    args = parser.parse_args()

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
        dist.destroy_process_group()
        raise SystemExit(2)

    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = getattr(importlib.import_module(args.model), args.model)().to(dtype)
    if args.weights:
        model.load_state_dict(mtl.load_safetensors(args.weights), strict=True)
    if args.sync_batchnorm:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device).train()
    ddp = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    tasks = len(model.TASKS)
    # UW's log-variances (MtlDsl's UncertaintyWeighting: every one starts at -0.5), learned with the model.
    log_variance = torch.nn.Parameter(torch.full((tasks,), -0.5, dtype=dtype, device=device)) if args.weighting == "uw" else None
    parameters = list(ddp.parameters()) + ([log_variance] if log_variance is not None else [])
    optimizer = (torch.optim.SGD(parameters, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay) if args.optimizer == "sgd"
                 else torch.optim.Adam(parameters, lr=args.lr, weight_decay=args.weight_decay))
    epoch_losses = []  # every finished epoch's average loss per task (DWA reads the last two)

    data = mtl.load_safetensors(args.data)
    expected = ["input." + name for name in model.INPUTS] + ["target." + task for task in model.TASKS]
    missing = [name for name in expected if name not in data]
    if missing:
        fail(f"{args.data} is not data of {args.model}: it lacks {', '.join(missing)} (it holds {', '.join(sorted(data))}; "
             f"{args.model} reads {', '.join(expected)}). Write it with MultiTaskData<{args.model}.Targets>.Save.")
    inputs = [data["input." + name] for name in model.INPUTS]
    inputs = [x.to(dtype) if x.is_floating_point() else x for x in inputs]
    targets = {task: data["target." + task] for task in model.TASKS}
    targets = {task: t.to(dtype) if t.is_floating_point() else t for task, t in targets.items()}
    count = inputs[0].shape[0]
    loss_args = model.LOSS_ARGS or [{}] * tasks  # each task's class or positive weights

    step = 0
    for epoch in range(args.epochs):
        sums, steps = [0.0] * tasks, [0] * tasks
        order = torch.arange(count)
        if args.shuffle is not None:
            order = torch.randperm(count, generator=torch.Generator().manual_seed(args.shuffle * 1_000_003 + epoch))
        for start in range(0, count, args.batch_size):
            batch = order[start:start + args.batch_size]
            mine = torch.tensor_split(batch, world)[rank]
            x = [t[mine].to(device) for t in inputs]
            y = {task: t[mine].to(device) for task, t in targets.items()}
            outputs = ddp(*x)
            # Each task's mean over the global batch's present labels: local mean × local count / global count × world
            # (DDP averages the processes' gradients).
            # With class weights a task's mean is over the labels' total weight rather than their count.
            # A weight-0 task (a factor of a product task, ESMM's conversion) is scored only: it counts as without labels.
            counts = torch.tensor([0.0 if weight == 0 else mtl.loss_denominator(kind, y[task], options.get("weight"))
                                   for task, kind, options, weight in zip(model.TASKS, model.LOSSES, loss_args, model.WEIGHTS)],
                                  dtype=torch.float64, device=device)
            totals = counts.clone()
            dist.all_reduce(totals)
            values = []
            for k, (task, kind, options) in enumerate(zip(model.TASKS, model.LOSSES, loss_args)):
                if counts[k] == 0:  # no label of the task in this shard (or none that weighs): nothing to learn here, but DDP needs the graph
                    values.append(outputs[task].sum() * 0.0)
                    continue
                value, _ = mtl.task_loss(kind, outputs[task], y[task], **options)
                values.append(value * float(counts[k] * world / totals[k]))
            if args.weighting == "uw":
                twice_variance = log_variance.exp() * 2.0
                loss = (torch.stack(values) / twice_variance + log_variance / 2.0).sum()
            else:
                weights = model.WEIGHTS if args.weighting == "declared" else dwa_weights(epoch_losses, tasks, args.temperature) if args.weighting == "dwa" else [1.0] * tasks
                loss = None
                for value, weight in zip(values, weights):
                    term = value * weight
                    loss = term if loss is None else loss + term
            optimizer.zero_grad()
            loss.backward()
            if log_variance is not None:  # not inside DDP: its gradient is averaged here
                dist.all_reduce(log_variance.grad)
                log_variance.grad /= world
            optimizer.step()
            step += 1
            # The step's loss of every task over the global batch, for the epoch's average (where labels were present).
            global_values = torch.stack([v.detach() / world for v in values]).to(torch.float64)
            dist.all_reduce(global_values)
            for k in range(tasks):
                if totals[k] > 0:
                    sums[k] += float(global_values[k])
                    steps[k] += 1
        epoch_losses.append([sums[k] / steps[k] if steps[k] else float("nan") for k in range(tasks)])
        if rank == 0:
            print(f"epoch {epoch + 1}: {step} steps, average losses {', '.join(f'{t} {v:.4f}' for t, v in zip(model.TASKS, epoch_losses[-1]))}", flush=True)
    if rank == 0:
        mtl.save_safetensors(model.state_dict(), args.out)
        print(f"wrote {args.out} ({world} processes, {step} steps)", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
