"""MtlDsl's weighting strategies in Python, for train_ddp.py (src/MtlDsl/Weighting holds the C# classes).

Each class is the C# class of the same name line by line: the same arithmetic in the same order on float64 numbers, so
that a run under torchrun takes the steps MtlDsl's Fit takes (checked in CI to 1e-12 in float64 for every strategy).
A strategy sees the step's task losses and, for the gradient methods, the Gram matrix of the task gradients; it says
how the losses are weighted (loss weighting) or how the task gradients of the shared parameters combine (gradient
weighting), and keeps its own state (learnable scales, moments, random streams) as the C# class keeps it: the same
names and values, so a checkpoint's strategy state passes between the two engines.

Loss weighting (`objective`): the objective whose gradient the step takes, from each process's share of the task
losses; every such objective is affine in each loss once its weights are fixed from the global losses, so the
average over the processes of each share's gradient is the single-process gradient. Gradient weighting (`combine`):
from the global Gram matrix and losses, the coefficients of the shared gradient Σ β_k g_k and the weights to report.
"""
import math

import torch

NAMES = ["EW", "DWA", "UW", "RLW", "GLS", "GradNorm", "MGDA", "PCGrad", "CAGrad", "IMTL", "Aligned-MTL",
         "GradVac", "Nash-MTL", "FAMO", "FairGrad", "UPGrad", "DualProj", "ConFIG"]


class Context:
    """What a strategy sees of a step: the epoch (from 0), every finished epoch's average losses, which tasks had
    labels in the (global) batch, and the global losses' values."""

    def __init__(self, epoch, epoch_losses, present, values):
        self.epoch, self.epoch_losses, self.present, self.values = epoch, epoch_losses, present, values

    def is_present(self, task):
        return self.present is None or self.present[task]


class GradientInfo:
    """The Gram matrix of the task gradients (float64 lists), the losses as back-propagated, the context, the dtype's epsilon."""

    def __init__(self, gram, losses, context, epsilon):
        self.gram, self.losses, self.context, self.epsilon = gram, losses, context, epsilon

    def norm(self, task):
        return math.sqrt(max(0.0, self.gram[task][task]))

    def is_zero(self, task):
        largest = 0.0
        for k in range(len(self.gram)):
            largest = max(largest, self.norm(k))
        return self.norm(task) <= self.epsilon * largest


def epsilon_of(dtype):
    return {torch.float64: 2.220446049250313e-16, torch.float16: 9.765625e-4, torch.bfloat16: 7.8125e-3}.get(dtype, 1.1920928955078125e-7)


class Strategy:
    name = ""
    uses_gradients = False
    supports_representation = False
    weights_heads = False
    needs_losses_after_step = False

    def __init__(self, tasks, dtype, device):
        self.tasks, self.dtype, self.device = tasks, dtype, device
        self.scale = None  # one learnable value per task (UW, GradNorm, IMTL)

    def parameters(self):
        return [] if self.scale is None else [self.scale]

    def _learnable(self, initial):
        self.scale = torch.nn.Parameter(torch.full((self.tasks,), float(initial), dtype=self.dtype, device=self.device))

    @property
    def fixed_weights(self):
        return None

    def after_step(self, losses_after):
        pass

    def state(self):
        if self.scale is None:
            return {}
        return {"loss_scale": [float(v) for v in self.scale.detach().to(torch.float64).cpu()]}

    def load_state(self, state):
        if self.scale is not None:
            values = state["loss_scale"]
            if len(values) != self.tasks or not all(math.isfinite(v) for v in values):
                raise ValueError(f"{self.name}: the state's 'loss_scale' must hold {self.tasks} finite values")
            with torch.no_grad():
                self.scale.copy_(torch.tensor(values, dtype=torch.float64).to(self.scale.dtype))


def weighted_sum(losses, weights):
    total = None
    for loss, weight in zip(losses, weights):
        term = loss * weight
        total = term if total is None else total + term
    return total


# ----- loss weighting -----

class Static(Strategy):
    name = "Static"

    def __init__(self, tasks, dtype, device, weights):
        super().__init__(tasks, dtype, device)
        self.weights = [float(w) for w in weights]

    @property
    def fixed_weights(self):
        return list(self.weights)

    def objective(self, losses, context):
        return weighted_sum(losses, self.weights), list(self.weights)


class EW(Strategy):
    name = "EW"

    @property
    def fixed_weights(self):
        return [1.0] * self.tasks

    def objective(self, losses, context):
        weights = [1.0] * self.tasks
        return weighted_sum(losses, weights), weights


class DWA(Strategy):
    name = "DWA"

    def __init__(self, tasks, dtype, device, temperature=2.0):
        super().__init__(tasks, dtype, device)
        self.temperature = float(temperature)

    def objective(self, losses, context):
        weights = [1.0] * self.tasks
        if context.epoch >= 2:
            last, before = context.epoch_losses[context.epoch - 1], context.epoch_losses[context.epoch - 2]
            # A zero average before gives C# an infinity or NaN, which leaves the task out; Python would raise.
            ratio = [last[k] / before[k] / self.temperature if before[k] != 0 else math.nan for k in range(self.tasks)]
            known = [k for k in range(self.tasks) if math.isfinite(ratio[k])]
            if known:
                top = max(ratio[k] for k in known)
                total = 0.0
                for k in known:
                    total += math.exp(ratio[k] - top)
                for k in known:
                    weights[k] = len(known) * math.exp(ratio[k] - top) / total
        return weighted_sum(losses, weights), weights


