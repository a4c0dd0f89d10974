"""The PyTorch twins' losses with class and positive weights (mtldsl_torch.task_loss, as the twins call it with their
LOSS_ARGS) against every case of tests/MtlDsl.Tests/Reference/loss-weights.json: PyTorch's own weighted losses and
gradients on the labels present, which MtlDsl's TaskLosses reproduces (LossWeightTests). Also: a batch whose present
labels all weigh 0 has no loss (0, no gradient, not present), where PyTorch's weighted mean is 0/0; and
loss_denominator, train_ddp.py's weight of a batch. Prints one PASS or FAIL line; exits 1 on a failure.

    /usr/bin/python3 tests/PyTorchInterop/loss_weights.py
"""
import json
import math
import os
import sys

import torch

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "src", "MtlDsl", "PyTorch"))
import mtldsl_torch as mtl  # noqa: E402

KINDS = {"CrossEntropy": "cross_entropy", "BinaryCrossEntropyWithLogits": "binary_cross_entropy_with_logits"}


def values(items):
    return [float("nan") if v is None else v for v in items]


def main():
    with open(os.path.join(root, "tests", "MtlDsl.Tests", "Reference", "loss-weights.json")) as f:
        cases = json.load(f)["cases"]
    worst, failures = 0.0, []
    for case in cases:
        logits = torch.tensor(values(case["logits"]), dtype=torch.float64).reshape(case["shape"]).requires_grad_(True)
        target = torch.tensor(values(case["target"]), dtype=torch.float64).reshape(case["target_shape"])
        if case["indices"]:
            target = target.long()
        args = {"weight": case["class_weights"]} if case["class_weights"] else {"pos_weight": case["positive_weights"]}
        loss, present = mtl.task_loss(KINDS[case["loss"]], logits, target, **args)
        loss.backward()
        gradient = torch.tensor(case["gradient"], dtype=torch.float64).reshape(case["shape"])
        difference = max(abs(loss.item() - case["expected"]), (logits.grad - gradient).abs().max().item())
        worst = max(worst, difference)
        if not present or difference > 1e-12:
            failures.append(f"{case['name']}: difference {difference:.1e}, present {present}")

    # Present labels that all weigh 0: no loss, no gradient, not present; PyTorch's own mean is NaN.
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, mtl.MISSING_CLASS, 0, 0])
    loss, present = mtl.task_loss("cross_entropy", logits, labels, weight=(0.0, 2.0, 1.0))
    loss.backward()
    if present or loss.item() != 0 or logits.grad.abs().sum().item() != 0:
        failures.append(f"labels that weigh nothing: loss {loss.item()}, present {present}")
    denominator = mtl.loss_denominator("cross_entropy", torch.tensor([2, 1, mtl.MISSING_CLASS, 2]), (0.0, 2.0, 1.0))
    if denominator != 4.0 or mtl.loss_denominator("binary_cross_entropy_with_logits", torch.tensor([[1.0], [math.nan]])) != 1.0:
        failures.append(f"loss_denominator: {denominator}")

    for failure in failures:
        print(f"FAIL mtldsl_torch.task_loss with weights, {failure}")
    if not failures:
        print(f"PASS mtldsl_torch.task_loss with class and positive weights equals PyTorch's weighted losses and gradients on the labels present "
              f"({len(cases)} cases: indices, probabilities, flags, soft labels, maps, missing labels; largest difference {worst:.1e}), "
              "and labels that weigh nothing give no loss")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
