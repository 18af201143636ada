"""The zero-cost-proxy (ZCP) encoding of Multi-Predict: a vector of proxy values per architecture.

Multi-Predict (Akhauri & Abdelfattah, AutoML-Conf 2023) encodes an architecture by the values of
NASLib's zero-cost proxies, each min-max normalised over the search space, so that one predictor
sees architectures of different spaces (NB201 cells, FBNet chains) in the same coordinates.

raynas computes the proxies with :mod:`raynas.proxies` and keeps them in a
:class:`raynas.proxies.ProxyTable` CSV (in the raynas cache directory by default, :mod:`raynas.paths`), so each value is computed
once and shared with the proxy benchmarks.

Chosen set (:data:`ZCP_PROXIES`) and batch (:data:`ZCP_BATCH`), measured on this 2-core CPU under
contention: the data-free ``synflow, params, flops, path_params`` cost ~0.07 s per NB201 network
(0.15 s FBNet); ``naswot, jacob_cov, snip, grad_norm, fisher`` share one forward/backward and cost
~0.35 s per NB201 network on a 16-image batch (0.73 s FBNet) against ~1.7 s (7.4 s FBNet) on 64
images. The 16-image batch keeps all 15,625 NB201 and 5,000 FBNet networks within ~3 hours of one
core. ``grasp`` (a Hessian-vector product, 1-3 s per network) is left out: it is the paper's weakest
proxy after fisher and would triple the cost. Deliberate differences from the paper: 9 proxies
instead of NASLib's 13 (no grasp, zen, epe_nas, plain, l2_norm), a 16-image Fashion-MNIST stand-in
batch (this project has no CIFAR images), and a monotone log transform before the min-max
normalisation of the proxies that span orders of magnitude (:class:`ZCPEncoder`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from raynas.errors import InvalidConfigError
from raynas.proxies.table import DEFAULT_CACHE, BatchSpec, ProxyTable

#: Proxies of the encoding, in column order.
ZCP_PROXIES = ("synflow", "params", "flops", "path_params", "naswot", "jacob_cov", "snip", "grad_norm", "fisher")
#: Data-free members (no batch needed; the cheapest).
ZCP_DATA_FREE = ("synflow", "params", "flops", "path_params")
#: The stand-in batch every network of the encoding is scored on.
ZCP_BATCH = BatchSpec(source="fashion-mnist", size=16, image_size=32, channels=3, seed=0)


def zcp_table(space, batch: BatchSpec = ZCP_BATCH, num_classes: int = 10, init_seed: int = 0,
              cache_dir: str | os.PathLike | None = DEFAULT_CACHE,
              data_dir: str | os.PathLike | None = None) -> ProxyTable:
    """The :class:`ProxyTable` holding the encoding's proxy values for ``space``."""
    return ProxyTable(space, batch, num_classes=num_classes, init_seed=init_seed, cache_dir=cache_dir,
                      data_dir=data_dir)


def zcp_values(space, archs: Sequence, names: Sequence[str] = ZCP_PROXIES, *, table: ProxyTable | None = None,
               compute: bool = True, workers: int = 1, progress: bool = False, **table_kwargs) -> np.ndarray:
    """Raw proxy values ``[len(archs), len(names)]`` (failed values NaN).

    Missing values are computed (``workers`` processes) and written to the table's file when
    ``compute``; otherwise they stay NaN (use this to read whatever a background fill has done)."""
    table = table or zcp_table(space, **table_kwargs)
    archs = [tuple(int(v) for v in a) for a in archs]
    if compute:
        return table.fill(archs, list(names), workers=workers, progress=progress).to_numpy(dtype=float)
    df = table.table
    out = np.full((len(archs), len(names)), np.nan)
    if df.empty:
        return out
    keys = [space.arch_str(a) for a in archs]
    have = np.array([k in df.index for k in keys])
    cols = [n for n in names if n in df.columns]
    if have.any() and cols:
        import pandas as pd

        sub = df.loc[[k for k, h in zip(keys, have) if h], cols].apply(pd.to_numeric, errors="coerce")
        for j, n in enumerate(names):
            if n in cols:
                out[have, j] = sub[n].to_numpy(dtype=float)
    return out


