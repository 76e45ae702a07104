#!/usr/bin/env bash
# Creates (or reuses) tests/support/.venv with the pinned packages of tests/support/python/requirements.txt:
# the Python Kafka producer (confluent-kafka) that the compression test writes its topics with.
# Idempotent. Prints the venv's python on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../infra/local/python-venv.sh" "$here/.venv" "$here/python/requirements.txt"
