#!/usr/bin/env python3
"""Records one CAST training step computed by PyTorch (transformers + PEFT), independently
of cast, for cast's CAST tests; with --bench, times that step on the CPU (the PyTorch side of
`cast bench cast`).

cast only supplies the inputs, all as plain files (DESIGN.md §11), by running in the work
dir W (--work, default $CAST_HOME/work/cast-step):
  * `cast adapter init -m smollm2-135m --rank 4 --modules q_proj,v_proj --b-std 0.02 --seed 1
    --out W/lora`: the source LoRA, random with nonzero B (a PEFT folder);
  * `cast transfer --source smollm2-135m --adapter W/lora --target qwen2.5-0.5b
    --out W/cast-BxN --steps 0 --variant least-squares --batch-size B --window N --seed 0
    --held-out 0 --save-batch W/batch-BxN.json`: the CAST folder before its first step
    (cast_config.json: layers, scales, options; cast_adapter.safetensors: every
    `<layer>.p_in`, `<layer>.p_out` and `head`, float32; least squares makes P_out nonzero,
    so dP_in is too) and the windows of step 1 (teacher ids, student ids, aligned position
    pairs, shared vocabulary);
  * `cast export-hf -m MODEL --out W/src-hf|W/tgt-hf`: both models as float32 HF folders.
Everything else is PyTorch's own (autograd, no gradient written by hand):
  * teacher = source model + source LoRA (`PeftModel.from_pretrained`), forward only;
  * student = the frozen target where each CAST layer's linear module becomes
    `y = W x + s·P_out·B[rows]·A·P_in·x` (A, B frozen: the PEFT-loaded factors of the mapped
    source module, s = PEFT's scaling; P_in `[d_in_s, d_in_t]`, P_out `[d_out_t, rows]`
    trainable), computed as the rank-r LoRA `(P_out·B)(A·P_in)` (the same product). The P's
    are read as the folder format defines them: against the source adapter's A and B as PEFT
    stores them (HF row order) and the target's HF modules;
  * every window runs as one sequence of a right-padded batch (causal: padding never reaches
    a real position); h = the final hidden states after the final norm (what the output head
    reads); logits only at the aligned positions, teacher position i of window b paired with
    student position j, rows stacked window by window in the pairs' order;
  * loss = α·T²·KL + β·MSE, KL = mean over aligned rows of KL(softmax(z_t/T) ‖ softmax(z_s/T)),
    both logit rows gathered to the shared vocabulary's columns when the vocabularies differ
    (so each softmax renormalises over the shared tokens), MSE = mean over rows and columns of
    (H·h_student − h_teacher)², H `[d_s, d_t]` trainable. The `delta` and `excess` objectives
    (cast's other variants, --variant) change the teacher distribution and the row weights as
    in DistillationLoss.swift.
Recorded as cast reports a step: `loss`, `kl` (the mean KL at temperature T, without α and
T²), `mse` (without β), `grad_norm` (the global norm of all gradients, before clipping), and
for each gradient (`<layer>.p_in`, `<layer>.p_out`, `head`, as named in the safetensors) its
shape, Frobenius norm and 64 sampled entries (flat row-major indices: a fresh numpy
default_rng(7) per tensor, `choice(size, 64, replace=False)`, sorted) with their values. Also
the commands, options, library versions, sha256s of the batch (its content) and of the
initial CAST weights, and checks (each layer's scale and rank in cast_config.json against
PEFT's, which the run requires; the shared vocabulary against one built here from both
tokenizer.json files; the logits made from the final hidden state against the model's own
forward). Output:
Tests/CastAdaptersTests/References/cast-step-smollm2-135m-qwen2.5-0.5b.json.

--bench (default --batch 4 --window 256): one untimed warm-up step, then one timed full step
(teacher forward without gradients, student forward + backward, global-norm clip, AdamW over
the P's and H at the options' peak learning rate, the same batch both times),
torch.set_num_threads(os.cpu_count()); prints one JSON object on stdout: seconds,
peak_rss_bytes (getrusage of this process, which loads nothing else), torch, threads, then
extras. Run it in a fresh process.

Run with the PEFT venv (scripts/peft-venv.sh), after `swift build -c release`:
    .venv-peft/bin/python scripts/record_cast_step_reference.py            # the recording
    .venv-peft/bin/python scripts/record_cast_step_reference.py --bench    # the benchmark
Options: --cast PATH (default .build/release/cast or $CAST_BIN), --work DIR, --batch, --window,
--variant least-squares|paper|delta|excess, --attn eager|sdpa (default eager), --reuse (take
W's files as they are, running no cast command), --compare (also run `cast transfer --steps 1
--json` and print cast's step-1 numbers beside these; not recorded), --out FILE.
Recording: ~2 min on 2 cores (1 of them cast's commands), ~4 GiB peak RSS; --bench: ~20 s a
step, ~9 GB peak RSS (eager attention, 2 cores).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import resource
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; no hub look-ups
# PEFT looks for the base model's config.json under base_model_name_or_path (cast's registry
# name) only to guess whether the vocabulary changed; it did not.
warnings.filterwarnings("ignore", message="Could not find a config file")
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # from PEFT's wrapping

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_support  # noqa: E402
from reference_support import CAST_HOME, ROOT, sha256, sig, write_reference  # noqa: E402

SOURCE = "smollm2-135m"
TARGET = "qwen2.5-0.5b"
# The source LoRA: `cast adapter init` flags (besides -m SOURCE and --out).
ADAPTER_INIT = ["--rank", "4", "--modules", "q_proj,v_proj", "--b-std", "0.02", "--seed", "1"]
TRANSFER_SEED = 0
REFERENCE = ROOT / f"Tests/CastAdaptersTests/References/cast-step-{SOURCE}-{TARGET}.json"
SAMPLES = 64
SAMPLE_SEED = 7


# --- The inputs cast writes --------------------------------------------------------------

def run_cast(args: list[str], work: Path) -> str:
    """Runs `cast ARGS`, raising with its stderr when it fails; returns the command as
    recorded (work dir written as W)."""
    r = reference_support.cast_run(*args)
    if r.returncode != 0:
        raise RuntimeError(f"cast {' '.join(args)} failed ({r.returncode}):\n{r.stderr.strip()}")
    return "cast " + " ".join(a.replace(str(work), "W") for a in args)


def prepare(work: Path, batch: int, window: int, variant: str, reuse: bool) -> dict:
    """The cast commands that write the inputs (each run unless --reuse), and where those are."""
    tag = f"{batch}x{window}" + ("" if variant == "least-squares" else f"-{variant}")
    paths = {"lora": work / "lora", "src_hf": work / "src-hf", "tgt_hf": work / "tgt-hf",
             "cast": work / f"cast-{tag}", "batch": work / f"batch-{tag}.json"}
    commands = [
        ["adapter", "init", "-m", SOURCE, *ADAPTER_INIT, "--out", str(paths["lora"])],
        ["transfer", "--source", SOURCE, "--adapter", str(paths["lora"]), "--target", TARGET, "--out", str(paths["cast"]),
         "--steps", "0", "--variant", variant, "--batch-size", str(batch), "--window", str(window),
         "--seed", str(TRANSFER_SEED), "--held-out", "0", "--save-batch", str(paths["batch"])],
        ["export-hf", "-m", SOURCE, "--out", str(paths["src_hf"])],
        ["export-hf", "-m", TARGET, "--out", str(paths["tgt_hf"])],
    ]
    work.mkdir(parents=True, exist_ok=True)
    recorded = []
    for args in commands:
        if reuse:
            recorded.append("cast " + " ".join(a.replace(str(work), "W") for a in args))
            continue
        t0 = time.time()
        recorded.append(run_cast(args, work))
        print(f"  {recorded[-1]}  ({time.time() - t0:.0f} s)", file=sys.stderr)
    return {"paths": paths, "commands": recorded, "tag": tag}


def read_cast_folder(folder: Path) -> tuple[dict, dict]:
    """cast_config.json and the initial tensors of cast_adapter.safetensors (float32)."""
    from safetensors.torch import load_file

    config = json.loads((folder / "cast_config.json").read_text())
    if config.get("format") != "cast-adapter" or config.get("version") != 2:
        raise RuntimeError(f"{folder}: format {config.get('format')!r} version {config.get('version')!r}, "
                           "this script reads cast-adapter version 2")
    return config, load_file(str(folder / "cast_adapter.safetensors"))


# --- The models --------------------------------------------------------------------------

def load_teacher(src_hf: Path, lora: Path, attn: str):
    """Source model + LoRA, frozen, float32."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(src_hf), dtype=torch.float32, attn_implementation=attn)
    model = PeftModel.from_pretrained(base, str(lora))
    model.eval()
    model.requires_grad_(False)
    return model


