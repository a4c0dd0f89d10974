"""MtlDsl's PyTorch support: what the PyTorch twins that MtlDsl writes for every model from its plan
(`model.PyTorchTwin`, `model.ExportPyTorch(folder)`) share. Each helper computes what the C# runtime computes, in
the same order, under the same state-dict names, so that weights load strictly both ways and outputs agree to
rounding: residual blocks, the layer kinds PyTorch has no class for (the feature interactions FactorizationMachine,
InnerProduct and Cross, and AITM's Transfer), the experts and gates of MMoE, CGC and PLE, cross-stitch units, MTAN's attention, and
each task's loss with MtlDsl's missing-label rules (a class of -100 or a NaN target is missing; the loss is the
mean over the labels present) and its class or positive weights.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

MISSING_CLASS = -100


def module_dict(items):
    """An nn.ModuleDict whose keys may be any state-dict name: ModuleDict's own add_module refuses the names of
    nn.Module's members ("train", "eval", "type", "keys"...), which MtlDsl's tasks and blocks may take."""
    d = nn.ModuleDict()
    for key, module in items:
        d._modules[key] = module
    return d


class Residual(nn.Module):
    """layers(x) + x, or + shortcut(x) where the layers change the shape; then a ReLU if asked. Children: the layers,
    named 0, 1, ... as in nn.Sequential, and the projection, named shortcut (MtlDsl's ResidualBlock)."""

    def __init__(self, layers, shortcut=None, relu=False):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)
        self.count = len(layers)
        if shortcut is not None:
            self.shortcut = shortcut
        self.relu = relu

    def forward(self, x):
        y = x
        for i in range(self.count):
            y = self._modules[str(i)](y)
        y = y + (self._modules["shortcut"](x) if "shortcut" in self._modules else x)
        return F.relu(y) if self.relu else y


# ----- Feature interactions (MtlDsl's FactorizationMachineLayer, InnerProductLayer, CrossNetwork): layer kinds that
# the twins write as mtl.{Kind}(...), since torch.nn has none. Inputs are [N, F, K] (F fields' embeddings of size K)
# or [N, D]. -----

class FactorizationMachine(nn.Module):
    """A factorization machine's pairwise interactions (Rendle 2010): 0.5 * sum_k((sum_f v_fk)^2 - sum_f v_fk^2) of
    [N, F, K], [N, 1], which is sum_{f<g} <v_f, v_g>; with reduce_sum=False, NFM's bi-interaction [N, K] (torch-rechub's
    FM). No parameters."""

    def __init__(self, reduce_sum=True):
        super().__init__()
        self.reduce_sum = reduce_sum

    def forward(self, x):
        total = x.sum(1)
        interactions = total * total - (x * x).sum(1)
        if self.reduce_sum:
            interactions = interactions.sum(1, keepdim=True)
        return interactions * 0.5


class InnerProduct(nn.Module):
    """<v_f, v_g> for every pair f < g of [N, F, K] in row-major order (torch.triu_indices(F, F, 1); DeepCTR's
    InnerProductLayer of PNN, summed): [N, F(F-1)/2]. No parameters."""

    def forward(self, x):
        pairs = torch.triu_indices(x.shape[1], x.shape[1], 1, device=x.device)
        return (x.index_select(1, pairs[0]) * x.index_select(1, pairs[1])).sum(2)


class Cross(nn.Module):
    """A cross network of num_layers layers on [N, D]: x_{l+1} = x_0 * (x_l . w_l) + b_l + x_l (DCN, Wang et al. 2017),
    or with matrix=True x_{l+1} = x_0 * (x_l W_l^T + b_l) + x_l (DCN-V2, Wang et al. 2021; W_l as nn.Linear's weight).
    Parameters weights.{l} ([D] or [D, D]) and biases.{l} ([D]): the weights Glorot-normal (the vector as a D x 1
    kernel), the biases zero, as DeepCTR's CrossNet."""

    def __init__(self, in_features, num_layers, matrix=False):
        super().__init__()
        self.matrix = matrix
        std = math.sqrt(2.0 / (2.0 * in_features if matrix else in_features + 1.0))
        shape = (in_features, in_features) if matrix else (in_features,)
        self.weights = nn.ParameterList([nn.Parameter(torch.randn(shape) * std) for _ in range(num_layers)])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(in_features)) for _ in range(num_layers)])

    def forward(self, x):
        x0 = x
        for w, b in zip(self.weights, self.biases):
            crossed = x0 * F.linear(x, w, b) if self.matrix else x0 * (x @ w).unsqueeze(1) + b
            x = crossed + x
        return x


# ----- AITM's transfer points (MtlDsl.TransferUnit) -----

