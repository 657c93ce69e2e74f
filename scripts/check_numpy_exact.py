#!/usr/bin/env python3
"""Checks scripts/numpy_forward.py tightly, without llama.cpp's 8-bit activation rounding.

llama.cpp quantizes activations to 8 bits inside products with quantized weights and keeps
its KV cache in F16, so on the shipped GGUFs its logits sit ~0.1-1 away from an exact pass.
Here every tensor is dequantized (by the `gguf` package) into a temporary all-F32 GGUF, and
llama.cpp runs it with an F32 KV cache: its CPU products are then plain float32 dot products,
and what remains between it and numpy is float32 rounding (and ggml's F16 GELU table on
gemma3/gpt2). A bug in the numpy pass shows up as a difference far above that. The same
pass computed in float32 is printed too, as the floor that float32 rounding alone sets.

With --ggml-gelu the numpy pass rounds GELU's input and output to F16 as ggml's CPU table
does (x <= -10 -> 0, x >= 10 -> x), to show that this accounts for the gemma3/gpt2 residual.

Usage: check_numpy_exact.py [--ggml-gelu] MODEL.gguf [TMP_DIR]
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_forward  # noqa: E402
from numpy_forward import NumpyModel  # noqa: E402

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) +",
    "Café naïve — 東京は日本の首都です。 Привет, мир! 🙂 Numbers: 12345 + 678 =",
]


def write_f32_copy(src: str, dst: str) -> None:
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for f in r.fields.values():
        if f.name.startswith("GGUF.") or f.name in ("general.architecture", "general.file_type"):
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(f.name, f.contents(), vtype, sub)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        w.add_tensor(t.name, np.ascontiguousarray(a.reshape(tuple(int(n) for n in reversed(t.shape))), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def ggml_gelu(x: np.ndarray) -> np.ndarray:
    """ggml's CPU GELU: a table indexed by the F16 input, holding F16 results."""
    h = x.astype(np.float16).astype(np.float64)
    y = exact_gelu(h).astype(np.float16).astype(np.float64)
    return np.where(x <= -10.0, 0.0, np.where(x >= 10.0, x, y))


exact_gelu = numpy_forward.gelu_tanh


def main(argv: list[str]) -> int:
    if "--ggml-gelu" in argv:
        argv = [a for a in argv if a != "--ggml-gelu"]
        numpy_forward.gelu_tanh = ggml_gelu
    if len(argv) < 2:
        print(__doc__)
        return 2
    from llama_cpp import Llama, GGML_TYPE_F32

    src = argv[1]
    tmp = argv[2] if len(argv) > 2 else tempfile.gettempdir()
    dst = os.path.join(tmp, Path(src).stem + ".f32.gguf")
    t0 = time.time()
    write_f32_copy(src, dst)
    print(f"wrote {dst} in {time.time() - t0:.1f}s")
    try:
        vocab = Llama(model_path=src, vocab_only=True, verbose=False)
        nm = NumpyModel(src)
        field = nm.reader.fields.get("tokenizer.ggml.add_bos_token")
        add_bos = bool(field.contents()) if field is not None else False
        seqs = [vocab.tokenize(p.encode(), add_bos=add_bos, special=True) for p in PROMPTS]
        hs = nm.forward_hidden(seqs)
        np_logits = nm.logits(np.stack([h[-1] for h in hs]))
        nm32 = NumpyModel(src, dtype=np.float32)
        hs32 = nm32.forward_hidden(seqs)
        np32 = nm32.logits(np.stack([h[-1] for h in hs32])).astype(np.float64)
        print(f"numpy float32 vs float64 (float32 rounding floor): max|Δ| {np.abs(np32 - np_logits).max():.3g} "
              f"mean|Δ| {np.abs(np32 - np_logits).mean():.3g}")
        llm = Llama(model_path=dst, logits_all=True, n_ctx=256, n_threads=2, verbose=False,
                    type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, flash_attn=False)
        worst = 0.0
        for i, ids in enumerate(seqs):
            llm.reset()
            llm.eval(ids)
            y = np.array(llm.scores[len(ids) - 1], dtype=np.float64)
            z = np_logits[i]
            d = np.abs(z - y)
            a, b = z - z.mean(), y - y.mean()
            r = float(a @ b / math.sqrt((a @ a) * (b @ b)))
            worst = max(worst, float(d.max()))
            print(f"prompt {i} n={len(ids)}: max|Δ| {d.max():.3g} mean|Δ| {d.mean():.3g} "
                  f"pearson {r:.9f} top1 {'same' if z.argmax() == y.argmax() else 'DIFFERENT'}")
        print(f"worst max|Δ| vs llama.cpp on the F32 copy: {worst:.3g}")
    finally:
        os.remove(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
