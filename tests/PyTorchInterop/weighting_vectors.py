"""The Python strategies of train_ddp.py (src/MtlDsl/PyTorch/mtldsl_weighting.py) on the reference vectors MtlDsl's C#
strategies are tested on (tests/MtlDsl.Tests/Reference/weighting-vectors.json, LibMTL's results on a tiny network;
WeightingReferenceTests does the same in C#): each entry's weights, trunk, head and scale gradients within the C#
test's tolerances (1e-5 relative: LibMTL's own arithmetic), CAGrad against the tight re-solve of its problem, and
RLW's trunk gradient Σ w_k g_k. One backward in one process, through mtldsl_weighting.backward as train_ddp.py calls
it. Prints one PASS or FAIL line; exits 1 on a failure.

    /usr/bin/python3 tests/PyTorchInterop/weighting_vectors.py
"""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "src", "MtlDsl", "PyTorch"))
import mtldsl_weighting as weighting  # noqa: E402

REFERENCE = os.path.join(here, "..", "MtlDsl.Tests", "Reference", "weighting-vectors.json")
F64 = torch.float64


def flat(value):
    return [x for row in value for x in flat(row)] if isinstance(value, list) else [value]


def strategy_of(method, tasks):
    kwargs, cls = method.get("kwargs", {}), method.get("libmtl_class", "")
    make = {
        "EW": lambda: weighting.EW(tasks, F64, "cpu"),
        "UW": lambda: weighting.UW(tasks, F64, "cpu"),
        "DWA": lambda: weighting.DWA(tasks, F64, "cpu", kwargs.get("T", 2.0)),
        "GradNorm": lambda: weighting.GradNorm(tasks, F64, "cpu", kwargs.get("alpha", 1.5)),
        "PCGrad": lambda: weighting.PCGrad(tasks, F64, "cpu", seed=0, shuffle=False),
        "MGDA": lambda: weighting.MGDA(tasks, F64, "cpu", {"loss+": "lossplus"}.get(kwargs.get("mgda_gn", "none"), kwargs.get("mgda_gn", "none"))),
        "CAGrad": lambda: weighting.CAGrad(tasks, F64, "cpu", kwargs.get("calpha", 0.5), int(kwargs.get("rescale", 1))),
        "IMTL": lambda: weighting.IMTL(tasks, F64, "cpu"),
        "GradVac": lambda: weighting.GradVac(tasks, F64, "cpu", kwargs.get("GradVac_beta", 0.5), seed=0, shuffle=False),
        "Aligned_MTL": lambda: weighting.AlignedMTL(tasks, F64, "cpu"),
        "RLW": lambda: weighting.RLW(tasks, F64, "cpu", seed=7),
    }
    if cls not in make:
        raise ValueError(f"the reference file has an entry of {cls} {kwargs}, which has no Python strategy")
    return make[cls]()


def run(case, method):
    tasks = case["task_num"]
    shared = torch.nn.Linear(4, 3).to(F64)
    heads = [torch.nn.Linear(3, 1).to(F64) for _ in range(tasks)]
    with torch.no_grad():
        shared.weight.copy_(torch.tensor(case["model"]["shared"]["weight"], dtype=F64))
        shared.bias.copy_(torch.tensor(case["model"]["shared"]["bias"], dtype=F64))
        for k, head in enumerate(heads):
            head.weight.copy_(torch.tensor(case["model"]["heads"][k]["weight"], dtype=F64))
            head.bias.copy_(torch.tensor(case["model"]["heads"][k]["bias"], dtype=F64))
    inputs = torch.tensor(case["inputs"], dtype=F64)
    representation = shared(inputs)
    losses = [torch.nn.functional.mse_loss(head(representation).squeeze(-1), torch.tensor(case["targets"][k], dtype=F64)) for k, head in enumerate(heads)]
    strategy = strategy_of(method, tasks)
    state = method.get("state", {})
    if "loss_scale" in state:
        strategy.load_state({"loss_scale": state["loss_scale"]})
    if "shuffle_orders" in method and hasattr(strategy, "replay"):
        strategy.replay = [list(order) for order in method["shuffle_orders"]]
    if "rho_T" in state:
        values = flat(state["rho_T"])
        strategy.target = [[values[i * tasks + j] for j in range(tasks)] for i in range(tasks)]
    epoch = state.get("epoch", 0)
    buffer = state.get("train_loss_buffer", [])
    epoch_losses = [[row[column] for row in buffer] for column in range(epoch)]
    context = weighting.Context(epoch, epoch_losses, None, [float(v) for v in losses])
    head_parameters = [p for head in heads for p in head.parameters()]
    weights = weighting.backward(strategy, losses, context, [shared.weight, shared.bias], head_parameters + strategy.parameters())
    trunk = flat(shared.weight.grad.tolist()) + flat(shared.bias.grad.tolist())
    head_grads = [flat(h.weight.grad.tolist()) + flat(h.bias.grad.tolist()) for h in heads]
    return strategy, weights, trunk, head_grads


