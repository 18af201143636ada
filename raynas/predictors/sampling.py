"""Which architectures to measure on a new device.

* ``random``: uniformly at random;
* ``kmeans`` / ``farthest``: diversity in an encoding space (the architecture nearest each k-means
  centroid; greedy max-min distance);
* ``uncertainty``: sequential — measure ``start`` random architectures, then repeatedly the ``batch``
  on which a bootstrap ensemble of the predictor (refitted on everything measured so far) disagrees
  most; needs a ``model_factory`` and a ``measure(indices) -> latencies`` callable.
"""

from __future__ import annotations

import numpy as np

from raynas.errors import InvalidConfigError

STRATEGIES = ("random", "kmeans", "farthest", "uncertainty")


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


def uncertainty_sample(X, n: int, model_factory, measure, start: int = 5, batch: int = 5, n_models: int = 4,
                       seed: int = 0) -> np.ndarray:
    """Sequential uncertainty sampling (see the module docstring): indices of the ``n`` architectures
    measured, in measurement order. ``model_factory()`` returns an unfitted predictor taking rows of
    ``X``; ``measure(idx)`` returns the target values of those rows."""
    X = _check(X, n)
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(len(X), min(start, n), replace=False))
    y = list(np.asarray(measure(np.array(chosen)), dtype=float))
    while len(chosen) < n:
        preds = []
        for _ in range(n_models):
            b = rng.choice(len(chosen), len(chosen), replace=True)
            if len(set(b.tolist())) < 2:
                b = np.arange(len(chosen))
            m = model_factory().fit(X[np.array(chosen)[b]], np.asarray(y)[b])
            preds.append(np.log(np.maximum(m.predict(X), 1e-9)))
        spread = np.std(preds, axis=0)
        spread[chosen] = -np.inf
        new = [int(i) for i in np.argsort(-spread)[: min(batch, n - len(chosen))]]
        chosen += new
        y += list(np.asarray(measure(np.array(new)), dtype=float))
    return np.array(chosen)


def choose(strategy: str, X, n: int, seed: int = 0, model_factory=None, measure=None, **kwargs) -> np.ndarray:
    """Indices of ``n`` rows of ``X`` picked by ``strategy`` (one of :data:`STRATEGIES`);
    ``uncertainty`` also needs ``model_factory`` and ``measure`` (see :func:`uncertainty_sample`)."""
    if strategy == "uncertainty":
        if model_factory is None or measure is None:
            raise InvalidConfigError("uncertainty sampling needs model_factory and measure(indices)")
        return uncertainty_sample(X, n, model_factory, measure, seed=seed, **kwargs)
    fn = {"random": random_sample, "kmeans": kmeans_sample, "farthest": farthest_point}.get(strategy)
    if fn is None:
        raise InvalidConfigError(f"unknown sampling strategy {strategy!r}; choose one of {list(STRATEGIES)}")
    return fn(X, n, seed)
