"""Latency transfer across search spaces (NB201 <-> FBNet) with no target-space latency in training.

The source devices' latencies are known only for architectures of the *source* space; the target
device has ``n`` measured architectures of the *target* space. What carries over is a
space-independent description of a network: its analytic costs (MACs, parameters, activation memory,
op counts, from :mod:`raynas.predictors.features`) and, for Multi-Predict, its zero-cost proxies.

* :class:`SourceBank` fits one model per source device on the source space (cost columns ->
  latency) and predicts every source device's latency for architectures of any space: *pseudo
  source columns* for the target space. With them, the within-space machinery applies unchanged:
  :class:`raynas.predictors.RaynasTransfer` on ``[pseudo sources | target costs | features]``.
* :class:`RooflineRidge` is the issue's baseline: per-source roofline fits
  ``a·MACs + b·memory + c·kernels`` on the source space, and a ridge of the target's n samples on
  those columns.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from raynas.errors import InvalidConfigError
from raynas.predictors.encodings import cost_columns, cost_names
from raynas.predictors.models import _check_xy, _NNLSCols, _Standardised

#: Cost columns of the roofline baseline.
ROOFLINE = ("macs", "act_mem", "kernels")


def roofline_columns(features: np.ndarray) -> np.ndarray:
    """``[MACs, activation memory, convolution kernels]`` per architecture, from a feature matrix."""
    C = cost_columns(features, drop_constant=False)
    names = cost_names()
    return np.stack([C[:, names.index("macs")], C[:, names.index("act_mem")],
                     C[:, names.index("n_dense_conv")] + C[:, names.index("n_dw_conv")]], axis=1)


class SourceBank(BaseEstimator):
    """One relative-error NNLS cost model per source device, fitted on the source space.

    ``fit(C, L)``: ``C`` non-negative cost columns of the source space's architectures (the same
    columns for every space: :func:`cost_columns` with ``drop_constant=False``), ``L`` their latencies
    ``[n_archs, n_sources]``. ``predict(C_any)`` -> ``[m, n_sources]`` predicted latencies, floored
    at a small positive value. Columns constant over the source space get no weight (the source
    cannot tell their cost), so a cost only the target space has (depthwise convolutions seen from
    NB201) is left to the target's own samples."""

    def fit(self, C, L):
        C = _check_xy(C)
        L = np.asarray(L, dtype=np.float64)
        if L.ndim != 2 or len(L) != len(C):
            raise InvalidConfigError(f"L must be [n_archs, n_sources] with {len(C)} rows, got shape {L.shape}")
        self.active_ = C.std(0) > 0
        self.models_ = [_NNLSCols().fit(C[:, self.active_], L[:, j]) for j in range(L.shape[1])]
        self.floor_ = np.maximum(L.min(0) * 0.05, 1e-6)
        return self

    def predict(self, C):
        check_is_fitted(self, "models_")
        C = _check_xy(C)
        if C.shape[1] != len(self.active_):
            raise InvalidConfigError(f"expected {len(self.active_)} cost columns, got {C.shape[1]}")
        P = np.stack([m.predict(C[:, self.active_]) for m in self.models_], axis=1)
        return np.maximum(P, self.floor_)


class RooflineRidge(BaseEstimator, RegressorMixin):
    """Cross-space baseline: ridge of the target's log latency on per-source roofline predictions.

    ``X`` = roofline predictions of every source device for the target space's architectures
    (:meth:`columns` builds them from source-space features and latencies)."""

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        self.model_ = _Standardised(log_target=True).fit(np.log(np.maximum(X, 1e-9)), y)
        return self

    def predict(self, X):
        check_is_fitted(self, "model_")
        return self.model_.predict(np.log(np.maximum(_check_xy(X), 1e-9)))

    @staticmethod
    def columns(source_features: np.ndarray, source_latency: np.ndarray, target_features: np.ndarray) -> np.ndarray:
        """Per-source roofline fits on the source space, evaluated on the target space."""
        bank = SourceBank().fit(roofline_columns(source_features), source_latency)
        return bank.predict(roofline_columns(target_features))


def pseudo_sources(source_features: np.ndarray, source_latency: np.ndarray, target_features: np.ndarray) -> np.ndarray:
    """Every source device's predicted latency for the target architectures (:class:`SourceBank` on
    all cost columns)."""
    bank = SourceBank().fit(cost_columns(source_features, drop_constant=False), source_latency)
    return bank.predict(cost_columns(target_features, drop_constant=False))
