#!/usr/bin/env python3
"""Records numpy references for cast's PCA, CKA and mutual k-NN (Tests/CastAnalysisTests).

Two inputs, each analysed by numpy in float64 exactly as docs/analysis.md defines it:
1. "formula": matrices both sides build from a closed formula (no files, no random
   generators to agree on): X = formula(64, 12, 0), Y = formula(64, 20, 0.5), float32.
2. "smollm2-135m": activations exported by `cast activations` (safetensors; the binary is
   $CAST_BIN, default .build/release/cast) for a fixed text at blocks.{5,15,25}.hook_resid_post,
   positions skip-first. The first values and norms of a few rows are kept, so the test can
   check it recaptured the same activations before comparing the analyses.
PCA: covariance with n − 1, numpy.linalg.eigh, eigenvalues descending, each eigenvector
signed so its largest-magnitude entry is positive; projections (x − mean)·v.
CKA: rows centred, K = XXᵀ (or RBF exp(−d²/2σ²), σ² = scale²·median of d² over i < j),
HKH, ⟨K̃, L̃⟩/(‖K̃‖‖L̃‖). Mutual k-NN: cosine of centred rows, k nearest others, mean overlap / k.
Writes Tests/CastAnalysisTests/References/analysis-reference.json.

    CAST_BIN=.build-analysis/release/cast .venv-ref/bin/python scripts/record_analysis_reference.py
"""
from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_support import ROOT, cast_run, sig, write_reference  # noqa: E402

OUT = ROOT / "Tests/CastAnalysisTests/References/analysis-reference.json"
TEXT = ("The river rises in the northern hills and flows south through farmland, two market towns and a wide "
        "estuary before it reaches the sea. In 1851 a canal joined it to the capital, and for fifty years barges "
        "carried coal, grain and timber along its length. The railway ended that trade; today the towpaths are "
        "walked by anglers, birdwatchers and families on bicycles, and the old locks are kept by volunteers.")
POINTS = ["blocks.5.hook_resid_post", "blocks.15.hook_resid_post", "blocks.25.hook_resid_post"]


def formula(n: int, d: int, phase: float) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(d, dtype=np.float64)[None, :]
    x = np.sin(0.37 * (i + 1) * (j + 1) + 0.11 * j + phase) + 0.05 * j * np.cos(0.23 * i + phase)
    return x.astype(np.float32)


def pca(x: np.ndarray, k: int, rows: int = 4, comps: int = 4) -> dict:
    x = x.astype(np.float64)
    c = np.cov(x, rowvar=False)
    w, v = np.linalg.eigh(c)
    order = np.argsort(-w)
    w, v = w[order], v[:, order]
    for i in range(v.shape[1]):
        if v[np.argmax(np.abs(v[:, i])), i] < 0:
            v[:, i] = -v[:, i]
    total = float(np.trace(c))
    proj = (x[:rows] - x.mean(axis=0)) @ v[:, :comps]
    return {
        "components": k,
        "explained_variance": [sig(float(e), 10) for e in w[:k]],
        "explained_variance_ratio": [sig(float(e / total), 10) for e in w[:k]],
        "participation_ratio": sig(float(total ** 2 / np.sum(w ** 2)), 10),
        "projections": [[sig(float(p), 10) for p in row] for row in proj],
    }


def centred_gram(x: np.ndarray, kernel: str) -> np.ndarray:
    x = x.astype(np.float64)
    x = x - x.mean(axis=0)
    g = x @ x.T
    if kernel != "linear":
        scale = float(kernel.split(":")[1])
        d2 = np.maximum(np.diag(g)[:, None] + np.diag(g)[None, :] - 2 * g, 0)
        iu = np.triu_indices(len(x), 1)
        sigma2 = scale * scale * float(np.median(d2[iu]))
        g = np.exp(-d2 / (2 * sigma2))
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    return h @ g @ h


def cka(x: np.ndarray, y: np.ndarray, kernel: str) -> float:
    k, l = centred_gram(x, kernel), centred_gram(y, kernel)
    return float(np.sum(k * l) / (np.linalg.norm(k) * np.linalg.norm(l)))


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int) -> float:
    def lists(z):
        z = z.astype(np.float64)
        z = z - z.mean(axis=0)
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        s = z @ z.T
        np.fill_diagonal(s, -np.inf)
        return [set(np.argsort(-row, kind="stable")[:k]) for row in s]
    a, b = lists(x), lists(y)
    return float(np.mean([len(p & q) / k for p, q in zip(a, b)]))


def analyses(xs: dict[str, np.ndarray], pca_point: str, pca_k: int) -> dict:
    names = list(xs)
    return {
        "pca": {"point": pca_point, **pca(xs[pca_point], pca_k)},
        "cka": {kernel: [[sig(cka(xs[a], xs[b], kernel), 10) for b in names] for a in names]
                for kernel in ["linear", "rbf:0.5", "rbf:1.0"]},
        "mutual_knn_5": [[sig(mutual_knn(xs[a], xs[b], 5), 10) for b in names] for a in names],
        "points": names,
    }


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def main() -> int:
    x, y = formula(64, 12, 0.0), formula(64, 20, 0.5)
    doc = {"generator": "scripts/record_analysis_reference.py",
           "formula": {"x": [64, 12, 0.0], "y": [64, 20, 0.5], **analyses({"x": x, "y": y}, "x", 12)}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "acts.safetensors"
        r = cast_run("activations", "-m", "smollm2-135m", "--text", TEXT, "--points", ",".join(POINTS),
                     "--positions", "skip-first", "--out", str(out))
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        acts = read_safetensors(out)
    rows = [0, 1, 2, 3]
    doc["smollm2-135m"] = {
        "text": TEXT, "positions": "skip-first", "tokens": int(acts[POINTS[0]].shape[0]),
        "check": {p: {"norms": [sig(float(np.linalg.norm(acts[p][r].astype(np.float64))), 8) for r in rows],
                      "first": [sig(float(v), 8) for v in acts[p][0, :8]]} for p in POINTS},
        **analyses({p: acts[p] for p in POINTS}, POINTS[1], 8),
    }
    write_reference(OUT, doc)
    print(json.dumps(doc["formula"]["cka"]), doc["smollm2-135m"]["pca"]["explained_variance_ratio"][:3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