def peft_factors(teacher, source_module: str):
    """The source LoRA's A `[r, d_in]`, B `[d_out, r]` and scaling, as PEFT loaded them."""
    m = teacher.get_base_model().get_submodule(source_module)
    return m.lora_A["default"].weight.detach(), m.lora_B["default"].weight.detach(), float(m.scaling["default"])


def make_cast_linear():
    import torch
    import torch.nn.functional as F

    class CastLinear(torch.nn.Module):
        """A frozen linear module plus the CAST layer `s·P_out·B·A·P_in·x` (B = the source
        LoRA's rows this slot uses)."""

        def __init__(self, base, a, b, scale: float, p_in, p_out):
            super().__init__()
            if p_in.shape != (a.shape[1], base.in_features) or p_out.shape != (base.out_features, b.shape[0]):
                raise RuntimeError(f"P_in {tuple(p_in.shape)}, P_out {tuple(p_out.shape)} do not fit A {tuple(a.shape)}, "
                                   f"B {tuple(b.shape)} and the target's {base.in_features} → {base.out_features}")
            self.base = base
            self.register_buffer("a", a.clone())   # [r, d_in_s], frozen
            self.register_buffer("b", b.clone())   # [rows, r], frozen
            self.scale = scale
            self.p_in = torch.nn.Parameter(p_in.clone())    # [d_in_s, d_in_t]
            self.p_out = torch.nn.Parameter(p_out.clone())  # [d_out_t, rows]
            self.enabled = True

        def forward(self, x):
            y = self.base(x)
            if not self.enabled:
                return y
            a = self.a @ self.p_in     # A·P_in  [r, d_in_t]
            b = self.p_out @ self.b    # P_out·B [d_out_t, r]
            return y + self.scale * F.linear(F.linear(x, a), b)

    return CastLinear


