#!/usr/bin/env python3
"""Records forward-pass references for cast's Swift model tests.

For each model and each prompt: token ids (llama.cpp's tokenizer), and at three positions
(n//3, 2n//3, n-1) the exact numpy logits (scripts/numpy_forward.py, float64 over weights
dequantized by the `gguf` package) at the numpy top-64 ids and at a fixed seeded sample of
2048 vocabulary ids, the logsumexp of the full numpy logits, llama.cpp's logits at the same
ids, llama.cpp's top-10 and top-2 margin, and numpy-vs-llama.cpp agreement over the whole
vocabulary. For smollm2-135m and qwen2.5-0.5b also the 10-token greedy continuation of
"The capital of France is" by both. Writes Tests/CastModelsTests/References/forward-<model>.json.

Run with the reference venv (scripts/reference-venv.sh):
    python scripts/record_forward_reference.py [MODEL ...]
Models: smollm2-135m gemma3-270m qwen2.5-0.5b qwen2.5-1.5b tiny-gpt2 (default: all).
Real models are read from $CAST_HOME/models/<name>.gguf (default ~/.cache/cast), the long
prompt from $CAST_HOME/corpus/wiki.json.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numpy_forward import NumpyModel, logsumexp  # noqa: E402
from reference_support import CAST_HOME, ROOT, model_names, pearson, sha256, sig, write_reference  # noqa: E402

REFS = ROOT / "Tests/CastModelsTests/References"
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b", "tiny-gpt2"]
GREEDY_MODELS = {"smollm2-135m", "qwen2.5-0.5b"}
GREEDY_PROMPT = "The capital of France is"
GREEDY_TOKENS = 10
TOP_K = 64
SAMPLE_SIZE = 2048
SAMPLE_SEED = 7
LONG_PROMPT_CHARS = 3300  # ~700 tokens: past gemma3's 512-token sliding window

USER_QUESTION = "What is 17 + 25? Answer with one number."
CHAT = {
    "smollm2-135m": "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                    "<|im_start|>user\n" + USER_QUESTION + "<|im_end|>\n<|im_start|>assistant\n",
    "qwen2.5-0.5b": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                    "<|im_start|>user\n" + USER_QUESTION + "<|im_end|>\n<|im_start|>assistant\n",
    "gemma3-270m": "<start_of_turn>user\n" + USER_QUESTION + "<end_of_turn>\n<start_of_turn>model\n",
    # No chat template: exercises splitting out a control token inside text.
    "tiny-gpt2": "<|endoftext|>Q: " + USER_QUESTION + "\nA:",
}
CHAT["qwen2.5-1.5b"] = CHAT["qwen2.5-0.5b"]

SHORT_PROMPTS = [
    ("capital", GREEDY_PROMPT),
    ("code", "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) +"),
    ("unicode", "Café naïve — 東京は日本の首都です。 Привет, мир! 🙂 Numbers: 12345 + 678 ="),
    ("whitespace", "  Leading spaces,\ttabs\n\nand  double  spaces: 3.14159 × 2 = 6.28318\n- item one\n- item"),
]


def model_path(name: str) -> Path:
    if name == "tiny-gpt2":
        return REFS / "tiny-gpt2.gguf"
    return CAST_HOME / "models" / f"{name}.gguf"


def long_text() -> str:
    """Deterministic long prose: the longest wiki lead sections, joined, cut at a sentence end."""
    wiki = json.loads((CAST_HOME / "corpus" / "wiki.json").read_text())
    titles = sorted(wiki, key=lambda k: (-len(wiki[k]["extract"]), k))
    text = ""
    for t in titles:
        text += ("\n\n" if text else "") + t + "\n\n" + wiki[t]["extract"]
        if len(text) >= LONG_PROMPT_CHARS:
            break
    cut = text.rfind(". ", 0, LONG_PROMPT_CHARS)
    return text[: cut + 1]


def fit_to_context(text: str, tokenize, limit: int) -> str:
    """Drops trailing words until the text tokenizes to at most `limit` tokens."""
    words = text.split(" ")
    while len(tokenize(text)) > limit:
        words = words[:-1]
        text = " ".join(words)
    return text


def sigs(xs, digits: int) -> list[float]:
    return [sig(float(x), digits) for x in xs]


def record(name: str) -> dict:
    from llama_cpp import Llama, __version__ as llama_cpp_version

    path = model_path(name)
    t_start = time.time()
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    nm = NumpyModel(str(path))
    hp = nm.hp
    add_bos_field = nm.reader.fields.get("tokenizer.ggml.add_bos_token")
    add_bos = bool(add_bos_field.contents()) if add_bos_field is not None else False

    def tokenize(text: str) -> list[int]:
        return vocab.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    limit = hp.n_ctx_train - 1 if hp.arch == "gpt2" else 4096
    prompts = [(n, t) for n, t in SHORT_PROMPTS]
    prompts.insert(1, ("chat", CHAT[name]))
    prompts.append(("long-wiki", fit_to_context(long_text(), tokenize, limit)))
    entries = []
    for pname, text in prompts:
        ids = tokenize(text)
        if len(ids) > limit:
            raise ValueError(f"{name}/{pname}: {len(ids)} tokens exceed the limit {limit}")
        n = len(ids)
        positions = sorted(set([n // 3, (2 * n) // 3, n - 1]))
        entries.append({"name": pname, "text": text, "ids": ids, "positions": positions})

    rng = np.random.default_rng(SAMPLE_SEED)
    sample_ids = np.sort(rng.choice(hp.n_vocab, size=min(SAMPLE_SIZE, hp.n_vocab), replace=False))

    # numpy: all prompts layer by layer, then logits at the chosen positions in one product.
    t0 = time.time()
    hidden = nm.forward_hidden([e["ids"] for e in entries])
    rows = np.concatenate([h[e["positions"]] for h, e in zip(hidden, entries)])
    np_logits = nm.logits(rows)
    t_numpy = time.time() - t0

    # The same pass in float32: how far float32 rounding alone moves the logits (the floor
    # for a float32 implementation's tolerance against this reference).
    t0 = time.time()
    nm32 = NumpyModel(str(path), dtype=np.float32)
    hidden32 = nm32.forward_hidden([e["ids"] for e in entries])
    rows32 = np.concatenate([h[e["positions"]] for h, e in zip(hidden32, entries)])
    np32_logits = nm32.logits(rows32).astype(np.float64)
    del nm32, hidden32
    t_numpy32 = time.time() - t0

    # llama.cpp: each prompt from an empty cache, logits for every position.
    t0 = time.time()
    n_ctx = max(256, ((max(len(e["ids"]) for e in entries) + GREEDY_TOKENS + 64) // 256 + 1) * 256)
    llm = Llama(model_path=str(path), logits_all=True, n_ctx=n_ctx, n_threads=2, verbose=False)
    ll_rows = []
    for e in entries:
        llm.reset()
        llm.eval(e["ids"])
        scores = np.array(llm.scores[: len(e["ids"])], dtype=np.float64)
        ll_rows.append(scores[e["positions"]])
    ll_logits = np.concatenate(ll_rows)
    t_llama = time.time() - t0

    stats = {"f32_max_abs_diff": 0.0, "max_abs_diff": 0.0, "sum_abs_diff": 0.0, "count": 0, "pearson": [], "top1": 0, "positions": 0}
    r = 0
    out_prompts = []
    for e in entries:
        recs = []
        for p in e["positions"]:
            z, y = np_logits[r], ll_logits[r]
            r += 1
            top = np.argsort(-z, kind="stable")[:TOP_K]
            ll_top10 = np.argsort(-y, kind="stable")[:10]
            diff = np.abs(z - y)
            pr = pearson(z, y)
            agree = int(np.argmax(z)) == int(np.argmax(y))
            f32_diff = float(np.abs(np32_logits[r - 1] - z).max())
            stats["f32_max_abs_diff"] = max(stats["f32_max_abs_diff"], f32_diff)
            stats["max_abs_diff"] = max(stats["max_abs_diff"], float(diff.max()))
            stats["sum_abs_diff"] += float(diff.sum())
            stats["count"] += diff.size
            stats["pearson"].append(pr)
            stats["top1"] += int(agree)
            stats["positions"] += 1
            recs.append({
                "pos": p,
                "logsumexp": sig(logsumexp(z), 8),
                "top_ids": [int(i) for i in top],
                "numpy_top": sigs(z[top], 6),
                "numpy_sample": sigs(z[sample_ids], 6),
                "llama_top": sigs(y[top], 5),
                "llama_sample": sigs(y[sample_ids], 5),
                "llama_top10": [int(i) for i in ll_top10],
                "llama_top2_margin": sig(float(y[ll_top10[0]] - y[ll_top10[1]]), 5),
                "pearson": sig(pr, 7),
                "max_abs_diff": sig(float(diff.max()), 4),
                "mean_abs_diff": sig(float(diff.mean()), 4),
                "top1_agree": agree,
                "numpy_f32_max_abs_diff": sig(f32_diff, 4),
            })
        out_prompts.append({"name": e["name"], "text": e["text"], "ids": e["ids"], "positions": recs})

    agreement = {
        "max_abs_diff": sig(stats["max_abs_diff"], 4),
        "mean_abs_diff": sig(stats["sum_abs_diff"] / stats["count"], 4),
        "pearson_min": sig(min(stats["pearson"]), 7),
        "pearson_mean": sig(float(np.mean(stats["pearson"])), 7),
        "top1_agree": f"{stats['top1']}/{stats['positions']}",
        "numpy_f32_vs_f64_max_abs_diff": sig(stats["f32_max_abs_diff"], 4),
    }

    greedy = None
    t_greedy = 0.0
    if name in GREEDY_MODELS:
        t0 = time.time()
        ids = tokenize(GREEDY_PROMPT)
        gm = NumpyModel(str(path), cache_weights=True)
        gm.cache_output()
        np_gen, np_margins = gm.greedy(ids, GREEDY_TOKENS)
        del gm
        llm.reset()
        llm.eval(ids)
        ll_gen = []
        for _ in range(GREEDY_TOKENS):
            t = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            ll_gen.append(t)
            llm.eval([t])

        def text_of(toks):
            return vocab.detokenize(toks).decode("utf-8", errors="replace")

        greedy = {"prompt": GREEDY_PROMPT, "ids": ids, "numpy": np_gen, "numpy_margins": sigs(np_margins, 5), "llama_cpp": ll_gen,
                  "numpy_text": text_of(np_gen), "llama_cpp_text": text_of(ll_gen)}
        t_greedy = time.time() - t0

    doc = {
        "model": name,
        "gguf": path.name,
        "gguf_sha256": sha256(path),
        "arch": hp.arch,
        "n_vocab": hp.n_vocab,
        "add_bos": add_bos,
        "generator": "scripts/record_forward_reference.py",
        "numpy_precision": "float64 activations over gguf-dequantized weights (Gemma embedding scale in float32)",
        "llama_cpp_python": llama_cpp_version,
        "sample_seed": SAMPLE_SEED,
        "sample_ids": [int(i) for i in sample_ids],
        "agreement": agreement,
        "prompts": out_prompts,
    }
    if greedy:
        doc["greedy"] = greedy
    timing = {"numpy_s": round(t_numpy, 1), "numpy_f32_s": round(t_numpy32, 1), "llama_cpp_s": round(t_llama, 1),
              "greedy_s": round(t_greedy, 1), "total_s": round(time.time() - t_start, 1)}
    tokens = sum(len(e["ids"]) for e in entries)
    print(f"{name}: {len(entries)} prompts, {tokens} tokens; {json.dumps(agreement)}; {json.dumps(timing)}")
    for e in out_prompts:
        print(f"  {e['name']:<11} n={len(e['ids']):>4} " + "  ".join(
            f"pos {q['pos']}: maxΔ {q['max_abs_diff']} meanΔ {q['mean_abs_diff']} r {q['pearson']} top1 {'ok' if q['top1_agree'] else 'DIFF'} margin {q['llama_top2_margin']}"
            for q in e["positions"]))
    if greedy:
        print(f"  greedy numpy   {greedy['numpy']} {greedy['numpy_text']!r} margins {greedy['numpy_margins']}")
        print(f"  greedy llama   {greedy['llama_cpp']} {greedy['llama_cpp_text']!r}")
    return doc


def main(argv: list[str]) -> int:
    names = model_names(argv, MODELS)
    if names is None:
        return 2
    for n in names:
        write_reference(REFS / f"forward-{n}.json", record(n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
