"""PyTorch twins of MtlDsl's architectures, written from the papers and LibMTL's descriptions, checked against the
generated TorchSharp modules (tests/Models/Architectures, tests/Models/AuxiliaryHeadModel.cs); and LibMTL's CGC, with
LibMTL's module names and num_experts, against the CGC models to 1e-12 in float64 (per-task counts included).

For each model, `dotnet run --project tests/PyTorchInterop -- architectures <folder>` wrote, in float64: the initial
weights, a fixed batch and its targets, the outputs of one training-mode forward pass, the joint loss Σ λ·L and its
gradients, the state after the pass (BatchNorm's running statistics) and the eval-mode outputs. This script builds
each twin, loads the weights with load_state_dict(strict=True) (every name and shape must match), repeats the pass
and compares. Prints one PASS or FAIL line per model; exits 1 if any failed.

    /usr/bin/python3 tests/PyTorchInterop/architectures.py <folder>
"""
import sys

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_format import read

TASKS = ["digit", "position"]
TOLERANCE = 1e-6


# The network every architecture model declares (tests/Models/Architectures/*.cs): two trunk blocks and two heads.
def stem():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())


def stage():
    return nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())


def add_heads(model):
    model.digit = nn.Sequential(nn.Flatten(), nn.Linear(288, 5))
    model.position = nn.Sequential(nn.Flatten(), nn.Linear(288, 16), nn.Tanh(), nn.Linear(16, 2))


class TwoTaskModel(nn.Module):
    def forward(self, x):
        return [head(r) for head, r in zip([self.digit, self.position], self.representations(x))]


class HardSharing(TwoTaskModel):
    def __init__(self):
        super().__init__()
        self.stem, self.stage = stem(), stage()
        add_heads(self)

    def representations(self, x):
        r = self.stage(self.stem(x))
        return [r, r]


def gate(inputs, experts):
    """A gate: a linear map of the flattened input to one score per expert, normalised by a softmax."""
    return nn.Sequential(nn.Linear(inputs, experts), nn.Softmax(dim=-1))


def mix(gate_module, x, experts):
    """Σ_e g_e(x) · expert_e: experts stacked as [E, N, ...], the gate's weights [N, E]."""
    weights = gate_module(torch.flatten(x, 1))
    return torch.einsum("en...,ne->n...", experts, weights)


def counts(per_task):
    """Each task's number of own experts: one int for every task, or a list in the order of TASKS."""
    return dict(zip(TASKS, [per_task] * len(TASKS) if isinstance(per_task, int) else per_task))


class Experts(nn.Module):
    """Copies of one block: shared experts and each task's own; in PLE also the level's gates."""

    def __init__(self, make, shared, per_task, gate_inputs=None, shared_gate=False):
        super().__init__()
        own = counts(per_task)
        self.shared = nn.ModuleList([make() for _ in range(shared)])
        self.tasks = nn.ModuleDict({t: nn.ModuleList([make() for _ in range(own[t])]) for t in TASKS})
        if gate_inputs is not None:
            self.gates = nn.ModuleDict({t: gate(gate_inputs, shared + own[t]) for t in TASKS})
            if shared_gate:
                self.shared_gate = gate(gate_inputs, shared + sum(own.values()))


class MixtureOfExperts(TwoTaskModel):
    """MMoE (Ma et al. 2018) and CGC (Tang et al. 2020): experts are copies of the whole trunk (stem, then stage);
    each task's gate, on the flattened input, mixes the shared experts and, in CGC, the task's own (per_task: one
    count for every task, or one per task)."""

    def __init__(self, shared, per_task):
        super().__init__()
        self.stem, self.stage = Experts(stem, shared, per_task), Experts(stage, shared, per_task)
        self.gates = nn.ModuleDict({t: gate(144, shared + n) for t, n in counts(per_task).items()})
        add_heads(self)

    def representations(self, x):
        shared = torch.stack([s2(s1(x)) for s1, s2 in zip(self.stem.shared, self.stage.shared)])
        result = []
        for t in TASKS:
            own = [s2(s1(x)) for s1, s2 in zip(self.stem.tasks[t], self.stage.tasks[t])]
            experts = torch.cat([shared, torch.stack(own)]) if own else shared
            result.append(mix(self.gates[t], x, experts))
        return result