def target_module_name(model, layer: int, module: str) -> str:
    """The HF path of `module` (a PEFT module name such as q_proj) in decoder layer `layer`."""
    pattern = re.compile(rf"(.+\.)?layers\.{layer}\.(\w+\.)*{module}")
    names = [n for n, _ in model.named_modules() if pattern.fullmatch(n)]
    if len(names) != 1:
        raise RuntimeError(f"layer {layer} module {module}: {len(names)} matches in the target ({names[:4]})")
    return names[0]


def load_student(tgt_hf: Path, config: dict, tensors: dict, teacher, attn: str):
    """The frozen target with a CastLinear on every slot of cast_config.json; returns the model,
    its CAST modules, and the trainable tensors by safetensors name (every P, and `head`)."""
    import torch
    from transformers import AutoModelForCausalLM

    CastLinear = make_cast_linear()
    model = AutoModelForCausalLM.from_pretrained(str(tgt_hf), dtype=torch.float32, attn_implementation=attn)
    model.eval()
    model.requires_grad_(False)
    params, layers = {}, []
    for rec in config["layers"]:
        a, b, scale = peft_factors(teacher, rec["source_module"])
        lo, hi = rec["source_rows"]
        if abs(scale - rec["scale"]) > 1e-6 * abs(scale) or a.shape[0] != rec.get("rank", a.shape[0]):
            raise RuntimeError(f"{rec['name']}: PEFT has scaling {scale}, rank {a.shape[0]}; cast_config says "
                               f"{rec['scale']}, {rec.get('rank')}")
        path = target_module_name(model, rec["target_layer"], rec["module"])
        parent, child = path.rsplit(".", 1)
        base = model.get_submodule(path)
        if not isinstance(base, torch.nn.Linear):
            raise RuntimeError(f"{path} is a {type(base).__name__}, not an nn.Linear")
        cast = CastLinear(base, a, b[lo:hi], scale, tensors[f"{rec['name']}.p_in"], tensors[f"{rec['name']}.p_out"])
        setattr(model.get_submodule(parent), child, cast)
        params[f"{rec['name']}.p_in"] = cast.p_in
        params[f"{rec['name']}.p_out"] = cast.p_out
        layers.append(cast)
    params["head"] = torch.nn.Parameter(tensors["head"].clone())  # H [d_s, d_t]
    return model, layers, params


