#!/usr/bin/env bash
# Usage: python-venv.sh <venv dir> <requirements file>
# Creates (or reuses) a venv with the pinned packages of the requirements file, wheels only.
# Idempotent: a venv whose installed requirements match the file is left as it is.
# Prints the venv's python on stdout. $PYTHON picks the interpreter (default python3).
set -euo pipefail

venv="$1"
requirements="$2"
python="${PYTHON:-python3}"
stamp="$venv/.requirements"

if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  # Wheels only: source builds (pyarrow, confluent-kafka) would need Arrow's and librdkafka's headers.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
