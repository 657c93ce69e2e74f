#!/usr/bin/env bash
# Creates .venv-jupyter: the Jupyter tools the kernel's tests drive (jupyter_client,
# jupyter_kernel_test, nbclient/nbconvert/papermill for headless notebooks, ipykernel as a
# reference kernel). Idempotent: a venv whose stamp matches these pins is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-jupyter
PINS=(
  jupyter_client==8.10.0
  jupyter_core==5.9.1
  jupyter_kernel_test==0.7.0
  nbclient==0.11.0
  nbformat==5.11.1
  nbconvert==7.17.2
  papermill==2.7.0
  ipykernel==7.4.0
  pytest==9.2.0
  pyzmq==27.3.0
)
STAMP="$VENV/.pins"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "${PINS[*]}" ]; then
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
echo "${PINS[*]}" > "$STAMP"
echo "jupyter tools installed in $VENV"