class Transfer(nn.Module):
    """A transfer point in a task's tower on [N, D] (AITM, Xi et al. 2021). Without a source, the point a later task
    reads: it passes its input on. With source (a task's name), it also reads that task's point z: what passes is
    p = relu(info(z)); the tower's own q and p are weighed by softmax over the two of <query(u), key(u)> / sqrt(D), and
    the output is the weighted sum of value(u). Parameters info.weight, info.bias, query.weight, key.weight,
    value.weight (the last three without bias)."""

    def __init__(self, in_features, source=None):
        super().__init__()
        self.in_features = in_features
        self.source = source
        if source is not None:
            self.info = nn.Linear(in_features, in_features)
            self.query = nn.Linear(in_features, in_features, bias=False)
            self.key = nn.Linear(in_features, in_features, bias=False)
            self.value = nn.Linear(in_features, in_features, bias=False)

    def forward(self, x, point=None):
        if self.source is None:
            return x
        if point is None:
            raise RuntimeError(f"this transfer point reads task {self.source!r}'s point too: run the model, not the head alone")
        passed = torch.relu(self.info(point))
        both = torch.stack([x, passed], 1)
        scores = (self.query(both) * self.key(both)).sum(-1) * (1.0 / math.sqrt(self.in_features))
        return (torch.softmax(scores, 1).unsqueeze(-1) * self.value(both)).sum(1)


def run_head(task, head, x, points):
    """Runs a task's head (an nn.Sequential); at its transfer point, with the point of the task it reads (from points,
    filled by the heads of earlier tasks), recording its own there."""
    if not isinstance(head, nn.Sequential) or not any(isinstance(layer, Transfer) for layer in head):
        return head(x)
    for layer in head:
        if isinstance(layer, Transfer):
            x = layer(x, points[layer.source] if layer.source is not None else None)
            points[task] = x
        else:
            x = layer(x)
    return x


# ----- MMoE, CGC, PLE (MtlDsl.Architectures.Mixture, ExpertBlock) -----

def gate(inputs, experts):
    """A gate: a linear map of the flattened input to one score per expert, then a softmax."""
    return nn.Sequential(nn.Linear(inputs, experts), nn.Softmax(dim=-1))


def per_task(tasks, counts):
    """One count per task: an int for every task alike, else a list in the order of tasks."""
    return [counts] * len(tasks) if isinstance(counts, int) else list(counts)


def gates(tasks, inputs, experts):
    """Every task's gate over experts (an int, or one size per task)."""
    return module_dict((t, gate(inputs, n)) for t, n in zip(tasks, per_task(tasks, experts)))


def mix(gate_module, x, experts):
    """Σ_e softmax(gate(flatten(x)))[n, e] · experts[e, n, ...]."""
    selector = gate_module(x if x.dim() == 2 else torch.flatten(x, 1))
    shape = list(selector.t().shape) + [1] * (experts.dim() - 2)
    return (experts * selector.t().reshape(shape)).sum(0)


class Experts(nn.Module):
    """One trunk block's copies: the shared experts, each task's own, and in PLE the level's gates."""

    def __init__(self, make, shared, tasks, task_experts, gate_inputs=None, shared_gate=False):
        """task_experts: each task's number of own experts, an int for every task alike or a list in the order of tasks."""
        super().__init__()
        counts = per_task(tasks, task_experts)
        self.shared = nn.ModuleList([make() for _ in range(shared)])
        self.tasks = module_dict((t, nn.ModuleList([make() for _ in range(n)])) for t, n in zip(tasks, counts))
        if gate_inputs is not None:
            self.gates = module_dict((t, gate(gate_inputs, shared + n)) for t, n in zip(tasks, counts))
            if shared_gate:
                self.shared_gate = gate(gate_inputs, shared + sum(counts))


def run_experts(chain, x, task=None):
    """Every expert's copy of the chained blocks on x, stacked: the shared experts, or task's own."""
    count = len(chain[0].shared) if task is None else len(chain[0].tasks[task])
    outputs = []
    for e in range(count):
        y = x
        for level in chain:
            y = (level.shared if task is None else level.tasks[task])[e](y)
        outputs.append(y)
    return torch.stack(outputs)


def mixture(chain, task_gates, x, tasks):
    shared = run_experts(chain, x)
    result = []
    for t in tasks:
        experts = shared if len(chain[0].tasks[t]) == 0 else torch.cat([shared, run_experts(chain, x, t)])
        result.append(mix(task_gates[t], x, experts))
    return result


def one_gate_mixture(chain, one_gate, x, tasks):
    m = mix(one_gate, x, run_experts(chain, x))
    return [m for _ in tasks]


def levels(chain, x, tasks):
    shared, own = x, [x for _ in tasks]
    for level in chain:
        shared_experts = run_experts([level], shared)
        task_experts = [None if len(level.tasks[t]) == 0 else run_experts([level], own[k], t) for k, t in enumerate(tasks)]
        following = [mix(level.gates[t], own[k], shared_experts if task_experts[k] is None else torch.cat([shared_experts, task_experts[k]]))
                     for k, t in enumerate(tasks)]
        if hasattr(level, "shared_gate"):
            shared = mix(level.shared_gate, shared, torch.cat([shared_experts] + [e for e in task_experts if e is not None]))
        own = following
    return own


# ----- Cross-stitch (MtlDsl.Architectures.CrossStitch) -----

def cross_stitch_units(stages, tasks):
    units = nn.ParameterList()
    for _ in range(stages - 1):
        alpha = torch.full((tasks, tasks), (1 - 0.9) / (tasks - 1) if tasks > 1 else 0.0)
        alpha.fill_diagonal_(0.9 if tasks > 1 else 1.0)
        units.append(nn.Parameter(alpha))
    return units