class OneGateMixture(TwoTaskModel):
    """OMoE, the one-gate baseline of Ma et al. 2018: one gate on the flattened input mixes the experts into the one
    representation both heads read."""

    def __init__(self, experts):
        super().__init__()
        self.stem, self.stage = Experts(stem, experts, 0), Experts(stage, experts, 0)
        self.gate = gate(144, experts)
        add_heads(self)

    def representations(self, x):
        experts = torch.stack([s2(s1(x)) for s1, s2 in zip(self.stem.shared, self.stage.shared)])
        mixture = mix(self.gate, x, experts)
        return [mixture, mixture]


class Ple(TwoTaskModel):
    """PLE (Tang et al. 2020) with the paper's shared gate: level l's shared experts read the shared stream, each
    task's experts its own stream; the task gate mixes shared + own experts into the task's next stream, the shared
    gate (every level but the last) mixes all the level's experts into the next shared stream."""

    def __init__(self, shared, per_task):
        super().__init__()
        self.stem = Experts(stem, shared, per_task, gate_inputs=144, shared_gate=True)
        self.stage = Experts(stage, shared, per_task, gate_inputs=576, shared_gate=False)
        add_heads(self)

    def representations(self, x):
        shared_stream, streams = x, [x for _ in TASKS]
        for level in [self.stem, self.stage]:
            shared = torch.stack([e(shared_stream) for e in level.shared])
            # A task without experts of its own (a per-task count of 0) contributes nothing to the concatenations.
            own = [torch.stack([e(streams[k]) for e in level.tasks[t]]) if len(level.tasks[t]) else shared[:0] for k, t in enumerate(TASKS)]
            next_streams = [mix(level.gates[t], streams[k], torch.cat([shared, own[k]])) for k, t in enumerate(TASKS)]
            if hasattr(level, "shared_gate"):
                shared_stream = mix(level.shared_gate, shared_stream, torch.cat([shared] + own))
            streams = next_streams
        return streams


class CrossStitch(TwoTaskModel):
    """Cross-stitch networks (Misra et al. 2016): one column per task; after the first stage the unit α mixes the
    columns, the input of the next stage for task t being Σ_j α[t, j] · out_j."""

    def __init__(self):
        super().__init__()
        self.stem = nn.ModuleList([stem() for _ in TASKS])
        self.stage = nn.ModuleList([stage() for _ in TASKS])
        self.cross_stitch = nn.ParameterList([nn.Parameter(torch.eye(len(TASKS)))])
        add_heads(self)

    def representations(self, x):
        columns = [block(x) for block in self.stem]
        alpha = self.cross_stitch[0]
        mixed = [sum(alpha[t, j] * columns[j] for j in range(len(TASKS))) for t in range(len(TASKS))]
        return [block(m) for block, m in zip(self.stage, mixed)]


def attention_mask(inputs, channels):
    return nn.Sequential(nn.Conv2d(inputs, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.Sigmoid())


class Mtan(TwoTaskModel):
    """MTAN (Liu et al. 2019): the shared stages run once; each task's mask reads the stage's features before its
    last layer (with the task's attended features so far after the first stage) and multiplies the stage's output;
    a block shared by the tasks (3x3 conv, BatchNorm, ReLU) and a 2x2 max pooling carry them to the next stage."""

    def __init__(self):
        super().__init__()
        self.stem, self.stage = stem(), stage()
        self.attention = nn.ModuleDict({t: nn.ModuleList([attention_mask(4, 4), attention_mask(16, 8)]) for t in TASKS})
        self.attention_blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())])
        add_heads(self)

    def representations(self, x):
        inner = self.stem[1](self.stem[0](x))  # before the stem's last layer (ReLU)
        out = self.stem[2](inner)
        attended = [self.attention[t][0](inner) * out for t in TASKS]
        inner = self.stage[1](self.stage[0](out))  # before the stage's last layer (ReLU)
        out = self.stage[2](inner)
        carried = [F.max_pool2d(self.attention_blocks[0](a), 2) for a in attended]
        return [self.attention[t][1](torch.cat([inner, c], 1)) * out for t, c in zip(TASKS, carried)]


