"""Surrogate models of minimised objectives over architectures, refitted as results are told.

Both models share one interface, so :class:`~raynas.strategies.ZeroCostStrategy` does not know which
it uses: ``fit(archs, x, y)``, ``predict(archs, x) -> (mean, std)`` in the objectives' units,
``sample(archs, x, n, rng) -> [n, m, k]`` draws from the predictive distribution, and
``posterior(archs, x)`` that distribution itself (:class:`Posterior`: its ``cdf`` serves the exact
expected hypervolume improvement of :mod:`raynas.strategies.zero_cost`). ``archs`` are the
architectures' decision vectors (``[m, D]`` integers), ``x`` their features: the one-hot encoding
followed by ``n_scores`` zero-cost scores; ``y`` one column per modelled objective (NaN = failed,
left out of that column's fit).

* :class:`ArchGP` (default): a Gaussian process with the kernel
  ``exp(-hamming(a, b) / l) + w_s <s_a, s_b> / d_s + w_e <e_a, e_b> / d_e`` -- an exponential kernel
  on the number of differing decisions, plus linear kernels on the standardised zero-cost scores
  ``s`` and one-hot encoding ``e`` (the latter makes additive costs such as latency easy) -- on
  Yeo-Johnson-warped targets (:class:`OutputWarp`). Hyperparameters (``l``, ``w_s``, ``w_e``, the
  noise) maximise the marginal likelihood over a small grid. In spaces with numeric dimensions
  (a learning rate, a width range) each dimension's distance gets its own weight, also by marginal
  likelihood (``relevance``): there one dimension often matters far more than the others.
* :class:`RidgeSurrogate`: the Bayesian ridge :class:`OnlineRidge` on the features (the previous
  default), with its two local refinements.

Measured on NB201 (``benchmarks/surrogate_quality.py``, ``benchmarks/out/surrogate_quality.md``):
among the unseen neighbours of a search's front after 20-50 trials, the GP ranks the best quarter's
errors at Spearman .41-.48 (.29-.32 without the output warp), the ridge at .22-.24; latency .73-.78
vs .64-.68. Searches: :mod:`raynas.strategies.zero_cost`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.linalg import cho_solve
from scipy.linalg.lapack import dtrtrs
from scipy.special import ndtr
from threadpoolctl import ThreadpoolController

from raynas import moo
from raynas.errors import InvalidConfigError


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread(fn):
    """Run ``fn`` with one BLAS thread: the GP's matrices are small (at most a few hundred rows),
    and a multi-threaded BLAS shared with other busy processes spins instead of working -- measured
    here: two searches side by side took 254 s with two threads each, 34 s with one."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _blas().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)
    return wrapper


