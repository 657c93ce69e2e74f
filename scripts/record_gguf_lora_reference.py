#!/usr/bin/env python3
"""Records GGUF-LoRA references for cast's adapter tests, with llama.cpp (llama-cpp-python).

For each model: `cast adapter init ... --gguf FILE` with exactly the flags of the `cast-made`
case of Tests/CastAdaptersTests/References/peft-<model>.json (so this GGUF-LoRA is the PEFT
adapter recorded there), then llama.cpp on the base GGUF with and without it
(`Llama(model_path, lora_path=FILE, logits_all=True, n_ctx=512, n_threads=2, seed=0)`), fed
the token ids stored in the PEFT JSON (never text), at its positions. Per case (`base`,
`lora`) and position: llama.cpp's logits at that case's top-64 ids (best first) followed by
the rest of the PEFT JSON's 512 sample ids, its top-1 id and top-2 margin. Also how far the
LoRA moved llama.cpp's logits, and how llama.cpp's delta (lora − base) compares with the
transformers+PEFT delta of the same adapter (Pearson and least-squares slope over the ids both
files hold), which tells the tests what bound to use. It also checks cast's GGUF-LoRA tensor
by tensor against cast's PEFT folder of the same adapter (lora_a = A, lora_b = B with the rope
row permutation for llama-arch q/k, adapter.lora.alpha / r = PEFT's scaling). The GGUF-LoRA
itself is not kept (cast writes it again from the same flags); its sha256 is.

As an independent check of the pipeline, the script also converts the PEFT-made adapter
(References/peft/<model>/peft-made, written by PEFT) to a GGUF-LoRA itself (HF → GGUF names,
the rope row permutation of llama-arch q/k, PEFT's per-module scaling folded into lora_b,
no adapter.lora.alpha so llama.cpp applies scale 1) and reports the same delta statistics
against the PEFT JSON's `peft-made` case.
Writes Tests/CastAdaptersTests/References/gguf-lora-<model>.json.

Run with the reference venv (scripts/reference-venv.sh), after record_peft_reference.py:
    python scripts/record_gguf_lora_reference.py [MODEL ...]
Models: smollm2-135m qwen2.5-0.5b gemma3-270m (default: all). Base GGUFs are read from
$CAST_HOME/models/<name>.gguf (default ~/.cache/cast).
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_support import (CAST, CAST_HOME, ROOT, cast_run, has_adapter_init, model_names,  # noqa: E402
                               pearson, sha256, sig, write_reference)

REFS = ROOT / "Tests/CastAdaptersTests/References"
MODELS = ["smollm2-135m", "qwen2.5-0.5b", "gemma3-270m"]
TOP_K = 64
N_CTX = 512

HF_TO_GGUF = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}


# --- llama.cpp ---------------------------------------------------------------------------

def llama_logits(model_path: Path, prompts: list[dict], lora: Path | None) -> tuple[list[np.ndarray], str]:
    """Per prompt: float64 [positions, vocab] llama.cpp logits. On a load failure, raises with
    llama.cpp's verbose log (what the loader said about the adapter)."""
    from llama_cpp import Llama

    kwargs = dict(model_path=str(model_path), logits_all=True, n_ctx=N_CTX, n_threads=2, seed=0, verbose=False)
    if lora is not None:
        kwargs["lora_path"] = str(lora)
    try:
        llm = Llama(**kwargs)
    except Exception as err:  # noqa: BLE001 - re-run verbosely to capture the loader's log
        log = verbose_load_log(kwargs)
        raise RuntimeError(f"llama.cpp failed to load {lora or model_path}: {err}\n--- verbose log (adapter lines) ---\n{log}")
    out = []
    for p in prompts:
        llm.reset()
        llm.eval(p["ids"])
        scores = np.array(llm.scores[: len(p["ids"])], dtype=np.float64)
        out.append(scores[p["positions"]])
    del llm
    return out, ""


