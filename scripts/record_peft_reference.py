#!/usr/bin/env python3
"""Records PEFT LoRA references for cast's adapter tests, with transformers + PEFT.

For each model, over the HF folder that `cast export-hf` writes of its GGUF (cached in
$CAST_HOME/hf/<model>, exported when missing), fed token ids from `cast tokenize --json`
(never text), at positions n//3, 2n//3, n-1 of three short prompts, the logits of three cases:
  * `base`: the bare transformers model (float32, eager attention);
  * `peft-made`: a LoRA made by PEFT itself (`get_peft_model` with init_lora_weights=False,
    so A and B are random, from a fixed torch seed; every lora_B then multiplied by one
    factor, found here, so the mean |Δlogit| against base is ~TARGET_MEAN_DELTA), saved with
    `save_pretrained` (adapter_config.json + adapter_model.safetensors, in the dtype that
    PEFT_MADE[model]["dtype"] says) and loaded back with `PeftModel.from_pretrained`;
    per model it covers other PEFT features (rank_pattern, alpha_pattern, use_rslora,
    layers_to_transform);
  * `cast-made`: an adapter written by `cast adapter init` (A uniform in ±1/√in, B normal
    with std --b-std, found here the same way), loaded with `PeftModel.from_pretrained`.
    Skipped, with a message, while cast has no `adapter init` subcommand.
Each row holds the logits at the case's top-64 ids (best first) followed by the rest of a
fixed sample of 512 vocabulary ids (numpy default_rng(7), sorted), the top-1 id and the
logsumexp of the full row. The adapters are written to
Tests/CastAdaptersTests/References/peft/<model>/{peft-made,cast-made}/, the references to
Tests/CastAdaptersTests/References/peft-<model>.json.

Run with the PEFT venv (scripts/peft-venv.sh), after `swift build -c release`:
    python scripts/record_peft_reference.py [MODEL ...]
Models: smollm2-135m qwen2.5-0.5b gemma3-270m (default: all). ~1 min a model on 2 cores.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import time
from pathlib import Path

import warnings

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_support import (CAST, CAST_HOME, ROOT, cast_run, cast_tokenize, has_adapter_init,  # noqa: E402
                               hf_folder, model_names, sha256, sig, write_reference)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; no hub look-ups

# PEFT looks for the base model's config.json under base_model_name_or_path (set to cast's
# registry name here) only to guess whether the vocabulary changed; it did not.
warnings.filterwarnings("ignore", message="Could not find a config file")

REFS = ROOT / "Tests/CastAdaptersTests/References"
MODELS = ["smollm2-135m", "qwen2.5-0.5b", "gemma3-270m"]
TOP_K = 64
SAMPLE_SIZE = 512
SAMPLE_SEED = 7
TARGET_MEAN_DELTA = 0.8  # mean |Δlogit| vs base the adapters are scaled to (over the full rows)
ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def add(a, b):\n    return a +"),
    ("digits", "In 1969, 3 astronauts flew 384400 km to the Moon and"),
]

# LoraConfig fields per model for the adapter PEFT makes; `seed`, `dtype` (of the saved
# tensors) are ours.
PEFT_MADE = {
    "smollm2-135m": {
        "seed": 11, "dtype": "bfloat16",
        "config": {"r": 8, "lora_alpha": 16, "target_modules": ALL_MODULES, "layers_to_transform": [0, 1, 14, 29],
                   "rank_pattern": {"down_proj": 4}, "alpha_pattern": {"q_proj": 32}},
    },
    "qwen2.5-0.5b": {
        "seed": 12, "dtype": "float16",
        "config": {"r": 8, "lora_alpha": 16, "use_rslora": True, "target_modules": ["q_proj", "v_proj", "down_proj"],
                   "layers_to_transform": [0, 11, 23]},
    },
    "gemma3-270m": {
        "seed": 13, "dtype": "bfloat16",
        "config": {"r": 4, "lora_alpha": 8, "target_modules": ALL_MODULES, "layers_to_transform": [0, 5, 17]},
    },
}

# `cast adapter init` flags per model (--b-std is searched for, starting from b_std).
CAST_MADE = {
    "smollm2-135m": {"rank": 4, "alpha": 8, "modules": ALL_MODULES, "layers": [0, 15, 29], "seed": 1, "rslora": False, "b_std": 0.01},
    "qwen2.5-0.5b": {"rank": 8, "alpha": 16, "modules": ["q_proj", "k_proj", "v_proj", "o_proj"], "layers": [0, 23], "seed": 2,
                     "rslora": True, "b_std": 0.01},
    "gemma3-270m": {"rank": 4, "alpha": 4, "modules": ["q_proj", "v_proj", "down_proj"], "layers": [0, 5], "seed": 3, "rslora": False,
                    "b_std": 0.01},
}


def cast_adapter_init_args(model: str, spec: dict, b_std: float) -> list[str]:
    """The `cast adapter init` flags (without --out/--gguf) for one CAST_MADE entry."""
    args = ["adapter", "init", "-m", model, "--rank", str(spec["rank"]), "--alpha", str(spec["alpha"]),
            "--modules", ",".join(spec["modules"]), "--layers", ",".join(str(i) for i in spec["layers"]),
            "--seed", str(spec["seed"]), "--b-std", repr(b_std)]
    if spec["rslora"]:
        args.append("--rslora")
    return args


class Recorder:
    def __init__(self, model: str):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.model_name = model
        self.folder = hf_folder(model)
        self.base = AutoModelForCausalLM.from_pretrained(str(self.folder), dtype=torch.float32, attn_implementation="eager")
        self.base.eval()
        self.n_vocab = self.base.config.vocab_size
        rng = np.random.default_rng(SAMPLE_SEED)
        self.sample_ids = np.sort(rng.choice(self.n_vocab, size=SAMPLE_SIZE, replace=False))
        self.prompts = []
        for name, text in PROMPTS:
            ids = cast_tokenize(model, text)
            n = len(ids)
            self.prompts.append({"name": name, "text": text, "ids": ids, "positions": sorted({n // 3, (2 * n) // 3, n - 1})})

    def fresh_base(self):
        """A copy of the bare model (PEFT wraps the modules of the model it is given)."""
        return copy.deepcopy(self.base)

    def logits(self, model) -> list[np.ndarray]:
        """Per prompt: float64 [positions, vocab] logits at the recorded positions."""
        torch = self.torch
        out = []
        with torch.no_grad():
            for p in self.prompts:
                z = model(input_ids=torch.tensor([p["ids"]], dtype=torch.long)).logits[0]
                out.append(z[p["positions"]].double().numpy())
        return out

    def rows(self, logits: list[np.ndarray]) -> list[list[dict]]:
        res = []
        for p, z in zip(self.prompts, logits):
            recs = []
            for pos, row in zip(p["positions"], z):
                top = np.argsort(-row, kind="stable")[:TOP_K]
                top_set = set(int(i) for i in top)
                ids = [int(i) for i in top] + [int(i) for i in self.sample_ids if int(i) not in top_set]
                m = float(row.max())
                lse = m + float(np.log(np.exp(row - m).sum()))
                recs.append({"position": pos, "ids": ids, "values": [sig(float(row[i]), 7) for i in ids],
                             "top1": int(top[0]), "logsumexp": sig(lse, 9)})
            res.append(recs)
        return res


def delta_stats(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    d = np.concatenate([np.abs(x - y).ravel() for x, y in zip(a, b)])
    top1_changed = sum(int(np.argmax(r1) != np.argmax(r2)) for x, y in zip(a, b) for r1, r2 in zip(x, y))
    return {"mean_abs_delta": sig(float(d.mean()), 4), "max_abs_delta": sig(float(d.max()), 4), "top1_changed": top1_changed}


def effective_lora(model) -> dict:
    """Per target module name: the rank and scaling PEFT applied (the same in every layer here)."""
    out = {}
    for name, mod in model.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "scaling", {}):
            short = name.rsplit(".", 1)[-1]
            e = {"r": int(mod.r["default"]), "scaling": sig(float(mod.scaling["default"]), 7)}
            if out.setdefault(short, e) != e:
                raise RuntimeError(f"{name}: {e} differs from another layer's {out[short]}")
    return dict(sorted(out.items()))


def lora_params(model):
    return [(n, p) for n, p in model.named_parameters() if ".lora_B." in n]


def record_peft_made(rec: Recorder, base_logits, out_dir: Path) -> dict:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    spec = PEFT_MADE[rec.model_name]
    fields = dict(spec["config"], init_lora_weights=False, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    torch.manual_seed(spec["seed"])
    model = get_peft_model(rec.fresh_base(), LoraConfig(**fields))
    model.eval()
    b0 = {n: p.detach().clone() for n, p in lora_params(model)}
    dtype = getattr(torch, spec["dtype"])

    def set_scale(c: float):
        # B is stored in `dtype`: round it there so the search sees what will be saved.
        with torch.no_grad():
            for n, p in lora_params(model):
                p.copy_((b0[n] * c).to(dtype).to(p.dtype))

    c = 0.05
    for _ in range(6):
        set_scale(c)
        m = delta_stats(rec.logits(model), base_logits)["mean_abs_delta"]
        if abs(m / TARGET_MEAN_DELTA - 1) < 0.1:
            break
        c *= TARGET_MEAN_DELTA / m
    c = sig(c, 3)
    set_scale(c)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".lora_" in n:
                p.data = p.data.to(dtype)
    model.peft_config["default"].base_model_name_or_path = rec.model_name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    del model
    (out_dir / "README.md").unlink(missing_ok=True)  # PEFT's model-card template: not part of the adapter

    # What is recorded is what was saved: load it back onto a fresh base.
    loaded = PeftModel.from_pretrained(rec.fresh_base(), str(out_dir))
    loaded.eval()
    dtypes = sorted({str(p.dtype) for n, p in loaded.named_parameters() if ".lora_" in n})
    effective = effective_lora(loaded)
    logits = rec.logits(loaded)
    del loaded
    st = out_dir / "adapter_model.safetensors"
    return {
        "adapter": f"peft/{rec.model_name}/peft-made",
        "config": fields,
        "torch_seed": spec["seed"],
        "lora_B_scale": c,
        "saved_dtype": spec["dtype"],
        "loaded_dtypes": dtypes,
        "effective": effective,
        "safetensors_sha256": sha256(st),
        "safetensors_bytes": st.stat().st_size,
        "effect": delta_stats(logits, base_logits),
        "_logits": logits,
    }


def record_cast_made(rec: Recorder, base_logits, out_dir: Path) -> dict | None:
    from peft import PeftModel

    if not has_adapter_init("--b-std"):
        print(f"  cast-made: SKIPPED: `{CAST} adapter init` does not exist yet (re-run this script once it does)")
        return None
    spec = CAST_MADE[rec.model_name]

    def make(b_std: float):
        if out_dir.exists():
            shutil.rmtree(out_dir)
        args = cast_adapter_init_args(rec.model_name, spec, b_std) + ["--out", str(out_dir)]
        r = cast_run(*args)
        if r.returncode != 0:
            raise RuntimeError(f"cast {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        loaded = PeftModel.from_pretrained(rec.fresh_base(), str(out_dir))
        loaded.eval()
        n_lora = sum(1 for n, _ in loaded.named_parameters() if ".lora_A." in n)
        effective = effective_lora(loaded)
        logits = rec.logits(loaded)
        del loaded
        return logits, {"lora_modules_loaded": n_lora, "effective": effective}, args

    b_std = spec["b_std"]
    for _ in range(6):
        logits, loaded_info, args = make(b_std)
        m = delta_stats(logits, base_logits)["mean_abs_delta"]
        if abs(m / TARGET_MEAN_DELTA - 1) < 0.1:
            break
        b_std = sig(b_std * TARGET_MEAN_DELTA / m, 2)
    logits, loaded_info, args = make(b_std)
    st = out_dir / "adapter_model.safetensors"
    cfg = json.loads((out_dir / "adapter_config.json").read_text())
    return {
        "adapter": f"peft/{rec.model_name}/cast-made",
        "cast_args": cast_adapter_init_args(rec.model_name, spec, b_std)[2:],  # plus --out DIR
        "flags": dict(spec, b_std=b_std),
        "config": cfg,
        **loaded_info,
        "safetensors_sha256": sha256(st),
        "safetensors_bytes": st.stat().st_size,
        "effect": delta_stats(logits, base_logits),
        "_logits": logits,
    }


def record(model: str) -> dict:
    import peft
    import torch
    import transformers

    torch.set_num_threads(2)
    t0 = time.time()
    rec = Recorder(model)
    base_logits = rec.logits(rec.base)
    adir = REFS / "peft" / model
    cases = {"base": {"rows": rec.rows(base_logits)}}
    made = record_peft_made(rec, base_logits, adir / "peft-made")
    cm = record_cast_made(rec, base_logits, adir / "cast-made")
    for name, case in (("peft-made", made), ("cast-made", cm)):
        if case is None:
            continue
        logits = case.pop("_logits")
        case["rows"] = rec.rows(logits)
        cases[name] = case
        e = case["effect"]
        print(f"  {name}: vs base mean |Δ| {e['mean_abs_delta']} max |Δ| {e['max_abs_delta']} top-1 changed "
              f"{e['top1_changed']}/{sum(len(p['positions']) for p in rec.prompts)}; "
              f"{case['safetensors_bytes']} bytes" + (f", B scale {case['lora_B_scale']}" if "lora_B_scale" in case
                                                      else f", --b-std {case['flags']['b_std']}"))
    gguf_sha = (CAST_HOME / "models" / f"{model}.gguf.sha256")
    doc = {
        "model": model,
        "gguf_sha256": gguf_sha.read_text().split()[0] if gguf_sha.exists() else None,
        "hf_folder": "cast export-hf",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "generator": "scripts/record_peft_reference.py",
        "precision": "float32, eager attention",
        "n_vocab": rec.n_vocab,
        "top_k": TOP_K,
        "sample_seed": SAMPLE_SEED,
        "sample_ids": [int(i) for i in rec.sample_ids],
        "prompts": [{"name": p["name"], "text": p["text"], "ids": p["ids"], "positions": p["positions"]} for p in rec.prompts],
        "cases": cases,
    }
    print(f"{model}: {time.time() - t0:.0f} s")
    return doc


def main(argv: list[str]) -> int:
    names = model_names(argv, MODELS)
    if names is None:
        return 2
    if not CAST.exists():
        print(f"{CAST} is missing: run `swift build -c release` first")
        return 2
    REFS.mkdir(parents=True, exist_ok=True)
    for n in names:
        print(f"{n}:")
        doc = record(n)
        write_reference(REFS / f"peft-{n}.json", doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