class OutputWarp:
    """Monotone warping of one minimised target towards a Gaussian: ``z = YJ((y - min y) / (c * std y))``
    (Yeo-Johnson, ``lambda`` by maximum likelihood), then standardised.

    Measuring ``y`` from its best (smallest) told value makes the warp the same whether a user reports
    an error to minimise or an accuracy to maximise (negated), and stretches the region near the best
    values, where the front is (NAS accuracies have a long tail of failures that would otherwise set
    the scale). :meth:`inverse` maps warped values back, clipped to a few spans of the told values."""

    def __init__(self, scale: float = 3.0):
        self.scale = scale

    #: Yeo-Johnson exponents tried; the one of largest likelihood is kept (a vectorised grid search
    #: costs ~0.2 ms for 200 values, scipy's scalar optimiser ~8 ms, with the same choice to +-0.05).
    #: NB201 errors measured from the best in units of 3 standard deviations want -2.5 to -7.
    LAMBDAS = np.linspace(-8.0, 8.0, 161)

    def fit(self, y: np.ndarray) -> OutputWarp:
        y = np.asarray(y, dtype=float)
        self.lo = float(y.min())
        self.span = float(y.std()) * self.scale or 1.0
        self.ymax = float(y.max())
        u = (y - self.lo) / self.span
        self.lam = 1.0
        if np.ptp(u) > 0:  # profile log-likelihood of a normal on the transformed values, per exponent
            logs = np.sign(u) * np.log1p(np.abs(u))
            t = self._yj(u, self.LAMBDAS)
            llf = -0.5 * len(u) * np.log(np.maximum(t.var(axis=1), 1e-300)) + (self.LAMBDAS - 1) * logs.sum()
            self.lam = float(self.LAMBDAS[int(np.argmax(llf))])
        t = self._yj(u, self.lam)
        self.mu = float(t.mean())
        self.sd = float(t.std()) or 1.0
        return self

    @staticmethod
    def _yj(u: np.ndarray, lam) -> np.ndarray:
        """Yeo-Johnson transform of ``u``; ``lam`` a number or an array (one row of output per value)."""
        lam = np.asarray(lam, dtype=float)[..., None] if np.ndim(lam) else float(lam)
        up, un = np.log1p(np.maximum(u, 0.0)), np.log1p(np.maximum(-u, 0.0))  # log(1 + |u|) per side
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(np.abs(lam) < 1e-9, up, np.expm1(lam * up) / lam)
            neg = np.where(np.abs(lam - 2) < 1e-9, un, np.expm1((2 - lam) * un) / (2 - lam))
        return np.where(u >= 0, pos, -neg)

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return (self._yj((y - self.lo) / self.span, self.lam) - self.mu) / self.sd

    def inverse(self, z: np.ndarray) -> np.ndarray:
        lam = self.lam
        t = np.asarray(z, dtype=float) * self.sd + self.mu
        pos = t >= 0
        u = np.empty_like(t)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            tp, tn = t[pos], t[~pos]
            if abs(lam) < 1e-9:
                u[pos] = np.expm1(tp)
            else:  # lam < 0 bounds t above by -1/lam: beyond it y is unbounded (very bad)
                base = 1 + lam * tp
                u[pos] = np.where(base > 0, np.power(np.clip(base, 1e-300, None), 1 / lam) - 1, np.inf)
            if abs(lam - 2) < 1e-9:
                u[~pos] = -np.expm1(-tn)
            else:  # lam > 2 bounds t below: beyond it y is unbounded (very good)
                base = 1 - (2 - lam) * tn
                u[~pos] = np.where(base > 0, 1 - np.power(np.clip(base, 1e-300, None), 1 / (2 - lam)), -np.inf)
        y = self.lo + self.span * u
        width = max(self.ymax - self.lo, self.span)
        return np.clip(y, self.lo - 2 * width, self.ymax + 4 * width)


def _lower_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``chol^-1 b`` for a lower-triangular Cholesky factor: LAPACK's ``dtrtrs`` directly (a fifth of
    ``scipy.linalg.solve_triangular``'s time on a search's small matrices; the factor is finite)."""
    x, info = dtrtrs(chol, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"singular triangular factor (LAPACK info {info})")
    return x


class Posterior:
    """A model's predictive distribution at some architectures: a Gaussian ``latent_mean`` /
    ``latent_std`` per target mapped to the targets' units by ``to_units`` (monotone increasing, per
    column; ``to_latent`` its inverse). ``mean`` is the mapped latent mean (the predictive median),
    ``std`` half the width of the mapped +-1 sd band; :meth:`sample` draws ``[n, m, k]`` values in the
    targets' units and :meth:`cdf` gives ``P(Y <= y)``."""

    def __init__(self, latent_mean: np.ndarray, latent_std: np.ndarray, to_units=None, to_latent=None):
        self.latent_mean, self.latent_std = latent_mean, latent_std
        self.to_units = to_units or (lambda z: z)
        self.to_latent = to_latent or (lambda y: y)
        self.mean = self.to_units(latent_mean)
        self.std = np.abs(self.to_units(latent_mean + latent_std) - self.to_units(latent_mean - latent_std)) / 2

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((n, *self.latent_mean.shape))
        return self.to_units(self.latent_mean[None] + self.latent_std[None] * noise)

    def optimistic(self, n_sd: float = 4.0) -> np.ndarray:
        """``[m, k]``: values each prediction beats with negligible probability (``n_sd`` latent
        standard deviations below its median) -- where an integral over its distribution can start."""
        return self.to_units(self.latent_mean - n_sd * self.latent_std)

    def cdf(self, values: np.ndarray) -> np.ndarray:
        """``[m, G, k]``: the probability that each prediction is at most ``values[g, j]`` (``[G, k]``,
        the targets' units); a zero spread is a point mass."""
        z = np.asarray(self.to_latent(np.asarray(values, dtype=float)))[None]
        mean, std = self.latent_mean[:, None], self.latent_std[:, None]
        prob = ndtr((z - mean) / np.where(std > 0, std, 1.0))
        return np.where(std > 0, prob, (mean <= z).astype(float)) if np.any(std <= 0) else prob