class AuxiliaryHead(nn.Module):
    """tests/Models/AuxiliaryHeadModel.cs: the edges head reads the early block, the label head the late one."""

    def __init__(self):
        super().__init__()
        self.early = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.late = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.label = nn.Sequential(nn.Linear(16, 10))
        self.edges = nn.Sequential(nn.Conv2d(8, 1, 1))

    def forward(self, x):
        early = self.early(x)
        return [self.label(self.late(early)), self.edges(early)]


class Dense(nn.Module):
    """tests/Models/DenseModel.cs: a strided trunk with non-square kernels, a mask head that upsamples back to the
    input (a transposed convolution, bilinear upsampling) and gives class scores per pixel, and a class head."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, (3, 1), padding=(1, 0)), nn.ReLU(), nn.Conv2d(16, 16, (1, 3), stride=2, padding=(0, 1)), nn.ReLU())
        self.mask = nn.Sequential(
            nn.ConvTranspose2d(16, 16, 2, stride=2), nn.ReLU(), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(16, 2, 3, padding=1))
        self.shape = nn.Sequential(nn.AvgPool2d((2, 1), stride=(2, 1)), nn.Flatten(), nn.Linear(16 * 2 * 4, 3))

    def forward(self, x):
        features = self.encoder(x)
        return [self.mask(features), self.shape(features)]


class Residual(nn.Module):
    """A residual block as a torchvision BasicBlock computes it: layers(x) + shortcut(x), then a ReLU if asked. Its
    children are the layers, named 0, 1, ... as in nn.Sequential, and the projection, named shortcut."""

    def __init__(self, layers, shortcut=None, relu=False):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)
        self.count = len(layers)
        self.shortcut = shortcut
        self.relu = relu

    def forward(self, x):
        y = x
        for i in range(self.count):
            y = getattr(self, str(i))(y)
        y = y + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(y) if self.relu else y


class ResidualNet(nn.Module):
    """tests/Models/ResidualModel.cs: a stem, a residual block with an identity shortcut, one that doubles the
    channels and halves the size (1x1 convolution with stride 2, no bias, then batch norm), and a residual head on
    vectors (a linear projection)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.block1 = Residual([nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)],
                               relu=True)
        self.block2 = Residual([nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32)],
                               nn.Sequential(nn.Conv2d(16, 32, 1, stride=2, bias=False), nn.BatchNorm2d(32)), relu=True)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.kind = nn.Sequential(nn.Linear(32, 5))
        self.position = Residual([nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2)], nn.Linear(32, 2))

    def forward(self, x):
        features = self.pool(self.block2(self.block1(self.stem(x))))
        return [self.kind(features), self.position(features)]


