"""Loads MtlDsl's safetensors into the PyTorch module of the same network, and writes PyTorch weights back.

Run with Debian's python3-torch (PyTorch 1.13, no `safetensors` package needed: the format is read and written
here by its definition). See README.md.
"""
import sys

import torch
from torch import nn

from safetensors_format import read, write


def head():
    return nn.Sequential(nn.Linear(50, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 10))


class MultiLeNet(nn.Module):
    """The PyTorch module a PyTorch user would write for samples/MultiMnist/MultiLeNet.cs."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Sequential(
            nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(10, 20, 5), nn.Dropout(0.5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Flatten(), nn.Linear(320, 50), nn.ReLU())
        self.left = head()
        self.right = head()

    def forward(self, x):
        r = self.shared(x)
        return self.left(r), self.right(r)


folder = sys.argv[1]
model = MultiLeNet().eval()
model.load_state_dict(read(f"{folder}/weights.safetensors"), strict=True)  # every name and shape must match
io = read(f"{folder}/io.safetensors")
with torch.no_grad():
    left, right = model(io["input"])
print("TorchSharp's weights in PyTorch: largest output difference left %.2e, right %.2e"
      % ((left - io["left"]).abs().max(), (right - io["right"]).abs().max()))
assert torch.allclose(left, io["left"], atol=1e-5) and torch.allclose(right, io["right"], atol=1e-5)

class TabularModel(nn.Module):
    """tests/Models/TabularModel.cs in PyTorch: BatchNorm's buffers and LayerNorm must carry the same names."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(12, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1))
        self.bottleneck = nn.Sequential(nn.Linear(64, 32), nn.LayerNorm(32), nn.GELU())
        self.species = nn.Sequential(nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 3))
        self.is_male = nn.Sequential(nn.Linear(32, 1))
        self.body_mass = nn.Sequential(nn.Linear(32, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1, bias=False))

    def forward(self, x):
        r = self.bottleneck(self.encoder(x))
        return self.species(r), self.is_male(r), self.body_mass(r)


tabular = TabularModel().eval()
state = read(f"{folder}/tabular_weights.safetensors")
tabular.load_state_dict(state, strict=True)
assert state["encoder.1.num_batches_tracked"].item() == 5 and state["encoder.1.running_mean"].abs().sum() > 0
io = read(f"{folder}/tabular_io.safetensors")
with torch.no_grad():
    outputs = tabular(io["input"])
worst = max((o - io[k]).abs().max().item() for o, k in zip(outputs, ["species", "is_male", "body_mass"]))
print("TabularModel (BatchNorm, LayerNorm) in PyTorch: largest output difference %.2e" % worst)
assert worst < 1e-5

torch.manual_seed(3)
fresh = MultiLeNet().eval()
x = torch.rand(8, 1, 28, 28)
with torch.no_grad():
    left, right = fresh(x)
write(f"{folder}/from_pytorch.safetensors", fresh.state_dict())
write(f"{folder}/from_pytorch_io.safetensors", {"input": x, "left": left, "right": right})
print("wrote PyTorch's own weights for the import check")
