#!/usr/bin/env bash
# Creates .venv-jupyter: the Jupyter tools the kernel's tests drive (jupyter_client,
# jupyter_kernel_test, nbclient/nbconvert/papermill for headless notebooks, ipykernel as a
# reference kernel), and python/cast_papermill (papermill's translator for cast, installed
# editable). Idempotent: a venv whose stamps match these pins and the package's pyproject.toml
# is left as it is (a few milliseconds).
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
if ! [ -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]; then
  python3 -m venv "$VENV"
  rm -f "$VENV/.cast_papermill"   # a new venv needs the package again
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
  echo "${PINS[*]}" > "$STAMP"
  echo "jupyter tools installed in $VENV"
fi

# The cast translator for papermill, editable: edits to its code need no reinstall; a changed
# pyproject.toml (entry points, dependencies) does, so that file's hash is the stamp.
PM_STAMP="$VENV/.cast_papermill"
PM_HASH="$(sha256sum python/cast_papermill/pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$PM_STAMP" 2>/dev/null)" != "$PM_HASH" ]; then
  "$VENV/bin/python" -m pip install --quiet --no-deps -e python/cast_papermill
  echo "$PM_HASH" > "$PM_STAMP"
  echo "cast_papermill installed in $VENV"
fi
