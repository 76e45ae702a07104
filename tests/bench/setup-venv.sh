#!/usr/bin/env bash
# Creates (or reuses) the bench's Python venv at tests/bench/.venv with the pinned
# requirements: scikit-learn's BayesianGaussianMixture and the research transform loop run
# from it. Prints the venv's python. PYTHON picks the interpreter (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${BENCH_VENV:-$here/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -c1-64)"
# Reused as is when it was made from the same requirements: CI and repeated runs skip pip.
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  printf '%s\n' "$venv/bin/python"
  exit 0
fi
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt" >&2
printf '%s\n' "$want" >"$stamp"
printf '%s\n' "$venv/bin/python"
