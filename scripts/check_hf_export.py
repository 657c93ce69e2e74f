#!/usr/bin/env python3
"""Checks that an HF folder written by `cast export-hf` loads in transformers and computes the
same logits as the GGUF it came from.

For each model: exports (or reuses) $CAST_HOME/hf/<model>, loads it with
AutoModelForCausalLM (float32, eager attention) and feeds it token ids, never text:
  * against the exact numpy references (Tests/CastModelsTests/References/forward-<model>.json,
    float64 over gguf-dequantized weights): every recorded prompt and position, at the
    recorded top-64 and sample ids, and the logsumexp;
  * against cast itself: `cast logits --weights float32 --json --top 64` (last position) for
    a few prompts tokenized by `cast tokenize --json`.
Prints max |Δ| per model and exits non-zero when it passes --tol (default 1e-2).

Run with the PEFT venv (scripts/peft-venv.sh), after `swift build -c release`:
    python scripts/check_hf_export.py [--tol X] [MODEL ...]
Models: smollm2-135m qwen2.5-0.5b gemma3-270m (default: all).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_support import ROOT, cast_json, cast_tokenize, hf_folder  # noqa: E402

FORWARD_REFS = ROOT / "Tests/CastModelsTests/References"
MODELS = ["smollm2-135m", "qwen2.5-0.5b", "gemma3-270m"]
CAST_PROMPTS = [
    "The capital of France is",
    "def add(a, b):\n    return",
    "In 1969, 3 astronauts flew 384400 km to the Moon and",
]


def load_hf(folder: Path):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


def hf_logits(model, ids: list[int]) -> np.ndarray:
    """Logits for every position of one sequence, float64 [n, vocab]."""
    import torch

    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids], dtype=torch.long))
    return out.logits[0].double().numpy()


def lse(z: np.ndarray) -> float:
    m = float(z.max())
    return m + float(np.log(np.exp(z - m).sum()))


def check(name: str) -> dict:
    model = load_hf(hf_folder(name))
    res = {"model": name}

    ref = json.loads((FORWARD_REFS / f"forward-{name}.json").read_text())
    sample = np.array(ref["sample_ids"])
    worst, worst_lse, top1, total, worst_at = 0.0, 0.0, 0, 0, ""
    for p in ref["prompts"]:
        z = hf_logits(model, p["ids"])
        for q in p["positions"]:
            row = z[q["pos"]]
            top = np.array(q["top_ids"])
            d = max(np.abs(row[top] - np.array(q["numpy_top"])).max(),
                    np.abs(row[sample] - np.array(q["numpy_sample"])).max())
            if d > worst:
                worst, worst_at = float(d), f"{p['name']}@{q['pos']}"
            worst_lse = max(worst_lse, abs(lse(row) - q["logsumexp"]))
            top1 += int(int(np.argmax(row)) == int(top[0]))
            total += 1
    res["vs_numpy"] = {"max_abs_diff": worst, "at": worst_at, "logsumexp_max_abs_diff": worst_lse,
                       "top1_agree": f"{top1}/{total}", "prompts": len(ref["prompts"])}

    worst_c, worst_c_lse, top1_c = 0.0, 0.0, 0
    for text in CAST_PROMPTS:
        ids = cast_tokenize(name, text)
        c = cast_json("logits", "-m", name, "--weights", "float32", "--prompt", text, "--json", "--top", "64")
        if c["ids"] != ids:
            raise RuntimeError(f"{name}: cast logits tokenized {text!r} as {c['ids']}, cast tokenize as {ids}")
        row = hf_logits(model, ids)[-1]
        cid = np.array([t[0] for t in c["top"]])
        cval = np.array([t[1] for t in c["top"]])
        worst_c = max(worst_c, float(np.abs(row[cid] - cval).max()))
        worst_c_lse = max(worst_c_lse, abs(lse(row) - c["logsumexp"]))
        top1_c += int(int(np.argmax(row)) == int(cid[0]))
    res["vs_cast"] = {"max_abs_diff": worst_c, "logsumexp_max_abs_diff": worst_c_lse,
                      "top1_agree": f"{top1_c}/{len(CAST_PROMPTS)}"}
    return res


def main(argv: list[str]) -> int:
    tol = 1e-2
    if "--tol" in argv:
        i = argv.index("--tol")
        tol = float(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    names = argv[1:] or MODELS
    bad = 0
    for n in names:
        r = check(n)
        print(json.dumps(r))
        if max(r["vs_numpy"]["max_abs_diff"], r["vs_cast"]["max_abs_diff"]) > tol:
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
