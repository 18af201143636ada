"""Latency predictors with the scikit-learn ``fit(X, y)`` / ``predict(X)`` contract.

Few-shot transfer to a target device uses an encoding whose first ``n_source`` columns are the
latencies (ms) of the same architectures on *source* devices (published tables, measured devices)
and whose remaining columns are architecture features (analytic cost features, one-hot). Everything
here is deterministic given its inputs.

Baselines (strong ones; an honest comparison needs them, `benchmarks/predictor_transfer.py` runs them all):

* :class:`OneHotRidge` — ridge on the one-hot encoding of the n target samples.
* :class:`AnalyticRidge` — ridge on analytic cost features (log MACs, params, memory, op counts).
* :class:`NearestSourceDevice` — the source column whose Spearman rho with the n target samples is highest.
* :class:`NNLSTransfer` — non-negative least squares of the target on all source columns.

raynas's transfer predictors:

* :class:`SourcePriorTransfer` — Bayesian linear regression of log latency on a low-rank basis of
  the sources' log-latency matrix, with the prior over coefficients estimated from the source devices
  themselves (each source is one draw of "a device"), so n = 5 samples already give a sensible device;
  blended with NNLS, and a ridge on architecture features fits what the sources cannot explain.
* :class:`RaynasTransfer` — the one benchmarks report: a :class:`SourcePriorTransfer` whose rank and
  NNLS weight are chosen leave-one-source-out on the sources (:func:`select_source_prior`), stacked by
  leave-one-out on the n samples with an additive cost model and a residual ridge.

Measured (``benchmarks/predictor_transfer.py``, leave-one-device-out over every column, mean of
20 targets): NB201 rho 0.967 / 0.975 / 0.978 at n = 5 / 10 / 20 against 0.965 / 0.968 / 0.972 for
the best baseline (NNLS).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.optimize import nnls
from scipy.stats import rankdata, spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_is_fitted

from raynas.errors import InvalidConfigError
from raynas.predictors.encodings import moments

_ALPHAS = np.logspace(-3, 4, 15)


def _check_xy(X, y=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidConfigError(f"X must be 2-D [n_archs, n_features], got shape {X.shape}")
    if y is None:
        return X
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(X):
        raise InvalidConfigError(f"X has {len(X)} rows but y has {len(y)} values")
    if len(y) < 2:
        raise InvalidConfigError(f"need at least 2 target samples, got {len(y)}")
    return X, y


def _split(X: np.ndarray, n_source: int | None) -> tuple[np.ndarray, np.ndarray]:
    k = X.shape[1] if n_source is None else int(n_source)
    if not 0 < k <= X.shape[1]:
        raise InvalidConfigError(f"n_source={n_source} does not fit X with {X.shape[1]} columns")
    return X[:, :k], X[:, k:]


class _Standardised(BaseEstimator, RegressorMixin):
    """Ridge on standardised features with alpha by leave-one-out (GCV); optional log target."""

    def __init__(self, alphas=tuple(_ALPHAS), log_target: bool = True):
        self.alphas = alphas
        self.log_target = log_target

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        self.mean_, self.scale_ = moments(X)
        t = np.log(np.maximum(y, 1e-9)) if self.log_target else y
        self.model_ = RidgeCV(alphas=list(self.alphas), store_cv_results=True).fit((X - self.mean_) / self.scale_, t)
        return self

    def predict(self, X):
        check_is_fitted(self, "model_")
        t = self.model_.predict((_check_xy(X) - self.mean_) / self.scale_)
        return np.exp(t) if self.log_target else t


class OneHotRidge(_Standardised):
    """Baseline: ridge on the one-hot encoding (per-decision additive model) of the n target samples.
    ``X`` is the one-hot matrix (:meth:`CategoricalSpace.encode_onehot` rows)."""


class AnalyticRidge(_Standardised):
    """Baseline: ridge on analytic cost features (:data:`raynas.predictors.features.BASIC_FEATURES`).
    ``X`` is the feature matrix."""


class NearestSourceDevice(BaseEstimator, RegressorMixin):
    """Baseline: predict with the source column that ranks the n target samples best (Spearman),
    rescaled linearly to the target. ``X`` = source latencies, one column per source device."""

    def __init__(self, n_source: int | None = None):
        self.n_source = n_source

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        S, _ = _split(X, self.n_source)
        rho = np.array([spearmanr(S[:, j], y)[0] if np.ptp(S[:, j]) > 0 else -np.inf for j in range(S.shape[1])])
        rho = np.nan_to_num(rho, nan=-np.inf)
        self.source_ = int(np.argmax(rho))
        self.rho_ = rho
        x = S[:, self.source_]
        self.slope_, self.intercept_ = (np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(y.mean())))
        return self

    def predict(self, X):
        check_is_fitted(self, "source_")
        S, _ = _split(_check_xy(X), self.n_source)
        return self.slope_ * S[:, self.source_] + self.intercept_


class NNLSTransfer(BaseEstimator, RegressorMixin):
    """Baseline: ``y ~ sum_j w_j * source_j`` with ``w >= 0`` (plus a non-negative intercept).
    ``relative=True`` weights rows by ``1 / y`` (fits relative rather than absolute error)."""

    def __init__(self, n_source: int | None = None, intercept: bool = True, relative: bool = False):
        self.n_source = n_source
        self.intercept = intercept
        self.relative = relative

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        S, _ = _split(X, self.n_source)
        A = np.hstack([S, np.ones((len(S), 1))]) if self.intercept else S
        w = 1.0 / np.maximum(np.abs(y), 1e-9) if self.relative else np.ones_like(y)
        coef, _ = nnls(A * w[:, None], y * w)
        self.coef_ = coef[: S.shape[1]]
        self.intercept_ = float(coef[-1]) if self.intercept else 0.0
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        S, _ = _split(_check_xy(X), self.n_source)
        return S @ self.coef_ + self.intercept_


class SourcePriorTransfer(BaseEstimator, RegressorMixin):
    """raynas's few-shot latency transfer.

    ``X`` = ``[source latencies (n_source columns) | architecture features]``.

    1. :meth:`pretrain` (optional but recommended) sees the encoding of *all* architectures of the
       space (no target latencies): it takes the log-latency matrix of the sources, a rank-``rank``
       SVD basis ``U``, and each source device's coordinates in it; their mean and covariance are the
       prior of "a device". Without ``pretrain``, the rows given to ``fit`` are used.
    2. :meth:`fit` on n target samples: Bayesian linear regression of ``log y`` on ``[1, U]`` with that
       prior (posterior mean), noise variance from the sources' reconstruction error — so n = 5 gives a
       device between the typical source and the data, and large n follow the data.
    3. The posterior log prediction is averaged with the log prediction of a relative-error NNLS
       of the target on the sources (weight ``nnls_weight``), then a ridge on the architecture
       features (alpha by leave-one-out) fits the
       log residual of the n samples (shrunk to zero when it does not help).
    """

    def __init__(self, n_source: int | None = None, rank: int = 12, prior_scale: float = 1.0,
                 nnls_weight: float = 0.5, residual: bool = True, noise_floor: float = 1e-3):
        self.n_source = n_source
        self.rank = rank
        self.prior_scale = prior_scale
        self.nnls_weight = nnls_weight
        self.residual = residual
        self.noise_floor = noise_floor

    # -- pre-training on the sources ----------------------------------------------------------
    def pretrain(self, X):
        """Learn the basis and the device prior from the sources' latencies of every architecture."""
        X = _check_xy(X)
        S, _ = _split(X, self.n_source)
        L = np.log(np.maximum(S, 1e-9))
        self.col_mean_ = L.mean(0)
        Lc = L - self.col_mean_
        self.row_center_ = Lc.mean(1)  # average device's deviation per architecture
        # thin SVD through the small Gram matrix (n_sources x n_sources): fast for tall tables
        evals, V = np.linalg.eigh(Lc.T @ Lc)
        order = np.argsort(evals)[::-1]
        s = np.sqrt(np.clip(evals[order], 0.0, None))
        Vt = V[:, order].T
        k = max(1, min(self.rank, int(np.sum(s > 1e-6 * s[0])) if s[0] > 0 else 1))
        self.k_ = k
        self.s_ = s[:k]
        self.Vt_ = Vt[:k]
        # coordinates of source d in basis U[:, :k]: Lc[:, d] = U diag(s) Vt[:, d]
        coords = (s[:k, None] * Vt[:k]).T  # [n_sources, k]
        self.prior_mean_ = coords.mean(0)
        cov = np.cov(coords.T) if coords.shape[0] > 1 else np.eye(k)
        cov = np.atleast_2d(cov) * self.prior_scale
        self.prior_cov_ = cov + np.eye(k) * (1e-3 * np.trace(cov) / k + 1e-9)
        # the rank-k reconstruction error is the energy of the trailing singular values
        self.noise_var_ = max(float(np.sum(s[k:] ** 2) / Lc.size), self.noise_floor**2)
        self.n_pretrain_ = len(S)
        return self

    def _basis(self, S: np.ndarray) -> np.ndarray:
        """Rows of ``U`` for any architectures, by projecting their source log-latencies."""
        Lc = np.log(np.maximum(S, 1e-9)) - self.col_mean_
        return Lc @ self.Vt_.T / self.s_

    # -- few-shot fit ---------------------------------------------------------------------------
    def fit(self, X, y):
        X, y = _check_xy(X, y)
        if not hasattr(self, "prior_mean_"):
            self.pretrain(X)
        S, F = _split(X, self.n_source)
        z = np.log(np.maximum(y, 1e-9))
        B = self._basis(S)
        # Bayesian linear regression: z = a + B c + e, c ~ N(m, C), a flat (large variance)
        Phi = np.hstack([np.ones((len(B), 1)), B])
        m0 = np.concatenate([[z.mean() - B.mean(0) @ self.prior_mean_], self.prior_mean_])
        C0 = np.zeros((self.k_ + 1, self.k_ + 1))
        C0[0, 0] = 1e4
        C0[1:, 1:] = self.prior_cov_
        P0 = np.linalg.inv(C0)
        A = P0 + Phi.T @ Phi / self.noise_var_
        self.coef_ = np.linalg.solve(A, P0 @ m0 + Phi.T @ z / self.noise_var_)
        self.nnls_ = NNLSTransfer(n_source=S.shape[1], relative=True).fit(S, y)
        base = self._base(S)
        self.residual_model_ = None
        if self.residual and F.shape[1] > 0 and len(y) >= 8:
            r = z - base
            self.residual_model_ = _Standardised(log_target=False).fit(F, r)
        return self

    def _bayes(self, S):
        B = self._basis(S)
        return self.coef_[0] + B @ self.coef_[1:]

    def _base(self, S):
        zb = self._bayes(S)
        if self.nnls_weight <= 0:
            return zb
        zn = np.log(np.maximum(self.nnls_.predict(S), 1e-9))
        return (1 - self.nnls_weight) * zb + self.nnls_weight * zn

    def predict(self, X):
        check_is_fitted(self, "coef_")
        S, F = _split(_check_xy(X), self.n_source)
        z = self._base(S)
        if self.residual_model_ is not None:
            z = z + self.residual_model_.predict(F)
        return np.exp(z)