class UW(Strategy):
    name = "UW"

    def __init__(self, tasks, dtype, device, initial_scale=-0.5):
        super().__init__(tasks, dtype, device)
        self._learnable(initial_scale)

    def objective(self, losses, context):
        twice_variance = self.scale.exp() * 2.0
        objective = (torch.stack(losses) / twice_variance + self.scale / 2.0).sum()
        return objective, [float(v) for v in twice_variance.detach().reciprocal().to(torch.float64).cpu()]


class RLW(Strategy):
    """softmax(z), z ~ N(0, I) from the strategy's generator (seeded as WeightingStrategies.Create's) or torch's default one."""
    name = "RLW"

    def __init__(self, tasks, dtype, device, seed=None):
        super().__init__(tasks, dtype, device)
        self.generator = None if seed is None else torch.Generator().manual_seed(int(seed))

    def objective(self, losses, context):
        draw = torch.softmax(torch.randn(self.tasks, dtype=torch.float64, generator=self.generator), 0)
        weights = [float(v) for v in draw]
        return weighted_sum(losses, weights), weights

    def state(self):
        if self.generator is None:
            return {}
        return {"generator_state": [float(b) for b in self.generator.get_state().tolist()]}

    def load_state(self, state):
        if self.generator is not None:
            self.generator.set_state(torch.tensor([int(b) for b in state["generator_state"]], dtype=torch.uint8))


class GLS(Strategy):
    """The geometric mean of the present tasks' losses: its gradient is Σ_k G / (n L_k) ∇L_k, the reported weights."""
    name = "GLS"

    def objective(self, losses, context):
        tasks = [k for k in range(self.tasks) if context.is_present(k)]
        weights = [0.0] * self.tasks
        if not tasks:
            return weighted_sum(losses, weights), weights
        values = [context.values[k] for k in tasks]
        if any(v <= 0 for v in values):
            raise ValueError(f"GLS needs positive losses; got {values}")
        # The C# class takes the product's power in the tensors' type; its gradient is these weights on the losses.
        stacked = torch.tensor(values, dtype=self.dtype)
        total = float(stacked.prod().pow(1.0 / len(tasks)).to(torch.float64))
        for i, k in enumerate(tasks):
            weights[k] = total / (len(tasks) * values[i])
        return weighted_sum(losses, weights), weights


class FAMO(Strategy):
    name = "FAMO"
    needs_losses_after_step = True
    BETA1, BETA2, ADAM_EPSILON, OFFSET = 0.9, 0.999, 1e-8, 1e-8

    def __init__(self, tasks, dtype, device, learning_rate=0.025, weight_decay=1e-3):
        super().__init__(tasks, dtype, device)
        self.learning_rate, self.weight_decay = float(learning_rate), float(weight_decay)
        self.logits, self.first, self.second = [0.0] * tasks, [0.0] * tasks, [0.0] * tasks
        self.updates = 0
        self._before = self._present = None

    def objective(self, losses, context):
        z = softmax(self.logits)
        values = list(context.values)
        present = [context.is_present(k) for k in range(self.tasks)]
        c = 0.0
        for k in range(self.tasks):
            if present[k]:
                c += z[k] / (values[k] + self.OFFSET)
        weights = [z[k] / (c * (values[k] + self.OFFSET)) if present[k] and c > 0 else 0.0 for k in range(self.tasks)]
        self._before, self._present = values, present
        return weighted_sum(losses, weights), weights

    def after_step(self, losses_after):
        if self._before is None or self._present is None:
            return
        z = softmax(self.logits)
        delta = [0.0] * self.tasks
        for k in range(self.tasks):
            if self._present[k] and math.isfinite(losses_after[k]):
                delta[k] = math.log(self._before[k] + self.OFFSET) - math.log(losses_after[k] + self.OFFSET)
        z_delta = 0.0
        for a, b in zip(z, delta):
            z_delta += a * b
        self.updates += 1
        for k in range(self.tasks):
            gradient = z[k] * (delta[k] - z_delta) + self.weight_decay * self.logits[k]
            self.first[k] = self.BETA1 * self.first[k] + (1 - self.BETA1) * gradient
            self.second[k] = self.BETA2 * self.second[k] + (1 - self.BETA2) * gradient * gradient
            corrected = self.first[k] / (1 - math.pow(self.BETA1, self.updates))
            scale = math.sqrt(self.second[k] / (1 - math.pow(self.BETA2, self.updates)))
            self.logits[k] -= self.learning_rate * corrected / (scale + self.ADAM_EPSILON)
        self._before = None

    def state(self):
        return {"logits": list(self.logits), "adam_first": list(self.first), "adam_second": list(self.second), "updates": [float(self.updates)]}

    def load_state(self, state):
        self.logits, self.first, self.second = list(state["logits"]), list(state["adam_first"]), list(state["adam_second"])
        self.updates = int(state["updates"][0])


def softmax(logits):
    if not logits:
        return []
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    total = 0.0
    for v in e:
        total += v
    return [v / total for v in e]


# ----- gradient weighting -----

class GradientStrategy(Strategy):
    uses_gradients = True

    def transform(self, losses):
        return losses

    def use_gradients(self, context):
        return True