class Recommender(nn.Module):
    """tests/Models/RecommenderModel.cs: a user id through an embedding, a bag of tag ids through a mean embedding bag
    that leaves the padding id 0 out, both concatenated with the dense features."""

    def __init__(self):
        super().__init__()
        self.user_embedding = nn.Sequential(nn.Embedding(20, 4))
        self.tag_bag = nn.Sequential(nn.EmbeddingBag(30, 4, mode="mean", padding_idx=0))
        self.body = nn.Sequential(nn.Linear(14, 32), nn.ReLU())
        self.click = nn.Sequential(nn.Linear(32, 1))
        self.rating = nn.Sequential(nn.Linear(32, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, dense, user, tags):
        features = self.body(torch.cat([dense, self.user_embedding(user), self.tag_bag(tags)], 1))
        return [self.click(features), self.rating(features)]


class RecommendationExperts(nn.Module):
    """The experts of tests/Models/Architectures/*BottomModel.cs on a shared bottom, written as a recommendation model
    would be: MMoE (the bottom is the user embedding and the tag bag; the experts and gates read them concatenated
    with the dense features) or PLE (a third bottom block, a dense layer over that concatenation, which two levels
    read)."""

    def __init__(self, ple, tasks):
        super().__init__()
        self.ple, self.task_names = ple, tasks
        self.user_embedding = nn.Sequential(nn.Embedding(20, 4))
        self.tag_bag = nn.Sequential(nn.EmbeddingBag(30, 4, mode="mean", padding_idx=0))
        if ple:
            self.shared_bottom = nn.Sequential(nn.Linear(14, 12), nn.ReLU())
            level = lambda inputs: lambda: nn.Sequential(nn.Linear(inputs, 8), nn.ReLU())
            self.level1 = self.level(level(12), 12, True)
            self.level2 = self.level(level(8), 8, False)
            heads = [nn.Sequential(nn.Linear(8, 1)) for _ in tasks]
        else:
            self.expert = nn.Module()
            self.expert.shared = nn.ModuleList([nn.Sequential(nn.Linear(14, 16), nn.ReLU()) for _ in range(3)])
            self.expert.tasks = nn.ModuleDict({t: nn.ModuleList() for t in tasks})
            self.gates = nn.ModuleDict({t: gate(14, 3) for t in tasks})
            heads = [nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)) for _ in tasks]
        for t, head in zip(tasks, heads):
            self.add_module(t, head)

    def level(self, make, inputs, shared_gate):
        level = nn.Module()
        level.shared = nn.ModuleList([make()])
        level.tasks = nn.ModuleDict({t: nn.ModuleList([make()]) for t in self.task_names})
        level.gates = nn.ModuleDict({t: gate(inputs, 2) for t in self.task_names})
        if shared_gate:
            level.shared_gate = gate(inputs, 1 + len(self.task_names))
        return level

    def forward(self, dense, user, tags):
        bottom = torch.cat([dense, self.user_embedding(user), self.tag_bag(tags)], 1)
        if not self.ple:
            experts = torch.stack([e(bottom) for e in self.expert.shared])
            return [getattr(self, t)(mix(self.gates[t], bottom, experts)) for t in self.task_names]
        x = self.shared_bottom(bottom)
        shared_stream, streams = x, [x for _ in self.task_names]
        for level in [self.level1, self.level2]:
            shared = torch.stack([e(shared_stream) for e in level.shared])
            own = [torch.stack([e(streams[k]) for e in level.tasks[t]]) for k, t in enumerate(self.task_names)]
            next_streams = [mix(level.gates[t], streams[k], torch.cat([shared, own[k]])) for k, t in enumerate(self.task_names)]
            if hasattr(level, "shared_gate"):
                shared_stream = mix(level.shared_gate, shared_stream, torch.cat([shared] + own))
            streams = next_streams
        return [getattr(self, t)(s) for t, s in zip(self.task_names, streams)]


class BasicBlock(nn.Module):
    """tests/Models/OwnModuleModel.cs's hand-written BasicBlock, as torchvision writes it."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.downsample = None
        if stride != 1 or inputs != outputs:
            self.downsample = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class SmallPerceptron(nn.Module):
    def __init__(self, inputs, outputs, hidden=16):
        super().__init__()
        self.first = nn.Linear(inputs, hidden)
        self.second = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.second(F.relu(self.first(x)))


class OwnModules(nn.Module):
    """tests/Models/OwnModuleModel.cs: declared layers around hand-written modules, under the modules' own names."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.kind = nn.Sequential(nn.Linear(32, 5))
        self.position = nn.Sequential(SmallPerceptron(32, 2))

    def forward(self, x):
        features = self.pool(self.blocks(self.stem(x)))
        return [self.kind(features), self.position(features)]


