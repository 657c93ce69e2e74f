#!/usr/bin/env bash
# Fills docs/results/cast-experiment.jsonl, one `cast experiment` at a time: for each
# configuration (source, target, task, seed) not yet in the file, runs the experiment with
# every method and variant and appends one JSON line: the rows, the exact command, the CPU,
# the wall time and the peak RSS. Safe to stop at any moment: the experiment caches what it
# trained (and checkpoints CAST every 25 steps), so the next run continues where this stopped.
#
# Usage: scripts/record_cast_results.sh [CONFIG ...]
#   CONFIG is source:target:task:seed; default: the table's twelve, in the order below.
# Environment:
#   CAST_RESULTS  the results file (default docs/results/cast-experiment.jsonl)
#   CAST_RUNNER   a pinned copy of the cast binary (default $CAST_HOME/runner/cast): the
#                 cache is keyed by the binary's SHA-256, so a rebuilt binary would start the
#                 table over; the first run copies .build/release/cast there. Delete it to
#                 run a new build.
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

# CAST: 300 steps of 4 windows × 64 teacher tokens, lr 3e-4, β 0 (docs/cast.md, "Short runs"),
# every variant beside the default; LoRAs rank 8 on q,v (the experiment's defaults).
settings=(${CAST_SETTINGS:---lora-steps 200 --steps 300 --batch-size 4 --window 64 --beta 0 --lr 3e-4
  --limit 200 --held-out 16 --recompute-layers 0 --methods floor,source,retrained,cross-lora,cast
  --variants lsq-init,delta,titok,self-text})

configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  for seed in 0 1 2; do
    for task in arith reverse; do
      configs+=("smollm2-135m:qwen2.5-0.5b:$task:$seed" "qwen2.5-0.5b:qwen2.5-1.5b:$task:$seed")
    done
  done
fi

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 "^flags" /proc/cpuinfo)
case "$flags" in *avx512f*) isa="AVX-512";; *avx2*) isa="AVX2";; *) isa="no AVX2";; esac

for config in "${configs[@]}"; do
  IFS=: read -r source target task seed <<< "$config"
  command=("$runner" experiment --source "$source" --target "$target" --task "$task" --seed "$seed" "${settings[@]}" --json)
  key="$source → $target, $task, seed $seed, ${settings[*]}"
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
  python3 - "$results" "$key" "$start" "$cpu, $isa" "${command[*]}" <<'PY'
import json, sys, time
results, key, start, cpu, command = sys.argv[1:]
out = json.load(open(results + ".out"))
rss_kib = int(open(results + ".rss").read().split()[-1])
line = {"key": key, "source": out["source"], "target": out["target"], "task": out["task"], "seed": out["seed"],
        "rows": out["rows"], "command": command, "cpu": cpu, "wall_seconds": round(time.time() - float(start)),
        "peak_rss_mib": round(rss_kib / 1024), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
with open(results, "a") as f:
    f.write(json.dumps(line, ensure_ascii=False) + "\n")
print(json.dumps(line, ensure_ascii=False))
PY
  rm -f "$results.out" "$results.rss"
done
