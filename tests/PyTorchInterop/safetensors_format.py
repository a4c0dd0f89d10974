"""safetensors read and written by the format's definition (Debian has no `safetensors` package): an 8-byte
little-endian header length, a JSON header of name -> dtype, shape and byte offsets, then the bytes."""
import json
import struct

import numpy as np
import torch

DTYPES = {"F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64), "I64": (np.int64, torch.int64)}


def read(path):
    """{name: tensor}, after checking that the header accounts for the file byte for byte: a short, padded or
    inconsistent file, or one naming a tensor twice, is a ValueError naming the file and the tensor."""
    with open(path, "rb") as f:
        data = f.read()

    def refuse(why):
        raise ValueError(f"{path}: {why}")

    def once(pairs):
        names = [key for key, _ in pairs]
        if len(set(names)) != len(names):
            refuse(f"the header names {sorted({k for k in names if names.count(k) > 1})} more than once")
        return dict(pairs)

    if len(data) < 8:
        refuse(f"{len(data)} bytes, no header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(100_000_000, len(data) - 8):
        refuse(f"a header of {n} bytes in a file of {len(data)}")
    header = json.loads(data[8:8 + n], object_pairs_hook=once)
    if not isinstance(header, dict):
        refuse("the header is not a JSON object")
    body = data[8 + n:]
    tensors, covered = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in DTYPES:
            refuse(f"tensor {name} has dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        size = int(np.prod(entry["shape"], dtype=object)) * np.dtype(DTYPES[entry["dtype"]][0]).itemsize \
            if all(type(d) is int for d in entry["shape"]) else -1
        if not all(type(d) is int and d >= 0 for d in entry["shape"]) or not 0 <= begin <= end <= len(body) or end - begin != size:
            refuse(f"tensor {name} {entry['shape']} ({size} bytes) at bytes [{begin}, {end}) of {len(body)}")
        covered.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(covered):
        if begin != position:
            refuse(f"tensor {name} begins at byte {begin} of the data, not where the one before it ends ({position})")
        position = end
    if position != len(body):
        refuse(f"the tensors cover {position} of the data's {len(body)} bytes")
    for begin, end, name in covered:
        entry = header[name]
        array = np.frombuffer(body[begin:end], dtype=DTYPES[entry["dtype"]][0]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        blob = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
