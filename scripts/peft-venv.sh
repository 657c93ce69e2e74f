#!/usr/bin/env bash
# Creates the Python environment scripts/record_peft_reference.py uses: torch (CPU use only),
# transformers and peft (the independent LoRA reference), safetensors and numpy.
# torch comes from PyPI as the stock Linux wheel, which pulls its CUDA libraries (~5.5 GB
# installed, ~1.5 min); the CUDA-less stock wheel does not import (it preloads libcublasLt).
# CAST_TORCH_SPEC picks another build, e.g. 'torch==2.13.0+cpu' where such a CPU wheel is on
# pip's find-links (it resolves with these pins; the recorded references used torch 2.15.0).
# Usage: scripts/peft-venv.sh [DIR]   (default: $CAST_PEFT_VENV or .venv-peft)
set -euo pipefail
dir="${1:-${CAST_PEFT_VENV:-.venv-peft}}"
torch_spec="${CAST_TORCH_SPEC:-torch==2.15.0}"
pins=(transformers==5.24.0 peft==0.21.2 safetensors==0.8.0 numpy==2.4.6 accelerate==1.15.0)
[ -x "$dir/bin/python" ] || python3 -m venv "$dir"
tv="${torch_spec#torch==}"
want="${tv%%+*} 5.24.0 0.21.2"
have="$("$dir/bin/python" -c 'import torch, transformers, peft; print(torch.__version__.split("+")[0], transformers.__version__, peft.__version__)' 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  "$dir/bin/pip" install -q "$torch_spec" "${pins[@]}"
fi
echo "peft venv ready: $dir ($("$dir/bin/python" -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'))"