def verbose_load_log(kwargs: dict) -> str:
    """Loads again with verbose=True in a child process and returns the adapter-related log."""
    code = ("import sys, json\nfrom llama_cpp import Llama\nkw = json.loads(sys.argv[1])\nkw['verbose'] = True\n"
            "try:\n    Llama(**kw)\nexcept Exception as e:\n    print('EXCEPTION', e, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)], capture_output=True, text=True)
    lines = (r.stdout + r.stderr).splitlines()
    keep = [ln for ln in lines if re.search(r"lora|adapter|EXCEPTION|error|failed", ln, re.I)]
    return "\n".join(keep[-80:])


def rows(logits: list[np.ndarray], prompts: list[dict], sample_ids: list[int]) -> list[list[dict]]:
    res = []
    for p, z in zip(prompts, logits):
        recs = []
        for pos, row in zip(p["positions"], z):
            top = np.argsort(-row, kind="stable")[:TOP_K]
            top_set = set(int(i) for i in top)
            ids = [int(i) for i in top] + [i for i in sample_ids if i not in top_set]
            recs.append({"position": pos, "ids": ids, "values": [sig(float(row[i]), 6) for i in ids],
                         "top1": int(top[0]), "top2_margin": sig(float(row[top[0]] - row[top[1]]), 5)})
        res.append(recs)
    return res


# --- comparison with the transformers + PEFT delta ----------------------------------------

def peft_delta(peft_doc: dict, case: str) -> list[list[dict[int, float]]]:
    """Per prompt, per position: {id: PEFT case value − PEFT base value} over the ids both rows hold."""
    out = []
    for base_p, case_p in zip(peft_doc["cases"]["base"]["rows"], peft_doc["cases"][case]["rows"]):
        per = []
        for b, c in zip(base_p, case_p):
            bv = dict(zip(b["ids"], b["values"]))
            per.append({i: v - bv[i] for i, v in zip(c["ids"], c["values"]) if i in bv})
        out.append(per)
    return out


def compare(base: list[np.ndarray], lora: list[np.ndarray], pdelta: list[list[dict[int, float]]]) -> dict:
    full = np.concatenate([(l - b).ravel() for b, l in zip(base, lora)])
    xs, ys, xc, yc, per_pos = [], [], [], [], []
    top1_changed = 0
    for b, l, pd in zip(base, lora, pdelta):
        for rb, rl, d in zip(b, l, pd):
            ids = np.array(sorted(d))
            x = np.array([d[i] for i in ids])
            y = rl[ids] - rb[ids]
            xs.append(x)
            ys.append(y)
            xc.append(x - x.mean())
            yc.append(y - y.mean())
            per_pos.append(pearson(x, y))
            top1_changed += int(np.argmax(rb) != np.argmax(rl))
    x, y = np.concatenate(xs), np.concatenate(ys)
    return {
        "llama_mean_abs_delta": sig(float(np.abs(full).mean()), 4),
        "llama_max_abs_delta": sig(float(np.abs(full).max()), 4),
        "llama_top1_changed": top1_changed,
        "compared_values": int(x.size),
        "peft_mean_abs_delta": sig(float(np.abs(x).mean()), 4),
        "pearson": sig(pearson(x, y), 6),
        # A row's logits matter only up to a constant: the same with each row's mean delta removed.
        "pearson_row_centered": sig(pearson(np.concatenate(xc), np.concatenate(yc)), 6),
        "pearson_min_position": sig(min(per_pos), 6),
        "slope": sig(float((x @ y) / (x @ x)), 5),
        "max_abs_diff_of_deltas": sig(float(np.abs(x - y).max()), 4),
        "mean_abs_diff_of_deltas": sig(float(np.abs(x - y).mean()), 4),
    }


# --- an independent PEFT → GGUF-LoRA conversion (the pipeline check) ----------------------

def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = data[base + lo:base + hi]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: dtype {info['dtype']}")
        out[name] = a.reshape(info["shape"]).astype(np.float32)
    return out


def rope_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half row order → GGUF's interleaved pairs, as llama-arch q/k weights are stored."""
    out, r = w.shape
    return w.reshape(n_head, 2, out // n_head // 2, r).swapaxes(1, 2).reshape(out, r)


def head_counts(base_gguf: Path) -> tuple[str, int, int]:
    """The base GGUF's architecture and its query and key/value head counts (for rope_permute)."""
    import gguf

    reader = gguf.GGUFReader(str(base_gguf))
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    n_head = int(reader.fields[f"{arch}.attention.head_count"].parts[-1][0])
    n_kv = int(reader.fields[f"{arch}.attention.head_count_kv"].parts[-1][0])
    return arch, n_head, n_kv


def tensor_check(gguf_path: Path, peft_dir: Path, base_gguf: Path) -> dict:
    """cast's GGUF-LoRA against cast's PEFT folder of the same adapter, tensor by tensor:
    lora_a must equal A, lora_b equal B (rows rope-permuted for llama-arch q/k), and
    adapter.lora.alpha / r equal PEFT's scaling."""
    import gguf

    arch, n_head, n_kv = head_counts(base_gguf)
    cfg = json.loads((peft_dir / "adapter_config.json").read_text())
    peft = read_safetensors(peft_dir / "adapter_model.safetensors")
    reader = gguf.GGUFReader(str(gguf_path))
    alpha = float(reader.fields["adapter.lora.alpha"].contents())
    got = {t.name: np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]) for t in reader.tensors}
    gguf_to_hf = {v: k for k, v in HF_TO_GGUF.items()}
    worst_a = worst_b = 0.0
    for name, a in got.items():
        if not name.endswith(".lora_a"):
            continue
        m = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight\.lora_a", name)
        module = gguf_to_hf[m.group(2)]
        key = f"base_model.model.model.layers.{m.group(1)}.{module}"
        pa, pb = peft[key + ".lora_A.weight"], peft[key + ".lora_B.weight"]
        short = module.rsplit(".", 1)[-1]
        if arch == "llama" and short in ("q_proj", "k_proj"):
            pb = rope_permute(pb, n_head if short == "q_proj" else n_kv)
        b = got[name[:-1] + "b"]
        if a.shape != pa.shape or b.shape != pb.shape:
            raise RuntimeError(f"{name}: shapes {a.shape}/{b.shape} vs PEFT {pa.shape}/{pb.shape}")
        worst_a = max(worst_a, float(np.abs(a - pa).max()))
        worst_b = max(worst_b, float(np.abs(b - pb).max()))
    r = cfg["r"]
    peft_scaling = cfg["lora_alpha"] / (math.sqrt(r) if cfg.get("use_rslora") else r)
    return {"pairs": len(got) // 2, "peft_pairs": len(peft) // 2, "max_abs_diff_lora_a": worst_a,
            "max_abs_diff_lora_b": worst_b, "llama_scale": sig(alpha / r, 7), "peft_scaling": sig(peft_scaling, 7)}


