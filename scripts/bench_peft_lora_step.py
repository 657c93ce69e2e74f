#!/usr/bin/env python3
"""The PyTorch + PEFT side of `cast bench lora`: times one LoRA training step on the CPU.

Loads an HF folder (the one `cast export-hf` writes, e.g. $CAST_HOME/hf/qwen2.5-0.5b) with
AutoModelForCausalLM in float32 (--attn, default sdpa: what a PEFT user gets), wraps it with
PEFT's `get_peft_model` (LoraConfig r=--rank, lora_alpha=--alpha, lora_dropout=0,
target_modules=--modules, bias="none") and trains it on random token ids (torch.Generator
seeded with --seed, uniform over the vocabulary) of shape [batch, tokens], labels = ids.
The loss is the model's own causal-LM loss (`model(input_ids=ids, labels=ids).loss`:
cross-entropy of logits[:, :-1] against ids[:, 1:], mean over batch × (tokens-1)); the logits
themselves are computed at all batch × tokens positions. model.train(), with every dropout
at 0 (config attention_dropout = 0, LoRA dropout 0), so the step is deterministic.

One step = forward + loss + backward + AdamW.step (torch.optim.AdamW, lr 1e-4, over the LoRA
parameters only; the base is frozen) + zero_grad(set_to_none=True). One untimed warm-up step,
then --steps timed ones (time.perf_counter around each). Reports the fastest and the median
step, the peak RSS of the process after the steps (resource ru_maxrss), the trainable
parameter count and FLOP rate.

FLOPs of one step (multiply-add = 2 FLOPs; N = batch × tokens, T = tokens):
  * every frozen linear weight W (out × in) of the blocks, and the output head (vocab × d):
    forward x·Wᵀ (2·in·out per token) and backward dx = dy·W (2·in·out); no dW, it is
    frozen: 4 · P_frozen · N, P_frozen = frozen linear weights incl. the head (not the input
    embedding, a lookup; biases and norms not counted);
  * every LoRA pair A (r × in), B (out × r): forward x·Aᵀ, (xAᵀ)·Bᵀ, backward dA, dB and the
    dx through B then A, 3 × 2·r·(in+out) per token: 6 · P_lora · N (P_lora = trainable);
  * causal attention, only the visible T(T+1)/2 query-key pairs per sequence (as
    EngineBenchmark's attention row): QKᵀ and P·V forward, dP, dV, dQ, dK backward:
    12 · layers · heads · head_dim · T(T+1)/2 · batch.
  flops = 4·P_frozen·N + 6·P_lora·N + 12·L·H·hd·T(T+1)/2·batch
Norms, RoPE, softmax, SiLU, the loss and AdamW are not counted. The parts are reported
separately (`flops_parts`) so that cast's side can use the same count.

Run with the PEFT venv (scripts/peft-venv.sh):
    .venv-peft/bin/python scripts/bench_peft_lora_step.py --model-dir ~/.cache/cast/hf/qwen2.5-0.5b [--json]
Options: --rank 16 --alpha 32 --modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
--batch 8 --tokens 128 --threads 2 --steps 3 --seed 0 --attn sdpa|eager.
With --json, one JSON object on stdout: torch, peft, threads, batch, tokens, rank, modules,
seconds_min, seconds_median, peak_rss_mib, trainable_params, flops, gflops_per_s, then extras
(flops_parts, seconds_all, cpu_capability, mkl, mkldnn, ...). qwen2.5-0.5b, defaults, 2
cores: ~2.1 TFLOP a step, 25-50 s a step (~2.5 min a run), ~10 GiB peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; no hub look-ups
warnings.filterwarnings("ignore", message="Could not find a config file")
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # from PEFT's wrapping

DEFAULT_MODULES = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model-dir", required=True, help="HF folder (config.json + model.safetensors)")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32)
    p.add_argument("--modules", default=DEFAULT_MODULES, help="comma-separated LoRA target modules")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="timed steps, after one warm-up step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="attention implementation")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def count_flops(model, cfg, batch: int, tokens: int) -> dict:
    """The FLOP count of one step (see the module docstring), in its parts."""
    import torch

    n = batch * tokens
    frozen = 0
    lora = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            if module.weight.requires_grad:
                lora += module.weight.numel()
            else:
                frozen += module.weight.numel()
    # lm_head is an nn.Linear too, so it is in `frozen` already; report it apart as well.
    head = cfg.vocab_size * cfg.hidden_size
    heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    visible = tokens * (tokens + 1) // 2
    parts = {
        "frozen_linear_params": frozen,           # includes the output head
        "head_params": head,
        "lora_params": lora,
        "frozen_linear": 4 * frozen * n,          # fwd + dx, no dW
        "lora": 6 * lora * n,                     # fwd + dx + dW
        "attention": 12 * cfg.num_hidden_layers * heads * head_dim * visible * batch,
    }
    parts["total"] = parts["frozen_linear"] + parts["lora"] + parts["attention"]
    return parts


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    import peft
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    folder = Path(args.model_dir).expanduser()
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]

    cfg = AutoConfig.from_pretrained(str(folder))
    if hasattr(cfg, "attention_dropout"):
        cfg.attention_dropout = 0.0
    t0 = time.perf_counter()
    base = AutoModelForCausalLM.from_pretrained(str(folder), config=cfg, dtype=torch.float32,
                                                attn_implementation=args.attn)
    load_seconds = time.perf_counter() - t0
    lora_cfg = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0,
                          target_modules=modules, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(base, lora_cfg)
    model.train()
    for m in model.modules():  # belt and braces: no dropout anywhere
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    rss_after_load = peak_rss_mib()

    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    optimizer = torch.optim.AdamW(params, lr=1e-4)

    gen = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, args.tokens), generator=gen, dtype=torch.long)

    def step() -> float:
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return out.loss.item()

    losses = [step()]  # warm-up: allocator, AdamW state, oneDNN primitives
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        losses.append(step())
        seconds.append(time.perf_counter() - start)

    flops = count_flops(model, cfg, args.batch, args.tokens)
    s_min, s_med = min(seconds), statistics.median(seconds)
    result = {
        "torch": torch.__version__,
        "peft": peft.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "tokens": args.tokens,
        "rank": args.rank,
        "modules": modules,
        "seconds_min": s_min,
        "seconds_median": s_med,
        "peak_rss_mib": peak_rss_mib(),
        "trainable_params": trainable,
        "flops": flops["total"],
        "gflops_per_s": flops["total"] / s_min / 1e9,
        # extras
        "gflops_per_s_median": flops["total"] / s_med / 1e9,
        "flops_parts": flops,
        "flops_formula": "4*P_frozen_linear*N + 6*P_lora*N + 12*L*H*hd*T(T+1)/2*batch, N=batch*tokens",
        "seconds_all": seconds,
        "losses": losses,
        "alpha": args.alpha,
        "steps": args.steps,
        "attn": args.attn,
        "transformers": __import__("transformers").__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "load_seconds": load_seconds,
        "peak_rss_after_load_mib": rss_after_load,
        "model_dir": str(folder),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PEFT LoRA step: torch {result['torch']}, peft {result['peft']}, "
              f"transformers {result['transformers']}, attn {args.attn}")
        print(f"  cpu: {result['cpu_capability']}, mkl {result['mkl']}, mkldnn {result['mkldnn']}, "
              f"threads {args.threads}")
        print(f"  model {folder.name}: batch {args.batch} x tokens {args.tokens}, rank {args.rank}, "
              f"alpha {args.alpha:g}, modules {','.join(modules)}")
        print(f"  trainable params {trainable:,}, frozen linear params {flops['frozen_linear_params']:,}")
        print(f"  step: min {s_min:.3f} s, median {s_med:.3f} s  (all: "
              f"{', '.join(f'{s:.3f}' for s in seconds)}); losses {', '.join(f'{l:.4f}' for l in losses)}")
        print(f"  flops/step {flops['total'] / 1e9:.1f} G (frozen linear {flops['frozen_linear'] / 1e9:.1f}, "
              f"lora {flops['lora'] / 1e9:.1f}, attention {flops['attention'] / 1e9:.1f}) -> "
              f"{result['gflops_per_s']:.1f} GFLOP/s at min, {result['gflops_per_s_median']:.1f} at median")
        print(f"  peak RSS {result['peak_rss_mib']:.0f} MiB (after load {rss_after_load:.0f} MiB); "
              f"load {load_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