def cross_stitch(stages, units, x):
    columns = [column(x) for column in stages[0]]
    for s in range(1, len(stages)):
        alpha = units[s - 1]
        mixed = []
        for t in range(len(columns)):
            total = alpha[t, 0] * columns[0]
            for j in range(1, len(columns)):
                total = total + alpha[t, j] * columns[j]
            mixed.append(total)
        columns = [column(m) for column, m in zip(stages[s], mixed)]
    return columns


# ----- MTAN (MtlDsl.Architectures.TaskAttention) -----

def attention_mask(inputs, channels):
    return nn.Sequential(nn.Conv2d(inputs, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.Sigmoid())


def attention_block(inputs, outputs):
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1), nn.BatchNorm2d(outputs), nn.ReLU())


def attention(stages, masks, blocks, pools, x, tasks):
    attended = None
    for s, stage in enumerate(stages):
        layers = list(stage.children())
        for layer in layers[:-1]:
            x = layer(x)
        intermediate = x
        x = layers[-1](x)
        if attended is not None:
            carried = []
            for a in attended:
                y = blocks[s - 1](a)
                carried.append(F.max_pool2d(y, pools[s], pools[s]) if pools[s] > 1 else y)
            attended = carried
        attended = [masks[t][s](intermediate if attended is None else torch.cat([intermediate, attended[k]], 1)) * x
                    for k, t in enumerate(tasks)]
    return attended


# ----- Losses (MtlDsl.Losses.TaskLosses) -----

def _weights(values, output):
    """Declared weights as a tensor of the output's type on its device, rounded once from float64 (as MtlDsl does)."""
    return None if values is None else torch.tensor(values, dtype=torch.float64).to(dtype=output.dtype, device=output.device)


def _pos_weight(values, output):
    """Positive weights, one for every label or one per label along a sample's first dimension: [labels, 1, ...] for
    a map of labels, since PyTorch's pos_weight broadcasts along the last dimension."""
    weight = _weights(values, output)
    if weight is None or len(values) == 1 or output.dim() <= 2:
        return weight
    return weight.reshape([len(values)] + [1] * (output.dim() - 2))


def _elementwise(kind, output, target, reduction, pos_weight=None):
    if kind == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(output, target, reduction=reduction, pos_weight=pos_weight)
    if kind == "mse_loss":
        return F.mse_loss(output, target, reduction=reduction)
    if kind == "l1_loss":
        return F.l1_loss(output, target, reduction=reduction)
    return F.smooth_l1_loss(output, target, reduction=reduction)


def task_loss(kind, output, target, weight=None, pos_weight=None):
    """The task's loss, the mean over its labels present, and whether the batch holds any (a task without labels
    gives 0 and no gradient, as in MtlDsl). weight: cross-entropy's class weights (PyTorch's weight=; with class
    indices the mean is weighted, sum w_y*l / sum w_y, and a batch whose present labels all weigh 0 has no loss);
    pos_weight: binary cross-entropy's positive weights (PyTorch's pos_weight=), one for every label or one per label
    (MtlDsl's ClassWeights and PositiveWeights)."""
    if kind != "cross_entropy":
        positive = _pos_weight(pos_weight, output)
        missing = torch.isnan(target)
        if not bool(missing.any()):
            return _elementwise(kind, output, target, "mean", positive), target.numel() > 0
        present = ~missing
        per_element = _elementwise(kind, output, torch.nan_to_num(target, 0.0), "none", positive)
        return (per_element * present).sum() / present.sum().clamp_min(1), bool(present.any())
    classes = _weights(weight, output)
    if target.is_floating_point():  # class probabilities; a row with a NaN is missing
        present = ~torch.isnan(target).any(1)
        per_row = F.cross_entropy(output, torch.nan_to_num(target, 0.0), weight=classes, reduction="none")
        return (per_row * present).sum() / present.sum().clamp_min(1), bool(present.any())
    labels = target.long()
    present = labels != MISSING_CLASS
    if classes is not None:
        weighed = bool((classes[labels.masked_fill(~present, 0)] * present).sum() > 0)
        return F.cross_entropy(output, labels, weight=classes, ignore_index=MISSING_CLASS, reduction="mean" if weighed else "sum"), weighed
    if bool(present.all()):
        return F.cross_entropy(output, labels), labels.numel() > 0
    summed = F.cross_entropy(output, labels, ignore_index=MISSING_CLASS, reduction="sum")
    return summed / present.sum().clamp_min(1), bool(present.any())


def product_logit(factors):
    """The logit of σ(a₁)·…·σ(aₙ) (a [ProductOf] task, ESMM's pCTCVR) from the factors' logits: −logsumexp over the
    non-empty subsets S of −Σ_{i∈S} aᵢ, since 1/p − 1 = Π(1 + e^(−aᵢ)) − 1; finite where σ rounds to 1."""
    terms = []
    for subset in range(1, 1 << len(factors)):
        total = None
        for i, a in enumerate(factors):
            if subset >> i & 1:
                total = a if total is None else total + a
        terms.append(-total)
    return -torch.logsumexp(torch.stack(terms, -1), -1)