class GradNorm(GradientStrategy):
    name = "GradNorm"
    supports_representation = True

    def __init__(self, tasks, dtype, device, alpha=1.5, initial_scale=1.0):
        super().__init__(tasks, dtype, device)
        self.alpha = float(alpha)
        self._learnable(initial_scale)

    def use_gradients(self, context):
        return context.epoch >= 1

    def combine(self, info):
        first = info.context.epoch_losses[0]
        weights = torch.softmax(self.scale, 0) * float(self.tasks)
        norms = torch.tensor([info.norm(k) for k in range(self.tasks)], dtype=self.scale.dtype, device=self.scale.device)
        per_task = weights * norms
        ratio = [loss / first[k] for k, loss in enumerate(info.losses)]
        mean_ratio = 0.0
        for r in ratio:
            mean_ratio += r
        mean_ratio /= len(ratio)
        target = (per_task.mean() * torch.tensor([math.pow(r / mean_ratio, self.alpha) for r in ratio], dtype=self.scale.dtype, device=self.scale.device)).detach()
        (per_task - target).abs().sum().backward()
        w = [float(v) for v in weights.detach().to(torch.float64).cpu()]
        return w, list(w)


class MGDA(GradientStrategy):
    name = "MGDA"
    supports_representation = True

    def __init__(self, tasks, dtype, device, normalization="none"):
        super().__init__(tasks, dtype, device)
        self.normalization = normalization.lower().replace("_", "")

    def combine(self, info):
        n = self.tasks
        normalizers = []
        for k in range(n):
            normalizers.append({"l2": info.norm(k), "loss": info.losses[k], "lossplus": info.losses[k] * info.norm(k)}.get(self.normalization, 1.0))
        if any(not (v > 0) or not math.isfinite(v) for v in normalizers):
            raise ValueError(f"MGDA ({self.normalization}): a task's normaliser is {normalizers}; a zero gradient or loss cannot be normalised")
        gram = [[info.gram[i][j] / (normalizers[i] * normalizers[j]) for j in range(n)] for i in range(n)]
        weights = min_norm(gram)
        return [w / normalizers[k] for k, w in enumerate(weights)], weights


def min_norm(gram):
    n = len(gram)
    if n == 1:
        return [1.0]
    best, start = 1e8, None
    for i in range(n):
        for j in range(i + 1, n):
            gamma, cost = _from_two(gram[i][i], gram[i][j], gram[j][j])
            if cost < best:
                best, start = cost, (i, j, gamma)
    solution = [0.0] * n
    if start is None:
        return [1.0 / n] * n
    i, j, gamma = start
    solution[i] = gamma
    solution[j] = 1 - gamma
    if n < 3:
        return solution
    for _ in range(250):
        direction = [-v for v in multiply(gram, solution)]
        following = _next_point(solution, direction, n)
        v1v1 = quadratic(solution, gram, solution)
        v1v2 = quadratic(solution, gram, following)
        v2v2 = quadratic(following, gram, following)
        gamma, _ = _from_two(v1v1, v1v2, v2v2)
        updated = [gamma * v + (1 - gamma) * following[k] for k, v in enumerate(solution)]
        change = 0.0
        for k, v in enumerate(updated):
            change += abs(v - solution[k])
        if change < 1e-5:
            return solution
        solution = updated
    return solution


def _from_two(v1v1, v1v2, v2v2):
    if v1v2 >= v1v1:
        return 0.999, v1v1
    if v1v2 >= v2v2:
        return 0.001, v2v2
    gamma = -1.0 * ((v1v2 - v2v2) / (v1v1 + v2v2 - 2 * v1v2))
    return gamma, v2v2 + gamma * (v1v2 - v2v2)


def _next_point(current, gradient, n):
    total = 0.0
    for g in gradient:
        total += g
    mean = total / n
    projected = [g - mean for g in gradient]
    t = 1.0
    down = [v for v in (-current[k] / projected[k] for k in range(n) if projected[k] < 0) if v > 1e-7]
    up = [v for v in ((1 - current[k]) / projected[k] for k in range(n) if projected[k] > 0) if v > 1e-7]
    if down:
        t = min(down)
    if up:
        t = min(t, min(up))
    return project_to_simplex([p * t + current[k] for k, p in enumerate(projected)])


class PCGrad(GradientStrategy):
    name = "PCGrad"

    def __init__(self, tasks, dtype, device, seed=None, shuffle=True):
        super().__init__(tasks, dtype, device)
        if seed is None:
            raise ValueError("PCGrad under torchrun needs the seed of its shuffles (WeightingStrategies.Create's seed): pass --seed")
        self.seed, self.steps, self.shuffle = int(seed), 0, shuffle
        self.replay = None  # orders to take instead of shuffling, one per task i and step in turn (reference values)

    def combine(self, info):
        n = self.tasks
        a = [[1.0 if i == m else 0.0 for m in range(n)] for i in range(n)]
        random = DotNetRandom(_int32(self.seed * 1_000_003 + _int32(self.steps)))
        self.steps += 1
        for i in range(n):
            order = self.replay.pop(0) if self.replay else list(range(n))
            if self.shuffle and self.replay is None:
                random.shuffle(order)
            for j in order:
                dot = 0.0
                for m in range(n):
                    dot += a[i][m] * info.gram[m][j]
                if dot < 0:
                    a[i][j] -= dot / (info.gram[j][j] + 1e-8)
        coefficients = [0.0] * n
        for j in range(n):
            for i in range(n):
                coefficients[j] += a[i][j]
        return coefficients, list(coefficients)

    def state(self):
        return {"shuffle": [float(self.seed), float(self.steps)]}

    def load_state(self, state):
        self.seed, self.steps = int(state["shuffle"][0]), int(state["shuffle"][1])