@contextlib.contextmanager
def cast_disabled(layers):
    """The bare target (objective delta's reference), every CAST layer off."""
    for layer in layers:
        layer.enabled = False
    try:
        yield
    finally:
        for layer in layers:
            layer.enabled = True


# --- One step ----------------------------------------------------------------------------

def padded(windows: list[list[int]]):
    """`[batch, longest]` ids, right-padded with 0 (causal attention: padding after a
    position cannot change it)."""
    import torch

    n = max(len(w) for w in windows)
    return torch.tensor([w + [0] * (n - len(w)) for w in windows], dtype=torch.long)


def aligned_rows(batch: dict):
    """Flat row indices into `[batch·tokens]` of the aligned positions, teacher and student,
    window 0's pairs first."""
    import torch

    lt = max(len(w["teacher"]) for w in batch["windows"])
    ls = max(len(w["student"]) for w in batch["windows"])
    t = [b * lt + i for b, w in enumerate(batch["windows"]) for i, _ in w["pairs"]]
    s = [b * ls + j for b, w in enumerate(batch["windows"]) for _, j in w["pairs"]]
    return torch.tensor(t), torch.tensor(s)


def hidden_and_logits(causal_lm, ids, rows):
    """The final hidden states (after the final norm) at `rows` of the flattened batch, and the
    logits the output head makes of them (with Gemma's soft-capping where the config has it)."""
    import torch

    h = causal_lm.model(input_ids=ids).last_hidden_state
    h = h.reshape(-1, h.shape[-1])[rows]
    z = causal_lm.lm_head(h)
    cap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if cap:
        z = torch.tanh(z / cap) * cap
    return h, z


def cast_loss(student_logits, student_hidden, teacher_logits, teacher_hidden, head, options: dict, shared,
              source_logits=None, target_logits=None) -> dict:
    """α·T²·KL + β·MSE at the aligned rows (see the module docstring); kl and mse as cast reports
    them (without α·T² and β)."""
    import torch

    alpha, beta, t = options["alpha"], options["beta"], options["temperature"]
    objective = options.get("objective", "paper")
    src_ids, tgt_ids = shared if shared is not None else (None, None)

    def gather(z, ids):
        return z if ids is None else z[:, ids]

    kl = mse = student_hidden.new_zeros(())
    if alpha > 0:
        zs = gather(student_logits, tgt_ids)
        zt = gather(teacher_logits, src_ids)
        weights = None
        if objective == "delta":      # the adapter's effect on the source, added to the bare target
            zt = zt + gather(target_logits, tgt_ids) - gather(source_logits, src_ids)
        elif objective == "excess":   # rows weighted by KL(p_{source+LoRA} ‖ p_source), mean 1
            lp, lq = teacher_logits.log_softmax(-1), source_logits.log_softmax(-1)
            w = (lp.exp() * (lp - lq)).sum(-1).clamp(min=0)
            weights = w / w.mean() if w.mean() > 0 and torch.isfinite(w.mean()) else torch.ones_like(w)
        log_p = torch.log_softmax(zt / t, dim=-1)   # teacher
        log_q = torch.log_softmax(zs / t, dim=-1)   # student
        kl_rows = (log_p.exp() * (log_p - log_q)).sum(-1)
        if weights is not None:
            kl_rows = kl_rows * weights
        kl = kl_rows.mean()
    if beta > 0:
        mapped = student_hidden @ head.T              # H·h_student, [n, d_s]
        mse = ((mapped - teacher_hidden) ** 2).mean()
    return {"loss": alpha * t * t * kl + beta * mse, "kl": kl, "mse": mse}


