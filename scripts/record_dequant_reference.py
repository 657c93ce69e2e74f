#!/usr/bin/env python3
"""Record dequantization references for CastModels tests with the `gguf` PyPI package.

Real tensors: for every ggml type present in the cached models (smollm2-135m, gemma3-270m,
qwen2.5-0.5b), the smallest matrix of that type (smallest tensor for F32), plus `token_embd.weight`;
for each, rows 0, the middle row and the last row (first and last 64 values) and the sum and
sum of squares (float64) of the whole tensor (of the selected rows only for token_embd).

Synthetic tensors: for every supported type, seeded random raw blocks with sane fp16 scales,
saved as `synthetic/<TYPE>.bin`, with gguf's dequantization saved as `synthetic/<TYPE>.f32`
(little-endian float32), so every value can be compared exactly.

Usage: /work/venv-ref/bin/python scripts/record_dequant_reference.py [models_dir]
Outputs go to Tests/CastModelsTests/References/.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "CastModelsTests" / "References"
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"]
EDGE = 64
SEED = 20240601


def rows_record(values: np.ndarray, rows):
    return [{"row": int(r), "first": [float(v) for v in values[r, :EDGE]],
             "last": [float(v) for v in values[r, -EDGE:]]} for r in rows]


def sums(values: np.ndarray):
    v = values.astype(np.float64)
    return float(np.sum(v)), float(np.sum(v * v))


def tensor_record(t, embedding=False):
    qtype = T(int(t.tensor_type))
    raw = np.asarray(t.data)
    ne = [int(x) for x in t.shape]               # gguf's ReaderTensor.shape is ne order
    shape = list(reversed(ne))
    row_len = ne[0]
    n_rows = int(np.prod(ne)) // row_len
    rows = sorted({0, n_rows // 2 + 1 if n_rows > 2 else 0, n_rows - 1})
    if embedding:
        raw2 = raw.reshape(n_rows, -1)
        picked = dequantize(raw2[rows], qtype).reshape(len(rows), row_len)
        s, ss = sums(picked)
        rec_rows = rows_record(picked, range(len(rows)))
        for r, rec in zip(rows, rec_rows):
            rec["row"] = r
    else:
        values = dequantize(raw, qtype).reshape(n_rows, row_len)
        s, ss = sums(values)
        rec_rows = rows_record(values, rows)
    return {"name": t.name, "type": qtype.name, "shape": shape, "rows": rec_rows,
            "sum": s, "sum_squares": ss, "sums_cover": "rows" if embedding else "tensor"}


def record_model(path: Path):
    reader = gguf.GGUFReader(str(path))
    # Per type, the smallest matrix (or the smallest tensor when the type has no matrix):
    # cheap to dequantize whole in a test.
    best = {}
    for t in reader.tensors:
        if t.name == "token_embd.weight":
            continue
        qtype = T(int(t.tensor_type))
        key = (len(t.shape) != 2, int(t.n_elements))
        if qtype not in best or key < best[qtype][0]:
            best[qtype] = (key, t)
    chosen = [tensor_record(t) for _, t in sorted(best.values(), key=lambda kv: kv[1].name)]
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    chosen.append(tensor_record(embd, embedding=True))
    return {"file": path.name, "tensors": chosen}


def half_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8).reshape(-1, 2)


def synthetic_blocks(qtype: T, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Random raw blocks whose fp16 scale fields hold sane values."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F16:
        v = rng.standard_normal(n_blocks).astype(np.float32)
        v[:4] = [0.0, -0.0, 3e-6, -6e-8]          # zeros and fp16 subnormals
        return v.astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.BF16:
        v = rng.standard_normal(n_blocks).astype(np.float32)
        return (v.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(n_blocks, 2)
    b = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    d = rng.uniform(0.001, 0.1, n_blocks)
    m = rng.uniform(-0.1, 0.1, n_blocks)
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        b[:, 0:2] = half_bytes(d)
    elif qtype in (T.Q4_1, T.Q5_1):
        b[:, 0:2] = half_bytes(d)
        b[:, 2:4] = half_bytes(m)
    elif qtype in (T.Q4_K, T.Q5_K):
        b[:, 0:2] = half_bytes(d / 16)
        b[:, 2:4] = half_bytes(np.abs(m) / 16)
    elif qtype == T.Q6_K:
        b[:, 208:210] = half_bytes(d / 64)
    else:
        raise ValueError(qtype)
    return b


def record_synthetic():
    rng = np.random.default_rng(SEED)
    out_dir = OUT / "synthetic"
    out_dir.mkdir(parents=True, exist_ok=True)
    index = []
    rows, row_len = 4, 512
    for qtype in [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K]:
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        raw = synthetic_blocks(qtype, rows * row_len // block_size, rng)
        values = dequantize(raw.reshape(rows, -1), qtype).astype("<f4")
        assert values.shape == (rows, row_len) and np.all(np.isfinite(values))
        (out_dir / f"{qtype.name}.bin").write_bytes(raw.tobytes())
        (out_dir / f"{qtype.name}.f32").write_bytes(values.tobytes())
        s, ss = sums(values)
        index.append({"type": qtype.name, "shape": [rows, row_len], "raw": f"{qtype.name}.bin",
                      "values": f"{qtype.name}.f32", "sum": s, "sum_squares": ss})
    (out_dir / "index.json").write_text(json.dumps({"seed": SEED, "gguf": gguf_version(), "tensors": index}, indent=1))


def gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "unknown"


def main():
    models_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(os.environ.get("CAST_HOME", Path.home() / ".cache" / "cast")) / "models"
    OUT.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        rec = record_model(models_dir / f"{name}.gguf")
        rec["model"] = name
        rec["gguf"] = gguf_version()
        (OUT / f"dequant-{name}.json").write_text(json.dumps(rec, indent=1))
        print(name, [(t["name"], t["type"]) for t in rec["tensors"]])
    record_synthetic()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