class GradVac(GradientStrategy):
    name = "GradVac"

    def __init__(self, tasks, dtype, device, beta=0.5, seed=None, shuffle=True):
        super().__init__(tasks, dtype, device)
        if seed is None:
            raise ValueError("GradVac under torchrun needs the seed of its shuffles (WeightingStrategies.Create's seed): pass --seed")
        self.beta, self.seed, self.steps, self.shuffle = float(beta), int(seed), 0, shuffle
        self.replay = None  # orders to take instead of shuffling, one per task i and step in turn (reference values)
        self.target = [[0.0] * tasks for _ in range(tasks)]

    def combine(self, info):
        n = self.tasks
        g = info.gram
        a = [[1.0 if i == m else 0.0 for m in range(n)] for i in range(n)]
        random = DotNetRandom(_int32(self.seed * 1_000_003 + _int32(self.steps)))
        self.steps += 1
        for i in range(n):
            order = self.replay.pop(0) if self.replay else [j for j in range(n) if j != i]
            if self.shuffle and self.replay is None:
                random.shuffle(order)
            for j in order:
                dot = squared = 0.0
                for m in range(n):
                    dot += a[i][m] * g[m][j]
                    for l in range(n):
                        squared += a[i][m] * a[i][l] * g[m][l]
                pc_norm, g_norm = math.sqrt(max(0.0, squared)), math.sqrt(max(0.0, g[j][j]))
                cosine = dot / (pc_norm * g_norm + 1e-8)
                target = self.target[i][j]
                if cosine < target:
                    w = (pc_norm * (target * math.sqrt(max(0.0, 1 - cosine * cosine)) - cosine * math.sqrt(max(0.0, 1 - target * target)))
                         / (g_norm * math.sqrt(max(0.0, 1 - target * target)) + 1e-8))
                    a[i][j] += w
                self.target[i][j] = (1 - self.beta) * target + self.beta * cosine
        coefficients = [0.0] * n
        for j in range(n):
            for i in range(n):
                coefficients[j] += a[i][j]
        return coefficients, list(coefficients)

    def state(self):
        return {"shuffle": [float(self.seed), float(self.steps)], "targets": [self.target[x // self.tasks][x % self.tasks] for x in range(self.tasks * self.tasks)]}

    def load_state(self, state):
        self.seed, self.steps = int(state["shuffle"][0]), int(state["shuffle"][1])
        targets = state["targets"]
        self.target = [[targets[i * self.tasks + j] for j in range(self.tasks)] for i in range(self.tasks)]


class CAGrad(GradientStrategy):
    name = "CAGrad"

    def __init__(self, tasks, dtype, device, alpha=0.5, rescale=1):
        super().__init__(tasks, dtype, device)
        self.alpha, self.rescale = float(alpha), int(rescale)

    def combine(self, info):
        n = self.tasks
        mean = 0.0
        for row in info.gram:
            for v in row:
                mean += v
        mean /= n * n
        c = self.alpha * math.sqrt(mean + 1e-8) + 1e-8
        w = _cagrad_solve(info.gram, c)
        gw_norm = math.sqrt(max(0.0, quadratic(w, info.gram, w)))
        lam = c / (gw_norm + 1e-8)
        scale = {0: 1.0, 1: 1 + self.alpha * self.alpha}.get(self.rescale, 1 + self.alpha)
        return [(1.0 / n + lam * wk) / scale for wk in w], w


def _cagrad_objective(w, a, c):
    n = len(w)
    b = [1.0 / n] * n
    return quadratic(w, a, b) + c * math.sqrt(quadratic(w, a, w) + 1e-8)


def _cagrad_solve(a, c):
    n = len(a)
    if n == 2:
        return _cagrad_two(a, c)
    w = [1.0 / n] * n
    ab = multiply(a, [1.0 / n] * n)
    value, step = _cagrad_objective(w, a, c), 1.0
    for _ in range(100_000):
        aw = multiply(a, w)
        root = math.sqrt(quadratic(w, a, w) + 1e-8)
        gradient = [v + c * aw[k] / root for k, v in enumerate(ab)]
        step *= 2
        while True:
            following = project_to_simplex([v - step * gradient[k] for k, v in enumerate(w)])
            next_value = _cagrad_objective(following, a, c)
            decrease = distance = 0.0
            for k in range(n):
                decrease += gradient[k] * (w[k] - following[k])
            for k in range(n):
                distance += (following[k] - w[k]) * (following[k] - w[k])
            if next_value <= value - decrease + distance / (2 * step) + 1e-15 or step < 1e-30:
                break
            step /= 2
        change = 0.0
        for k in range(n):
            change += abs(following[k] - w[k])
        w, value = following, next_value
        if change < 1e-13:
            break
    return w


def _cagrad_two(a, c):
    def derivative(t):
        w0, w1 = t, 1 - t
        aw0, aw1 = a[0][0] * w0 + a[0][1] * w1, a[1][0] * w0 + a[1][1] * w1
        dab = 0.5 * (a[0][0] + a[0][1]) - 0.5 * (a[1][0] + a[1][1])
        return dab + c * (aw0 - aw1) / math.sqrt(max(0.0, w0 * aw0 + w1 * aw1) + 1e-8)
    if derivative(0) >= 0:
        return [0.0, 1.0]
    if derivative(1) <= 0:
        return [1.0, 0.0]
    low, high = 0.0, 1.0
    i = 0
    while i < 200 and high - low > 1e-16:
        middle = 0.5 * (low + high)
        if derivative(middle) > 0:
            high = middle
        else:
            low = middle
        i += 1
    t = 0.5 * (low + high)
    return [t, 1 - t]


class IMTL(GradientStrategy):
    name = "IMTL"
    supports_representation = True

    def __init__(self, tasks, dtype, device, initial_scale=0.0):
        super().__init__(tasks, dtype, device)
        self._learnable(initial_scale)

    def transform(self, losses):
        return [self.scale[k].exp() * loss - self.scale[k] for k, loss in enumerate(losses)]

    def combine(self, info):
        tasks = [k for k in range(self.tasks) if info.context.is_present(k)]
        full = [0.0] * self.tasks
        if not tasks:
            return full, list(full)
        n = len(tasks)
        if n == 1:
            full[tasks[0]] = 1.0
            return full, list(full)
        norm = [info.norm(k) for k in tasks]
        if any(v == 0 for v in norm):
            raise ValueError("IMTL: a task's gradient is zero, so its direction is undefined")
        g = [[info.gram[tasks[i]][tasks[j]] for j in range(n)] for i in range(n)]
        x = [0.0] * (n - 1)
        m = [[0.0] * (n - 1) for _ in range(n - 1)]
        for j in range(1, n):
            x[j - 1] = g[0][0] / norm[0] - g[0][j] / norm[j]
            for i in range(1, n):
                m[i - 1][j - 1] = g[0][0] / norm[0] - g[0][j] / norm[j] - g[i][0] / norm[0] + g[i][j] / norm[j]
        inv = inverse(m)
        alpha = [0.0] * n
        for j in range(n - 1):
            for i in range(n - 1):
                alpha[j + 1] += x[i] * inv[i][j]
        rest = 0.0
        for v in alpha[1:]:
            rest += v
        alpha[0] = 1 - rest
        for i in range(n):
            full[tasks[i]] = alpha[i]
        return full, list(full)


class AlignedMTL(GradientStrategy):
    name = "Aligned-MTL"
    supports_representation = True

    def combine(self, info):
        n = self.tasks
        values, vectors = symmetric_eigen(info.gram)
        tolerance = max(values) * n * info.epsilon
        kept = sorted((k for k in range(n) if values[k] > tolerance), key=lambda k: values[k], reverse=True)
        if not kept:
            raise ValueError("Aligned-MTL: every task gradient is zero")
        smallest = math.sqrt(values[kept[-1]])
        coefficients = [0.0] * n
        for column in range(n):
            for row in range(n):
                b = 0.0
                for k in kept:
                    b += vectors[row][k] * vectors[column][k] / math.sqrt(values[k])
                coefficients[column] += smallest * b
        return coefficients, list(coefficients)


class NashMTL(GradientStrategy):
    name = "Nash-MTL"
    weights_heads = True

    def __init__(self, tasks, dtype, device, max_norm=1.0, update_every=1):
        super().__init__(tasks, dtype, device)
        self.max_norm, self.update_every = float(max_norm), int(update_every)
        self.alpha = self.start = None
        self.steps = 0

    def combine(self, info):
        n = self.tasks
        if self.alpha is None or self.steps % self.update_every == 0:
            frobenius = 0.0
            for row in info.gram:
                for v in row:
                    frobenius += v * v
            frobenius = math.sqrt(frobenius)
            last = self.start if self.start is not None and all(v > 0 for v in self.start) else None
            self.alpha, self.start, _ = fair_weights(info, 1.0, frobenius, last)
        self.steps += 1
        alpha = list(self.alpha)
        coefficients = list(alpha)
        norm = math.sqrt(max(0.0, quadratic(alpha, info.gram, alpha)))
        if self.max_norm > 0 and norm > self.max_norm:
            for k in range(n):
                coefficients[k] *= self.max_norm / norm
        return coefficients, alpha

    def state(self):
        state = {"steps": [float(self.steps)]}
        if self.alpha is not None:
            state["alpha"] = list(self.alpha)
        if self.start is not None:
            state["start"] = list(self.start)
        return state

    def load_state(self, state):
        self.steps = int(state["steps"][0])
        self.alpha = list(state["alpha"]) if "alpha" in state else None
        self.start = list(state["start"]) if "start" in state else None


class FairGrad(GradientStrategy):
    name = "FairGrad"
    weights_heads = True

    def __init__(self, tasks, dtype, device, alpha=1.0):
        super().__init__(tasks, dtype, device)
        self.alpha = float(alpha)
        self.last = None

    def combine(self, info):
        w, self.last, _ = fair_weights(info, self.alpha, 1.0, self.last)
        return w, list(w)

    def state(self):
        return {} if self.last is None else {"start": list(self.last)}

    def load_state(self, state):
        self.last = list(state["start"]) if "start" in state else None


class DualCone(GradientStrategy):
    supports_representation = True

    def __init__(self, tasks, dtype, device, norm_epsilon=1e-4, regularization=1e-4):
        super().__init__(tasks, dtype, device)
        self.norm_epsilon, self.regularization = float(norm_epsilon), float(regularization)

    def projection_gram(self, info):
        return normalized_gram(info.gram, self.norm_epsilon, self.regularization)


class UPGrad(DualCone):
    name = "UPGrad"

    def combine(self, info):
        n = self.tasks
        gram = self.projection_gram(info)
        coefficients = [0.0] * n
        for i in range(n):
            u = [0.0] * n
            u[i] = 1.0 / n
            v = project_onto_dual_cone(u, gram)
            for k in range(n):
                coefficients[k] += v[k]
        return coefficients, list(coefficients)


class DualProj(DualCone):
    name = "DualProj"

    def combine(self, info):
        v = project_onto_dual_cone([1.0 / self.tasks] * self.tasks, self.projection_gram(info))
        return v, list(v)


class ConFIG(GradientStrategy):
    name = "ConFIG"
    supports_representation = True

    def combine(self, info):
        n = self.tasks
        norms = [info.norm(k) for k in range(n)]
        active = [not info.is_zero(k) for k in range(n)]
        coefficients = [0.0] * n
        if not any(active):
            return coefficients, list(coefficients)
        cosine = [[info.gram[i][j] / (norms[i] * norms[j]) if active[i] and active[j] else 0.0 for j in range(n)] for i in range(n)]
        values, vectors = symmetric_eigen(cosine)
        cut = max(values) * n * info.epsilon
        a = [0.0] * n
        for e in range(n):
            if values[e] <= cut:
                continue
            projection = 0.0
            for k in range(n):
                projection += vectors[k][e] * (1 if active[k] else 0)
            for k in range(n):
                a[k] += vectors[k][e] * projection / values[e]
        v_norm = math.sqrt(max(0.0, quadratic(a, cosine, a)))
        if v_norm == 0:
            return coefficients, list(coefficients)
        unit = [a[k] / (norms[k] * v_norm) if active[k] else 0.0 for k in range(n)]
        length = 0.0
        for v in multiply(info.gram, unit):
            length += v
        for k in range(n):
            coefficients[k] = length * unit[k]
        return coefficients, list(coefficients)


# ----- the backward pass of a step -----

def backward(strategy, losses, context, shared, others, mean=None):
    """The strategy's backward (WeightingStrategy.Backward) on this process's shares of the task losses (each times
    the number of processes, so that their mean over the processes is the loss; in one process, the losses). Leaves
    every gradient averaged over the processes by `mean` (an in-place all-reduce mean of a tensor; None in one
    process) and returns the task weights. Loss weighting back-propagates its objective (the model's gradients are
    averaged by DistributedDataParallel, the strategy's own parameters here). Gradient weighting back-propagates each
    task's loss alone, averages the task gradients of the `shared` parameters, combines them from their Gram matrix
    into Σ β_k g_k, and averages the gradients of the `others` (the heads and the strategy's parameters), which
    received every task's plain gradient (Nash-MTL and FairGrad: w_k times it)."""
    mean = mean or (lambda tensor: tensor)
    if not strategy.uses_gradients:
        objective, weights = strategy.objective(losses, context)
        objective.backward()
        average_gradients(strategy.parameters(), mean)
        return weights
    scaled = strategy.transform(losses)
    tasks = len(scaled)
    if not strategy.use_gradients(context):  # GradNorm's first epoch: the plain sum
        total = scaled[0]
        for value in scaled[1:]:
            total = total + value
        total.backward()
        average_gradients(list(shared) + list(others), mean)
        return [1.0] * tasks
    rows = []
    for k, value in enumerate(scaled):
        for p in shared:
            p.grad = None
        value.backward(retain_graph=strategy.weights_heads or k + 1 < tasks)
        rows.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared]))
    for p in shared:
        p.grad = None
    rows = mean(torch.stack(rows))
    gram = rows.mm(rows.t()).to(torch.float64).cpu().tolist()
    # The losses as back-propagated: the global losses themselves unless the strategy transformed them (IMTL).
    values = context.values if scaled is losses else [float(v) for v in mean(torch.stack([v.detach() for v in scaled]).to(torch.float64))]
    coefficients, weights = strategy.combine(GradientInfo(gram, values, context, epsilon_of(rows.dtype)))
    if strategy.weights_heads:  # each head's plain gradient becomes w_k times it; the shared ones are set below
        weighted_sum(scaled, [w - 1 for w in weights]).backward()
    average_gradients(others, mean)
    beta = torch.tensor(coefficients, dtype=rows.dtype, device=rows.device)
    combined = (beta.reshape(-1, 1) * rows).sum(0)
    offset = 0
    for p in shared:
        size = p.numel()
        p.grad = combined[offset:offset + size].view_as(p).to(p.dtype).clone()
        offset += size
    return weights


