#!/usr/bin/env bash
# Records docs/results.md's LoRA table: for each model and built-in task, the bare model's
# exact-match score (the floor), a LoRA trained on the task's train split, and its score,
# with the commands' wall times. Usage: scripts/record_lora_results.sh [OUT_DIR] [MODEL ...]
# (default models: smollm2-135m qwen2.5-0.5b qwen2.5-1.5b). Each line of OUT_DIR/results.jsonl
# is one (model, task): {"model", "task", "steps", "floor", "trained", "train_seconds", ...}.
set -euo pipefail
out="${1:-out/lora-results}"; shift || true
models=("${@:-smollm2-135m qwen2.5-0.5b qwen2.5-1.5b}")
cast="${CAST:-.build/release/cast}"
mkdir -p "$out"
steps_for() { case "$1" in smollm2-135m) echo 200;; qwen2.5-0.5b) echo 150;; *) echo 60;; esac; }
# qwen2.5-1.5b diverged at 1e-3 (loss 0.01 → 5.4 around step 21, gradient norm 40).
lr_for() { case "$1" in smollm2-135m) echo 2e-3;; qwen2.5-0.5b) echo 1e-3;; *) echo 4e-4;; esac; }
for model in ${models[@]}; do
  for task in arith dates reverse; do
    steps=$(steps_for "$model"); lr=$(lr_for "$model")
    dir="$out/$model-$task"
    floor=$("$cast" evaluate -m "$model" --task "$task" --json)
    start=$(python3 -c "import time; print(time.time())")
    "$cast" train-lora -m "$model" --task "$task" --out "$dir" --steps "$steps" --lr "$lr" --rank 8 \
      --modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --seed 0 --json > "$dir.steps.jsonl"
    train_seconds=$(python3 -c "import time; print(time.time() - $start)")
    trained=$("$cast" evaluate -m "$model" --adapter "$dir" --task "$task" --no-floor --json)
    python3 - "$model" "$task" "$steps" "$lr" "$train_seconds" "$floor" "$trained" "$dir.steps.jsonl" >> "$out/results.jsonl" <<'PY'
import json, sys
model, task, steps, lr, seconds, floor, trained, log = sys.argv[1:]
losses = [json.loads(l)["loss"] for l in open(log)]
f, t = json.loads(floor), json.loads(trained)
print(json.dumps({"model": model, "task": task, "steps": int(steps), "lr": float(lr), "rank": 8,
                  "floor": f["score"], "trained": t["score"], "correct": t["correct"], "total": t["total"],
                  "train_seconds": round(float(seconds), 1), "eval_seconds": round(t["seconds"], 1),
                  "first_loss": round(sum(losses[:5]) / 5, 4), "last_loss": round(sum(losses[-5:]) / 5, 4)}))
PY
    tail -1 "$out/results.jsonl"
  done
done