def _stack_errors(loo: np.ndarray, z: np.ndarray, combos) -> np.ndarray:
    """Mean squared log error of each ``(nnls weight, cost weight, feature weight)`` blend of the
    members' leave-one-out predictions ``loo`` (:meth:`RaynasTransfer._loo_members`)."""
    return np.array([np.mean(((1 - a - b) * ((1 - w) * loo[:, 0] + w * loo[:, 1]) + a * loo[:, 2]
                              + b * loo[:, 3] - z) ** 2) for w, a, b in combos])


def spearman(a, b) -> float:
    """Spearman rho (average ranks), NaN when either side is constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


class _NNLSCols:
    """Relative-error NNLS on column-normalised non-negative columns plus an intercept."""

    def fit(self, A, y):
        self.scale_ = np.maximum(np.abs(A).mean(0), 1e-12)
        M = np.hstack([A / self.scale_, np.ones((len(A), 1))])
        w = 1.0 / np.maximum(y, 1e-9)
        self.coef_, _ = nnls(M * w[:, None], y * w)
        return self

    def predict(self, A):
        return (A / self.scale_) @ self.coef_[:-1] + self.coef_[-1]


def _rho_ranked(pred: np.ndarray, y_rank: np.ndarray) -> float:
    """Spearman rho of ``pred`` against precomputed ranks (ordinal ranks of the prediction; 0 if constant)."""
    if np.ptp(pred) == 0:
        return 0.0
    r = np.empty(len(pred))
    r[np.argsort(pred, kind="stable")] = np.arange(len(pred))
    return float(np.corrcoef(r, y_rank)[0, 1])


def rank_correlations(S: np.ndarray) -> np.ndarray:
    """Spearman rho between every pair of columns of ``S`` (``[k, k]``)."""
    return np.atleast_2d(np.corrcoef(np.apply_along_axis(rankdata, 0, np.asarray(S, dtype=np.float64)),
                                     rowvar=False))


def new_device_sources(S: np.ndarray, j: int, groups=None, twin_rho: float | None = 0.95,
                       rho: np.ndarray | None = None) -> np.ndarray:
    """Columns of ``S`` that may serve as sources when source ``j`` plays a new device: not ``j``,
    not of its group (``groups[j]``, e.g. its hardware family), and -- with ``twin_rho`` -- none
    that ranks the architectures like it (Spearman >= ``twin_rho``), since a new device has no twin.
    ``rho``: :func:`rank_correlations` of ``S`` when the caller has it (it is the costly part)."""
    k = S.shape[1]
    keep = np.ones(k, dtype=bool)
    keep[j] = False
    if groups is not None:
        keep &= np.asarray([g != groups[j] for g in groups])
    if twin_rho is not None:
        keep &= (rank_correlations(S) if rho is None else rho)[j] < twin_rho
    return np.flatnonzero(keep)


def select_source_prior(S: np.ndarray, ranks=(3, 4, 6, 8), weights=(0.3, 0.5, 0.7), ns=(5, 10, 20),
                        draws: int = 2, n_eval: int = 1500, seed: int = 0, groups=None,
                        twin_rho: float | None = None) -> tuple[int, float, np.ndarray]:
    """Choose :class:`SourcePriorTransfer`'s ``rank`` and ``nnls_weight`` on the sources alone.

    Each source column in turn plays the target, the others (:func:`new_device_sources`: without its
    group and, with ``twin_rho``, its twins) are its sources, and ``n`` of its architectures
    (``ns`` x ``draws`` random draws) are its samples; the setting with the best mean Spearman rho
    over ``n_eval`` architectures wins. No target latency is used. Returns
    ``(rank, weight, mean rho [ranks x weights])``."""
    S = np.asarray(S, dtype=np.float64)
    k = S.shape[1]
    ranks = [r for r in ranks if r <= max(1, k - 2)] or [1]
    if k < 3 or len(S) < 5 * max(ns):  # too few sources or architectures to simulate transfers
        r = ranks[min(1, len(ranks) - 1)]
        return r, float(weights[len(weights) // 2]), np.zeros((len(ranks), len(weights)))
    rng = np.random.default_rng(seed)
    ev = rng.choice(len(S), min(n_eval, len(S)), replace=False)
    score, used = np.zeros((len(ranks), len(weights))), 0
    rho = rank_correlations(S) if twin_rho is not None else None
    for j in range(k):
        cols = new_device_sources(S, j, groups, twin_rho, rho)
        if len(cols) < 2:
            continue
        used += 1
        others, y = S[:, cols], S[:, j]
        y_rank = rankdata(y[ev])
        draws_idx = [rng.choice(len(S), n, replace=False) for n in ns for _ in range(draws)]
        for a, r in enumerate(ranks):
            base = SourcePriorTransfer(n_source=len(cols), rank=min(r, max(1, len(cols) - 1)),
                                       residual=False).pretrain(others)
            for b, w in enumerate(weights):
                m = copy.copy(base)
                m.nnls_weight = w
                score[a, b] += np.mean([_rho_ranked(m.fit(others[i], y[i]).predict(others[ev]), y_rank)
                                        for i in draws_idx])
    score /= max(used, 1)
    a, b = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(ranks[a]), float(weights[b]), score


def stack_combos(weights, grid, n_cost: int, use_feat: bool) -> list[tuple[float, float, float]]:
    """Every ``(w, a, b)`` of :class:`RaynasTransfer`'s stack: NNLS weight ``w`` in the source blend,
    cost-model weight ``a``, feature-ridge weight ``b`` (``a + b <= 1``)."""
    return [(float(w), float(a), float(b)) for w in sorted(set(weights))
            for a in (grid if n_cost > 0 else (0.0,)) for b in (grid if use_feat else (0.0,)) if a + b <= 1.0 + 1e-9]


def select_stack(S: np.ndarray, C: np.ndarray, R: np.ndarray, combos, rank: int, ns=(5, 10, 20, 50),
                 draws: int = 3, n_eval: int = 1500, seed: int = 0, groups=None,
                 twin_rho: float | None = 0.95) -> dict[int, tuple[float, float, float]]:
    """Choose :class:`RaynasTransfer`'s stack weights per sample count on the sources alone.

    Each source in turn plays a new device (its group and twins removed, :func:`new_device_sources`);
    for every ``n`` in ``ns``, ``draws`` random draws of ``n`` of its architectures fit the stack's
    members (source prior, cost NNLS, feature ridge), and the combination of ``combos`` with the
    best mean Spearman rho over ``n_eval`` architectures wins for that ``n``. Only those few
    weights are then applied to the target; nothing is chosen on its n samples."""
    S = np.asarray(S, dtype=np.float64)
    k = S.shape[1]
    rng = np.random.default_rng(seed)
    ev = rng.choice(len(S), min(n_eval, len(S)), replace=False)
    ns = [n for n in ns if n <= len(S) // 2]
    score = {n: np.zeros(len(combos)) for n in ns}
    counted = {n: 0 for n in ns}
    W = np.array([c[0] for c in combos])[:, None]
    A = np.array([c[1] for c in combos])[:, None]
    B = np.array([c[2] for c in combos])[:, None]
    rho = rank_correlations(S) if twin_rho is not None else None
    for j in range(k):
        cols = new_device_sources(S, j, groups, twin_rho, rho)
        if len(cols) < 2:
            continue
        others, y = S[:, cols], S[:, j]
        z = np.log(np.maximum(y, 1e-9))
        SC = np.hstack([others, C])
        y_rank = rankdata(y[ev])
        prior = SourcePriorTransfer(n_source=len(cols), rank=min(rank, max(1, len(cols) - 1)),
                                    residual=False).pretrain(others)
        for n in ns:
            for _ in range(draws):
                i = rng.choice(len(S), n, replace=False)
                m = copy.copy(prior).fit(others[i], y[i])
                zb, zn = m._bayes(others[ev]), np.log(np.maximum(m.nnls_.predict(others[ev]), 1e-9))
                zc = np.log(np.maximum(_NNLSCols().fit(SC[i], y[i]).predict(SC[ev]), 1e-9)) if C.shape[1] else zb
                zf = _Standardised(log_target=False).fit(R[i], z[i]).predict(R[ev]) if R.shape[1] else zb
                preds = (1 - A - B) * ((1 - W) * zb + W * zn) + A * zc + B * zf  # [combos, n_eval]
                score[n] += [_rho_ranked(p, y_rank) for p in preds]
            counted[n] += draws
    return {n: combos[int(np.argmax(score[n]))] for n in ns if counted[n]}


class RaynasTransfer(BaseEstimator, RegressorMixin):
    """raynas's few-shot latency transfer: a source prior, stacked with an additive cost model and a
    feature ridge whose weights were chosen on the source devices, plus a residual ridge.

    ``X`` = ``[source latencies (n_source) | non-negative cost columns (n_cost) | residual features]``:
    cost columns are raw additive costs of the architecture (MACs, parameters, activation memory,
    op counts: see :func:`raynas.predictors.encodings.cost_columns`), residual features anything
    standardisable (analytic features, ZCP encoding, one-hot).

    1. :meth:`pretrain` (optional, on the rows of every architecture; no target latency): a
       :class:`SourcePriorTransfer` on the sources, its ``rank`` and NNLS blend weight chosen by
       :func:`select_source_prior` (leave-one-source-out on the sources themselves). Without it,
       :meth:`fit` pretrains on the n rows it is given.
       With ``select="sources"`` (default) it also chooses the stack's weights per sample count
       (:func:`select_stack`): each source plays a new device with its group (``source_groups``,
       e.g. hardware families) removed -- and, with ``twin_rho``, every source ranking like it, for
       a target known to be unlike every source -- so the structure is chosen where a new device is
       simulated, not on the target's few samples.
    2. :meth:`fit` on n target samples: the prior's posterior (``base``) and, for ``n >= min_stack``,
       the log-geometric blend ``(1 - a - b) * base + a * cost + b * features`` with ``cost`` a
       relative-error NNLS on source *and* cost columns (a roofline-like additive model that can
       express devices the sources cannot) and ``features`` a ridge on the residual features. The
       weights are the ones chosen on the sources for the largest sample count not above the number
       of *distinct* target values (tied timings count once, so coarse timers get the cautious
       choice). With ``confirm=True`` the chosen blend is kept only when its leave-one-out error
       on the n samples is below the prior's by ``min_gain`` (``min_gain_small_n`` under 8 samples)
       -- one yes/no asked of the target, not a choice among weights -- else the prior is used
       alone: measured (``benchmarks/out/within_confirm.md``) it helps when the target's family is
       held out (NB201 +.001 to +.003, FBNet +.003 at n = 5) and hurts when no source ranks like
       the target (NB201 -.018 at n = 5), so it is off by default. ``select="loo"`` instead picks
       the weights by leave-one-out on the n samples (the earlier behaviour, which overfits small
       n). For ``n >= min_residual`` a ridge on the residual features is fitted to the log
       residual, kept only when its leave-one-out (GCV) error beats none.

    Example::

        >>> tab = load_space_table("fbnet")
        >>> S, y, names = tab.sources("raspi4")
        >>> X, k, c = transfer_encoding(S, tab.features())
        >>> groups = [tab.family(d) for d in names]
        >>> model = RaynasTransfer(n_source=k, n_cost=c, source_groups=groups).pretrain(X).fit(X[:10], y[:10])
    """

    def __init__(self, n_source: int | None = None, n_cost: int = 0, ranks=(3, 4, 6, 8), weights=(0.3, 0.5, 0.7),
                 grid=(0.0, 0.25, 0.5, 0.75, 1.0), loo_weights=(0.0, 0.5, 0.85, 1.0), min_gain: float = 0.05,
                 min_gain_small_n: float = 0.3, feature_member: bool = True, min_stack: int = 5,
                 min_residual: int = 20, seed: int = 0, select: str = "sources", source_groups=None,
                 twin_rho: float | None = None, select_ns=(5, 10, 20, 50), select_draws: int = 3,
                 confirm: bool = False):
        self.confirm = confirm
        self.select = select
        self.source_groups = source_groups
        self.twin_rho = twin_rho
        self.select_ns = select_ns
        self.select_draws = select_draws
        self.n_source = n_source
        self.n_cost = n_cost
        self.ranks = ranks
        self.weights = weights
        self.grid = grid
        self.loo_weights = loo_weights
        self.min_gain = min_gain
        self.min_gain_small_n = min_gain_small_n
        self.feature_member = feature_member
        self.min_stack = min_stack
        self.min_residual = min_residual
        self.seed = seed

    def _blocks(self, X):
        k = X.shape[1] - self.n_cost if self.n_source is None else int(self.n_source)
        if k <= 0 or k + self.n_cost > X.shape[1]:
            raise InvalidConfigError(
                f"n_source={self.n_source}, n_cost={self.n_cost} do not fit X with {X.shape[1]} columns")
        return X[:, :k], X[:, : k + self.n_cost], X[:, k + self.n_cost:]

    @staticmethod
    def _log(v):
        return np.log(np.maximum(v, 1e-9))

    def pretrain(self, X) -> RaynasTransfer:
        """Learn the source prior (and its settings) from the sources' latencies of every architecture."""
        S, SC, R = self._blocks(_check_xy(X))
        if self.select not in ("sources", "loo"):
            raise InvalidConfigError(f"select must be 'sources' or 'loo', got {self.select!r}")
        groups = None if self.source_groups is None else list(self.source_groups)
        if groups is not None and len(groups) != S.shape[1]:
            raise InvalidConfigError(f"source_groups has {len(groups)} labels for {S.shape[1]} source columns")
        self.rank_, self.nnls_weight_, self.selection_scores_ = select_source_prior(
            S, self.ranks, self.weights, seed=self.seed, groups=groups, twin_rho=self.twin_rho)
        self.prior_ = SourcePriorTransfer(n_source=S.shape[1], rank=self.rank_, nnls_weight=self.nnls_weight_,
                                          residual=False).pretrain(S)
        self.stack_choice_ = {}
        if self.select == "sources" and S.shape[1] >= 3:
            combos = stack_combos({*self.loo_weights, self.nnls_weight_}, self.grid, self.n_cost,
                                  self.feature_member and R.shape[1] > 0)
            self.stack_choice_ = select_stack(S, SC[:, S.shape[1]:], R, combos, self.rank_, self.select_ns,
                                              self.select_draws, seed=self.seed, groups=groups,
                                              twin_rho=self.twin_rho)
        return self

    def fit_prior(self, X, y) -> SourcePriorTransfer:
        """The source prior alone (no stack, no residual) fitted on ``(X, y)``: what :meth:`fit`
        starts from. Predict with the source columns, ``fitted.predict(X[:, :n_source])``."""
        X, y = _check_xy(X, y)
        if not hasattr(self, "prior_"):
            self.pretrain(X)
        return self._prior_fit(self._blocks(X)[0], y)

    def _prior_fit(self, S, y, weight: float | None = None):
        m = copy.copy(self.prior_)
        if weight is not None:
            m.nnls_weight = weight
        return m.fit(S, y)

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        if not hasattr(self, "prior_"):
            self.pretrain(X)
        S, SC, R = self._blocks(X)
        z = self._log(y)
        n = len(y)
        self.alpha_, self.beta_, self.weight_ = 0.0, 0.0, self.nnls_weight_
        use_feat = self.feature_member and R.shape[1] > 0
        chosen = getattr(self, "stack_choice_", None) if self.select == "sources" else None
        gain = self.min_gain if n >= 8 else self.min_gain_small_n
        if n >= self.min_stack and chosen:
            distinct = len(np.unique(np.round(z, 9)))  # tied timings count once
            fits = [m for m in sorted(chosen) if m <= distinct]
            if fits:
                w, a, b = chosen[fits[-1]]
                if self.confirm and (a > 0 or b > 0):  # the target's own samples must not contradict it
                    errs = _stack_errors(self._loo_members(S, SC, R, y, use_feat), z, [(w, a, b), (w, 0.0, 0.0)])
                    if not errs[0] < errs[1] * (1 - gain):
                        a = b = 0.0
                self.weight_, self.alpha_, self.beta_ = w, a, b
        elif n >= self.min_stack:
            combos = [(w, a, b) for w in sorted({*self.loo_weights, self.nnls_weight_})
                      for a in (self.grid if self.n_cost > 0 else (0.0,))
                      for b in (self.grid if use_feat else (0.0,)) if a + b <= 1.0 + 1e-9]
            errs = _stack_errors(self._loo_members(S, SC, R, y, use_feat), z, combos)
            default = combos.index((self.nnls_weight_, 0.0, 0.0))
            best = int(np.argmin(errs))
            if errs[best] < errs[default] * (1 - gain):
                self.weight_, self.alpha_, self.beta_ = (float(v) for v in combos[best])
            self.loo_errors_ = dict(zip(combos, errs))
        self.base_ = self._prior_fit(S, y, self.weight_)
        self.cost_ = _NNLSCols().fit(SC, y) if self.n_cost > 0 else None
        self.feat_ = _Standardised(log_target=False).fit(R, z) if self.beta_ > 0 else None
        self.residual_ = None
        if n >= self.min_residual and R.shape[1] > 0:
            r = z - self._stack(S, SC, R)
            res = _Standardised(log_target=False).fit(R, r)
            gcv = float(np.min(res.model_.cv_results_.mean(0)))
            if gcv < np.mean(r ** 2):
                self.residual_ = res
        return self

    def _loo_members(self, S, SC, R, y, use_feat: bool) -> np.ndarray:
        """``[n, 4]`` leave-one-out log predictions of the members: Bayesian prior, source NNLS,
        cost NNLS, feature ridge (0 for a member not used)."""
        n, z = len(y), self._log(y)
        loo = np.zeros((n, 4))
        for i in range(n):
            keep = np.arange(n) != i
            m = self._prior_fit(S[keep], y[keep])
            loo[i, 0] = m._bayes(S[i:i + 1])[0]
            loo[i, 1] = self._log(m.nnls_.predict(S[i:i + 1]))[0]
            if self.n_cost > 0:
                loo[i, 2] = self._log(_NNLSCols().fit(SC[keep], y[keep]).predict(SC[i:i + 1]))[0]
            if use_feat:
                loo[i, 3] = _Standardised(log_target=False).fit(R[keep], z[keep]).predict(R[i:i + 1])[0]
        return loo

    def _stack(self, S, SC, R):
        z = (1 - self.alpha_ - self.beta_) * self._log(self.base_.predict(S))
        if self.alpha_ > 0:
            z = z + self.alpha_ * self._log(self.cost_.predict(SC))
        if self.beta_ > 0:
            z = z + self.beta_ * self.feat_.predict(R)
        return z

    def predict(self, X):
        check_is_fitted(self, "base_")
        S, SC, R = self._blocks(_check_xy(X))
        z = self._stack(S, SC, R)
        if self.residual_ is not None:
            z = z + self.residual_.predict(R)
        return np.exp(z)
