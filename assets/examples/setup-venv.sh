#!/usr/bin/env bash
# Creates (or reuses) assets/examples/.venv with the pinned packages of assets/examples/requirements.txt:
# pyarrow and confluent-kafka for the example readers (read_blocks.py). Idempotent: a venv whose
# installed requirements match the file is left as it is. Prints the venv's python on stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"
stamp="$venv/.requirements"

if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  # Wheels only: source builds of pyarrow or confluent-kafka would need Arrow's and librdkafka's headers.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