def convert_peft(adapter_dir: Path, base_gguf: Path, out: Path) -> None:
    import gguf

    arch, n_head, n_kv = head_counts(base_gguf)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    tensors = read_safetensors(adapter_dir / "adapter_model.safetensors")

    def value_for(pattern: dict, key: str, default):
        # PEFT matches pattern keys against the module path's tail (plain names here).
        for k, v in pattern.items():
            if re.search(rf"(^|\.){re.escape(k)}$", key):
                return v
        return default

    w = gguf.GGUFWriter(str(out), arch)
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")  # no adapter.lora.alpha: llama.cpp's scale is 1
    for name in sorted(tensors):
        m = re.fullmatch(r"base_model\.model\.model\.layers\.(\d+)\.(.+)\.lora_A\.weight", name)
        if not m:
            continue
        layer, module = m.group(1), m.group(2)
        a = tensors[name]
        b = tensors[name.replace("lora_A", "lora_B")]
        short = module.rsplit(".", 1)[-1]
        r = int(value_for(cfg.get("rank_pattern") or {}, short, cfg["r"]))
        alpha = float(value_for(cfg.get("alpha_pattern") or {}, short, cfg["lora_alpha"]))
        scaling = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
        assert a.shape[0] == r and b.shape[1] == r, (name, a.shape, b.shape, r)
        b = b * scaling
        if arch == "llama" and short in ("q_proj", "k_proj"):
            b = rope_permute(b, n_head if short == "q_proj" else n_kv)
        g = f"blk.{layer}.{HF_TO_GGUF[module]}.weight"
        w.add_tensor(g + ".lora_a", np.ascontiguousarray(a, dtype=np.float32))
        w.add_tensor(g + ".lora_b", np.ascontiguousarray(b, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# --- recording ---------------------------------------------------------------------------

def record(name: str) -> dict | None:
    from llama_cpp import __version__ as llama_cpp_version

    peft_path = REFS / f"peft-{name}.json"
    if not peft_path.exists():
        raise RuntimeError(f"{peft_path.relative_to(ROOT)} is missing: run scripts/record_peft_reference.py {name} first")
    peft_doc = json.loads(peft_path.read_text())
    prompts = peft_doc["prompts"]
    sample_ids = peft_doc["sample_ids"]
    base_gguf = CAST_HOME / "models" / f"{name}.gguf"
    base, _ = llama_logits(base_gguf, prompts, None)
    doc = {
        "model": name,
        "gguf": base_gguf.name,
        "gguf_sha256": sha256(base_gguf),
        "llama_cpp_python": llama_cpp_version,
        "generator": "scripts/record_gguf_lora_reference.py",
        "llama_params": {"n_ctx": N_CTX, "n_threads": 2, "seed": 0, "logits_all": True, "lora_scale": 1.0},
        "peft_reference": peft_path.name,
        "top_k": TOP_K,
        "sample_seed": peft_doc["sample_seed"],
        "sample_ids": sample_ids,
        "prompts": prompts,
    }

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The pipeline check: PEFT's own adapter, converted here.
        conv = tmp / "peft-made.gguf"
        convert_peft(REFS / peft_doc["cases"]["peft-made"]["adapter"], base_gguf, conv)
        conv_logits, _ = llama_logits(base_gguf, prompts, conv)
        check = compare(base, conv_logits, peft_delta(peft_doc, "peft-made"))
        doc["independent_conversion"] = {"adapter": peft_doc["cases"]["peft-made"]["adapter"], **check}
        print(f"  peft-made converted by this script: llama.cpp Δ mean {check['llama_mean_abs_delta']} max "
              f"{check['llama_max_abs_delta']}; vs PEFT Δ: pearson {check['pearson']} (row-centred {check['pearson_row_centered']}, min per position "
              f"{check['pearson_min_position']}) slope {check['slope']} max |Δ−Δ| {check['max_abs_diff_of_deltas']}")

        cm = peft_doc["cases"].get("cast-made")
        if cm is None:
            print(f"  cast-made: SKIPPED: {peft_path.name} has no cast-made case (record_peft_reference.py skipped it)")
            return None
        if not has_adapter_init("--b-std", "--gguf"):
            print(f"  cast-made: SKIPPED: `{CAST} adapter init` with --gguf does not exist yet")
            return None
        lora = tmp / f"{name}-cast-made.gguf"
        out_dir = tmp / "cast-made"
        args = ["adapter", "init", *cm["cast_args"], "--out", str(out_dir), "--gguf", str(lora)]
        r = cast_run(*args)
        if r.returncode != 0:
            raise RuntimeError(f"cast {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        st_sha = sha256(out_dir / "adapter_model.safetensors") if (out_dir / "adapter_model.safetensors").exists() else None
        tc = tensor_check(lora, out_dir, base_gguf)
        print(f"  cast-made GGUF-LoRA vs cast's PEFT folder: {tc['pairs']} pairs (PEFT {tc['peft_pairs']}), max |Δ| lora_a "
              f"{tc['max_abs_diff_lora_a']} lora_b {tc['max_abs_diff_lora_b']}, llama.cpp scale {tc['llama_scale']} "
              f"vs PEFT scaling {tc['peft_scaling']}")
        lora_logits, _ = llama_logits(base_gguf, prompts, lora)
        stats = compare(base, lora_logits, peft_delta(peft_doc, "cast-made"))
        doc["lora"] = {
            "file": lora.name,
            "cast_args": ["adapter", "init", *cm["cast_args"], "--out", "DIR", "--gguf", "FILE"],
            "sha256": sha256(lora),
            "bytes": lora.stat().st_size,
            "metadata": gguf_metadata(lora),
            "tensor_check": tc,
            "peft_safetensors_sha256": cm["safetensors_sha256"],
            "peft_safetensors_sha256_same_run": st_sha == cm["safetensors_sha256"] if st_sha else None,
        }
        doc["delta"] = stats
        doc["cases"] = {"base": {"rows": rows(base, prompts, sample_ids)}, "lora": {"rows": rows(lora_logits, prompts, sample_ids)}}
        print(f"  cast-made GGUF-LoRA ({lora.stat().st_size} bytes, sha256 {doc['lora']['sha256'][:16]}…): llama.cpp Δ mean "
              f"{stats['llama_mean_abs_delta']} max {stats['llama_max_abs_delta']} top-1 changed {stats['llama_top1_changed']}; "
              f"vs PEFT Δ (mean {stats['peft_mean_abs_delta']}): pearson {stats['pearson']} (row-centred {stats['pearson_row_centered']}, min per position "
              f"{stats['pearson_min_position']}) slope {stats['slope']} max |Δ−Δ| {stats['max_abs_diff_of_deltas']} "
              f"mean {stats['mean_abs_diff_of_deltas']}")
        if st_sha is not None and st_sha != cm["safetensors_sha256"]:
            print(f"  WARNING: cast wrote a different adapter_model.safetensors than the one in {peft_path.name} "
                  f"({st_sha[:16]}… vs {cm['safetensors_sha256'][:16]}…): cast adapter init is not deterministic?")
    return doc


def gguf_metadata(path: Path) -> dict:
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            v = field.contents()
        except Exception:  # noqa: BLE001
            v = None
        meta[key] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    meta["tensors"] = len(reader.tensors)
    return meta


def main(argv: list[str]) -> int:
    names = model_names(argv, MODELS)
    if names is None:
        return 2
    skipped = 0
    for n in names:
        print(f"{n}:")
        doc = record(n)
        if doc is None:
            skipped += 1
            continue
        write_reference(REFS / f"gguf-lora-{n}.json", doc)
    return 3 if skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