class TwinModule(nn.Module):
    """The base of every generated twin: forward returns every task's output by name; task_losses and joint_loss
    score them with the declared losses and weights."""

    TASKS = []
    LOSSES = []
    LOSS_ARGS = []  # per task: {"weight": class weights} or {"pos_weight": positive weights}, or {}
    WEIGHTS = []
    INPUTS = []
    FACTORS = []  # per task: the task indices a [ProductOf] task multiplies, or None; empty when there is none
    SHARED = []  # the state-dict names of the modules every task shares (what the gradient methods take task gradients of)

    def shared_parameters(self):
        """The shared parameters in state-dict order, as MtlDsl's SharedParameters()."""
        return [p for name, p in self.named_parameters() if any(name == m or name.startswith(m + ".") for m in self.SHARED)]

    def forward(self, *inputs):
        representations = self.representations(*inputs)
        factors = self.FACTORS or [None] * len(self.TASKS)
        points = {}  # the heads' transfer points by task, filled in declaration order
        outputs = {task: run_head(task, self._modules[name], r, points) for task, name, r, f in zip(self.TASKS, self.HEADS, representations, factors) if f is None}
        for task, f in zip(self.TASKS, factors):
            if f is not None:
                outputs[task] = product_logit([outputs[self.TASKS[k]] for k in f])
        return {task: outputs[task] for task in self.TASKS}

    def forward_task(self, task, *inputs):
        """One task's output (task: its index) as MtlDsl's ForwardTask computes it with one dataset per task: the shared
        part, then only the heads the task needs (its own, a product's factors, the towers whose transfer points they
        read), each once, in declaration order."""
        factors = self.FACTORS or [None] * len(self.TASKS)
        heads = list(factors[task]) if factors[task] is not None else [task]
        needed, pending = set(heads), list(heads)
        while pending:
            head = self._modules[self.HEADS[pending.pop()]]
            for layer in head if isinstance(head, nn.Sequential) else []:
                if isinstance(layer, Transfer) and layer.source is not None and self.TASKS.index(layer.source) not in needed:
                    needed.add(self.TASKS.index(layer.source))
                    pending.append(self.TASKS.index(layer.source))
        representations = self.representations(*inputs)
        points, outputs = {}, {}
        for k in sorted(needed):
            outputs[k] = run_head(self.TASKS[k], self._modules[self.HEADS[k]], representations[k], points)
        return outputs[task] if factors[task] is None else product_logit([outputs[k] for k in heads])

    def task_losses(self, outputs, targets):
        """{task: (loss, present)} for the outputs and targets (dicts by task name)."""
        arguments = self.LOSS_ARGS or [{}] * len(self.TASKS)
        return {task: task_loss(kind, outputs[task], targets[task], **args) for task, kind, args in zip(self.TASKS, self.LOSSES, arguments)}

    def joint_loss(self, outputs, targets):
        """Σ λ·L with the declared weights; a task of weight 0 (a factor of a product: scored, trained through the product) has no term."""
        losses = self.task_losses(outputs, targets)
        total = None
        for task, weight in zip(self.TASKS, self.WEIGHTS):
            if weight == 0:
                continue
            term = losses[task][0] * weight
            total = term if total is None else total + term
        return total


# ----- safetensors (the `safetensors` package where it is installed; Debian has none, so the format is also read and
# written here by its definition: an 8-byte little-endian header length, a JSON header, the bytes) -----

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
_SIZES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit


def load_safetensors(path):
    """{name: tensor} of a safetensors file. The whole header is checked before any tensor is made: its length (at
    most 100 MB, inside the file), every name once, known dtypes, shapes of whole numbers >= 0 whose size in bytes is
    the length of their byte range, and ranges that cover the data exactly (no overlap, no gap, nothing past the end,
    nothing after the last tensor). A file cut short, holding only a header, or inconsistent is a ValueError naming the
    file and the tensor, never a tensor of uninitialised memory."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        return parse_safetensors(f.read(), path)


def parse_safetensors(data, what):
    """{name: tensor} of safetensors bytes (what names them in errors), checked as load_safetensors checks a file."""
    import json
    import struct

    def bad(why):
        return ValueError(f"{what} is not a valid safetensors file: {why}")

    def whole(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def unique(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise bad(f"its header names '{key}' twice; every name must be unique")
            seen[key] = value
        return seen

    size = len(data)
    if size < 8:
        raise bad(f"it has {size} bytes, fewer than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER_BYTES:
        raise bad(f"its header claims {n} bytes, more than the limit of {_MAX_HEADER_BYTES}")
    if n > size - 8:
        raise bad(f"its header claims {n} bytes but the file has {size} (truncated, or not a safetensors file)")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"), object_pairs_hook=unique)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad(f"its header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    data_length = size - 8 - n
    entries = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise bad("its '__metadata__' is not an object of strings")
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"the header entry of tensor '{name}' is not an object of exactly dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _DTYPES:
            raise bad(f"tensor '{name}' has dtype '{dtype}'; expected one of {', '.join(_DTYPES)}")
        if not isinstance(shape, list) or not all(whole(d) for d in shape):
            raise bad(f"tensor '{name}' has the shape {shape}; expected a list of whole numbers >= 0")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(whole(o) for o in offsets):
            raise bad(f"tensor '{name}' has the data_offsets {offsets}; expected [begin, end], whole numbers >= 0")
        count = 1
        for d in shape:
            count *= d
        begin, end = offsets
        if end < begin or end > data_length or end - begin != count * _SIZES[dtype]:
            raise bad(f"tensor '{name}' ({dtype} {shape}, {count * _SIZES[dtype]} bytes) claims bytes [{begin}, {end}) "
                      f"of a data section of {data_length} bytes; expected a range of exactly its size inside the data "
                      "(truncated or corrupt)")
        entries.append((begin, end, name, dtype, shape))
    position, previous = 0, None
    for begin, end, name, _, _ in sorted(entries):
        if begin < position:
            raise bad(f"tensor '{name}' (bytes [{begin}, {end})) overlaps tensor '{previous}'")
        if begin > position:
            raise bad(f"bytes [{position}, {begin}) of the data, before tensor '{name}', belong to no tensor")
        position, previous = end, name
    if position != data_length:
        raise bad(f"bytes [{position}, {data_length}) of the data, after the last tensor, belong to no tensor")
    tensors = {}
    body = 8 + n
    for begin, end, name, dtype, shape in entries:
        tensors[name] = (torch.frombuffer(bytearray(data[body + begin:body + end]), dtype=_DTYPES[dtype]).reshape(shape).clone() if end > begin
                         else torch.zeros(shape, dtype=_DTYPES[dtype]))
    return tensors


def save_safetensors(tensors, path):
    """Writes {name: tensor} as a safetensors file (names sorted, as the format's reference writer does)."""
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    try:
        from safetensors.torch import save_file
        save_file(tensors, path)
        return
    except ImportError:
        pass
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors))


