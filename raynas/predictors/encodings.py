"""Encoders turning architectures (and devices) into predictor features.

* :func:`onehot` — one-hot per decision (a per-op additive model when fed to a linear predictor);
* :func:`analytic` — analytic cost features of the built network (:mod:`raynas.predictors.features`),
  standardised or raw; :func:`cost_columns` the raw non-negative additive costs (MACs, params,
  memory, op counts) that NNLS-style predictors combine like source devices;
* :func:`source_latencies` — latencies of the architectures on source devices (the transfer encoding);
* :func:`hardware_embedding` — a device's latencies of the space's reference architectures
  (see :func:`raynas.hardware.registry.hardware_embedding`), repeated per row;
* :func:`concat` — column-wise concatenation, remembering block sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from raynas.predictors.features import BASIC_FEATURES, FEATURE_NAMES


def onehot(space, archs: Sequence) -> np.ndarray:
    """``[len(archs), decisions * ops]`` one-hot matrix."""
    return np.stack([space.encode_onehot(a) for a in archs]).astype(np.float64)


def moments(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of ``F``, a constant column's deviation taken as 1 (so
    standardising only centres it)."""
    sd = F.std(0)
    return F.mean(0), np.where(sd > 0, sd, 1.0)


def standardise(F: np.ndarray) -> np.ndarray:
    mean, scale = moments(F)
    return (F - mean) / scale


def analytic(features: np.ndarray, basic: bool = False, standardised: bool = False) -> np.ndarray:
    """Select the :data:`BASIC_FEATURES` (7, the issue's baseline) or all :data:`FEATURE_NAMES`."""
    F = features[:, [FEATURE_NAMES.index(n) for n in BASIC_FEATURES]] if basic else features
    return standardise(F) if standardised else F


def cost_names() -> list[str]:
    """Names of :func:`cost_columns` (before constant columns are dropped): the ``log_*`` features
    undone, then the counts."""
    return ([n[len("log_"):] for n in FEATURE_NAMES if n.startswith("log_")]
            + [n for n in FEATURE_NAMES if n.startswith("n_")])


def cost_columns(features: np.ndarray, drop_constant: bool = True) -> np.ndarray:
    """Raw non-negative additive costs from a :data:`FEATURE_NAMES` matrix: ``log_*`` features are
    undone (``expm1``), counts kept (order: :func:`cost_names`); constant columns dropped unless
    ``drop_constant=False`` (keep it off when two spaces must share the columns)."""
    logi = [i for i, n in enumerate(FEATURE_NAMES) if n.startswith("log_")]
    cnt = [i for i, n in enumerate(FEATURE_NAMES) if n.startswith("n_")]
    C = np.hstack([np.expm1(features[:, logi]), features[:, cnt]])
    return C[:, C.std(0) > 0] if drop_constant else C


def source_latencies(latency: np.ndarray, devices: Sequence[str], sources: Sequence[str]) -> np.ndarray:
    """Columns of ``latency`` for ``sources`` (names), in that order."""
    from raynas.errors import UnknownNameError

    idx = []
    for s in sources:
        if s not in devices:
            raise UnknownNameError(f"source device {s!r} unknown; known: {', '.join(devices)}")
        idx.append(list(devices).index(s))
    return latency[:, idx]


def hardware_embedding(embedding: np.ndarray, n_rows: int) -> np.ndarray:
    """A device embedding repeated for ``n_rows`` architectures (to concatenate with an arch encoding)."""
    e = np.asarray(embedding, dtype=np.float64).reshape(1, -1)
    return np.repeat(e, n_rows, axis=0)


def concat(*blocks: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Concatenate 2-D blocks column-wise; returns the matrix and each block's width."""
    blocks = [np.asarray(b, dtype=np.float64) for b in blocks if b is not None]
    return np.hstack(blocks), [b.shape[1] for b in blocks]


def transfer_encoding(sources: np.ndarray, features: np.ndarray, onehot_matrix: np.ndarray | None = None):
    """The encoding :class:`raynas.predictors.models.RaynasTransfer` expects:
    ``[sources | cost columns | standardised features (| one-hot)]``; returns ``(X, n_source, n_cost)``."""
    C = cost_columns(features)
    X, _ = concat(sources, C, standardise(features), onehot_matrix)
    return X, sources.shape[1], C.shape[1]
