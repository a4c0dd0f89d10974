"""The PyTorch-side safetensors readers refuse short and inconsistent files: mtldsl_torch.load_safetensors (shipped
with every exported twin, used by train_ddp.py where the `safetensors` package is missing) and the checks' own
safetensors_format.read. Each crafted file must be a ValueError naming the file and what is wrong, never tensors of
uninitialised memory; a well-formed file still loads. Prints one PASS or FAIL line per file; exits 1 if any failed.

    /usr/bin/python3 tests/PyTorchInterop/safetensors_refusals.py
"""
import json
import os
import shutil
import struct
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "src", "MtlDsl", "PyTorch"))
sys.path.insert(0, here)

import torch  # noqa: E402

import mtldsl_torch  # noqa: E402
from safetensors_format import read  # noqa: E402


def crafted(header, data, raw_header=None):
    """The bytes of a file with this header (a dict, or raw text) and data, the header padded as PyTorch pads it."""
    text = (raw_header if raw_header is not None else json.dumps(header)).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(name, shape, begin, end):
    return {name: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}}


def main():
    folder = tempfile.mkdtemp(prefix="mtldsl-safetensors-")
    good = os.path.join(folder, "good.safetensors")
    weights = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor([1.5, -2.0], dtype=torch.float32),
               "c": torch.zeros(0, 4, dtype=torch.float32), "d": torch.tensor(7, dtype=torch.int64)}
    mtldsl_torch.save_safetensors(weights, good)
    whole = open(good, "rb").read()
    (n,) = struct.unpack("<Q", whole[:8])
    header = json.loads(whole[8:8 + n])
    ok = True

    loaded = mtldsl_torch.load_safetensors(good)
    same = loaded.keys() == weights.keys() and all(torch.equal(loaded[k], weights[k]) for k in weights)
    print(f"{'PASS' if same else 'FAIL'} a well-formed file (a matrix, a vector, a zero-size tensor, a scalar) loads as written")
    ok &= same

    cases = [
        # what, file bytes, what the error must say
        ("cut at a tensor boundary", whole[:8 + n + 24], "claims bytes [24, 32)"),
        ("holding only a header", whole[:8 + n], "of a data section of 0 bytes"),
        ("cut inside the header", whole[:8 + n // 2], "its header claims"),
        ("shorter than the header length", whole[:5], "fewer than the 8-byte header length"),
        ("with offsets past the end", crafted({**f32("a", [2], 0, 8), **f32("b", [2], 8, 16)}, bytes(8)), "tensor 'b'"),
        ("with a shape of [2^31]", crafted(f32("a", [2 ** 31], 0, 2 ** 33), bytes(4)), "claims bytes [0, 8589934592)"),
        ("with a shape of [2^40, 2^40]", crafted(f32("a", [2 ** 40, 2 ** 40], 0, 4), bytes(4)), "tensor 'a'"),
        ("with a negative dimension", crafted(f32("a", [-1], 0, 4), bytes(4)), "whole numbers >= 0"),
        ("with a fractional dimension", crafted(f32("a", [1.5], 0, 4), bytes(4)), "whole numbers >= 0"),
        ("with a size that is not its range", crafted(f32("a", [2], 0, 4), bytes(4)), "8 bytes) claims bytes [0, 4)"),
        ("naming a tensor twice", crafted(None, bytes(8), raw_header='{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                          '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), "names 'a' twice"),
        ("with overlapping tensors", crafted({**f32("a", [2], 0, 8), **f32("b", [1], 4, 8)}, bytes(8)), "overlaps tensor 'a'"),
        ("with a gap between tensors", crafted({**f32("a", [1], 0, 4), **f32("b", [1], 8, 12)}, bytes(12)), "before tensor 'b'"),
        ("with bytes after the last tensor", whole + bytes(8), "after the last tensor"),
        ("with an unknown dtype", crafted({"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)), "dtype 'F8'"),
        ("whose header claims 200 MB", struct.pack("<Q", 200_000_000) + bytes(16), "more than the limit"),
        ("whose header is not JSON", crafted(None, b"", raw_header='{"a": '), "not JSON"),
        ("whose header is a list", crafted([1, 2], b""), "not a JSON object"),
        ("with a field too many", crafted({"a": {**header["b"], "scale": 2}}, whole[8 + n:8 + n + 8]), "exactly dtype, shape and data_offsets"),
    ]
    for what, data, expected in cases:
        path = os.path.join(folder, what.replace(" ", "-").replace("/", "") + ".safetensors")
        with open(path, "wb") as f:
            f.write(data)
        problems = []
        try:
            tensors = mtldsl_torch.load_safetensors(path)
            problems.append(f"mtldsl_torch loaded {sorted(tensors)}")
        except ValueError as error:
            if path not in str(error) or expected not in str(error):
                problems.append(f"mtldsl_torch said '{error}', expected the file and '{expected}'")
        except Exception as error:  # noqa: BLE001 - any other exception is a wrong refusal
            problems.append(f"mtldsl_torch raised {type(error).__name__}: {error}")
        try:
            tensors = read(path)
            problems.append(f"safetensors_format loaded {sorted(tensors)}")
        except ValueError:
            pass
        except Exception as error:  # noqa: BLE001
            problems.append(f"safetensors_format raised {type(error).__name__}: {error}")
        print(f"{'FAIL' if problems else 'PASS'} a safetensors file {what} is refused by both Python readers" + (": " + "; ".join(problems) if problems else ""))
        ok &= not problems
    shutil.rmtree(folder)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
