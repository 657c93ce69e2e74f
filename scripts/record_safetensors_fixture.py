#!/usr/bin/env python3
"""Safetensors reference for cast's reader and writer, made with the official library.

  record_safetensors_fixture.py record [DIR]   writes DIR/fixture.safetensors (written by
      the official `safetensors` package) and DIR/fixture.json (name -> dtype, shape and
      the float32 bit patterns every element must widen to). DIR defaults to
      Tests/CastModelsTests/References/safetensors.
  record_safetensors_fixture.py check FILE [DIR]   reads FILE, written by cast's
      SafetensorsWriter (SafetensorsTests.writerOutputForOfficialCheck writes it to
      $CAST_SAFETENSORS_WRITER_OUT), with the official library and checks it holds exactly
      the fixture's tensors plus the metadata {"format": "pt", "producer": "cast"}.

Needs `pip install safetensors numpy` (a private venv; nothing else).
"""
import json
import os
import sys

import numpy as np
import safetensors
from safetensors import TensorSpec, deserialize, serialize

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", "Tests", "CastModelsTests", "References", "safetensors")
METADATA = {"format": "pt"}


def bf16_bits(values):
    """float32 -> bfloat16 bit patterns (round to nearest even), as uint16."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def fixture_arrays():
    """name -> (safetensors dtype, numpy storage array). Special values on purpose:
    signed zero, subnormals, the largest finite values, an odd-length F16 tensor (so the
    writer's alignment ordering matters), a scalar and an empty tensor."""
    f32 = np.array([[0.0, -0.0, 1.5, -2.25], [1e-40, 3.4028235e38, -1e-7, 0.1],
                    [123456.789, -65504.0, 7.0, 1.0 / 3.0]], dtype=np.float32)
    f16 = np.array([65504.0, 6e-8, -2.5, 0.0999, -0.0], dtype=np.float16)
    bf16 = bf16_bits([[1.0, -3.140625, 0.0078125], [1e-39, -1e30, 255.0]]).reshape(2, 3)
    return {
        "model.embed.weight": ("F32", f32),
        "model.norm.bias": ("F16", f16),
        "model.proj.weight": ("BF16", bf16),
        "scalar": ("F32", np.array(2.5, dtype=np.float32)),
        "empty": ("F32", np.zeros((0, 4), dtype=np.float32)),
    }


def widened_bits(dtype, array):
    """The float32 bit patterns each stored element widens to."""
    if dtype == "F32":
        return array.astype(np.float32).view(np.uint32).ravel().tolist()
    if dtype == "F16":
        return array.astype(np.float32).view(np.uint32).ravel().tolist()
    return (array.astype(np.uint32) << 16).ravel().tolist()


def serialize_official(arrays, metadata):
    names = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
    specs = {}
    for name, (dtype, a) in arrays.items():
        assert a.flags["C_CONTIGUOUS"]
        specs[name] = TensorSpec(dtype=names[dtype], shape=list(a.shape), data_ptr=a.ctypes.data, data_len=a.nbytes)
    return bytes(serialize(specs, metadata=metadata))


def record(directory):
    os.makedirs(directory, exist_ok=True)
    arrays = fixture_arrays()
    with open(os.path.join(directory, "fixture.safetensors"), "wb") as f:
        f.write(serialize_official(arrays, METADATA))
    expected = {name: {"dtype": d, "shape": list(a.shape), "bits": widened_bits(d, a)}
                for name, (d, a) in arrays.items()}
    with open(os.path.join(directory, "fixture.json"), "w") as f:
        json.dump({"safetensors_version": safetensors.__version__, "metadata": METADATA,
                   "tensors": expected}, f, indent=1, sort_keys=True)
    print("wrote", directory)


def check(path, directory):
    with open(os.path.join(directory, "fixture.json")) as f:
        expected = json.load(f)["tensors"]
    data = open(path, "rb").read()
    tensors = dict(deserialize(data))  # the official parser: validates header and offsets
    assert set(tensors) == set(expected), (sorted(tensors), sorted(expected))
    for name, info in expected.items():
        t = tensors[name]
        assert t["dtype"] == info["dtype"], (name, t["dtype"], info["dtype"])
        assert list(t["shape"]) == info["shape"], (name, t["shape"], info["shape"])
        raw = np.frombuffer(bytes(t["data"]), dtype={"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[info["dtype"]])
        got = widened_bits(info["dtype"], raw)
        assert got == info["bits"], (name, got, info["bits"])
    with safetensors.safe_open(path, framework="numpy") as f:
        assert f.metadata() == {"format": "pt", "producer": "cast"}, f.metadata()
        # F32/F16 through the numpy front end as well (numpy has no bfloat16).
        for name in ("model.embed.weight", "model.norm.bias", "scalar", "empty"):
            a = f.get_tensor(name)
            assert list(a.shape) == expected[name]["shape"], (name, a.shape)
            assert widened_bits(expected[name]["dtype"], a) == expected[name]["bits"], name
    header_length = int.from_bytes(data[:8], "little")
    assert header_length % 8 == 0, header_length
    print(f"ok: official safetensors {safetensors.__version__} reads {path}: {len(tensors)} tensors, values exact")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "record":
        record(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_DIR)
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else DEFAULT_DIR)
    else:
        sys.exit(__doc__)