class CastStep:
    """Everything one step reads: both models, the trainable tensors, the batch, the options."""

    def __init__(self, prep: dict, attn: str):
        import torch

        p = prep["paths"]
        self.config, tensors = read_cast_folder(p["cast"])
        self.options = self.config["options"]
        if self.options.get("training", {}).get("accumulation", 1) != 1:
            raise RuntimeError("--save-batch writes the first micro-batch: a step of several is not this one")
        self.batch = json.loads(p["batch"].read_text())
        self.teacher = load_teacher(p["src_hf"], p["lora"], attn)
        self.student, self.cast_layers, self.params = load_student(p["tgt_hf"], self.config, tensors, self.teacher, attn)
        sv = self.batch.get("shared_vocabulary")
        self.shared = None if sv is None else (torch.tensor([s for s, _ in sv]), torch.tensor([t for _, t in sv]))
        self.teacher_ids = padded([w["teacher"] for w in self.batch["windows"]])
        self.student_ids = padded([w["student"] for w in self.batch["windows"]])
        self.teacher_rows, self.student_rows = aligned_rows(self.batch)
        self.initial = {k: v.detach().clone() for k, v in self.params.items()}

    def loss(self) -> dict:
        """Forward both models and the loss (the graph reaches the trainable tensors only)."""
        import torch

        objective = self.options.get("objective", "paper")
        source_logits = target_logits = None
        with torch.no_grad():
            h_t, z_t = hidden_and_logits(self.teacher.get_base_model(), self.teacher_ids, self.teacher_rows)
            if objective in ("delta", "excess"):
                with self.teacher.disable_adapter():
                    _, source_logits = hidden_and_logits(self.teacher.get_base_model(), self.teacher_ids, self.teacher_rows)
            if objective == "delta":
                with cast_disabled(self.cast_layers):
                    _, target_logits = hidden_and_logits(self.student, self.student_ids, self.student_rows)
        h_s, z_s = hidden_and_logits(self.student, self.student_ids, self.student_rows)
        return cast_loss(z_s, h_s, z_t, h_t, self.params["head"], self.options, self.shared, source_logits, target_logits)

    def gradients(self) -> dict:
        """The loss, its parts and the gradient of every trainable tensor (fresh)."""
        for p in self.params.values():
            p.grad = None
        out = self.loss()
        out["loss"].backward()
        return out


# --- Checks ------------------------------------------------------------------------------

def byte_level_vocab(tokenizer_json: Path) -> dict[bytes, int]:
    """Token bytes → first id of a byte-level BPE tokenizer.json (special added tokens left
    out: they are control tokens, not text)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_of = {chr(c): b for b, c in zip(bs, cs)}
    tj = json.loads(tokenizer_json.read_text())
    special = {t["id"] for t in tj.get("added_tokens", []) if t.get("special")}
    tokens = dict(tj["model"]["vocab"])
    for t in tj.get("added_tokens", []):
        tokens.setdefault(t["content"], t["id"])
    out: dict[bytes, int] = {}
    for text, i in sorted(tokens.items(), key=lambda kv: kv[1]):
        if i in special:
            continue
        try:
            b = bytes(byte_of[c] for c in text)
        except KeyError:
            b = text.encode()
        out.setdefault(b, i)
    return out


def check_shared_vocabulary(step: CastStep, prep: dict) -> dict:
    """cast's shared vocabulary against one computed here from both tokenizer.json files."""
    sv = step.batch.get("shared_vocabulary")
    if sv is None:
        return {"shared": None}
    src = byte_level_vocab(prep["paths"]["src_hf"] / "tokenizer.json")
    tgt = byte_level_vocab(prep["paths"]["tgt_hf"] / "tokenizer.json")
    mine, seen = [], set()
    for b, i in sorted(src.items(), key=lambda kv: kv[1]):
        j = tgt.get(b)
        if j is not None and j not in seen and b:
            seen.add(j)
            mine.append([i, j])
    cast = [list(p) for p in sv]
    out = {"count": len(cast), "count_from_tokenizer_json": len(mine), "same": cast == mine}
    if cast != mine:
        a, b = {tuple(p) for p in cast}, {tuple(p) for p in mine}
        out["only_cast"] = sorted(a - b)[:5]
        out["only_tokenizer_json"] = sorted(b - a)[:5]
    return out


def check_head_path(step: CastStep) -> float:
    """max |logits from the final hidden state − the model's own logits| on window 0 of the
    teacher (proves `last_hidden_state` is what the head reads)."""
    import torch

    with torch.no_grad():
        ids = step.teacher_ids[:1]
        rows = torch.arange(ids.shape[1])
        _, z = hidden_and_logits(step.teacher.get_base_model(), ids, rows)
        ref = step.teacher(input_ids=ids).logits[0]
    return float((z - ref).abs().max())


# --- Recording ---------------------------------------------------------------------------