def average_gradients(parameters, mean):
    """Every process's gradient of these parameters replaced by their mean, in one message."""
    parameters = list(parameters)
    if not parameters:
        return
    flat = mean(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in parameters]))
    offset = 0
    for p in parameters:
        size = p.numel()
        p.grad = flat[offset:offset + size].view_as(p).clone()
        offset += size


# ----- the small dense linear algebra (WeightingMath) -----

def project_to_simplex(y):
    m = len(y)
    ordered = sorted(y, reverse=True)
    total = 0.0
    for v in y:
        total += v
    theta = (total - 1.0) / m
    running = 0.0
    for i in range(m - 1):
        running += ordered[i]
        candidate = (running - 1) / (i + 1.0)
        if candidate > ordered[i + 1]:
            theta = candidate
            break
    return [max(v - theta, 0.0) for v in y]


def quadratic(x, a, y):
    total = 0.0
    for i in range(len(x)):
        for j in range(len(y)):
            total += x[i] * a[i][j] * y[j]
    return total


def multiply(a, x):
    n = len(x)
    result = [0.0] * n
    for i in range(n):
        for j in range(n):
            result[i] += a[i][j] * x[j]
    return result


def inverse(matrix):
    n = len(matrix)
    a = [list(row) for row in matrix]
    inv = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for column in range(n):
        pivot = column
        for row in range(column + 1, n):
            if abs(a[row][column]) > abs(a[pivot][column]):
                pivot = row
        if a[pivot][column] == 0:
            raise ValueError("The matrix is singular: two tasks have linearly dependent gradients.")
        a[pivot], a[column] = a[column], a[pivot]
        inv[pivot], inv[column] = inv[column], inv[pivot]
        scale = a[column][column]
        for j in range(n):
            a[column][j] /= scale
            inv[column][j] /= scale
        for row in range(n):
            if row == column:
                continue
            factor = a[row][column]
            for j in range(n):
                a[row][j] -= factor * a[column][j]
                inv[row][j] -= factor * inv[column][j]
    return inv


