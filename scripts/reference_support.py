"""Helpers the reference scripts share (record_peft_reference.py, record_gguf_lora_reference.py,
check_hf_export.py, record_forward_reference.py): one copy of each, so that the recorders round,
hash, run cast and write their JSON the same way.

Standard library only (numpy arrays are passed in, never created), so it imports in both the
reference venv (scripts/reference-venv.sh) and the PEFT venv (scripts/peft-venv.sh). Import it
after `sys.path.insert(0, str(Path(__file__).resolve().parent))`.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CAST = Path(os.environ.get("CAST_BIN", ROOT / ".build/release/cast"))
CAST_HOME = Path(os.environ.get("CAST_HOME", Path.home() / ".cache/cast"))


def sig(x: float, digits: int) -> float:
    """x rounded to `digits` significant digits: the references store no more than they mean."""
    return float(f"{x:.{digits}g}")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two float vectors."""
    a = a - a.mean()
    b = b - b.mean()
    return float((a @ b) / math.sqrt((a @ a) * (b @ b)))


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (GGUFs are too large to read whole)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_CAST_COPY: Path | None = None


def cast_run(*args: str) -> subprocess.CompletedProcess:
    """Runs `cast ARGS` (output captured, as text). It runs a private copy of CAST, made on the
    first call, so a `swift build` during a recording cannot change the binary half-way (or make
    it "text file busy")."""
    global _CAST_COPY
    if _CAST_COPY is None:
        _CAST_COPY = Path(tempfile.mkdtemp(prefix="cast-bin-")) / "cast"
        shutil.copy2(CAST, _CAST_COPY)
    return subprocess.run([str(_CAST_COPY), *args], capture_output=True, text=True)


def cast_json(*args: str) -> dict:
    """`cast ARGS` (a --json command) parsed; raises with cast's stderr when it fails."""
    r = cast_run(*args)
    if r.returncode != 0:
        raise RuntimeError(f"cast {args[0]} failed: {r.stderr}")
    return json.loads(r.stdout)


def cast_tokenize(model: str, text: str) -> list[int]:
    """Token ids by cast's own tokenizer (the references feed ids, never text)."""
    return cast_json("tokenize", "-m", model, "--json", text)["ids"]


def has_adapter_init(*flags: str) -> bool:
    """Whether this cast has `adapter init` with all of `flags` (the recorders skip the cast-made
    cases, with a message, while it does not)."""
    r = cast_run("adapter", "init", "--help")
    return r.returncode == 0 and all(f in r.stdout for f in flags)


def hf_folder(model: str) -> Path:
    """$CAST_HOME/hf/<model>, the HF folder `cast export-hf` writes of the model's GGUF, exported
    when missing (transformers and PEFT read the model from there)."""
    folder = CAST_HOME / "hf" / model
    if not (folder / "config.json").exists() or not (folder / "model.safetensors").exists():
        r = cast_run("export-hf", "-m", model, "--out", str(folder))
        if r.returncode != 0:
            raise RuntimeError(f"cast export-hf failed: {r.stderr}")
    return folder


def model_names(argv: list[str], models: list[str]) -> list[str] | None:
    """The models named on the command line (all of `models` when none is); None, with a message,
    when one is not in `models`."""
    names = argv[1:] or models
    for n in names:
        if n not in models:
            print(f"unknown model {n!r}; expected one of {models}")
            return None
    return names


def write_reference(out: Path, doc: dict) -> None:
    """Writes a reference JSON the way the tests expect it (compact, UTF-8, one line and a
    newline) and says so."""
    out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"  wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
