#!/usr/bin/env python3
"""Prints docs/results.md's CAST tables from docs/results/cast-experiment.jsonl (written by
scripts/record_cast_results.sh): per pair and task, each method's score, retention, held-out
KL and score on the first train prompts (what chooses settings), as the mean over the seeds
recorded (± the standard deviation when there are several), with the seeds counted and the
wall time and peak memory of the runs.

Usage: scripts/cast_results_table.py [RESULTS.jsonl]
"""
import json
import statistics
import sys
from collections import defaultdict

path = sys.argv[1] if len(sys.argv) > 1 else "docs/results/cast-experiment.jsonl"
runs = [json.loads(line) for line in open(path) if line.strip()]
groups = defaultdict(list)
for run in runs:
    groups[(run["source"], run["target"], run["task"])].append(run)


def cell(values, percent=False):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    scale = 100 if percent else 1
    mean = statistics.mean(values) * scale
    text = f"{mean:.1f} %" if percent else f"{mean:.3f}"
    if len(values) > 1:
        sd = statistics.stdev(values) * scale
        text += f" ± {sd:.1f}" if percent else f" ± {sd:.3f}"
    return text


for (source, target, task), group in sorted(groups.items()):
    seeds = sorted(run["seed"] for run in group)
    print(f"### {source} → {target}, task {task} (seeds {', '.join(map(str, seeds))})\n")
    print("| method | score | retention | held-out KL | train score | seconds (mean) |")
    print("|---|---|---|---|---|---|")
    methods = []
    for run in group:
        for row in run["rows"]:
            if row["method"] not in methods:
                methods.append(row["method"])
    for method in methods:
        rows = [row for run in group for row in run["rows"] if row["method"] == method]
        seconds = statistics.mean(row["seconds"] for row in rows)
        print(f"| {method} | {cell([r['score'] for r in rows])} | {cell([r['retention'] for r in rows], percent=True)} "
              f"| {cell([r['kl'] for r in rows])} | {cell([r.get('train_score') for r in rows])} | {seconds:.0f} |")
    wall = sum(run["wall_seconds"] for run in group)
    rss = max(run["peak_rss_mib"] for run in group)
    print(f"\n{len(group)} run(s) on {group[0]['cpu']}; {wall / 3600:.1f} h of wall time in all; "
          f"peak RSS {rss} MiB.\nCommand: `{group[0]['command']}`\n")