def solve(matrix, y):
    return multiply(inverse(matrix), y)


def symmetric_eigen(matrix):
    """Eigenvalues and eigenvectors (columns: vectors[k][e]) by cyclic Jacobi rotations."""
    n = len(matrix)
    a = [list(row) for row in matrix]
    v = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for _ in range(100):
        off = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                off += a[i][j] * a[i][j]
        if off < 1e-300:
            break
        for p in range(n):
            for q in range(p + 1, n):
                if a[p][q] == 0:
                    continue
                theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                t = _sign(1.0 if theta == 0 else theta) / (abs(theta) + math.sqrt(theta * theta + 1))
                c = 1 / math.sqrt(t * t + 1)
                s = t * c
                for k in range(n):
                    akp, akq = a[k][p], a[k][q]
                    a[k][p] = c * akp - s * akq
                    a[k][q] = s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p][k], a[q][k]
                    a[p][k] = c * apk - s * aqk
                    a[q][k] = s * apk + c * aqk
                for k in range(n):
                    vkp, vkq = v[k][p], v[k][q]
                    v[k][p] = c * vkp - s * vkq
                    v[k][q] = s * vkp + c * vkq
    return [a[i][i] for i in range(n)], v


def _sign(x):
    return (x > 0) - (x < 0)


def non_negative_quadratic(a, b):
    """The minimiser of ½ xᵀ A x + bᵀ x over x ≥ 0 (the primal active-set method)."""
    n = len(b)
    x = [0.0] * n
    free = [False] * n
    scale = 0.0
    for i in range(n):
        scale = max(scale, abs(a[i][i]) + abs(b[i]))
    tolerance = 1e-14 * max(scale, 5e-324)
    for _ in range(10 * n + 10):
        gradient = multiply(a, x)
        entering, best = -1, tolerance
        for j in range(n):
            descent = -(gradient[j] + b[j])
            if not free[j] and descent > best:
                best, entering = descent, j
        if entering < 0:
            return x
        free[entering] = True
        for _ in range(n + 1):
            z = _solve_free(a, b, free)
            blocking, step = -1, 1.0
            for j in range(n):
                if free[j] and z[j] <= 0 and x[j] - z[j] > 0:
                    t = x[j] / (x[j] - z[j])
                    if t < step:
                        step, blocking = t, j
            if blocking < 0:
                for j in range(n):
                    x[j] = max(z[j], 0.0) if free[j] else 0.0
                break
            for j in range(n):
                x[j] += step * (z[j] - x[j])
            x[blocking] = 0.0
            for j in range(n):
                if free[j] and x[j] <= 0:
                    free[j] = False
                    x[j] = 0.0
    return x