def close(expected, actual, what, relative=1e-5):
    if len(expected) != len(actual):
        return [f"{what}: {len(actual)} values, expected {len(expected)}"]
    return [f"{what}[{i}]: LibMTL {e!r}, Python {a!r}" for i, (e, a) in enumerate(zip(expected, actual)) if abs(e - a) > relative * abs(e) + 1e-10]


def main():
    cases = json.load(open(REFERENCE))["cases"]
    problems, checked, classes = [], 0, set()
    for case in cases:
        g = case["task_grads_shared"]
        for entry, method in case["methods"].items():
            what = f"{case['id']}/{entry}"
            strategy, weights, trunk, heads = run(case, method)
            checked += 1
            cls = method.get("libmtl_class")
            classes.add(cls)
            if cls == "RLW":
                problems += close([sum(w * gk[p] for w, gk in zip(weights, g)) for p in range(len(trunk))], trunk, f"{what} trunk = Σ w·g", 1e-9)
                continue
            if cls == "CAGrad":
                problems += close(method["derived"]["weights_tight_solve"], weights, f"{what} weights (tight solve)", 1e-4)
                problems += close(method["shared_grad_flat"], trunk, f"{what} trunk gradient vs SLSQP", 1e-3)
                continue
            if cls == "GradVac":  # LibMTL returns no weights; MtlDsl reports each g_j's coefficient
                problems += close([sum(w * gk[p] for w, gk in zip(weights, g)) for p in range(len(trunk))], trunk, f"{what} trunk = Σ weight·g", 1e-9)
                problems += close(flat(method["state_after"]["rho_T"]), flat(strategy.target), f"{what} rho_T after")
            else:
                problems += close(method["weights"], weights, f"{what} weights")
            problems += close(method["shared_grad_flat"], trunk, f"{what} trunk gradient")
            for k, head in enumerate(method["head_grads"]):
                problems += close(flat(head["weight"]) + flat(head["bias"]), heads[k], f"{what} head {k} gradient")
            if "loss_scale_grad" in method:
                problems += close(method["loss_scale_grad"], flat(strategy.scale.grad.tolist()), f"{what} scale gradient")
    for problem in problems[:20]:
        print("  " + problem)
    # A file that lost entries must not pass as empty: every LibMTL class holds is checked.
    expected = {"EW", "UW", "DWA", "GradNorm", "PCGrad", "MGDA", "CAGrad", "IMTL", "GradVac", "Aligned_MTL", "RLW"}
    if not expected <= classes:
        problems.append(f"the file lacks entries of {', '.join(sorted(expected - classes))}")
    ok = not problems
    print(f"{'PASS' if ok else 'FAIL'} train_ddp.py's Python strategies on the reference vectors of MtlDsl's C# strategies: {checked} entries of "
          f"{len(cases)} cases, {len(problems)} values outside the tolerances")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
