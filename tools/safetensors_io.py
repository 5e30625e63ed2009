#!/usr/bin/python3
"""A tiny safetensors reader/writer (no `safetensors` package; numpy only).

File layout (https://github.com/huggingface/safetensors, "format" section):

    8 bytes   N, the header length, unsigned 64-bit little-endian
    N bytes   JSON header (UTF-8):
                {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]},
                 ...,
                 "__metadata__": {"<key>": "<string value>", ...}}     (optional)
              padded with trailing spaces so that 8 + N is a multiple of 8
    rest      the tensor bytes, row-major, little-endian; data_offsets are relative to the
              start of this section

Writing: F32 only (values are converted to float32). Tensors are laid out in the order given,
the header keeps that order, and `__metadata__` (all values must be strings) comes last, so
the same input always produces the same bytes.

Reading: F32, F64, F16, BF16 are returned as float32 arrays; I64 stays int64 (I32 stays int32,
BOOL/U8 stay as such). Anything malformed raises SafetensorsError with a message that names
the file and the problem.

    from safetensors_io import save_file, load_file
    save_file({"w": np.ones((2, 3), np.float32)}, "x.safetensors", metadata={"note": "hi"})
    tensors, metadata = load_file("x.safetensors")
"""

import json
import os
import struct

import numpy as np

__all__ = ["SafetensorsError", "save_file", "load_file", "read_header", "to_numpy_f32"]


class SafetensorsError(ValueError):
    pass


# dtype name -> (numpy dtype as stored, numpy dtype returned)
_READ_DTYPES = {
    "F32": (np.dtype("<f4"), np.float32),
    "F64": (np.dtype("<f8"), np.float32),
    "F16": (np.dtype("<f2"), np.float32),
    "BF16": (np.dtype("<u2"), None),  # converted by hand below
    "I64": (np.dtype("<i8"), np.int64),
    "I32": (np.dtype("<i4"), np.int32),
    "U8": (np.dtype("u1"), np.uint8),
    "BOOL": (np.dtype("u1"), np.bool_),
}

_MAX_HEADER = 100 * 1024 * 1024


def to_numpy_f32(value):
    """A float32, C-contiguous numpy array from a numpy array, a torch tensor or nested lists."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        value = value.detach().cpu()
        if hasattr(value, "float"):
            value = value.float()
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise SafetensorsError("cannot store dtype %s as F32" % arr.dtype)
    return np.array(arr, dtype="<f4", order="C")  # copy; keeps 0-d shapes (ascontiguousarray does not)


def save_file(tensors, path, metadata=None):
    """Writes `tensors` ({name: array-like}) as F32 safetensors; returns the number of bytes."""
    if not isinstance(tensors, dict):
        raise SafetensorsError("tensors must be a dict of name -> array")
    header = {}
    chunks = []
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or not name:
            raise SafetensorsError("tensor names must be non-empty strings, got %r" % (name,))
        if name == "__metadata__":
            raise SafetensorsError("'__metadata__' is reserved and cannot name a tensor")
        arr = to_numpy_f32(value)
        data = arr.tobytes(order="C")
        header[name] = {
            "dtype": "F32",
            "shape": [int(d) for d in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if metadata:
        meta = {}
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError("__metadata__ must map strings to strings (%r: %r)" % (k, v))
            meta[k] = v
        header["__metadata__"] = meta
    hbytes = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    pad = (8 - (8 + len(hbytes)) % 8) % 8
    hbytes += b" " * pad
    tmp = path + ".tmp-write"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)
    return 8 + len(hbytes) + offset


def _read_header_bytes(f, path, file_size):
    raw = f.read(8)
    if len(raw) < 8:
        raise SafetensorsError("%s: too short to be a safetensors file (%d bytes)" % (path, len(raw)))
    (n,) = struct.unpack("<Q", raw)
    if n == 0 or n > _MAX_HEADER or 8 + n > file_size:
        raise SafetensorsError(
            "%s: not a safetensors file (header length %d, file size %d)" % (path, n, file_size))
    hb = f.read(n)
    try:
        header = json.loads(hb.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError("%s: header is not valid JSON (%s)" % (path, e))
    if not isinstance(header, dict):
        raise SafetensorsError("%s: header is not a JSON object" % path)
    return header, 8 + n


def read_header(path):
    """(tensor entries {name: {dtype, shape, data_offsets}}, metadata dict) without the data."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, _ = _read_header_bytes(f, path, size)
    meta = header.pop("__metadata__", None) or {}
    return header, meta


def load_file(path):
    """Reads a safetensors file: ({name: numpy array}, metadata dict), in header order."""
    if not os.path.isfile(path):
        raise SafetensorsError("%s: no such file" % path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, data_start = _read_header_bytes(f, path, size)
        data = f.read()
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise SafetensorsError("%s: __metadata__ is not an object" % path)
    out = {}
    for name, info in header.items():
        if not isinstance(info, dict):
            raise SafetensorsError("%s: entry %r is not an object" % (path, name))
        dtype = info.get("dtype")
        shape = info.get("shape")
        offs = info.get("data_offsets")
        if dtype not in _READ_DTYPES:
            raise SafetensorsError("%s: tensor %r has unsupported dtype %r (supported: %s)"
                                   % (path, name, dtype, ", ".join(sorted(_READ_DTYPES))))
        if (not isinstance(shape, list) or any(not isinstance(d, int) or d < 0 for d in shape)
                or not isinstance(offs, list) or len(offs) != 2
                or any(not isinstance(o, int) for o in offs)):
            raise SafetensorsError("%s: tensor %r has a malformed shape/data_offsets" % (path, name))
        begin, end = offs
        if not 0 <= begin <= end <= len(data):
            raise SafetensorsError("%s: tensor %r data_offsets [%d, %d] fall outside the %d data bytes"
                                   % (path, name, begin, end, len(data)))
        stored, returned = _READ_DTYPES[dtype]
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * stored.itemsize:
            raise SafetensorsError("%s: tensor %r: %d bytes for shape %s of %s (expected %d)"
                                   % (path, name, end - begin, shape, dtype, count * stored.itemsize))
        arr = np.frombuffer(data, dtype=stored, count=count, offset=begin).reshape(shape)
        if dtype == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = arr.astype(returned)  # copies; also converts to native byte order
        out[name] = arr
    return out, meta


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        print("usage: python3 tools/safetensors_io.py FILE.safetensors   (lists its tensors)")
        sys.exit(2)
    try:
        entries, meta = read_header(sys.argv[1])
    except (OSError, SafetensorsError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
    for k, v in meta.items():
        print("# %s: %s" % (k, v))
    for k, v in entries.items():
        print("%-60s %-5s %s" % (k, v["dtype"], v["shape"]))
    print("%d tensors" % len(entries))