def _solve_free(a, b, free):
    index = [j for j in range(len(b)) if free[j]]
    sub = [[a[i][j] for j in index] for i in index]
    solved = solve(sub, [-b[i] for i in index])
    z = [0.0] * len(b)
    for i, k in enumerate(index):
        z[k] = solved[i]
    return z


def fair_weights(info, alpha, scale, previous):
    n = len(info.gram)
    active = [k for k in range(n) if not info.is_zero(k)]
    w = [1.0] * n
    start = [0.0] * n
    if not active:
        return w, start, 0.0
    gram = [[info.gram[i][j] for j in active] for i in active]
    warm = [previous[k] for k in active] if previous is not None and all(previous[k] > 0 for k in active) else None
    solution, u, residual = fair_solve(gram, alpha, scale, warm)
    for i, k in enumerate(active):
        w[k] = solution[i]
        start[k] = u[i]
    return w, start, residual


def fair_solve(gram, alpha, scale, start):
    plain = _fair_solve(gram, alpha, scale, start, 0.0)
    if plain[2] <= 1e-7 and all(v > 0 and math.isfinite(v) for v in plain[1]):
        return plain
    return _fair_solve(gram, alpha, scale, start, 1e-10)


def _fair_solve(gram, alpha, scale, start, ridge):
    n = len(gram)
    d = [math.sqrt(gram[k][k]) for k in range(n)]
    c = [[gram[i][j] / (d[i] * d[j]) + (ridge if i == j else 0.0) for j in range(n)] for i in range(n)]
    s = [scale * math.pow(dk, 1 / alpha - 1) for dk in d]
    u = list(start) if start is not None and len(start) == n and all(v > 0 and math.isfinite(v) for v in start) else [1.0] * n

    def phi(v):
        return math.log(v) if alpha == 1 else math.pow(v, 1 - 1 / alpha) / (1 - 1 / alpha)

    def objective(v):
        total = 0.0
        for k in range(n):
            total += s[k] * phi(v[k])
        return 0.5 * quadratic(v, c, v) - total

    def relative(v):
        cv = multiply(c, v)
        return max(abs(cv[k] - s[k] * math.pow(v[k], -1 / alpha)) / (s[k] * math.pow(v[k], -1 / alpha)) for k in range(n))

    for _ in range(200):
        cu = multiply(c, u)
        gradient = [cu[k] - s[k] * math.pow(u[k], -1 / alpha) for k in range(n)]
        rel = relative(u)
        if rel <= 1e-13:
            break
        hessian = [list(row) for row in c]
        for k in range(n):
            hessian[k][k] += s[k] * math.pow(u[k], -1 / alpha - 1) / alpha
        step = solve(hessian, gradient)
        t = 1.0
        for k in range(n):
            if step[k] > 0:
                t = min(t, 0.99 * u[k] / step[k])
        f = objective(u)
        slope = 0.0
        for g, x in zip(gradient, step):
            slope += g * x
        slope = -slope
        following = [0.0] * n
        for _ in range(60):
            for k in range(n):
                following[k] = u[k] - t * step[k]
            if objective(following) <= f + 1e-4 * t * slope or relative(following) < (1 - 1e-4 * t) * rel or t < 1e-12:
                break
            t /= 2
        moved = any(following[k] != u[k] for k in range(n))
        u = list(following)
        if not moved:
            break
    w = [uk / dk for uk, dk in zip(u, d)]
    gw = multiply(gram, w)
    residual = max(abs(gw[k] - scale * math.pow(w[k], -1 / alpha)) / (scale * math.pow(w[k], -1 / alpha)) for k in range(n))
    return w, u, residual


