#!/usr/bin/env python3
"""Records activation references for cast's capture tests (Tests/CastAnalysisTests).

For each model and two prompts (the token ids of the "capital" and "chat" prompts of
Tests/CastModelsTests/References/forward-<model>.json, so tokenization plays no part), the
exact numpy forward pass (scripts/numpy_forward.py: float64 activations over weights
dequantized by the `gguf` package) is run layer by layer and, at TransformerLens-named
points, the L2 norm of every row and the first 16 values of rows 0, n//2 and n-1 are kept:
- the residual stream at every layer boundary: blocks.{l}.hook_resid_pre for each layer and
  blocks.{L-1}.hook_resid_post;
- inside one middle layer (L//2): ln1/ln2.hook_normalized, attn.hook_q/k/v/z, hook_attn_out,
  hook_resid_mid, mlp.hook_post, hook_mlp_out;
- ln_final.hook_normalized.
Writes Tests/CastAnalysisTests/References/activations-<model>.json (a few tens of KB each).

Run with the reference venv (scripts/reference-venv.sh):
    .venv-ref/bin/python scripts/record_activation_reference.py [MODEL ...]
Models: smollm2-135m gemma3-270m qwen2.5-0.5b qwen2.5-1.5b tiny-gpt2 (default: all).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numpy_forward import NumpyModel  # noqa: E402
from reference_support import CAST_HOME, ROOT, model_names, sha256, sig, write_reference  # noqa: E402

OUT = ROOT / "Tests/CastAnalysisTests/References"
FORWARD_REFS = ROOT / "Tests/CastModelsTests/References"
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b", "tiny-gpt2"]
PROMPTS = ["capital", "chat"]
FIRST = 16
DETAIL = ["ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z", "hook_attn_out",
          "hook_resid_mid", "ln2.hook_normalized", "mlp.hook_post", "hook_mlp_out"]


def model_path(name: str) -> Path:
    if name == "tiny-gpt2":
        return FORWARD_REFS / "tiny-gpt2.gguf"
    return CAST_HOME / "models" / f"{name}.gguf"


def summary(x: np.ndarray, rows: list[int]) -> dict:
    """Per-row L2 norms of x [T, width] and the first values of the chosen rows."""
    return {
        "width": int(x.shape[1]),
        "norms": [sig(float(v), 8) for v in np.linalg.norm(x, axis=1)],
        "first": [[sig(float(v), 8) for v in x[r, :FIRST]] for r in rows],
    }


def record(name: str) -> dict:
    t0 = time.time()
    path = model_path(name)
    forward = json.loads((FORWARD_REFS / f"forward-{name}.json").read_text())
    prompts = {p["name"]: p["ids"] for p in forward["prompts"]}
    nm = NumpyModel(str(path))
    hp = nm.hp
    detail_layer = hp.n_layer // 2
    entries = [(p, prompts[p]) for p in PROMPTS]
    xs = [nm.embed(ids) for _, ids in entries]
    points: list[dict] = [{} for _ in entries]
    rows = [sorted({0, len(ids) // 2, len(ids) - 1}) for _, ids in entries]
    for il in range(hp.n_layer):
        for k, x in enumerate(xs):
            points[k][f"blocks.{il}.hook_resid_pre"] = summary(x, rows[k])
        traces = [{} if il == detail_layer else None for _ in xs]
        xs = [nm.layer(il, x, trace=t) for x, t in zip(xs, traces)]
        if il == detail_layer:
            for k, t in enumerate(traces):
                for point in DETAIL:
                    points[k][f"blocks.{il}.{point}"] = summary(t[point], rows[k])
    for k, x in enumerate(xs):
        points[k][f"blocks.{hp.n_layer - 1}.hook_resid_post"] = summary(x, rows[k])
        final = nm.layer_norm(x, "output_norm") if hp.arch == "gpt2" else nm.rms_norm(x, "output_norm.weight")
        points[k]["ln_final.hook_normalized"] = summary(final, rows[k])
    doc = {
        "model": name,
        "gguf": path.name,
        "gguf_sha256": sha256(path),
        "arch": hp.arch,
        "generator": "scripts/record_activation_reference.py",
        "numpy_precision": "float64 activations over gguf-dequantized weights (Gemma embedding scale in float32)",
        "layers": hp.n_layer,
        "detail_layer": detail_layer,
        "first": FIRST,
        "prompts": [{"name": p, "ids": ids, "rows": rows[k], "points": points[k]} for k, (p, ids) in enumerate(entries)],
    }
    print(f"{name}: {len(entries)} prompts, {sum(len(i) for _, i in entries)} tokens, "
          f"{len(points[0])} points each, {time.time() - t0:.1f} s")
    return doc


def main(argv: list[str]) -> int:
    names = model_names(argv, MODELS)
    if names is None:
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for n in names:
        write_reference(OUT / f"activations-{n}.json", record(n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
