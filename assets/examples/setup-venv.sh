#!/usr/bin/env bash
# Creates (or reuses) assets/examples/.venv with the pinned packages of assets/examples/requirements.txt:
# pyarrow and confluent-kafka for the example readers (read_blocks.py). Idempotent. Prints the
# venv's python on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../infra/local/python-venv.sh" "$here/.venv" "$here/requirements.txt"
