#!/usr/bin/env bash
# Fills docs/results/cast-experiment.jsonl, one `cast experiment` at a time: for each
# configuration (source, target, task, seed) not yet in the file, runs the experiment with
# every method and variant and appends one JSON line: the rows, the exact command, the CPU,
# the wall time and the peak RSS. Safe to stop at any moment: the experiment caches what it
# trained (and checkpoints CAST every 25 steps), so the next run continues where this stopped.
#
# Usage: scripts/record_cast_results.sh [CONFIG ...]
#   CONFIG is source:target:task:seed[:variants] (variants comma-separated, as --variants);
#   default: the table's twelve configurations, in the order below.
# Environment:
#   CAST_RESULTS  the results file (default docs/results/cast-experiment.jsonl)
#   CAST_RUNNER   a pinned copy of the cast binary (default $CAST_HOME/runner/cast), so that
#                 a rebuild mid-table does not change the program under a run; the first run
#                 copies .build/release/cast there. Delete it to run a new build: the cache is
#                 keyed by the artifact version (ArtifactCache.codeVersion), not the build, so
#                 a new build reuses what an older one trained unless that version changed.
#   CAST_SETTINGS extra flags for every experiment (default: the settings below).
#
# Run it in the background: nohup scripts/record_cast_results.sh > cast-results.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
results="${CAST_RESULTS:-docs/results/cast-experiment.jsonl}"
home="${CAST_HOME:-$HOME/.cache/cast}"
runner="${CAST_RUNNER:-$home/runner/cast}"
mkdir -p "$(dirname "$results")" "$(dirname "$runner")"
touch "$results"
if [ ! -x "$runner" ]; then
  cp .build/release/cast "$runner.tmp" && mv "$runner.tmp" "$runner"
fi

# CAST: 300 steps of 4 windows × 64 teacher tokens, lr 3e-4, β 0 (docs/cast.md, "Short runs");
# LoRAs rank 8 on q,v (the experiment's defaults); scored on 200 test prompts, and on 64 train
# prompts for choosing settings.
settings=(${CAST_SETTINGS:---lora-steps 200 --steps 300 --batch-size 4 --window 64 --beta 0 --lr 3e-4
  --limit 200 --train-limit 64 --held-out 16 --recompute-layers 0 --methods floor,source,retrained,cross-lora,cast})
variants="lsq-init,delta,titok,self-text,index-map,cka-map"

# Order: a model onto itself first (no base-model mismatch, so the KL holds only the LoRA's
# effect: can distillation on general text recover a task LoRA at all?), the variants on the
# cross-family pair's seed 0 (the evidence for the default), then every configuration with the
# default, then the variants on the same-family pair.
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs+=("smollm2-135m:smollm2-135m:arith:0:lsq-init")
  for task in arith reverse; do configs+=("smollm2-135m:qwen2.5-0.5b:$task:0:$variants"); done
  for seed in 0 1 2; do
    for task in arith reverse; do
      configs+=("smollm2-135m:qwen2.5-0.5b:$task:$seed" "qwen2.5-0.5b:qwen2.5-1.5b:$task:$seed")
    done
  done
  for task in arith reverse; do configs+=("qwen2.5-0.5b:qwen2.5-1.5b:$task:0:$variants"); done
fi

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 "^flags" /proc/cpuinfo)
case "$flags" in *avx512f*) isa="AVX-512";; *avx2*) isa="AVX2";; *) isa="no AVX2";; esac

for config in "${configs[@]}"; do
  IFS=: read -r source target task seed chosen <<< "$config"
  extra=()
  if [ -n "$chosen" ]; then extra=(--variants "$chosen"); fi
  command=("$runner" experiment --source "$source" --target "$target" --task "$task" --seed "$seed" "${settings[@]}" "${extra[@]}" --json)
  key="$source → $target, $task, seed $seed, ${settings[*]} ${extra[*]}"
  if python3 -c 'import json,sys; key=sys.argv[2]; sys.exit(0 if any(json.loads(l).get("key")==key for l in open(sys.argv[1]) if l.strip()) else 1)' "$results" "$key"; then
    echo "done already: $key"
    continue
  fi
  echo "running: $key"
  start=$(date +%s)
  if ! /usr/bin/time -f "%M" -o "$results.rss" "${command[@]}" > "$results.out"; then
    echo "stopped or failed: $key (rerun to continue)"
    exit 1
  fi
  python3 - "$results" "$key" "$start" "$cpu, $isa" "${command[*]}" "$(sha256sum "$runner" | cut -c1-16)" <<'PY'
import json, sys, time
results, key, start, cpu, command, binary = sys.argv[1:]
out = json.load(open(results + ".out"))
rss_kib = int(open(results + ".rss").read().split()[-1])
line = {"key": key, "source": out["source"], "target": out["target"], "task": out["task"], "seed": out["seed"],
        "rows": out["rows"], "command": command, "cpu": cpu, "binary_sha256": binary,
        "wall_seconds": round(time.time() - float(start)),
        "peak_rss_mib": round(rss_kib / 1024), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
with open(results, "a") as f:
    f.write(json.dumps(line, ensure_ascii=False) + "\n")
print(json.dumps(line, ensure_ascii=False))
PY
  rm -f "$results.out" "$results.rss"
done
