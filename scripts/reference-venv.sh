#!/usr/bin/env bash
# Creates the Python environment the reference recorders in scripts/ use:
# numpy, the `gguf` package (independent dequantizer and reader) and llama-cpp-python
# (independent tokenizer and forward pass; builds from source in ~7 minutes).
# Usage: scripts/reference-venv.sh [DIR]   (default: $CAST_REF_VENV or .venv-ref)
# CAST_REF_ISA=avx2 builds llama.cpp for AVX2 + FMA only (no AVX-512), whatever this CPU has:
# the peer a Zen 3 machine would have, for `cast bench models` beside CAST_KERNELS=avx2.
set -euo pipefail
dir="${1:-${CAST_REF_VENV:-.venv-ref}}"
[ -x "$dir/bin/python" ] || python3 -m venv "$dir"
"$dir/bin/pip" install -q numpy gguf
cmake_args="-DGGML_NATIVE=ON"
if [ "${CAST_REF_ISA:-native}" = avx2 ]; then
  cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  cmake_args+=" -DGGML_AVX512=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF"
fi
"$dir/bin/python" -c "import llama_cpp" 2>/dev/null || \
  CMAKE_ARGS="$cmake_args" "$dir/bin/pip" install -q --no-cache-dir llama-cpp-python==0.3.36
echo "reference venv ready: $dir"
