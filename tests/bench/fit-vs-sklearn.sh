#!/usr/bin/env bash
# Benchmark: vgmflow's mixture fit against scikit-learn's on the same machine, same run,
# same data and initial means (the Amount column of the sample). Prints both and the ratios.
# Needs the fixtures' venv (tests/fixtures/regenerate.sh creates it) and `npm run build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROWS="${ROWS:-50000}"
REPEATS="${REPEATS:-3}"
PY="${PY:-tests/fixtures/.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -n "$((ROWS + 1))" assets/card-transactions.csv > "$work/data.csv"
# Initial means from scikit-learn's KMeans, so both sides start alike.
"$PY" - "$work/data.csv" "$work/means.json" <<'PY'
import json, sys
import numpy as np
from sklearn.cluster import KMeans
sys.path.insert(0, "tests/bench")
from sklearn_fit_time import read_column
x = read_column(sys.argv[1], "Amount")
km = KMeans(n_clusters=10, n_init=1, random_state=np.random.RandomState(42)).fit(x)
json.dump({"Amount": [float(c) for c in km.cluster_centers_[:, 0]]}, open(sys.argv[2], "w"))
PY
npx tsc -p tsconfig.json --outDir "$work/build" >/dev/null
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE work around old OpenBLAS bugs on some CPUs and slow a
# current numpy down; the reference run goes without them (threadpoolctl reports the kernel).
sk=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONWARNINGS=ignore "$PY" tests/bench/sklearn_fit_time.py "$work/data.csv" Amount "$work/means.json" "$REPEATS")
vg=$(node "$work/build/tests/bench/vgmflow-fit-time.js" "$work/data.csv" Amount "$work/means.json" "$REPEATS")
node -e '
const sk = JSON.parse(process.argv[1]), vg = JSON.parse(process.argv[2]);
const f = (s) => s.toFixed(3) + " s";
console.log(`rows ${vg.rows}, distinct values ${vg.distinct}`);
console.log(`BLAS: ${sk.blas}; load average ${require("os").loadavg()[0].toFixed(1)} on ${require("os").cpus().length} cores`);
console.log(`scikit-learn ${f(sk.seconds)} (n_iter ${sk.n_iter}, lower bound ${sk.lower_bound})`);
console.log(`vgmflow over rows ${f(vg.overRows.seconds)} (n_iter ${vg.overRows.nIter}, lower bound ${vg.overRows.lowerBound}), ratio to scikit-learn ${(vg.overRows.seconds / sk.seconds).toFixed(2)}`);
console.log(`vgmflow over weighted points ${f(vg.overWeightedPoints.seconds)} (n_iter ${vg.overWeightedPoints.nIter}), ratio to scikit-learn ${(vg.overWeightedPoints.seconds / sk.seconds).toFixed(2)}`);
' "$sk" "$vg"