def safetensors_bytes(tensors):
    """{name: tensor} as the bytes of a safetensors file (names sorted, as the format's reference writer does)."""
    import json
    import struct
    names = {v: k for k, v in _DTYPES.items()}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        blob = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""  # reshape: a 0-dim tensor (BatchNorm's counter) cannot be viewed as bytes
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def loss_denominator(kind, target, weight=None):
    """What a task's loss of a batch is the mean over: its labels present (present_count), or with class weights and
    class indices their total weight, sum w_y over the labels present; train_ddp.py's global-batch mean adds these."""
    if kind == "cross_entropy" and weight is not None and not target.is_floating_point():
        labels = target.long()
        present = labels != MISSING_CLASS
        classes = torch.tensor(weight, dtype=torch.float64, device=target.device)
        return float((classes[labels.masked_fill(~present, 0)] * present).sum())
    return float(present_count(kind, target))


def present_count(kind, target):
    """How many labels of a task's target are present: elements that are not NaN, class indices that are not -100,
    rows of class probabilities without a NaN."""
    if kind == "cross_entropy":
        if target.is_floating_point():
            return int((~torch.isnan(target).any(1)).sum())
        return int((target != MISSING_CLASS).sum())
    return int((~torch.isnan(target)).sum())


# ----- MtlDsl's checkpoints (Checkpoints/CheckpointFile.cs, Training/MultiTaskTrainer.Checkpoint.cs), for train_ddp.py -----
# A checkpoint is "MTLDSLCK", the format version 1 (u32), the number of sections (u32), each section a u16 name length,
# its UTF-8 name, a u64 length and its bytes, then the SHA-256 of everything before it. The sections: "meta" (JSON: the
# model's type and tasks, the optimizer's type, the trainer's state with the strategy's, and where the fit stands),
# "model" (safetensors: the state dict), "optimizer" (the optimizer's state as TorchSharp writes it: SGD's or Adam's)
# and, with early stopping, "best_model" (safetensors: the best epoch's weights).

_CHECKPOINT_MAGIC = b"MTLDSLCK"
_CHECKPOINT_SECTIONS = ["meta", "model", "optimizer", "best_model"]


def read_checkpoint(path):
    """{section: bytes} of an MtlDsl checkpoint, its container checked whole (magic, version, checksum, every section
    inside the file, none twice, no bytes after the last): a ValueError naming the file otherwise."""
    import hashlib
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_CHECKPOINT_MAGIC):
        raise ValueError(f"'{path}' is not an MtlDsl checkpoint (it does not start with MTLDSLCK)")

    def corrupt(why):
        return ValueError(f"the checkpoint '{path}' is truncated or corrupt: {why}")
    if len(data) < len(_CHECKPOINT_MAGIC) + 8 + 32:
        raise corrupt(f"it has only {len(data)} bytes")
    version, count = struct.unpack_from("<II", data, 8)
    if version != 1:
        raise ValueError(f"'{path}' is an MtlDsl checkpoint of format version {version}; this script reads version 1")
    body = len(data) - 32
    if hashlib.sha256(data[:body]).digest() != data[body:]:
        raise corrupt("its checksum does not match its content")
    sections, position = {}, 16
    for _ in range(count):
        if position + 2 > body:
            raise corrupt("a section header runs past the end")
        (length,) = struct.unpack_from("<H", data, position)
        position += 2
        if position + length + 8 > body:
            raise corrupt("a section header runs past the end")
        name = data[position:position + length].decode("utf-8")
        position += length
        (size,) = struct.unpack_from("<Q", data, position)
        position += 8
        if size > body - position:
            raise corrupt(f"section '{name}' runs past the end")
        if name in sections:
            raise corrupt(f"it holds two sections named '{name}'")
        sections[name] = data[position:position + size]
        position += size
    if position != body:
        raise corrupt(f"{body - position} bytes follow its last section")
    for needed in _CHECKPOINT_SECTIONS[:3]:
        if needed not in sections:
            raise ValueError(f"the checkpoint '{path}' has no '{needed}' section; it is incomplete")
    unknown = [name for name in sections if name not in _CHECKPOINT_SECTIONS]
    if unknown:
        raise ValueError(f"the checkpoint '{path}' has a section '{unknown[0]}' that this script does not know; expected {', '.join(_CHECKPOINT_SECTIONS)}")
    return sections


