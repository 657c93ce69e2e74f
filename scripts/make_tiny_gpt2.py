#!/usr/bin/env python3
"""Writes a tiny random-weight GPT-2-architecture GGUF (no real GPT-2 GGUF is available here).

2 layers, d=64, 4 heads (head 16), ffn 256, context 128; a byte-level BPE vocabulary of the
256 byte tokens (GPT-2's byte-to-unicode alphabet, id = byte value), NUM_MERGES merges learnt
by plain BPE on a fixed English paragraph, and <|endoftext|> (control token, BOS = EOS).
Weights are seeded normal draws scaled so activations and logits are O(1); matrices are a mix
of F16 and F32, vectors F32. output.weight is drawn separately from token_embd (untied), so
a reader that wrongly ties them fails. llama.cpp loads and tokenizes it (pre-tokenizer gpt-2).

Usage: make_tiny_gpt2.py [OUT.gguf]   (default Tests/CastModelsTests/References/tiny-gpt2.gguf)
"""
from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import numpy as np
import gguf

SEED = 20240611
N_LAYER, N_EMBD, N_HEAD, N_FF, N_CTX = 2, 64, 4, 256, 128
NUM_MERGES = 48
EOT = "<|endoftext|>"

TRAINING_TEXT = (
    "The quick brown fox jumps over the lazy dog. In the beginning there was the word, and "
    "the word was with the reader. There are three things in the world that the people of "
    "the north think are the best: the sea, the wind and the winter. They say that the "
    "weather in the west is the worst, and that is the reason they went there in the first "
    "place. Then the other one said: what is the answer to the question of the ages? "
    "It is in the nature of things that the end is near the start."
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn_merges(text: str, count: int, byte_char: dict[int, str]) -> list[tuple[str, str]]:
    """Plain BPE: repeatedly merge the most frequent adjacent pair (ties: first seen)."""
    words = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", text)
    freq = collections.Counter("".join(byte_char[b] for b in w.encode()) for w in words)
    splits = {w: list(w) for w in freq}
    merges = []
    for _ in range(count):
        pairs: collections.Counter = collections.Counter()
        for w, n in freq.items():
            s = splits[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: kv[1])[0]  # Counter keeps insertion order on ties
        merges.append(best)
        for w in splits:
            s, out, i = splits[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            splits[w] = out
    return merges


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "Tests/CastModelsTests/References/tiny-gpt2.gguf"
    byte_char = bytes_to_unicode()
    merges = learn_merges(TRAINING_TEXT, NUM_MERGES, byte_char)
    tokens = [byte_char[b] for b in range(256)]
    for a, b in merges:  # two merges can yield the same string: one token for it
        if a + b not in tokens:
            tokens.append(a + b)
    tokens.append(EOT)
    types = [gguf.TokenType.NORMAL] * (len(tokens) - 1) + [gguf.TokenType.CONTROL]
    n_vocab = len(tokens)
    eot_id = n_vocab - 1

    rng = np.random.default_rng(SEED)

    def normal(shape, std, dtype=np.float32):
        return (rng.standard_normal(shape) * std).astype(dtype)

    w = gguf.GGUFWriter(str(out), "gpt2")
    w.add_name("tiny-gpt2 (random weights, cast test fixture)")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_block_count(N_LAYER)
    w.add_head_count(N_HEAD)
    w.add_layer_norm_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{a} {b}" for a, b in merges])
    w.add_bos_token_id(eot_id)
    w.add_eos_token_id(eot_id)
    w.add_add_bos_token(False)

    d, ff = N_EMBD, N_FF
    f16 = np.float16
    w.add_tensor("token_embd.weight", normal((n_vocab, d), 0.5))
    w.add_tensor("position_embd.weight", normal((N_CTX, d), 0.2))
    for il in range(N_LAYER):
        p = f"blk.{il}."
        w.add_tensor(p + "attn_norm.weight", 1.0 + normal((d,), 0.1))
        w.add_tensor(p + "attn_norm.bias", normal((d,), 0.1))
        w.add_tensor(p + "attn_qkv.weight", normal((3 * d, d), 1.5 / np.sqrt(d), f16))
        w.add_tensor(p + "attn_qkv.bias", normal((3 * d,), 0.1))
        w.add_tensor(p + "attn_output.weight", normal((d, d), 1.0 / np.sqrt(d)))
        w.add_tensor(p + "attn_output.bias", normal((d,), 0.1))
        w.add_tensor(p + "ffn_norm.weight", 1.0 + normal((d,), 0.1))
        w.add_tensor(p + "ffn_norm.bias", normal((d,), 0.1))
        w.add_tensor(p + "ffn_up.weight", normal((ff, d), 1.0 / np.sqrt(d), f16))
        w.add_tensor(p + "ffn_up.bias", normal((ff,), 0.1))
        w.add_tensor(p + "ffn_down.weight", normal((d, ff), 1.0 / np.sqrt(ff)))
        w.add_tensor(p + "ffn_down.bias", normal((d,), 0.1))
    w.add_tensor("output_norm.weight", 1.0 + normal((d,), 0.1))
    w.add_tensor("output_norm.bias", normal((d,), 0.1))
    w.add_tensor("output.weight", normal((n_vocab, d), 3.0 / np.sqrt(d), f16))

    out.parent.mkdir(parents=True, exist_ok=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out} ({out.stat().st_size} bytes, vocab {n_vocab}, merges {len(merges)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
