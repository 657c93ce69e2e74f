#!/usr/bin/env python3
"""Exact forward pass of GGUF language models in numpy: the tight reference for cast.

Weights are dequantized by the `gguf` PyPI package (`gguf.quants.dequantize`), an
implementation independent of ours and of llama.cpp's kernels. Every activation, matrix
product, norm, softmax and rotation is computed in float64 (dequantized weights are exact in
float32 and are widened to float64 when used), so the result is the forward pass of the
dequantized model up to float64 rounding. The one deliberate float32 step is Gemma's
embedding scale: E[tok]·sqrt(d) is formed in float32 with sqrtf(d), as llama.cpp and the
reference checks in DESIGN.md do.

Architectures (DESIGN.md §5): llama (SmolLM2), qwen2 (Qwen2.5), gemma3, gpt2.

Layer-outer evaluation: `forward` runs all sequences through layer 0, then layer 1, ...,
so each weight is dequantized once per call even for models too large to keep dequantized
(qwen2.5-1.5b); pass cache_weights=True to keep them for repeated calls (greedy decoding).

Usage as a script (prints the top-5 next tokens):
    numpy_forward.py MODEL.gguf ID [ID ...]
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

# Rotary embedding styles: llama pairs adjacent elements (2i, 2i+1); NEOX pairs (i, i + n/2).
ROPE_NORM = "norm"
ROPE_NEOX = "neox"


@dataclass
class HParams:
    arch: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_rot: int
    eps: float
    rope_base: float
    rope_base_swa: float
    sliding_window: int
    n_vocab: int
    n_ctx_train: int
    rope_style: str
    attn_softcap: float | None
    final_softcap: float | None

    def is_local_layer(self, il: int) -> bool:
        """gemma3: five sliding-window layers, then one global layer (il % 6 == 5)."""
        return self.arch == "gemma3" and il % 6 < 5


def _field(reader: gguf.GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    v = f.contents()
    if isinstance(v, list):  # per-layer arrays: all layers of our models agree
        v = v[0]
    return v


def read_hparams(reader: gguf.GGUFReader) -> HParams:
    arch = _field(reader, "general.architecture")
    if arch not in ("llama", "qwen2", "gemma3", "gpt2"):
        raise ValueError(f"unsupported architecture {arch!r}")

    def key(name, default=None):
        return _field(reader, f"{arch}.{name}", default)

    n_embd = int(key("embedding_length"))
    n_head = int(key("attention.head_count"))
    head_dim = int(key("attention.key_length", n_embd // n_head))
    eps = key("attention.layer_norm_rms_epsilon") if arch != "gpt2" else key("attention.layer_norm_epsilon")
    tokens = reader.fields["tokenizer.ggml.tokens"]
    n_vocab = int(key("vocab_size", len(tokens.data)))
    rope_base = float(key("rope.freq_base", 10000.0))
    return HParams(
        arch=arch,
        n_layer=int(key("block_count")),
        n_embd=n_embd,
        n_ff=int(key("feed_forward_length")),
        n_head=n_head,
        n_head_kv=int(key("attention.head_count_kv", n_head)),
        head_dim=head_dim,
        n_rot=int(key("rope.dimension_count", head_dim)),
        eps=float(eps),
        rope_base=rope_base,
        # llama.cpp's gemma3 loader fixes the local layers' base at 10000.
        rope_base_swa=float(key("rope.freq_base_swa", 10000.0)) if arch == "gemma3" else rope_base,
        sliding_window=int(key("attention.sliding_window", 0)),
        n_vocab=n_vocab,
        n_ctx_train=int(key("context_length")),
        rope_style=ROPE_NORM if arch == "llama" else ROPE_NEOX,
        attn_softcap=key("attn_logit_softcapping"),
        final_softcap=key("final_logit_softcapping"),
    )


class NumpyModel:
    def __init__(self, path: str, cache_weights: bool = False, dtype=np.float64):
        """dtype: the compute precision; float64 (default) is the reference, float32 exists
        to measure how far plain float32 rounding alone moves the logits."""
        self.path = path
        self.dtype = np.dtype(dtype)
        self.reader = gguf.GGUFReader(path)
        self.hp = read_hparams(self.reader)
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.cache_weights = cache_weights
        self._cache: dict[str, np.ndarray] = {}
        self.output_name = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"

    # -- weights ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.tensors

    def weight(self, name: str) -> np.ndarray:
        """Dequantized tensor in numpy order (reversed ne: a matrix is [out, in]), float32."""
        if name in self._cache:
            return self._cache[name]
        t = self.tensors[name]
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = tuple(int(n) for n in reversed(t.shape))
        w = np.ascontiguousarray(w.reshape(shape), dtype=np.float32)
        if self.cache_weights:
            self._cache[name] = w
        return w

    def rows(self, name: str, ids) -> np.ndarray:
        """Selected rows (float32) of a matrix, dequantizing only those rows."""
        if name in self._cache:
            return self._cache[name][ids]
        t = self.tensors[name]
        raw = t.data[np.asarray(ids)]
        w = gguf.quants.dequantize(raw, t.tensor_type)
        return w.reshape(len(ids), int(t.shape[0])).astype(np.float32)

    def w64(self, name: str) -> np.ndarray:
        """The weight in compute precision (float64 unless the model was built otherwise)."""
        return self.weight(name).astype(self.dtype, copy=False)

    # -- building blocks -------------------------------------------------------------------
    def rms_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _rms(x, self.hp.eps) * self.w64(name)

    def layer_norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=-1, keepdims=True)
        return xc / np.sqrt(var + self.hp.eps) * self.w64(prefix + ".weight") + self.w64(prefix + ".bias")

    def linear(self, x: np.ndarray, prefix: str) -> np.ndarray:
        y = x @ self.w64(prefix + ".weight").T
        if self.has(prefix + ".bias"):
            y = y + self.w64(prefix + ".bias")
        return y

    def embed(self, ids: list[int]) -> np.ndarray:
        hp = self.hp
        e = self.rows("token_embd.weight", ids)  # float32
        if hp.arch == "gemma3":
            e = e * np.float32(math.sqrt(hp.n_embd))  # float32 product, as llama.cpp
        x = e.astype(self.dtype)
        if hp.arch == "gpt2":
            x = x + self.w64("position_embd.weight")[: len(ids)]
        return x

    # -- the pass --------------------------------------------------------------------------
    def forward_hidden(self, seqs: list[list[int]]) -> list[np.ndarray]:
        """Final-normed hidden states [T, d] (float64) of each sequence."""
        hp = self.hp
        for ids in seqs:
            if len(ids) == 0:
                raise ValueError("empty sequence")
            bad = [i for i in ids if not 0 <= i < hp.n_vocab]
            if bad:
                raise ValueError(f"token ids out of range 0..<{hp.n_vocab}: {bad[:5]}")
        xs = [self.embed(ids) for ids in seqs]
        for il in range(hp.n_layer):
            xs = [self.layer(il, x) for x in xs]
        out = []
        for x in xs:
            if hp.arch == "gpt2":
                out.append(self.layer_norm(x, "output_norm"))
            else:
                out.append(self.rms_norm(x, "output_norm.weight"))
        return out

    def logits(self, h: np.ndarray, chunk: int = 32768) -> np.ndarray:
        """Logits [k, n_vocab] (float64) for hidden rows h [k, d]; dequantizes in chunks."""
        hp = self.hp
        name = self.output_name
        out = np.empty((h.shape[0], hp.n_vocab), dtype=self.dtype)
        for a in range(0, hp.n_vocab, chunk):
            b = min(hp.n_vocab, a + chunk)
            if name in self._cache:
                w = self._cache[name][a:b]
            else:
                w = self.rows(name, np.arange(a, b))
            out[:, a:b] = h @ w.astype(self.dtype, copy=False).T
        if hp.final_softcap:
            c = float(hp.final_softcap)
            out = np.tanh(out / c) * c
        return out

    def cache_output(self) -> None:
        """Keep the output matrix dequantized (for repeated greedy steps on small models)."""
        self.cache_weights = True
        self._cache[self.output_name] = self.weight(self.output_name)

    def layer(self, il: int, x: np.ndarray, trace: dict | None = None) -> np.ndarray:
        """One decoder layer. With `trace`, also stores the layer's internals under
        TransformerLens-style names (attn.hook_q, hook_attn_out, mlp.hook_post, ...), each
        [T, width] (scripts/record_activation_reference.py reads them)."""
        hp = self.hp
        keep = (lambda name, value: trace.__setitem__(name, value.reshape(value.shape[0], -1))) if trace is not None \
            else (lambda name, value: None)
        p = f"blk.{il}."
        T = x.shape[0]
        H, KV, hd = hp.n_head, hp.n_head_kv, hp.head_dim

        # attention block
        if hp.arch == "gpt2":
            h = self.layer_norm(x, p + "attn_norm")
            qkv = self.linear(h, p + "attn_qkv")
            d = hp.n_embd
            q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
        else:
            h = self.rms_norm(x, p + "attn_norm.weight")
            q = self.linear(h, p + "attn_q")
            k = self.linear(h, p + "attn_k")
            v = self.linear(h, p + "attn_v")
        keep("ln1.hook_normalized", h)
        keep("attn.hook_q", q)
        keep("attn.hook_k", k)
        keep("attn.hook_v", v)
        q = q.reshape(T, H, hd)
        k = k.reshape(T, KV, hd)
        v = v.reshape(T, KV, hd)
        if hp.arch == "gemma3":
            q = _rms(q, hp.eps) * self.w64(p + "attn_q_norm.weight")
            k = _rms(k, hp.eps) * self.w64(p + "attn_k_norm.weight")
        if hp.arch != "gpt2":
            base = hp.rope_base_swa if hp.is_local_layer(il) else hp.rope_base
            q = rope(q, base, hp.n_rot, hp.rope_style)
            k = rope(k, base, hp.n_rot, hp.rope_style)
        window = hp.sliding_window if hp.is_local_layer(il) else 0
        a = attention(q, k, v, 1.0 / math.sqrt(hd), window, hp.attn_softcap)
        keep("attn.hook_z", a)
        a = self.linear(a.reshape(T, H * hd), p + "attn_output")
        if hp.arch == "gemma3":
            a = self.rms_norm(a, p + "post_attention_norm.weight")
        keep("hook_attn_out", a)
        x = x + a
        keep("hook_resid_mid", x)

        # feed-forward block
        if hp.arch == "gpt2":
            h = self.layer_norm(x, p + "ffn_norm")
            post = gelu_tanh(self.linear(h, p + "ffn_up"))
            f = self.linear(post, p + "ffn_down")
        else:
            h = self.rms_norm(x, p + "ffn_norm.weight")
            g = self.linear(h, p + "ffn_gate")
            u = self.linear(h, p + "ffn_up")
            act = gelu_tanh(g) if hp.arch == "gemma3" else silu(g)
            post = act * u
            f = self.linear(post, p + "ffn_down")
            if hp.arch == "gemma3":
                f = self.rms_norm(f, p + "post_ffw_norm.weight")
        keep("ln2.hook_normalized", h)
        keep("mlp.hook_post", post)
        keep("hook_mlp_out", f)
        return x + f

    # -- conveniences ----------------------------------------------------------------------
    def logits_at(self, seqs: list[list[int]], positions: list[list[int]]) -> list[np.ndarray]:
        """For each sequence, logits [len(positions), n_vocab] at the given positions."""
        hs = self.forward_hidden(seqs)
        return [self.logits(h[pos]) for h, pos in zip(hs, positions)]

    def greedy(self, ids: list[int], n: int) -> tuple[list[int], list[float]]:
        """n greedy tokens after ids and each step's top-1 minus top-2 logit margin
        (full recomputation per step; fine for short prompts)."""
        ids = list(ids)
        out, margins = [], []
        for _ in range(n):
            h = self.forward_hidden([ids])[0]
            z = self.logits(h[-1:])[0]
            first, second = np.argsort(-z, kind="stable")[:2]
            out.append(int(first))
            margins.append(float(z[first] - z[second]))
            ids.append(int(first))
        return out, margins


def _rms(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x: np.ndarray, base: float, n_rot: int, style: str) -> np.ndarray:
    """Rotates x [T, heads, hd] by position (0..T-1); the first n_rot dims rotate."""
    T = x.shape[0]
    half = n_rot // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]  # [T, half]
    cos = np.cos(ang)[:, None, :].astype(x.dtype)
    sin = np.sin(ang)[:, None, :].astype(x.dtype)
    y = x.copy()
    if style == ROPE_NORM:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2] = a * cos - b * sin
        y[..., 1:n_rot:2] = a * sin + b * cos
    else:
        a, b = x[..., :half], x[..., half:n_rot]
        y[..., :half] = a * cos - b * sin
        y[..., half:n_rot] = a * sin + b * cos
    return y


def attention(q, k, v, scale: float, window: int, softcap) -> np.ndarray:
    """Causal (optionally sliding-window) GQA attention; q [T,H,hd], k/v [T,KV,hd] -> [T,H,hd].

    With a window w, query i sees keys j with i - w < j <= i (w keys), as llama.cpp and HF.
    """
    T, H, hd = q.shape
    KV = k.shape[1]
    group = H // KV
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    masked = j > i
    if window:
        masked |= (i - j) >= window
    out = np.empty_like(q)
    for h in range(H):
        kv = h // group
        s = (q[:, h, :] @ k[:, kv, :].T) * scale
        if softcap:
            s = np.tanh(s / softcap) * softcap
        s[masked] = -np.inf
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v[:, kv, :]
    return out


def logsumexp(z: np.ndarray) -> float:
    m = float(np.max(z))
    return m + math.log(float(np.sum(np.exp(z - m))))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    m = NumpyModel(argv[1])
    ids = [int(a) for a in argv[2:]]
    z = m.logits_at([ids], [[len(ids) - 1]])[0][0]
    top = np.argsort(-z)[:5]
    print(m.hp)
    for t in top:
        print(int(t), float(z[t]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