class Surrogate:
    """The shared interface: subclasses implement ``fit`` and :meth:`posterior`."""

    def posterior(self, archs: np.ndarray, x: np.ndarray) -> Posterior:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, archs: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive median in the targets' units and a spread (:class:`Posterior`)."""
        post = self.posterior(archs, x)
        return post.mean, post.std

    def sample(self, archs: np.ndarray, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``[n, m, k]`` independent draws of every prediction, in the targets' units."""
        return self.posterior(archs, x).sample(n, rng)


class OnlineRidge:
    """Bayesian ridge regression ``features -> targets`` (one column per target), refitted from scratch.

    Features are standardised on the training rows (a column constant there is only centred, so an
    unseen value cannot blow a prediction up); :meth:`predict` can also return each prediction's
    standard deviation ``sigma * sqrt(1 + z' (Z'Z + alpha I)^-1 z)``, ``sigma`` the residual
    standard deviation of that target.

    Model selection: with ``alphas`` (several penalties) and/or ``subsets`` (boolean column masks,
    e.g. "the proxies only" and "one-hot encoding + proxies"), every target picks the (subset, alpha)
    with the smallest exact leave-one-out squared error (closed form ``r_i / (1 - h_ii)``) on the
    rows it is fitted on -- so a target the proxies explain is not drowned by 30 one-hot columns,
    and one the encoding explains (latency) keeps them. Written with ``einsum``, not BLAS: the
    problems are tiny, and a multi-threaded BLAS call on a loaded machine can stall for tens of
    milliseconds."""

    def __init__(self, alpha: float = 1.0, alphas: Sequence[float] | None = None,
                 subsets: Sequence[np.ndarray] | None = None):
        self.alpha = alpha
        self.alphas = tuple(float(a) for a in alphas) if alphas else (float(alpha),)
        self.subsets = [np.asarray(m, dtype=bool) for m in subsets] if subsets else None
        self.coef: list[np.ndarray] | None = None

    def _design(self, x: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.hstack([((x - self.mu) / self.sd)[:, cols], np.ones((len(x), 1))])

    def fit(self, x: np.ndarray, y: np.ndarray) -> OnlineRidge:
        """Fit every target; the columns are centred on the fitted rows, so the (unpenalised)
        intercept is the targets' mean and one eigendecomposition of the Gram matrix per column
        subset serves every penalty (LOO errors in O(n d) each)."""
        y = y.reshape(len(y), -1)
        self.mu, sd = x.mean(0), x.std(0)
        self.sd = np.where(sd > 1e-8, sd, 1.0)
        subsets = self.subsets or [np.ones(x.shape[1], dtype=bool)]
        ok = np.isfinite(y)
        k = y.shape[1]
        self.cols = [np.flatnonzero(subsets[0])] * k
        self.coef = [np.zeros(len(self.cols[0]) + 1) for _ in range(k)]
        self.inv = [np.zeros((len(self.cols[0]) + 1,) * 2) for _ in range(k)]
        self.sigma = np.zeros(k)
        self.choice: list[tuple[int, float]] = [(0, self.alphas[0])] * k
        for j in range(k):  # targets with failed (non-finite) values are fitted on their finite rows
            rows = ok[:, j]
            yj = y[rows, j]
            n = len(yj)
            if not n:
                continue
            z_all = (x[rows] - x[rows].mean(0)) / self.sd  # centred on these rows (== mu when all finite)
            gram = np.einsum("ij,ik->jk", z_all, z_all)
            ybar = float(yj.mean())
            yc = yj - ybar
            best = None
            for si, mask in enumerate(subsets):
                cols = np.flatnonzero(mask)
                eig, vec = np.linalg.eigh(gram[np.ix_(cols, cols)])
                eig = np.clip(eig, 0.0, None)
                u = np.einsum("ij,jk->ik", z_all[:, cols], vec)
                b = np.einsum("ik,i->k", u, yc)
                u2 = u ** 2
                for alpha in self.alphas:
                    w = b / (eig + alpha)
                    resid = yc - np.einsum("ik,k->i", u, w)
                    lev = np.einsum("ik,k->i", u2, 1.0 / (eig + alpha)) + 1.0 / n
                    loo = float(np.mean((resid / np.clip(1.0 - lev, 1e-6, None)) ** 2))
                    if best is None or loo < best[0] - 1e-12:
                        best = (loo, si, alpha, cols, vec, eig, w, resid)
            _, si, alpha, cols, vec, eig, w, resid = best
            self.choice[j] = (si, alpha)
            self.cols[j] = cols
            # coefficients on the columns standardised with self.mu: shift the intercept accordingly
            coef = np.einsum("jk,k->j", vec, w)
            shift = ((x[rows].mean(0) - self.mu) / self.sd)[cols]
            self.coef[j] = np.append(coef, ybar - float(shift @ coef))
            inv = np.zeros((len(cols) + 1,) * 2)
            inv[:-1, :-1] = np.einsum("jk,k,lk->jl", vec, 1.0 / (eig + alpha), vec)
            inv[-1, -1] = 1.0 / n
            self.inv[j] = inv
            self.sigma[j] = np.sqrt(np.sum(resid ** 2) / max(1, n - 1))
        return self

    def predict(self, x: np.ndarray, return_std: bool = False):
        mean = np.zeros((len(x), len(self.coef)))
        std = np.zeros_like(mean)
        for j, cols in enumerate(self.cols):
            z = self._design(x, cols)
            mean[:, j] = np.einsum("ij,j->i", z, self.coef[j])
            if return_std:
                lev = np.einsum("ij,jk,ik->i", z, self.inv[j], z)
                std[:, j] = self.sigma[j] * np.sqrt(1.0 + np.clip(lev, 0.0, None))
        return (mean, std) if return_std else mean


class RidgeSurrogate(Surrogate):
    """:class:`OnlineRidge` on the features, with two local refinements (the previous default model).

    With ``select_features`` each target chooses, by exact leave-one-out error, between all features
    and the last ``n_scores`` (the zero-cost scores) alone, and its penalty among ``alphas``.
    ``neighbour_decay`` adds to each estimate the shrunken mean residual of the told architectures
    within two decisions of it (weight ``decay ** distance``), and ``local_sigma`` takes the
    predictive spread from the residuals of the best quantile of told values instead of all of them
    (NAS accuracies' tail of failures would inflate it)."""

    def __init__(self, n_scores: int, alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0), select_features: bool = True,
                 neighbour_decay: float | None = 1.0, local_sigma: float | None = 0.25,
                 categorical: Sequence[bool] | None = None):
        self.n_scores = int(n_scores)
        self.categorical = None if categorical is None else np.asarray(categorical, dtype=bool)
        self.alphas = tuple(alphas)
        self.select_features = select_features
        self.neighbour_decay = neighbour_decay
        self.local_sigma = local_sigma

    def fit(self, archs: np.ndarray, x: np.ndarray, y: np.ndarray) -> RidgeSurrogate:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float).reshape(len(y), -1)
        subsets = None
        if self.select_features:  # the scores alone, or the encoding and the scores: chosen by LOO error
            scores_only = np.zeros(x.shape[1], dtype=bool)
            scores_only[x.shape[1] - self.n_scores:] = True
            subsets = [np.ones(x.shape[1], dtype=bool), scores_only]
        self.model = OnlineRidge(alphas=self.alphas, subsets=subsets).fit(x, y)
        resid = y - self.model.predict(x)
        self.told, self.resid = np.asarray(archs), resid
        if self.local_sigma is not None:  # the residual spread where the front is, not in the bad tail
            for j in range(y.shape[1]):
                ok = np.isfinite(y[:, j])
                good = ok & (y[:, j] <= np.quantile(y[ok, j], self.local_sigma)) if ok.any() else ok
                if good.sum() >= 3:
                    self.model.sigma[j] = float(np.sqrt(np.mean(resid[good, j] ** 2)))
        return self

    def _neighbour_correction(self, archs: np.ndarray) -> np.ndarray:
        """``sum_t w_t r_t / (1 + sum_t w_t)`` over told ``t``, ``w_t = decay ** d`` for ``d <= 2``."""
        d = _hamming(np.asarray(archs), self.told, self.categorical)
        w = np.where(d <= 2, self.neighbour_decay ** d, 0.0)
        r = np.where(np.isfinite(self.resid), self.resid, 0.0)
        w = w * np.isfinite(self.resid).all(1)[None, :]
        return np.einsum("mn,nk->mk", w, r) / (1.0 + w.sum(1))[:, None]

    def posterior(self, archs: np.ndarray, x: np.ndarray) -> Posterior:
        mean, std = self.model.predict(np.asarray(x, dtype=float), return_std=True)
        if self.neighbour_decay is not None:
            mean = mean + self._neighbour_correction(archs)
        return Posterior(mean, std)


