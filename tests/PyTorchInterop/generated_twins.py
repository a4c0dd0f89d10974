"""The PyTorch twins MtlDsl writes from each model's plan (Model.PyTorchTwin, model.ExportPyTorch), checked against the
generated TorchSharp modules: for every model `dotnet run --project tests/PyTorchInterop -- generated <folder>` wrote,
this script imports the twin MtlDsl wrote, loads the weights with load_state_dict(strict=True) (every name
and shape must match), and compares, in float64, the eval-mode outputs and each task's loss (targets with missing
labels), and where the model has no dropout the training-mode outputs, the joint loss with the declared weights
and every gradient. Prints one PASS or FAIL line per model; exits 1 if any failed.

    /usr/bin/python3 tests/PyTorchInterop/generated_twins.py <folder>
"""
import importlib.util
import os
import sys

import torch

from safetensors_format import read

TOLERANCE = 1e-6


def load(folder, name):
    sys.path.insert(0, folder)  # mtldsl_torch.py sits beside the model's module
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path.pop(0)
    return getattr(module, name)


def check(root, name):
    folder = os.path.join(root, name)
    model = load(folder, name)().double()
    model.load_state_dict(read(os.path.join(folder, name + ".safetensors")), strict=True)
    io = read(os.path.join(folder, "io.safetensors"))
    inputs = [io[f"input.{i}"] for i in range(len(model.INPUTS))]
    targets = {task: io[f"target.{task}"] for task in model.TASKS}
    worst = {}
    model.eval()
    with torch.no_grad():
        outputs = model(*inputs)
        losses = model.task_losses(outputs, targets)
    worst["eval outputs"] = max((outputs[t] - io[f"eval.output.{t}"]).abs().max().item() for t in model.TASKS)
    worst["task losses"] = max(abs(losses[t][0].item() - io[f"eval.loss.{t}"].item()) for t in model.TASKS)
    if "train.loss" in io:
        model.train()
        outputs = model(*inputs)
        loss = model.joint_loss(outputs, targets)
        model.zero_grad()
        loss.backward()
        worst["train outputs"] = max((outputs[t] - io[f"train.output.{t}"]).abs().max().item() for t in model.TASKS)
        worst["joint loss"] = abs(loss.item() - io["train.loss"].item())
        worst["gradients"] = max(((p.grad if p.grad is not None else torch.zeros_like(p)) - io[f"grad.{n}"]).abs().max().item()
                                 for n, p in model.named_parameters())
    largest = max(worst.values())
    verdict = "PASS" if largest < TOLERANCE else "FAIL"
    details = ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
    print(f"{verdict} generated PyTorch twin of {name}: {len(model.state_dict())} tensors loaded strictly; largest difference: {details}")
    return largest < TOLERANCE


if __name__ == "__main__":
    root = sys.argv[1]
    with open(os.path.join(root, "models.txt")) as f:
        names = [line.strip() for line in f if line.strip()]
    results = []
    for name in names:
        try:
            results.append(check(root, name))
        except Exception as error:  # a twin that does not load or run is a failure of that model, not of the run
            print(f"FAIL generated PyTorch twin of {name}: {type(error).__name__}: {error}")
            results.append(False)
    sys.exit(0 if results and all(results) else 1)
