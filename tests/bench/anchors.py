"""The bench's Python anchors, one process per step so that each gets its own peak RSS.

  anchors.py fit <data.csv> <column> <seed> <workdir>
      scikit-learn's BayesianGaussianMixture with CTAB-GAN's settings (k-means init,
      random_state=seed) on the column, timed; writes fit.json (seconds, the fitted weights,
      means and variances, the k-means centres the fit started from, the kept modes) and
      gm.pickle for the steps below.
  anchors.py transform <data.csv> <column> <seed> <workdir>
      the research transform (CTAB-GAN's DataTransformer, written here from the algorithm)
      timed; writes transform.json (seconds, sampled modes per component) and encoded.npy.
  anchors.py inverse <data.csv> <column> <seed> <workdir>
      the research inverse of encoded.npy, timed; writes inverse.json (seconds, values that do
      not decode back).

Timings cover the algorithm on arrays in memory, not reading the CSV (vgmflow's CLI figures
include its file I/O; the bench's README says so). Run from the bench venv
(tests/bench/setup-venv.sh), without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE.
"""
import json
import os
import pickle
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.mixture import BayesianGaussianMixture
from threadpoolctl import threadpool_info

# CTAB-GAN's transformer settings.
N_COMPONENTS = 10
EPS = 0.005


def read_column(path: str, column: str) -> np.ndarray:
    with open(path) as f:
        header = f.readline().strip().split(",")
    at = header.index(column)
    x = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(at,), dtype=np.float64, ndmin=1)
    return x.reshape(-1, 1)


def dump(path: str, obj: dict) -> None:
    with open(path, "w") as f:
        json.dump(obj, f)


def fit(x: np.ndarray, seed: int, work: str) -> None:
    gm = BayesianGaussianMixture(n_components=N_COMPONENTS, weight_concentration_prior_type="dirichlet_process",
                                 weight_concentration_prior=0.001, max_iter=100, n_init=1, tol=1e-3,
                                 reg_covar=1e-6, init_params="kmeans", random_state=seed)
    t = time.perf_counter()
    gm.fit(x)
    seconds = time.perf_counter() - t
    # The centres the fit's k-means found: BayesianGaussianMixture builds a RandomState from
    # the seed and hands it to KMeans(n_init=1) before drawing anything else, so the same
    # call reproduces them; vgmflow starts from them (--init-means) and must then agree.
    centres = KMeans(n_clusters=N_COMPONENTS, n_init=1, random_state=np.random.RandomState(seed)).fit(x).cluster_centers_[:, 0]
    # CTAB-GAN keeps a component when its weight exceeds eps and it is some row's argmax.
    used = np.unique(gm.predict(x))
    kept = [int(k) for k in range(N_COMPONENTS) if gm.weights_[k] > EPS and k in used]
    with open(os.path.join(work, "gm.pickle"), "wb") as f:
        pickle.dump({"gm": gm, "kept": kept}, f)
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}" for i in threadpool_info())
    dump(os.path.join(work, "fit.json"), {
        "seconds": seconds, "rows": int(x.shape[0]), "n_iter": int(gm.n_iter_), "converged": bool(gm.converged_),
        "lower_bound": float(gm.lower_bound_), "weights": gm.weights_.tolist(), "means": gm.means_[:, 0].tolist(),
        "variances": gm.covariances_[:, 0, 0].tolist(), "initial_means": centres.tolist(), "kept": kept,
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "sklearn": sklearn.__version__, "blas": blas},
    })


def load_model(work: str):
    with open(os.path.join(work, "gm.pickle"), "rb") as f:
        saved = pickle.load(f)
    gm = saved["gm"]
    kept = np.zeros(N_COMPONENTS, dtype=bool)
    kept[saved["kept"]] = True
    return gm, kept, gm.means_[:, 0], np.sqrt(gm.covariances_[:, 0, 0])


def research_transform(x: np.ndarray, gm, kept: np.ndarray, means: np.ndarray, stds: np.ndarray, rng: np.random.RandomState):
    """CTAB-GAN's continuous-column transform: alpha of each kept mode, a mode drawn per row
    from the posterior over kept modes (p + 1e-6, renormalised), alpha clipped to ±0.99, the
    one-hot reordered by how often each mode was drawn in this call."""
    n = x.shape[0]
    features = (x - means[None, :]) / (4 * stds[None, :])
    probs = gm.predict_proba(x)
    n_opts = int(kept.sum())
    features = features[:, kept]
    probs = probs[:, kept]
    selected = np.zeros(n, dtype=np.int64)
    options = np.arange(n_opts)
    for i in range(n):
        p = probs[i] + 1e-6
        p = p / p.sum()
        selected[i] = rng.choice(options, p=p)
    rows = np.arange(n)
    alpha = np.clip(features[rows, selected].reshape(-1, 1), -0.99, 0.99)
    onehot = np.zeros_like(probs)
    onehot[rows, selected] = 1
    order = np.argsort(-1 * onehot.sum(axis=0))
    reordered = np.zeros_like(onehot)
    for position, mode in enumerate(order):
        reordered[:, position] = onehot[:, mode]
    return np.concatenate([alpha, reordered], axis=1), order, selected


def research_inverse(encoded: np.ndarray, order: np.ndarray, kept: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """CTAB-GAN's inverse: undo the one-hot order, clip alpha to ±1, take the argmax mode."""
    n = encoded.shape[0]
    u = encoded[:, 0]
    v = encoded[:, 1:1 + int(kept.sum())]
    unordered = np.zeros_like(v)
    for position, mode in enumerate(order):
        unordered[:, mode] = v[:, position]
    u = np.clip(u, -1, 1)
    full = np.ones((n, N_COMPONENTS)) * -100
    full[:, kept] = unordered
    k = np.argmax(full, axis=1)
    return u * 4 * stds[k] + means[k]


def main() -> None:
    step, path, column, seed, work = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    x = read_column(path, column)
    if step == "fit":
        fit(x, seed, work)
        return
    gm, kept, means, stds = load_model(work)
    kept_components = np.flatnonzero(kept)
    if step == "transform":
        t = time.perf_counter()
        encoded, order, selected = research_transform(x, gm, kept, means, stds, np.random.RandomState(seed))
        seconds = time.perf_counter() - t
        np.save(os.path.join(work, "encoded.npy"), encoded)
        np.save(os.path.join(work, "order.npy"), order)
        counts = np.bincount(selected, minlength=kept_components.size)
        dump(os.path.join(work, "transform.json"), {
            "seconds": seconds, "rows": int(x.shape[0]),
            "mode_counts": {str(int(c)): int(n) for c, n in zip(kept_components, counts)},
            "clipped": int(np.sum(np.abs(((x[:, 0] - means[kept_components[selected]]) / (4 * stds[kept_components[selected]]))) > 0.99)),
        })
    elif step == "inverse":
        encoded = np.load(os.path.join(work, "encoded.npy"))
        order = np.load(os.path.join(work, "order.npy"))
        t = time.perf_counter()
        decoded = research_inverse(encoded, order, kept, means, stds)
        seconds = time.perf_counter() - t
        off = np.abs(decoded - x[:, 0]) > 1e-9 * np.maximum(1, np.abs(x[:, 0]))
        dump(os.path.join(work, "inverse.json"), {"seconds": seconds, "rows": int(x.shape[0]), "not_decoded": int(off.sum())})
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main()
