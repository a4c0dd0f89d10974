"""Writes loss-weights.json: the weighted losses of MtlDsl's tasks as PyTorch computes them (float64), for
LossWeightTests. Each case holds the logits, the target (null marks a NaN, a missing label; -100 a missing class),
the weights as declared on [Task] (ClassWeights, PositiveWeights), and PyTorch's loss and its gradient with respect
to the logits: PyTorch's functional loss with weight= or pos_weight= applied to the labels present (PyTorch has no
missing labels but -100, so a NaN label's element or row is left out first, which is MtlDsl's rule). Run with
PyTorch 1.13 (Debian's python3-torch):

    /usr/bin/python3 tests/MtlDsl.Tests/Reference/loss-weights.py > tests/MtlDsl.Tests/Reference/loss-weights.json
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(20260101)
D = torch.float64


def nested(t):
    return [None if isinstance(v, float) and math.isnan(v) else v for v in t.flatten().tolist()]


def case(name, loss, logits, target, class_weights=None, positive_weights=None):
    x = logits.clone().requires_grad_(True)
    if loss == "CrossEntropy":
        w = None if class_weights is None else torch.tensor(class_weights, dtype=D)
        if target.is_floating_point():
            # class probabilities: rows (per position) with a NaN are missing; PyTorch's mean over the rest
            moved = x.movedim(1, -1).reshape(-1, x.shape[1])
            probabilities = target.movedim(1, -1).reshape(-1, x.shape[1])
            present = ~torch.isnan(probabilities).any(1)
            value = F.cross_entropy(moved[present], probabilities[present], weight=w)
        else:
            value = F.cross_entropy(x, target, weight=w, ignore_index=-100)
    else:
        p = torch.tensor(positive_weights, dtype=D)
        if len(positive_weights) > 1:
            p = p.reshape([len(positive_weights)] + [1] * (x.dim() - 2))
        present = ~torch.isnan(target)
        if bool(present.all()):
            value = F.binary_cross_entropy_with_logits(x, target, pos_weight=p)
        else:
            expanded = p.expand_as(x)
            value = F.binary_cross_entropy_with_logits(x[present], target[present], pos_weight=expanded[present])
    value.backward()
    return {
        "name": name, "loss": loss,
        "shape": list(logits.shape), "logits": nested(logits),
        "target_shape": list(target.shape), "target": nested(target.double()), "indices": not target.is_floating_point(),
        "class_weights": class_weights, "positive_weights": positive_weights,
        "expected": value.item(), "gradient": nested(x.grad),
    }


def missing_classes(labels, fraction):
    return torch.where(torch.rand(labels.shape) < fraction, torch.full_like(labels, -100), labels)


def missing_values(values, fraction, per_row=False):
    if per_row:
        mask = (torch.rand(values.shape[0], *values.shape[2:]) < fraction).unsqueeze(1).expand_as(values)
        mask = mask & (torch.rand(values.shape) < 0.5)  # one NaN in a row is enough to miss it
    else:
        mask = torch.rand(values.shape) < fraction
    return torch.where(mask, torch.full_like(values, float("nan")), values)


def soft(shape):
    return torch.softmax(torch.randn(shape, dtype=D) * 2, 1)


cases = [
    case("class indices, weights", "CrossEntropy", torch.randn(9, 4, dtype=D) * 2, torch.randint(0, 4, (9,)), class_weights=[0.5, 2.0, 1.0, 7.25]),
    case("class indices, weights, missing labels", "CrossEntropy", torch.randn(12, 3, dtype=D) * 2,
         missing_classes(torch.randint(0, 3, (12,)), 0.3), class_weights=[1.0, 9.0, 0.25]),
    case("class indices, a class weighted 0, missing labels", "CrossEntropy", torch.randn(10, 3, dtype=D),
         missing_classes(torch.randint(0, 3, (10,)), 0.2), class_weights=[0.0, 3.0, 1.5]),
    case("class map, weights, missing pixels", "CrossEntropy", torch.randn(3, 4, 5, 2, dtype=D) * 2,
         missing_classes(torch.randint(0, 4, (3, 5, 2)), 0.25), class_weights=[1.0, 0.1, 4.0, 2.5]),
    case("class probabilities, weights", "CrossEntropy", torch.randn(8, 3, dtype=D) * 2, soft((8, 3)), class_weights=[3.0, 0.5, 1.25]),
    case("class probabilities, weights, missing rows", "CrossEntropy", torch.randn(11, 4, dtype=D) * 2,
         missing_values(soft((11, 4)), 0.3, per_row=True), class_weights=[1.0, 2.0, 0.0, 5.5]),
    case("class probability map, weights, missing positions", "CrossEntropy", torch.randn(2, 3, 4, 3, dtype=D),
         missing_values(soft((2, 3, 4, 3)), 0.25, per_row=True), class_weights=[0.75, 1.5, 6.0]),
    case("one label, a positive weight", "BinaryCrossEntropyWithLogits", torch.randn(10, 1, dtype=D) * 3,
         torch.randint(0, 2, (10, 1)).double(), positive_weights=[9.0]),
    case("one label, a positive weight, missing labels", "BinaryCrossEntropyWithLogits", torch.randn(13, 1, dtype=D) * 3,
         missing_values(torch.randint(0, 2, (13, 1)).double(), 0.3), positive_weights=[4.5]),
    case("multi-label, one weight for every label", "BinaryCrossEntropyWithLogits", torch.randn(7, 3, dtype=D) * 2,
         torch.randint(0, 2, (7, 3)).double(), positive_weights=[2.5]),
    case("multi-label, a weight per label, missing labels", "BinaryCrossEntropyWithLogits", torch.randn(9, 4, dtype=D) * 2,
         missing_values(torch.randint(0, 2, (9, 4)).double(), 0.25), positive_weights=[1.0, 10.0, 0.5, 3.0]),
    case("multi-label, soft targets, a weight per label", "BinaryCrossEntropyWithLogits", torch.randn(6, 3, dtype=D) * 2,
         torch.rand(6, 3, dtype=D), positive_weights=[0.2, 5.0, 1.5]),
    case("label map, a weight per label, missing pixels", "BinaryCrossEntropyWithLogits", torch.randn(3, 2, 4, 3, dtype=D) * 2,
         missing_values(torch.randint(0, 2, (3, 2, 4, 3)).double(), 0.2), positive_weights=[7.0, 0.5]),
]

print("{\"torch\": " + json.dumps(torch.__version__) + ", \"cases\": [\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]}")
