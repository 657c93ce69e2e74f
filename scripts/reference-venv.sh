#!/usr/bin/env bash
# Creates the Python environment the reference recorders in scripts/ use:
# numpy, the `gguf` package (independent dequantizer and reader) and llama-cpp-python
# (independent tokenizer and forward pass; builds from source in ~7 minutes).
# Usage: scripts/reference-venv.sh [DIR]   (default: $CAST_REF_VENV or .venv-ref)
set -euo pipefail
dir="${1:-${CAST_REF_VENV:-.venv-ref}}"
[ -x "$dir/bin/python" ] || python3 -m venv "$dir"
"$dir/bin/pip" install -q numpy gguf
"$dir/bin/python" -c "import llama_cpp" 2>/dev/null || \
  CMAKE_ARGS="-DGGML_NATIVE=ON" "$dir/bin/pip" install -q llama-cpp-python==0.3.36
echo "reference venv ready: $dir"