def sampled(g) -> dict:
    """Shape, Frobenius norm and SAMPLES entries of a gradient (see the module docstring)."""
    import numpy as np

    flat = g.detach().reshape(-1).double().numpy()
    idx = np.sort(np.random.default_rng(SAMPLE_SEED).choice(flat.size, size=min(SAMPLES, flat.size), replace=False))
    return {"shape": list(g.shape), "norm": sig(float(np.linalg.norm(flat)), 7),
            "indices": [int(i) for i in idx], "values": [sig(float(flat[i]), 7) for i in idx]}


def record(args) -> int:
    import peft
    import torch
    import transformers

    torch.set_num_threads(os.cpu_count())
    t0 = time.time()
    prep = prepare(args.work, args.batch or 2, args.window or 64, args.variant, args.reuse)
    step = CastStep(prep, args.attn)
    print(f"  inputs and models ready ({time.time() - t0:.0f} s); {len(step.cast_layers)} CAST layers, "
          f"{len(step.teacher_rows)} aligned positions", file=sys.stderr)
    out = step.gradients()
    grads = {name: p.grad for name, p in step.params.items()}
    grad_norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads.values())))
    loss, kl, mse = (float(out[k].detach()) for k in ("loss", "kl", "mse"))

    # Sanity: a finite loss, a real KL, and every gradient nonzero (least squares makes P_out
    # nonzero, so dP_in is too).
    problems = [f"{k} = {v}" for k, v in (("loss", loss), ("kl", kl), ("mse", mse)) if not math.isfinite(v)]
    if not kl > 0:
        problems.append(f"kl = {kl} (expected > 0)")
    problems += [f"gradient {n} is zero" for n, g in grads.items() if not float(g.abs().max()) > 0]
    problems += [f"initial {n} is zero" for n, v in step.initial.items()
                 if n.endswith(".p_out") and not float(v.abs().max()) > 0]
    if problems:
        print("FAILED sanity checks:\n  " + "\n  ".join(problems))
        return 1

    head_gap = check_head_path(step)
    vocab = check_shared_vocabulary(step, prep)
    p = prep["paths"]
    doc = {
        "generator": "scripts/record_cast_step_reference.py",
        "source": SOURCE,
        "target": TARGET,
        "commands": prep["commands"],
        "options": step.options,
        "layer_map": step.config.get("layer_map"),
        "layers": len(step.cast_layers),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "precision": f"float32, {args.attn} attention",
        "batch": {
            "windows": len(step.batch["windows"]),
            "teacher_tokens": [len(w["teacher"]) for w in step.batch["windows"]],
            "student_tokens": [len(w["student"]) for w in step.batch["windows"]],
            "aligned_positions": len(step.teacher_rows),
            "shared_vocabulary": None if step.shared is None else len(step.shared[0]),
            # of the parsed JSON with sorted keys: cast writes the keys in no fixed order
            "content_sha256": hashlib.sha256(
                json.dumps(step.batch, sort_keys=True, separators=(",", ":")).encode()).hexdigest(),
        },
        "cast_adapter_sha256": sha256(p["cast"] / "cast_adapter.safetensors"),
        "loss": sig(loss, 9),
        "kl": sig(kl, 9),
        "mse": sig(mse, 9),
        "grad_norm": sig(grad_norm, 7),
        "sample_seed": SAMPLE_SEED,
        "gradients": {name: sampled(g) for name, g in grads.items()},
        "checks": {"head_from_final_hidden_max_abs": sig(head_gap, 3), "shared_vocabulary": vocab},
    }
    print(f"loss {loss:.6g} (kl {kl:.6g}, mse {mse:.6g}), grad norm {grad_norm:.6g}; |head path| {head_gap:.2g}; "
          f"shared vocabulary {vocab}", file=sys.stderr)
    if args.compare:
        compare(args, prep, doc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.resolve().is_relative_to(ROOT):
        write_reference(args.out.resolve(), doc)
    else:  # a trial recording outside the repository
        args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"  wrote {args.out} ({args.out.stat().st_size} bytes)")
    print(f"{time.time() - t0:.0f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB",
          file=sys.stderr)
    return 0