MODELS = {
    "hard_sharing": (HardSharing, [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "mmoe": (lambda: MixtureOfExperts(3, 0), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "omoe": (lambda: OneGateMixture(3), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "cgc": (lambda: MixtureOfExperts(2, 1), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "ple": (lambda: Ple(2, 1), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    # One count of task experts per task: [CGC(2, 1, 2)] (LibMTL's num_experts = [2, 1, 2]) and [PLE(2, 0, 1)].
    "cgc_per_task": (lambda: MixtureOfExperts(2, [1, 2]), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "ple_per_task": (lambda: Ple(2, [0, 1]), [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "cross_stitch": (CrossStitch, [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "mtan": (Mtan, [(F.cross_entropy, 1.0), (F.mse_loss, 0.5)]),
    "auxiliary_head": (AuxiliaryHead, [(F.cross_entropy, 1.0), (F.mse_loss, 0.25)]),
    # cross_entropy's ignore_index is -100: the mean over the pixels present, as MtlDsl's missing labels.
    "dense": (Dense, [(F.cross_entropy, 1.0), (F.cross_entropy, 0.5)]),
    "residual": (ResidualNet, [(F.cross_entropy, 1.0), (F.mse_loss, 1.0)]),
    "own_modules": (OwnModules, [(F.cross_entropy, 1.0), (F.mse_loss, 1.0)]),
    "recommender": (Recommender, [(F.binary_cross_entropy_with_logits, 1.0), (F.mse_loss, 1.0)]),
    # Experts over a shared bottom of embeddings, a bag and dense features.
    "mmoe_bottom": (lambda: RecommendationExperts(False, ["click", "rating"]), [(F.binary_cross_entropy_with_logits, 1.0), (F.mse_loss, 1.0)]),
    "ple_bottom": (lambda: RecommendationExperts(True, ["click", "conversion"]), [(F.binary_cross_entropy_with_logits, 1.0), (F.binary_cross_entropy_with_logits, 0.5)]),
}


def check(folder, name, build, losses):
    model = build().double().train()
    model.load_state_dict(read(f"{folder}/{name}.weights.safetensors"), strict=True)
    io = read(f"{folder}/{name}.io.safetensors")
    inputs = [io["input"]] if "input" in io else [io[f"input.{i}"] for i in range(sum(k.startswith("input.") for k in io))]
    outputs = model(*inputs)
    loss = sum(w * f(o, io[f"target.{k}"]) for k, (o, (f, w)) in enumerate(zip(outputs, losses)))
    model.zero_grad()
    loss.backward()
    worst_output = max((o - io[f"output.{k}"]).abs().max().item() for k, o in enumerate(outputs))
    worst_loss = abs(loss.item() - io["loss"].item())
    worst_grad = max((p.grad - io[f"grad.{n}"]).abs().max().item() for n, p in model.named_parameters())
    after = read(f"{folder}/{name}.after.safetensors")
    state = model.state_dict()
    worst_state = max((state[n].double() - t.double()).abs().max().item() for n, t in after.items())
    model.eval()
    with torch.no_grad():
        evaluated = model(*inputs)
    expected = read(f"{folder}/{name}.eval.safetensors")
    worst_eval = max((o - expected[f"output.{k}"]).abs().max().item() for k, o in enumerate(evaluated))
    worst = max(worst_output, worst_loss, worst_grad, worst_state, worst_eval)
    verdict = "PASS" if worst < TOLERANCE else "FAIL"
    print(f"{verdict} PyTorch twin of {name}: {len(state)} tensors loaded strictly; largest difference: outputs {worst_output:.1e}, "
          f"loss {worst_loss:.1e}, gradients {worst_grad:.1e}, state after the step {worst_state:.1e}, eval outputs {worst_eval:.1e}")
    return worst < TOLERANCE


# ----- LibMTL's CGC, as LibMTL computes it -----
# LibMTL/architecture/CGC.py (median-research-group/LibMTL at 4336804847eaa5e0b924b743d76beec7ac3fdc97) takes
# num_experts = [shared, task 1, task 2, ...]: experts_shared, experts_specific[task] and gate_specific[task] =
# Sequential(Linear(input size, shared + the task's own), Softmax), each expert a whole encoder; each task's
# representation is einsum('ij..., ji -> j...', cat([shared reps, the task's reps]), selector) on the flattened input.
# Written here from that structure (no LibMTL code is copied), with LibMTL's module names, so that MtlDsl's weights
# load into it under a renaming and every number must come out the same in float64.

class LibMtlCgc(nn.Module):
    def __init__(self, num_experts, encoder_class, decoders, input_size):
        super().__init__()
        self.num_experts = {task: num_experts[tn + 1] for tn, task in enumerate(TASKS)}
        self.num_experts["share"] = num_experts[0]
        self.experts_shared = nn.ModuleList([encoder_class() for _ in range(self.num_experts["share"])])
        self.experts_specific = nn.ModuleDict({task: nn.ModuleList([encoder_class() for _ in range(self.num_experts[task])]) for task in TASKS})
        self.gate_specific = nn.ModuleDict({task: nn.Sequential(nn.Linear(input_size, self.num_experts["share"] + self.num_experts[task]),
                                                                nn.Softmax(dim=-1)) for task in TASKS})
        self.decoders = nn.ModuleDict(decoders)

    def forward(self, inputs):
        experts_shared_rep = torch.stack([e(inputs) for e in self.experts_shared])
        out = []
        for task in TASKS:
            experts_specific_rep = torch.stack([e(inputs) for e in self.experts_specific[task]])
            selector = self.gate_specific[task](torch.flatten(inputs, start_dim=1))
            gate_rep = torch.einsum("ij..., ji -> j...", torch.cat([experts_shared_rep, experts_specific_rep], dim=0), selector)
            out.append(self.decoders[task](gate_rep))
        return out


def libmtl_name(name):
    """MtlDsl's state-dict name of a CGC model as LibMTL names it (the encoder is the trunk: stem is its 0, stage its 1)."""
    parts = name.split(".")
    block = {"stem": "0", "stage": "1"}
    if parts[0] in block and parts[1] == "shared":
        return ".".join(["experts_shared", parts[2], block[parts[0]]] + parts[3:])
    if parts[0] in block and parts[1] == "tasks":
        return ".".join(["experts_specific", parts[2], parts[3], block[parts[0]]] + parts[4:])
    if parts[0] == "gates":
        return ".".join(["gate_specific"] + parts[1:])
    return ".".join(["decoders"] + parts)


LIBMTL_TOLERANCE = 1e-12
LIBMTL_MODELS = {"cgc": [2, 1, 1], "cgc_per_task": [2, 1, 2]}


def check_libmtl(folder, name, num_experts, losses):
    heads = nn.Module()
    add_heads(heads)
    model = LibMtlCgc(num_experts, lambda: nn.Sequential(stem(), stage()), {"digit": heads.digit, "position": heads.position}, 144).double().train()
    model.load_state_dict({libmtl_name(n): t for n, t in read(f"{folder}/{name}.weights.safetensors").items()}, strict=True)
    io = read(f"{folder}/{name}.io.safetensors")
    outputs = model(io["input"])
    loss = sum(w * f(o, io[f"target.{k}"]) for k, (o, (f, w)) in enumerate(zip(outputs, losses)))
    model.zero_grad()
    loss.backward()
    parameters = dict(model.named_parameters())
    grads = {n[len("grad."):]: g for n, g in io.items() if n.startswith("grad.")}
    worst_output = max((o - io[f"output.{k}"]).abs().max().item() for k, o in enumerate(outputs))
    worst_loss = abs(loss.item() - io["loss"].item())
    worst_grad = max((parameters[libmtl_name(n)].grad - g).abs().max().item() for n, g in grads.items())
    state = model.state_dict()
    worst_state = max((state[libmtl_name(n)].double() - t.double()).abs().max().item() for n, t in read(f"{folder}/{name}.after.safetensors").items())
    model.eval()
    with torch.no_grad():
        evaluated = model(io["input"])
    expected = read(f"{folder}/{name}.eval.safetensors")
    worst_eval = max((o - expected[f"output.{k}"]).abs().max().item() for k, o in enumerate(evaluated))
    worst = max(worst_output, worst_loss, worst_grad, worst_state, worst_eval)
    verdict = "PASS" if worst < LIBMTL_TOLERANCE and len(grads) == len(parameters) else "FAIL"
    print(f"{verdict} LibMTL's CGC with num_experts = {num_experts} equals MtlDsl's {name} in float64 (tolerance {LIBMTL_TOLERANCE:.0e}): "
          f"{len(state)} tensors loaded strictly; largest difference: outputs {worst_output:.1e}, loss {worst_loss:.1e}, "
          f"gradients {worst_grad:.1e} ({len(grads)} parameters), state after the step {worst_state:.1e}, eval outputs {worst_eval:.1e}")
    return verdict == "PASS"


if __name__ == "__main__":
    folder = sys.argv[1]
    results = []
    for name, (build, losses) in MODELS.items():
        try:
            results.append(check(folder, name, build, losses))
        except Exception as error:  # a missing or misnamed tensor is a failure of this model, not of the run
            print(f"FAIL PyTorch twin of {name}: {type(error).__name__}: {error}")
            results.append(False)
    for name, num_experts in LIBMTL_MODELS.items():
        try:
            results.append(check_libmtl(folder, name, num_experts, MODELS[name][1]))
        except Exception as error:
            print(f"FAIL LibMTL's CGC against {name}: {type(error).__name__}: {error}")
            results.append(False)
    sys.exit(0 if all(results) else 1)
