"""Times scikit-learn's BayesianGaussianMixture on one column of a CSV file, with CTAB-GAN's
settings, started from given means (as the vgmflow side is). Prints JSON: seconds, n_iter,
lower_bound. Used by fit-vs-sklearn.sh; run from the fixtures' venv."""
import json
import sys
import time

import csv

import numpy as np
from sklearn.mixture import BayesianGaussianMixture
from threadpoolctl import threadpool_info


class FromMeans(BayesianGaussianMixture):
    """Hard-assigns each value to its nearest initial mean, like vgmflow's --init-means."""

    def __init__(self, init_means, **kw):
        super().__init__(**kw)
        self.init_means = init_means

    def _initialize_parameters(self, X, random_state, xp=None):
        labels = np.argmin(np.abs(X - np.asarray(self.init_means)[None, :]), axis=1)
        resp = np.zeros((X.shape[0], self.n_components), dtype=X.dtype)
        resp[np.arange(X.shape[0]), labels] = 1
        self._initialize(X, resp)


def read_column(path: str, column: str) -> np.ndarray:
    with open(path, newline="") as f:
        return np.array([float(row[column]) for row in csv.DictReader(f)], dtype=np.float64).reshape(-1, 1)


def main() -> None:
    path, column, means_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    x = read_column(path, column)
    means = json.load(open(means_path))[column]
    best = float("inf")
    for _ in range(repeats):
        gm = FromMeans(means, n_components=10, weight_concentration_prior_type="dirichlet_process",
                       weight_concentration_prior=0.001, max_iter=100, n_init=1, tol=1e-3, reg_covar=1e-6)
        t = time.perf_counter()
        gm.fit(x)
        best = min(best, time.perf_counter() - t)
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}" for i in threadpool_info())
    print(json.dumps({"blas": blas, "seconds": best, "n_iter": int(gm.n_iter_), "lower_bound": float(gm.lower_bound_), "rows": int(x.shape[0])}))


if __name__ == "__main__":
    main()