def compare(args, prep: dict, doc: dict) -> None:
    """cast's own step 1 (same flags, --steps 1 --json) beside this one; printed, not recorded."""
    p = prep["paths"]
    out = args.work / f"cast-{prep['tag']}-step1"
    cmd = ["transfer", "--source", SOURCE, "--adapter", str(p["lora"]), "--target", TARGET, "--out", str(out),
           "--steps", "1", "--variant", args.variant, "--batch-size", str(args.batch or 2), "--window",
           str(args.window or 64), "--seed", str(TRANSFER_SEED), "--held-out", "0", "--json"]
    r = reference_support.cast_run(*cmd)
    if r.returncode != 0:
        print(f"  compare: cast failed: {r.stderr.strip()}", file=sys.stderr)
        return
    steps = [s for s in (json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")) if "loss" in s]
    if not steps:
        print(f"  compare: no step in cast's output: {r.stdout.strip()}", file=sys.stderr)
        return
    for key in ("loss", "kl", "mse", "grad_norm"):
        c, t = steps[0][key], doc[key]
        print(f"  compare: {key:9} cast {c:.9g}  torch {t:.9g}  relative difference {abs(c - t) / max(abs(t), 1e-30):.1e}",
              file=sys.stderr)


# --- Benchmark ---------------------------------------------------------------------------

def bench(args) -> int:
    import torch

    threads = os.cpu_count()
    torch.set_num_threads(threads)
    prep = prepare(args.work, args.batch or 4, args.window or 256, args.variant, args.reuse)
    t0 = time.perf_counter()
    step = CastStep(prep, args.attn)
    load_seconds = time.perf_counter() - t0
    o = step.options.get("training", {})
    params = list(step.params.values())
    optimizer = torch.optim.AdamW(params, lr=o.get("learning_rate", 1e-3), weight_decay=o.get("weight_decay", 0.0))

    def one() -> dict:
        out = step.gradients()
        norm = torch.nn.utils.clip_grad_norm_(params, o.get("max_grad_norm", 1.0))
        optimizer.step()
        return {"loss": float(out["loss"].detach()), "grad_norm": float(norm)}

    warm = one()
    start = time.perf_counter()
    timed = one()
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB on Linux
        "torch": torch.__version__,
        "threads": threads,
        # extras
        "transformers": __import__("transformers").__version__,
        "source": SOURCE,
        "target": TARGET,
        "batch": len(step.batch["windows"]),
        "window": args.window or 256,
        "teacher_tokens": sum(len(w["teacher"]) for w in step.batch["windows"]),
        "student_tokens": sum(len(w["student"]) for w in step.batch["windows"]),
        "aligned_positions": len(step.teacher_rows),
        "cast_layers": len(step.cast_layers),
        "trainable_params": sum(p.numel() for p in params),
        "attn": args.attn,
        "objective": step.options.get("objective", "paper"),
        "losses": [warm["loss"], timed["loss"]],
        "grad_norms": [warm["grad_norm"], timed["grad_norm"]],
        "load_seconds": load_seconds,
        "commands": prep["commands"],
    }
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cast", type=Path, default=reference_support.CAST, help="the cast binary")
    ap.add_argument("--work", type=Path, default=CAST_HOME / "work" / "cast-step", help="work dir (W)")
    ap.add_argument("--bench", action="store_true", help="time one step instead of recording it")
    ap.add_argument("--batch", type=int, help="windows per step (default 2; --bench 4)")
    ap.add_argument("--window", type=int, help="teacher tokens per window (default 64; --bench 256)")
    ap.add_argument("--variant", default="least-squares", choices=["paper", "least-squares", "delta", "excess"])
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--reuse", action="store_true", help="use W's files as they are (run no cast command)")
    ap.add_argument("--compare", action="store_true", help="also print cast's own step 1")
    ap.add_argument("--out", type=Path, help=f"the recording (default {REFERENCE.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    args.work = args.work.expanduser().resolve()
    reference_support.CAST = args.cast  # cast_run copies this binary on its first call
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()  # "Loading weights" bars
    if not args.reuse and not args.cast.exists():
        print(f"{args.cast} is missing: run `swift build -c release` first")
        return 2
    if args.bench:
        return bench(args)
    if args.out is None:  # other shapes or variants are trials: written to the work dir
        batch, window = args.batch or 2, args.window or 64
        default = (batch, window, args.variant) == (2, 64, "least-squares")
        args.out = REFERENCE if default else args.work / f"cast-step-{batch}x{window}-{args.variant}.json"
    return record(args)


if __name__ == "__main__":
    sys.exit(main())