def _distances(a: np.ndarray, b: np.ndarray, categorical: np.ndarray | None = None) -> np.ndarray:
    """``[D, len(a), len(b)]``: per column, whether the entries differ (categorical columns) or
    their absolute difference (numeric columns, ``categorical`` False, values on a unit scale)."""
    a, b = np.asarray(a), np.asarray(b)
    out = np.empty((a.shape[1], len(a), len(b)))
    for j in range(a.shape[1]):
        if categorical is not None and not categorical[j]:
            out[j] = np.abs(a[:, j, None] - b[None, :, j])
        else:
            out[j] = a[:, j, None] != b[None, :, j]
    return out


def _hamming(a: np.ndarray, b: np.ndarray, categorical: np.ndarray | None = None) -> np.ndarray:
    """Distance between every row of ``a`` and of ``b``: the number of differing categorical
    entries plus, for numeric columns (``categorical`` False; values on a unit scale), the absolute
    difference -- so moving a numeric dimension across its whole range counts as one changed
    decision. With every column categorical (the NAS spaces) this is the Hamming distance."""
    a, b = np.asarray(a), np.asarray(b)
    numeric = categorical is not None and not np.all(categorical)
    d = np.zeros((len(a), len(b)), dtype=float if numeric else np.int16)
    for j in range(a.shape[1]):
        if numeric and not categorical[j]:
            d += np.abs(a[:, j, None] - b[None, :, j])
        else:
            d += a[:, j, None] != b[None, :, j]
    return d