def zcp_available(space, archs: Sequence, names: Sequence[str] = ZCP_PROXIES, **table_kwargs) -> np.ndarray:
    """Boolean mask of ``archs`` whose every proxy of ``names`` has been computed (failures count as
    computed: they are recorded as NaN)."""
    table = zcp_table(space, **table_kwargs)
    missing = set(table.missing([tuple(a) for a in archs], list(names)))
    return np.array([tuple(a) not in missing for a in archs])


class ZCPEncoder:
    """Min-max normalise proxy values over a space (Multi-Predict's encoding), after a monotone
    transform.

    ``fit(raw)`` learns, per column, whether to apply the signed log ``sign(v)·log1p(|v|)`` (when
    the finite values span more than ``log_ratio`` orders of magnitude, e.g. synflow, params,
    flops) and the min and max over ``raw`` (normally every architecture of the space, since the
    proxies need no labels). ``transform`` maps to ``[0, 1]`` (values outside the fitted range are
    clipped to ``[-0.5, 1.5]``); failed values (NaN) become the column's fitted median.
    Rank-preserving per column, so a proxy's own Spearman correlation is unchanged.
    """

    def __init__(self, log_ratio: float = 2.0):
        self.log_ratio = log_ratio

    @staticmethod
    def _slog(v):
        return np.sign(v) * np.log1p(np.abs(v))

    def fit(self, raw) -> ZCPEncoder:
        R = np.asarray(raw, dtype=np.float64)
        if R.ndim != 2 or len(R) < 2:
            raise InvalidConfigError(f"ZCPEncoder.fit needs a 2-D matrix of at least 2 rows, got shape {R.shape}")
        self.log_ = np.zeros(R.shape[1], dtype=bool)
        self.min_ = np.zeros(R.shape[1])
        self.max_ = np.ones(R.shape[1])
        self.fill_ = np.zeros(R.shape[1])
        for j in range(R.shape[1]):
            v = R[np.isfinite(R[:, j]), j]
            if len(v) == 0:
                continue
            a = np.abs(v[v != 0])
            self.log_[j] = len(a) > 0 and np.log10(a.max() / a.min()) > self.log_ratio
            t = self._slog(v) if self.log_[j] else v
            self.min_[j], self.max_[j] = float(t.min()), float(t.max())
            self.fill_[j] = float(np.median(t))
        return self

    def transform(self, raw) -> np.ndarray:
        if not hasattr(self, "min_"):
            raise InvalidConfigError("ZCPEncoder is not fitted: call fit(raw values of the space) first")
        R = np.asarray(raw, dtype=np.float64)
        if R.ndim != 2 or R.shape[1] != len(self.min_):
            raise InvalidConfigError(f"expected {len(self.min_)} proxy columns, got shape {R.shape}")
        T = np.where(self.log_, self._slog(R), R)
        T = np.where(np.isfinite(T), T, self.fill_)
        span = np.where(self.max_ > self.min_, self.max_ - self.min_, 1.0)
        return np.clip((T - self.min_) / span, -0.5, 1.5)

    def fit_transform(self, raw) -> np.ndarray:
        return self.fit(raw).transform(raw)


def zcp_encoding(space, archs: Sequence, names: Sequence[str] = ZCP_PROXIES, **kwargs) -> np.ndarray:
    """The normalised ZCP encoding of ``archs`` (normalised over ``archs`` themselves: pass every
    architecture of the space, or fit a :class:`ZCPEncoder` on them and transform subsets)."""
    return ZCPEncoder().fit_transform(zcp_values(space, archs, names, **kwargs))