def normalized_gram(gram, norm_epsilon, regularization):
    n = len(gram)
    trace = 0.0
    for i in range(n):
        trace += gram[i][i]
    result = [[0.0 if trace < norm_epsilon else gram[i][j] / trace for j in range(n)] for i in range(n)]
    for i in range(n):
        result[i][i] += regularization
    return result


def project_onto_dual_cone(u, gram):
    x = non_negative_quadratic(gram, multiply(gram, u))
    return [a + b for a, b in zip(u, x)]


# ----- .NET's seeded System.Random (PCGrad's and GradVac's shuffles are drawn with it in MtlDsl) -----

def _int32(value):
    """C#'s unchecked int arithmetic: the value wrapped to 32 bits."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


class DotNetRandom:
    """System.Random(seed): Knuth's subtractive generator as .NET implements it for a seed, with Next(min, max) and
    Shuffle (Fisher–Yates from the front)."""
    MSEED, MAX = 161803398, 2147483647

    def __init__(self, seed):
        seeds = [0] * 56
        subtraction = self.MAX if seed == -2147483648 else abs(seed)
        mj = self.MSEED - subtraction
        seeds[55] = mj
        mk, ii = 1, 0
        for _ in range(1, 55):
            ii += 21
            if ii >= 55:
                ii -= 55
            seeds[ii] = mk
            mk = mj - mk
            if mk < 0:
                mk += self.MAX
            mj = seeds[ii]
        for _ in range(1, 5):
            for i in range(1, 56):
                n = i + 30
                if n >= 55:
                    n -= 55
                seeds[i] = _int32(seeds[i] - seeds[1 + n])
                if seeds[i] < 0:
                    seeds[i] += self.MAX
        self.seeds, self.inext, self.inextp = seeds, 0, 21

    def _sample(self):
        inext, inextp = self.inext + 1, self.inextp + 1
        if inext >= 56:
            inext = 1
        if inextp >= 56:
            inextp = 1
        value = self.seeds[inext] - self.seeds[inextp]
        if value == self.MAX:
            value -= 1
        if value < 0:
            value += self.MAX
        self.seeds[inext] = value
        self.inext, self.inextp = inext, inextp
        return value * (1.0 / self.MAX)

    def next(self, low, high):
        return int(self._sample() * (high - low)) + low

    def next_int64(self, high):
        """NextInt64(high): the top bits of three draws, until one falls below high."""
        if high <= 1:
            return 0
        bits = (high - 1).bit_length()
        while True:
            value = self.next(0, 1 << 22) | (self.next(0, 1 << 22) << 22) | (self.next(0, 1 << 20) << 44)
            value >>= 64 - bits
            if value < high:
                return value

    def shuffle(self, values):
        n = len(values)
        for i in range(n - 1):
            j = self.next(i, n)
            if j != i:
                values[i], values[j] = values[j], values[i]


# ----- by name -----

_CLASSES = {"EW": EW, "DWA": DWA, "UW": UW, "RLW": RLW, "GLS": GLS, "GradNorm": GradNorm, "MGDA": MGDA, "PCGrad": PCGrad,
            "CAGrad": CAGrad, "IMTL": IMTL, "Aligned-MTL": AlignedMTL, "GradVac": GradVac, "Nash-MTL": NashMTL, "FAMO": FAMO,
            "FairGrad": FairGrad, "UPGrad": UPGrad, "DualProj": DualProj, "ConFIG": ConFIG}
_SEEDED = {"RLW", "PCGrad", "GradVac"}


def create(name, tasks, dtype, device, seed=None, declared_weights=None, **options):
    """A strategy by its name (WeightingStrategies.Names, or "Static" with the declared weights), with the defaults of
    WeightingStrategies.Create and the options of its C# constructor by their Python names (alpha, beta, temperature,
    max_norm, …); seed as Create's."""
    if name == "Static":  # the declared weights, or others (weights="1,0.5")
        weights = options.pop("weights", declared_weights)
        if isinstance(weights, str):
            weights = [float(w) for w in weights.split(",")]
        elif isinstance(weights, (int, float)):
            weights = [float(weights)]
        if len(weights) != tasks:
            raise ValueError(f"the static weights {weights} are not one per task ({tasks})")
        return Static(tasks, dtype, device, weights, **options)
    if name not in _CLASSES:
        raise ValueError(f"unknown weighting strategy '{name}'; use one of Static, {', '.join(NAMES)}")
    if name in _SEEDED:
        options["seed"] = seed
    return _CLASSES[name](tasks, dtype, device, **options)