def _profiled_likelihood(quad: float, logdet: float, n: int) -> float:
    """Log marginal likelihood of n targets with the signal variance profiled out, from
    ``z' K^-1 z`` and ``log det K`` (constants dropped)."""
    return -0.5 * n * np.log(max(quad / n, 1e-300)) - 0.5 * logdet


#: The weights a column's distance may get with ``ArchGP(relevance=True)``: ignored, down-weighted,
#: as one decision, or dominant (a learning rate across its range can matter more than a layer).
RELEVANCE = (0.0, 0.3, 1.0, 3.0, 10.0)
#: Column weights are chosen once there are this many fitted rows per column (fewer: all weights 1).
#: Measured on the bring-your-own CNN space (7 columns, Spearman of the GP's predicted accuracy of
#: held-out random configurations, median of 5 splits): relevance on / off with 10, 20, 40, 80 rows
#: .34/.37, .36/.37 (one split -.05), .72/.67, .82/.74.
RELEVANCE_ROWS = 4


class ArchGP(Surrogate):
    """Gaussian process over architectures (see the module docstring), one per target.

    Args:
        n_scores: the last ``n_scores`` feature columns are zero-cost scores, the rest the encoding.
        categorical: per column of ``archs``, whether it is a categorical entry (compared by
            equality) or a numeric one on a unit scale (compared by distance); None: all categorical.
        lengthscales / score_weights / encoding_weights / noises: the hyperparameter grid; the signal
            variance is profiled out of the marginal likelihood, so weights are relative to the
            Hamming kernel's.
        warp_scale: ``c`` of :class:`OutputWarp` (None: no warping, targets only standardised).
            Measured on eight hard NB201 devices x 4 seeds, median trials to 99% of the true front's
            HV: c = 0.1 / 1 / 3 / 5 / 10 -> 94 / 61 / 58 / 59 / 64; no warp 74.
        max_points: fit on at most this many told architectures, the best by non-dominated rank over
            all targets (ties: the most recent), so a refit stays cheap at thousands of trials.
        reselect_growth: the grid search runs again once the fitted rows grew by this factor;
            in between, the chosen hyperparameters are refitted with one Cholesky factorisation.
        relevance: give each column of ``archs`` its own weight in the distance (automatic
            relevance determination): after the grid search, coordinate ascent of the marginal
            likelihood over each column's weight in :data:`RELEVANCE` and the other hyperparameters,
            once there are :data:`RELEVANCE_ROWS` rows per column.
            None: on when some column is numeric (``categorical`` has a False), where a learning
            rate and a kernel size rarely matter alike; off for all-categorical spaces (NB201, FBNet),
            whose figures were measured without it.
    """

    def __init__(self, n_scores: int, lengthscales: Sequence[float] = (1.0, 2.0, 4.0),
                 score_weights: Sequence[float] = (1.0, 3.0, 10.0), encoding_weights: Sequence[float] = (0.0, 1.0, 3.0),
                 noises: Sequence[float] = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3), warp_scale: float | None = 3.0,
                 max_points: int = 200, reselect_growth: float = 1.2, categorical: Sequence[bool] | None = None,
                 relevance: bool | None = None):
        if max_points < 3:
            raise InvalidConfigError(f"max_points must be >= 3, got {max_points!r}")
        self.n_scores = int(n_scores)
        self.lengthscales = tuple(float(v) for v in lengthscales)
        self.grid = [(ls, float(ws), float(we)) for ls in self.lengthscales for ws in score_weights
                     for we in encoding_weights]
        self.noises = np.asarray(noises, dtype=float)
        self.warp_scale = warp_scale
        self.max_points = int(max_points)
        self.reselect_growth = float(reselect_growth)
        self.categorical = None if categorical is None else np.asarray(categorical, dtype=bool)
        numeric = self.categorical is not None and not self.categorical.all()
        self.relevance = numeric if relevance is None else bool(relevance)
        self.hyper: list[tuple | None] = []
        self._selected_at: list[int] = []

    # --- kernel ------------------------------------------------------------------------------------
    def _blocks(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (x - self.mu) / self.sd
        return z[:, -self.n_scores:] if self.n_scores else z[:, :0], z[:, :x.shape[1] - self.n_scores]

    def _parts(self, a1, s1, e1, a2, s2, e2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kernel's three ingredients, computed once for every hyperparameter setting: differing
        decisions (per column with ``relevance``), and the mean products of the standardised scores
        and of the encodings."""
        dist = _distances if self.relevance else _hamming
        return (dist(a1, a2, self.categorical), s1 @ s2.T / max(1, s1.shape[1]),
                e1 @ e2.T / max(1, e1.shape[1]))

    @staticmethod
    def _kernel(h, parts) -> np.ndarray:
        """``h``: lengthscale, score weight, encoding weight, noise (unused here) and, with
        relevance, the columns' weights."""
        ls, ws, we = h[:3]
        hamming, scores, encoding = parts
        if len(h) > 4:
            hamming = np.tensordot(np.asarray(h[4]), hamming, 1)
        return np.exp(-hamming / ls) + ws * scores + we * encoding

    def _select(self, parts, z, eigen: dict | None = None, previous: tuple | None = None) -> tuple:
        """Grid point of the largest marginal likelihood (signal variance profiled out); one
        eigendecomposition per kernel serves every noise level, and every target fitted on the same
        rows (kept in ``eigen``). With relevance, refined by :meth:`_refine` from there (or from
        ``previous``, the last choice, if that is more likely)."""
        n = len(z)
        best, best_ml = None, -np.inf
        eigen = {} if eigen is None else eigen
        ones = (tuple(np.ones(len(parts[0])).tolist()),) if self.relevance else ()
        for ls, ws, we in self.grid:
            if (ls, ws, we) not in eigen:
                lam, vec = np.linalg.eigh(self._kernel((ls, ws, we, 0.0, *ones), parts))
                eigen[ls, ws, we] = (np.clip(lam, 0.0, None), vec)
            lam, vec = eigen[ls, ws, we]
            proj = (vec.T @ z) ** 2
            for nz in self.noises:
                ml = _profiled_likelihood(float(np.sum(proj / (lam + nz))), float(np.sum(np.log(lam + nz))), n)
                if ml > best_ml:
                    best, best_ml = (ls, ws, we, float(nz), *ones), ml
        if not self.relevance or n < RELEVANCE_ROWS * len(parts[0]):
            return best
        if previous is not None and len(previous) > 4 and self._likelihood(parts, z, previous) > best_ml:
            best = previous
        return self._refine(parts, z, best)

    def _likelihood(self, parts, z, h) -> float:
        """Log marginal likelihood of ``z`` under hyperparameters ``h`` (signal variance profiled out)."""
        n = len(z)
        try:
            chol = np.linalg.cholesky(self._kernel(h, parts) + h[3] * np.eye(n))
        except np.linalg.LinAlgError:
            return -np.inf
        quad = float(np.sum(_lower_solve(chol, z) ** 2))
        return _profiled_likelihood(quad, 2.0 * float(np.sum(np.log(np.diag(chol)))), n)

    def _refine(self, parts, z, h: tuple, sweeps: int = 2) -> tuple:
        """Coordinate ascent of the marginal likelihood from ``h``: each column's weight over
        :data:`RELEVANCE`, then the lengthscale and the noise over their grids."""
        best = self._likelihood(parts, z, h)
        for _ in range(sweeps):
            moved = False
            options = [(4, j, v) for j in range(len(h[4])) for v in RELEVANCE]
            options += [(0, None, v) for v in self.lengthscales] + [(3, None, float(v)) for v in self.noises]
            for pos, j, v in options:
                cur = h[pos] if j is None else h[4][j]
                if v == cur:
                    continue
                if j is None:
                    cand = (*h[:pos], v, *h[pos + 1:])
                else:
                    w = list(h[4])
                    w[j] = v
                    cand = (*h[:4], tuple(w))
                ml = self._likelihood(parts, z, cand)
                if ml > best + 1e-9:
                    h, best, moved = cand, ml, True
            if not moved:
                break
        return h

    def state_dict(self) -> dict:
        """The chosen hyperparameters and when they were chosen (the fit itself is replayed)."""
        return {"hyper": [None if h is None else [*h[:4], *([list(h[4])] if len(h) > 4 else [])]
                          for h in self.hyper], "selected_at": list(self._selected_at)}

    def load_state_dict(self, state: dict) -> None:
        self.hyper = [None if h is None else (*(float(v) for v in h[:4]),
                                              *([tuple(float(v) for v in h[4])] if len(h) > 4 else []))
                      for h in state["hyper"]]
        self._selected_at = [int(n) for n in state["selected_at"]]

    # --- fit / predict -----------------------------------------------------------------------------
    @one_blas_thread
    def fit(self, archs: np.ndarray, x: np.ndarray, y: np.ndarray) -> ArchGP:
        archs, x = np.asarray(archs), np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float).reshape(len(y), -1)
        k = y.shape[1]
        if len(self.hyper) != k:
            self.hyper, self._selected_at = [None] * k, [0] * k
        keep = np.arange(len(y))
        if len(y) > self.max_points:  # the best rows by non-dominated rank (failed rows last), recent first
            ranks = moo.nondominated_ranks(np.where(np.isfinite(y), y, np.inf), until=self.max_points)
            keep = np.sort(np.lexsort((-np.arange(len(y)), ranks))[:self.max_points])
        archs, x, y = archs[keep], x[keep], y[keep]
        self.mu, sd = x.mean(0), x.std(0)
        self.sd = np.where(sd > 1e-8, sd, 1.0)
        s, e = self._blocks(x)
        self.targets = []
        parts: dict[bytes, tuple] = {}
        eigen: dict[bytes, dict] = {}
        for j in range(k):
            rows = np.isfinite(y[:, j])
            if rows.sum() < 2:
                self.targets.append(None)
                continue
            yj = y[rows, j]
            warp = OutputWarp(self.warp_scale).fit(yj) if self.warp_scale is not None else None
            if warp is not None:
                z = warp.transform(yj)
            else:
                z = (yj - yj.mean()) / (yj.std() or 1.0)
            a_j, s_j, e_j = archs[rows], s[rows], e[rows]
            n = len(z)
            key = rows.tobytes()
            if key not in parts:  # targets fitted on the same rows share them
                parts[key] = self._parts(a_j, s_j, e_j, a_j, s_j, e_j)
            if self.hyper[j] is None or n >= self.reselect_growth * self._selected_at[j]:
                self.hyper[j] = self._select(parts[key], z, eigen.setdefault(key, {}), self.hyper[j])
                self._selected_at[j] = n
            h = self.hyper[j]
            chol = np.linalg.cholesky(self._kernel(h, parts[key]) + h[3] * np.eye(n))
            alpha = cho_solve((chol, True), z)
            self.targets.append({"warp": warp, "mean": float(yj.mean()), "std": float(yj.std() or 1.0),
                                 "h": h, "chol": chol, "alpha": alpha, "scale2": float(z @ alpha) / n,
                                 "a": a_j, "s": s_j, "e": e_j, "rows": key})
        return self

    @one_blas_thread
    def _latent(self, archs: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and std in each target's warped (standardised) units."""
        archs = np.asarray(archs)
        s, e = self._blocks(np.asarray(x, dtype=float))
        m = np.zeros((len(archs), len(self.targets)))
        sd = np.ones_like(m)
        parts: dict[bytes, tuple] = {}
        for j, t in enumerate(self.targets):
            if t is None:
                m[:, j], sd[:, j] = np.nan, np.nan
                continue
            h = t["h"]
            if t["rows"] not in parts:  # targets fitted on the same rows share them
                parts[t["rows"]] = self._parts(archs, s, e, t["a"], t["s"], t["e"])
            ks = self._kernel(h, parts[t["rows"]])
            m[:, j] = ks @ t["alpha"]
            v = _lower_solve(t["chol"], ks.T)
            kss = 1.0 + h[1] * np.sum(s ** 2, 1) / max(1, s.shape[1]) + h[2] * np.sum(e ** 2, 1) / max(1, e.shape[1])
            sd[:, j] = np.sqrt(np.clip(t["scale2"] * (kss + h[3] - np.sum(v ** 2, 0)), 1e-12, None))
        return m, sd

    def _per_target(self, values: np.ndarray, fn) -> np.ndarray:
        """``fn(target, column)`` applied to each target's column of ``values [..., k]``."""
        out = np.full_like(values, np.nan)
        for j, t in enumerate(self.targets):
            if t is not None:
                out[..., j] = fn(t, values[..., j])
        return out

    def _to_units(self, z: np.ndarray) -> np.ndarray:
        """Latent (warped, standardised) values ``[..., k]`` back to each target's units."""
        return self._per_target(z, lambda t, v: t["warp"].inverse(v) if t["warp"] else t["mean"] + t["std"] * v)

    def _to_latent(self, y: np.ndarray) -> np.ndarray:
        """Values ``[..., k]`` in each target's units to the latent scale (inverse of :meth:`_to_units`)."""
        return self._per_target(y, lambda t, v: t["warp"].transform(v) if t["warp"] else (v - t["mean"]) / t["std"])

    def posterior(self, archs: np.ndarray, x: np.ndarray) -> Posterior:
        return Posterior(*self._latent(archs, x), self._to_units, self._to_latent)
