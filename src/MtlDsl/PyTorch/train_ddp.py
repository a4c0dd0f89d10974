"""Trains an MtlDsl model's PyTorch twin with DistributedDataParallel, one process per device (gloo on CPUs, NCCL on
GPUs), on data MtlDsl exported (MultiTaskData.Save: one safetensors file per split, "input.<name>" for every input
and "target.<task>" for every task, the samples first, missing labels -100 or NaN), from weights MtlDsl exported
(model.ExportPyTorch), and writes the trained weights as safetensors for SafeTensors.Load in C#:

    torchrun --nproc_per_node=2 train_ddp.py --model RecommenderModel --data train.safetensors \\
        --weights RecommenderModel.safetensors --out trained.safetensors --epochs 2 --batch-size 64 --lr 0.05

Every step takes the next global batch of --batch-size samples (in file order, or a seeded shuffle per epoch with
--shuffle) and splits it into equal contiguous shards, one per process. Each task's loss is the mean over the labels
present in the whole global batch (the shards' counts are summed across processes), so the gradients DDP averages
are those of the single-process step on the global batch, and the declared task weights make the joint loss.
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
    parser.add_argument("--shuffle", type=int, default=None, help="a seed: shuffle the samples every epoch (default: file order)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--sync-batchnorm", action="store_true", help="on GPUs: BatchNorm statistics over the global batch")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the number of processes ({world}): every process takes an equal shard")

    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = getattr(importlib.import_module(args.model), args.model)().to(dtype)
    if args.weights:
        model.load_state_dict(mtl.load_safetensors(args.weights), strict=True)
    if args.sync_batchnorm:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device).train()
    ddp = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    optimizer = (torch.optim.SGD if args.optimizer == "sgd" else torch.optim.Adam)(ddp.parameters(), lr=args.lr)

    data = mtl.load_safetensors(args.data)
    inputs = [data["input." + name] for name in model.INPUTS]
    inputs = [x.to(dtype) if x.is_floating_point() else x for x in inputs]
    targets = {task: data["target." + task] for task in model.TASKS}
    targets = {task: t.to(dtype) if t.is_floating_point() else t for task, t in targets.items()}
    count = inputs[0].shape[0]
    shard = args.batch_size // world

    step = 0
    for epoch in range(args.epochs):
        order = torch.arange(count)
        if args.shuffle is not None:
            order = torch.randperm(count, generator=torch.Generator().manual_seed(args.shuffle * 1_000_003 + epoch))
        for start in range(0, count, args.batch_size):
            batch = order[start:start + args.batch_size]
            if batch.numel() < args.batch_size:
                break  # a last, smaller batch cannot be split evenly; it is left out (say so below)
            mine = batch[rank * shard:(rank + 1) * shard]
            x = [t[mine].to(device) for t in inputs]
            y = {task: t[mine].to(device) for task, t in targets.items()}
            outputs = ddp(*x)
            # Each task's mean over the global batch's present labels: local mean × local count / global count × world
            # (DDP averages the processes' gradients).
            counts = torch.tensor([float(mtl.present_count(kind, y[task])) for task, kind in zip(model.TASKS, model.LOSSES)], dtype=torch.float64, device=device)
            totals = counts.clone()
            dist.all_reduce(totals)
            loss = None
            for k, (task, kind, weight) in enumerate(zip(model.TASKS, model.LOSSES, model.WEIGHTS)):
                value, _ = mtl.task_loss(kind, outputs[task], y[task])
                scale = float(counts[k] * world / totals[k]) if totals[k] > 0 else 0.0
                term = value * (scale * weight)
                loss = term if loss is None else loss + term
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        if rank == 0:
            print(f"epoch {epoch + 1}: {step} steps", flush=True)
    if rank == 0:
        left = count % args.batch_size
        if left:
            print(f"note: the last {left} samples of each epoch did not fill a global batch and were left out", flush=True)
        mtl.save_safetensors(model.state_dict(), args.out)
        print(f"wrote {args.out} ({world} processes, {step} steps)", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