def write_checkpoint(path, sections):
    """Writes [(name, bytes)] as an MtlDsl checkpoint, atomically: a temporary file beside it, flushed to the disk,
    then renamed over it, so a crash leaves the previous checkpoint whole."""
    import hashlib
    import os
    import struct
    parts = [_CHECKPOINT_MAGIC, struct.pack("<II", 1, len(sections))]
    for name, data in sections:
        encoded = name.encode("utf-8")
        parts += [struct.pack("<H", len(encoded)), encoded, struct.pack("<Q", len(data)), bytes(data)]
    content = b"".join(parts)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(temporary, "wb") as f:
        f.write(content + hashlib.sha256(content).digest())
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def json_numbers(value):
    """A value for .NET's JSON: NaN and the infinities as "NaN", "Infinity", "-Infinity" (how MtlDsl writes them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_numbers(v) for v in value]
    return value


def python_numbers(value):
    """The reverse of json_numbers: "NaN", "Infinity", "-Infinity" as floats."""
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    if isinstance(value, dict):
        return {k: python_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [python_numbers(v) for v in value]
    return value


# TorchSharp's ScalarType codes, as its optimizer states name a tensor's dtype.
_SCALAR_TYPES = {torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4, torch.float16: 5,
                 torch.float32: 6, torch.float64: 7, torch.bool: 11, torch.bfloat16: 15}


def optimizer_kind(optimizer):
    """The optimizer's name in MtlDsl's checkpoints: SGD, Adam or AdamW (whose state is laid out as Adam's)."""
    if type(optimizer) is torch.optim.SGD:
        return "SGD"
    if type(optimizer) is torch.optim.Adam:
        return "Adam"
    if type(optimizer) is torch.optim.AdamW:
        return "AdamW"
    raise ValueError(f"{type(optimizer).__name__} has no state layout MtlDsl reads; use SGD, Adam or AdamW")


def optimizer_state_bytes(optimizer, parameters, initial_rates):
    """The optimizer's state as TorchSharp's save_state_dict writes it (the parameters in MtlDsl's order): its type's
    name, the number of groups and of parameters (LEB128), each group's initial and current learning rates and options,
    then each parameter's state (SGD: its momentum buffer, if any; Adam: the step, both moments, the AMSGrad maximum)."""
    import struct
    out = bytearray()

    def count(value):
        while True:
            byte = value & 0x7F
            value >>= 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return

    def tensor(t):
        t = t.detach().contiguous().cpu()
        count(_SCALAR_TYPES[t.dtype])
        count(t.dim())
        for d in t.shape:
            count(d)
        out.extend(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")

    kind = optimizer_kind(optimizer)
    name = kind.encode("utf-8")
    count(len(name))
    out.extend(name)
    count(len(optimizer.param_groups))
    count(len(parameters))
    for group, initial in zip(optimizer.param_groups, initial_rates):
        out.extend(struct.pack("<dd", initial, group["lr"]))
        if kind == "SGD":
            out.extend(struct.pack("<ddd??", group["momentum"], group["dampening"], group["weight_decay"], group["nesterov"], group.get("maximize", False)))
        else:
            out.extend(struct.pack("<dddd??", group["betas"][0], group["betas"][1], group["eps"], group["weight_decay"], group["amsgrad"], group.get("maximize", False)))
    for p in parameters:
        state = optimizer.state.get(p, {})
        if kind == "SGD":
            buffer = state.get("momentum_buffer")
            out.extend(struct.pack("<?", buffer is not None))
            if buffer is not None:
                tensor(buffer)
        else:
            out.extend(struct.pack("<q", int(state["step"]) if "step" in state else 0))
            tensor(state.get("exp_avg", torch.zeros_like(p)))
            tensor(state.get("exp_avg_sq", torch.zeros_like(p)))
            maximum = state.get("max_exp_avg_sq")
            out.extend(struct.pack("<?", maximum is not None))
            if maximum is not None:
                tensor(maximum)
    return bytes(out)


def load_optimizer_state(optimizer, parameters, data, what):
    """Reads a state optimizer_state_bytes (or TorchSharp) wrote, checks it whole (type, counts, every option in
    range, every tensor of its parameter's dtype and shape and finite, no bytes left over), and only then applies it:
    the groups' options and learning rates, and every parameter's state. Returns the groups' initial learning rates.
    A ValueError naming what (the checkpoint) otherwise, the optimizer untouched."""
    import struct
    position = 0

    def bad(why):
        return ValueError(f"{what}: the optimizer's state {why}")

    def take(size, item):
        nonlocal position
        if size < 0 or position + size > len(data):
            raise bad(f"ends inside {item} (truncated)")
        chunk = data[position:position + size]
        position += size
        return chunk

    def count(item):
        value = 0
        for shift in range(0, 63, 7):
            byte = take(1, item)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise bad(f"has {item} that is not a LEB128 count")

    def double(item, low=None):
        (value,) = struct.unpack("<d", take(8, item))
        if not math.isfinite(value) or (low is not None and value < low):
            raise bad(f"has {item} {value}; expected a finite number" + (f" >= {low}" if low is not None else ""))
        return value

    def boolean(item):
        byte = take(1, item)[0]
        if byte not in (0, 1):
            raise bad(f"has {item} as the byte {byte}; expected 0 or 1")
        return bool(byte)

    def tensor(p, item):
        dtype = count(f"{item}'s dtype")
        if dtype != _SCALAR_TYPES.get(p.dtype):
            raise bad(f"has {item} of dtype code {dtype}; expected the parameter's {p.dtype}")
        rank = count(f"{item}'s rank")
        shape = [count(f"{item}'s dimension {d}") for d in range(rank)]
        if shape != list(p.shape):
            raise bad(f"has {item} of shape {shape}; expected the parameter's {list(p.shape)}")
        values = torch.frombuffer(bytearray(take(p.numel() * p.element_size(), item)), dtype=p.dtype).reshape(p.shape).clone() if p.numel() else torch.zeros_like(p)
        if not bool(values.isfinite().all()):
            raise bad(f"has {item} holding a NaN or infinite value")
        return values

    kind = optimizer_kind(optimizer)
    written = take(count("the type name's length"), "the type name").decode("utf-8", "replace")
    if written != kind:
        raise bad(f"is the state of {written}; this optimizer is {kind}")
    groups = optimizer.param_groups
    if count("the number of groups") != len(groups):
        raise bad(f"has another number of parameter groups than this optimizer's {len(groups)}")
    if count("the number of parameter states") != len(parameters):
        raise bad(f"holds the states of another number of parameters than this optimizer's {len(parameters)}")
    options = []
    for g in range(len(groups)):
        item = f"parameter group {g}'s"
        initial, lr = double(f"{item} initial learning rate", 0), double(f"{item} learning rate", 0)
        if kind == "SGD":
            options.append((initial, {"lr": lr, "momentum": double(f"{item} momentum", 0), "dampening": double(f"{item} dampening"),
                                      "weight_decay": double(f"{item} weight decay", 0), "nesterov": boolean(f"{item} nesterov"), "maximize": boolean(f"{item} maximize")}))
        else:
            betas = (double(f"{item} beta1", 0), double(f"{item} beta2", 0))
            options.append((initial, {"lr": lr, "betas": betas, "eps": double(f"{item} eps", 0), "weight_decay": double(f"{item} weight decay", 0),
                                      "amsgrad": boolean(f"{item} amsgrad"), "maximize": boolean(f"{item} maximize")}))
    states = []
    for i, p in enumerate(parameters):
        item = f"parameter {i}'s"
        if kind == "SGD":
            states.append({"momentum_buffer": tensor(p, f"{item} momentum buffer")} if boolean(f"{item} momentum buffer flag") else {})
        else:
            (step,) = struct.unpack("<q", take(8, f"{item} step"))
            if step < 0:
                raise bad(f"has {item} step {step}; expected a count >= 0")
            state = {"step": torch.tensor(float(step)), "exp_avg": tensor(p, f"{item} exp_avg"), "exp_avg_sq": tensor(p, f"{item} exp_avg_sq")}
            if boolean(f"{item} max_exp_avg_sq flag"):
                state["max_exp_avg_sq"] = tensor(p, f"{item} max_exp_avg_sq")
            states.append(state)
    if position != len(data):
        raise bad(f"has {len(data) - position} bytes after the last parameter's state")
    for group, (_, values) in zip(groups, options):
        group.update(values)
    optimizer.state.clear()
    for p, state in zip(parameters, states):
        if state:
            optimizer.state[p] = {k: v.to(p.device) if k != "step" else v for k, v in state.items()}
    return [initial for initial, _ in options]


# ----- evaluation with MtlDsl's default metrics (Metrics/TaskMetrics.cs, MultiTaskTrainer.Evaluate), for train_ddp.py -----

class _Fraction:
    higher_is_better = True

    def __init__(self, name, count):
        self.name, self.count, self.correct, self.total = name, count, 0, 0

    def update(self, output, target):
        correct, present = self.count(output, target)
        self.correct += int((correct & present).sum())
        self.total += int(present.sum())

    def compute(self):
        return self.correct / self.total if self.total else math.nan


class _Confusion:
    higher_is_better = True

    def __init__(self, name, classes, score):
        self.name, self.score = name, score
        self.tp, self.fp, self.fn = [0] * classes, [0] * classes, [0] * classes

    def update(self, output, target):
        predicted, actual = output.argmax(1).flatten().tolist(), target.long().flatten().tolist()
        for p, a in zip(predicted, actual):
            if a == MISSING_CLASS:
                continue
            if p == a:
                self.tp[a] += 1
            else:
                self.fp[p] += 1
                self.fn[a] += 1

    def compute(self):
        scores = [s for s in (self.score(t, f, n) for t, f, n in zip(self.tp, self.fp, self.fn)) if s is not None]
        total = 0.0
        for s in scores:
            total += s
        return total / len(scores) if scores else math.nan


class _Error:
    higher_is_better = False

    def __init__(self, name, error, finish=lambda v: v):
        self.name, self.error, self.finish, self.sum, self.count = name, error, finish, 0.0, 0

    def update(self, output, target):
        difference = output.to(torch.float64) - target.to(torch.float64)
        missing = torch.isnan(target)
        self.sum += float(self.error(difference).masked_fill(missing, 0.0).sum())
        self.count += int((~missing).sum())

    def compute(self):
        return self.finish(self.sum / self.count) if self.count else math.nan


class _Auc:
    name, higher_is_better = "auc", True

    def __init__(self):
        self.scores, self.positive = [], []

    def update(self, output, target):
        for x, y in zip(output.detach().to(torch.float64).flatten().tolist(), target.detach().to(torch.float64).flatten().tolist()):
            if not math.isnan(y):
                self.scores.append(x)
                self.positive.append(y > 0.5)

    def compute(self):
        order = sorted(range(len(self.scores)), key=lambda i: self.scores[i])
        positives = negatives = below = 0
        pairs, start = 0.0, 0
        while start < len(order):
            end, group_positives, group_negatives = start, 0, 0
            while end < len(order) and self.scores[order[end]] == self.scores[order[start]]:
                if self.positive[order[end]]:
                    group_positives += 1
                else:
                    group_negatives += 1
                end += 1
            pairs += group_positives * (below + 0.5 * group_negatives)
            below += group_negatives
            positives += group_positives
            negatives += group_negatives
            start = end
        return math.nan if positives == 0 or negatives == 0 else pairs / (float(positives) * negatives)


class _LogLoss:
    name, higher_is_better = "log_loss", False

    def __init__(self):
        self.sum, self.count = 0.0, 0

    def update(self, output, target):
        for x, y in zip(output.detach().to(torch.float64).flatten().tolist(), target.detach().to(torch.float64).flatten().tolist()):
            if not math.isnan(y):
                self.sum += max(x, 0.0) - x * y + math.log(1 + math.exp(-abs(x)))
                self.count += 1

    def compute(self):
        return self.sum / self.count if self.count else math.nan


def default_metrics(kind, output):
    """MtlDsl's TaskMetrics.Default for a task of this loss and output: classes (accuracy, macro_f1, and mean_iou for a
    map), binary labels (accuracy, auc, log_loss), values (mae, rmse)."""
    if kind == "cross_entropy":
        classes = max(2, output.shape[1])
        metrics = [_Fraction("accuracy", lambda o, t: (o.argmax(1) == t.long(), t.long() != MISSING_CLASS)),
                   _Confusion("macro_f1", classes, lambda t, f, n: 2.0 * t / (2 * t + f + n) if 2 * t + f + n > 0 else None)]
        if output.dim() > 2:
            metrics.append(_Confusion("mean_iou", classes, lambda t, f, n: t / (t + f + n) if t + f + n > 0 else None))
        return metrics
    if kind == "binary_cross_entropy_with_logits":
        return [_Fraction("accuracy", lambda o, t: ((o > 0) == (t > 0.5), ~torch.isnan(t))), _Auc(), _LogLoss()]
    return [_Error("mae", lambda d: d.abs()), _Error("rmse", lambda d: d * d, math.sqrt)]


def evaluate(model, batches):
    """Each task's loss (the mean over its labels present, or with class weights their total weight) and default metrics
    over batches, as MtlDsl's Evaluate: the model in evaluation mode, without gradients. batches yields (task or None,
    inputs, targets by task): None runs every head on the inputs, a task's index only its heads (one dataset per task).
    Returns {"Tasks", "Losses", "Metrics"}, the form of MtlDsl's EvaluationResult (NaN for a task without labels)."""
    tasks = len(model.TASKS)
    arguments = model.LOSS_ARGS or [{}] * tasks
    sums, weights, present, metrics = [0.0] * tasks, [0.0] * tasks, [0] * tasks, [None] * tasks
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for task, inputs, targets in batches:
                outputs = model(*inputs) if task is None else {model.TASKS[task]: model.forward_task(task, *inputs)}
                for k, name in enumerate(model.TASKS):
                    if name not in outputs:
                        continue
                    output, target, kind = outputs[name], targets[name], model.LOSSES[k]
                    if metrics[k] is None:
                        metrics[k] = default_metrics(kind, output)
                    count = present_count(kind, target)
                    if count == 0:
                        continue
                    loss = float(task_loss(kind, output, target, **arguments[k])[0].to(torch.float64))
                    denominator = loss_denominator(kind, target, arguments[k].get("weight"))
                    if denominator > 0:
                        sums[k] += loss * denominator
                        weights[k] += denominator
                    present[k] += count
                    for metric in metrics[k]:
                        metric.update(output, target)
    finally:
        model.train(training)
    return {"Tasks": list(model.TASKS), "Losses": [sums[k] / weights[k] if weights[k] > 0 else math.nan for k in range(tasks)],
            "Metrics": [{m.name: (m.compute() if present[k] else math.nan) for m in metrics[k] or []} for k in range(tasks)]}


def higher_is_better(kind, metric):
    """Whether a larger value of the metric is better ("loss": no)."""
    if metric == "loss":
        return False
    return {"accuracy": True, "macro_f1": True, "mean_iou": True, "auc": True, "log_loss": False, "mae": False, "rmse": False}[metric]
