"""Which architectures to measure on a new device: ``random``, ``kmeans`` and ``farthest`` (diversity
in an encoding space), ``uncertainty`` (largest disagreement of a bootstrap ensemble, given a model)."""

from __future__ import annotations

import numpy as np

from raynas.errors import InvalidConfigError

STRATEGIES = ("random", "kmeans", "farthest")


def _check(X, n):
    X = np.asarray(X, dtype=np.float64)
    if not 1 <= n <= len(X):
        raise InvalidConfigError(f"cannot choose {n} of {len(X)} architectures")
    return X


def random_sample(X, n: int, seed: int = 0) -> np.ndarray:
    X = _check(X, n)
    return np.random.default_rng(seed).choice(len(X), n, replace=False)


def farthest_point(X, n: int, seed: int = 0) -> np.ndarray:
    """Greedy farthest-point (max-min distance) selection from a random start."""
    X = _check(X, n)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(X)))]
    d = np.linalg.norm(X - X[chosen[0]], axis=1)
    for _ in range(n - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(X - X[i], axis=1))
    return np.array(chosen)


def kmeans_sample(X, n: int, seed: int = 0) -> np.ndarray:
    """The architecture nearest each of ``n`` k-means centroids (distinct)."""
    from sklearn.cluster import KMeans

    X = _check(X, n)
    km = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(X)
    chosen: list[int] = []
    for c in km.cluster_centers_:
        order = np.argsort(np.linalg.norm(X - c, axis=1))
        chosen.append(int(next(i for i in order if i not in chosen)))
    return np.array(chosen)


def uncertainty_sample(X, n: int, model_factory, X_known, y_known, n_models: int = 8, seed: int = 0) -> np.ndarray:
    """The ``n`` architectures on which bootstrap refits of ``model_factory()`` on the known samples
    disagree most (std of log predictions)."""
    X = _check(X, n)
    rng = np.random.default_rng(seed)
    X_known, y_known = np.asarray(X_known), np.asarray(y_known)
    preds = []
    for _ in range(n_models):
        b = rng.choice(len(y_known), len(y_known), replace=True)
        preds.append(np.log(np.maximum(model_factory().fit(X_known[b], y_known[b]).predict(X), 1e-9)))
    return np.argsort(-np.std(preds, axis=0))[:n]


def choose(strategy: str, X, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` rows of ``X`` picked by ``strategy`` (one of :data:`STRATEGIES`)."""
    fn = {"random": random_sample, "kmeans": kmeans_sample, "farthest": farthest_point}.get(strategy)
    if fn is None:
        raise InvalidConfigError(f"unknown sampling strategy {strategy!r}; choose one of {list(STRATEGIES)}")
    return fn(X, n, seed)
