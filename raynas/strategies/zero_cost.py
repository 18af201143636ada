"""Zero-cost-proxy-guided multi-objective search (Abdelfattah et al., ICLR 2021, made multi-objective).

The paper's two uses of proxies, over a chosen proposal engine:

* **Warm-up**: draw ``warmup_candidates`` random architectures (3,000 in the paper), estimate every
  objective with zero-cost scores -- an accuracy proxy (higher is better) and a cheap hardware cost
  (FLOPs, params, or a latency predictor) -- and ask first for ``warmup_size`` architectures spread
  along their non-dominated set (the next fronts fill up if it is small). Scoring 3,000 real networks
  blocks the first ``suggest()`` for minutes (path_params + synflow + FLOPs: ~0.1-0.15 s a NB201
  network on one loaded core), so by default only ``warmup_networks`` (500) of the candidates are
  scored on their networks; the others' scores are predicted from their one-hot encoding by a ridge
  fitted on those (NB201: FLOPs and params are additive in the encoding, Spearman .995; path_params
  .90, synflow .89). ``warmup_networks=None`` scores every candidate, as the paper does. Measured on
  NB201 (20 devices x 10 seeds, median trials to 99% of the true front's HV): all 3,000 scored 62,
  500 (default) 63, 200 69; ``benchmarks/overhead.py`` times the first ``suggest()``.
* **Move proposal**: instead of one random mutation of the engine's parent, score the parent's
  one-decision mutants (24 for NB201; ``n_mutants`` random ones if set) and propose the best; with
  probability ``random_move_prob`` a random mutant instead (the paper: 0.25). "Best" is
  multi-objective (``move_choice``): ``"ehvi"`` (default) -- the largest expected hypervolume
  improvement over the told front, a Monte-Carlo average over ``ehvi_samples`` draws from the
  estimates' predictive distribution; ``"hvi"`` -- the largest improvement of the estimates
  themselves; ``"preference"`` -- the best under a random preference vector (Chebyshev
  scalarisation of the normalised estimates).

Engines: ``"evolution"`` (aging evolution, NSGA-II tournament on the *told* objectives), ``"random"``
(the parent is a uniformly random architecture), or any :class:`~raynas.strategies.Strategy`
instance (e.g. :class:`~raynas.strategies.OptunaStrategy`): its proposal is the parent, the
proposal itself competes with its mutants, and every told result is passed on to it.

Estimates. Before any result is told they are the zero-cost scores (``-proxy``, ``cost``), computed
on the real networks and cached per architecture; their evaluations are a budget of their own
(:attr:`ZeroCostStrategy.estimate_evaluations`). Objectives listed in ``learned`` (default: both)
are estimated, once ``min_fit`` results are told, by a Bayesian ridge model (:class:`OnlineRidge`)
refitted as results arrive: for the hardware cost this is the "latency predictor" option; for
accuracy it calibrates the proxies on the told results. Its features are the architecture's one-hot
encoding and every zero-cost score (all ``proxy`` entries and the cost); with ``select_features``
each objective chooses, by exact leave-one-out error, between all of them and the scores alone, and
its penalty among ``ridge_alphas`` (on NB201 the proxies alone predict accuracy better -- Spearman
.72 vs .50 from 30 random results -- while latency needs the encoding). Two local refinements:
``neighbour_decay`` adds to each estimate the shrunken mean residual of the told architectures
within two decisions of it (weight ``decay ** distance``; a GP-like correction where the linear
model is wrong), and ``local_sigma`` takes the predictive spread from the residuals of the best
quantile of told values (where the front is) instead of all of them (NB201's worst architectures
have 90% error and would inflate it). Several proxies may be given: the first drives the warm-up,
all of them are features (on NB201, synflow ranks the best 20% of architectures far better than
path_params, which ranks the whole space better).

Defaults were chosen on NB201 with ``benchmarks/search_quality.py`` (20 device columns x 3-6
seeds, tabular ground truth; ``benchmarks/out/search_quality.md`` has the 10-seed measurement, the
previous defaults as ``zc-prev`` and the paper's settings as ``zc-paper``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.evolution import propose_unseen, unseen
from raynas.strategies.aging import ParentSelector
from raynas.strategies.base import Arch, Strategy
from raynas.strategies.scorers import LOG_PROXIES, CachedScorer, ProxyScores, score_all

ENGINES = ("evolution", "random")
MOVE_CHOICES = ("ehvi", "hvi", "preference")


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


def _as_scorer(s, space, default: str, scores: ProxyScores | None = None):
    """A registered proxy name (scored through ``scores``, a shared :class:`ProxyScores`), a callable
    ``Arch -> float`` (cached here), or an object with ``score_many(archs)``."""
    if s is None or isinstance(s, str):
        name = s or default
        if scores is None or name not in scores.names:
            scores = ProxyScores(space, [name])
        return scores.scorer(name, "log" if name in LOG_PROXIES else "none")
    if hasattr(s, "score_many"):
        return s
    if callable(s):
        return CachedScorer(s, getattr(s, "__name__", default))
    raise InvalidConfigError(
        f"a scorer must be a registered proxy name, a callable Arch -> float or have score_many(archs); got {s!r}")


class ZeroCostStrategy(Strategy):
    """Zero-cost warm-up and move proposal over a proposal engine, for two minimised objectives
    ``(quality, hardware cost)``: the quality is estimated from ``proxy``, the cost from ``cost``.

    Args:
        proxy: accuracy proxy (higher is better): a registered proxy name (``path_params``, ``synflow``,
            ``snip``, ...), a callable ``Arch -> float``, an object with ``score_many(archs)``, or a
            sequence of those (the first drives the warm-up; all are features of the learned model).
        cost: hardware cost, lower is better (same forms, one of them; default ``flops``).
        learned: objectives estimated by the learned model once ``min_fit`` results are told
            (default ``(0, 1)``: both; ``(1,)``: only a latency predictor; ``()``: zero-cost scores only).
        engine: ``"evolution"``, ``"random"`` or a :class:`Strategy` instance.
        warmup_candidates / warmup_size: candidates scored at warm-up / architectures asked first.
        random_move_prob: probability of a random mutant instead of the best-scored one.
        n_mutants: score this many random mutants (None: all one-decision mutants).
        population_size / sample_size: aging-evolution engine settings (the paper: 64 / 10).
        move_choice: ``"ehvi"``, ``"hvi"`` or ``"preference"`` (module docstring).
        ehvi_samples: Monte-Carlo draws per candidate for ``"ehvi"``.
        ridge_alphas: ridge penalties the learned model chooses from by leave-one-out error.
        select_features: let each objective choose between (encoding + scores) and the scores alone.
        warmup_networks: warm-up candidates scored on real networks (the rest predicted from the
            encoding); None scores all ``warmup_candidates``.
        local_sigma: quantile of told values whose residuals give the predictive spread (None: all).
        neighbour_decay: weight per differing decision of told neighbours' residuals (None: off).
        scores: a shared :class:`~raynas.strategies.scorers.ProxyScores` computing the named proxies
            and cost together (one network build for all); made here when omitted.

    Defaults: see the module docstring and ``benchmarks/search_quality.py``.
    """

    def __init__(self, space, proxy: Any = ("path_params", "synflow"), cost: Any = "flops", *,
                 learned: Sequence[int] = (0, 1), engine: Any = "evolution", warmup_candidates: int = 3000,
                 warmup_size: int = 10, random_move_prob: float = 0.2, n_mutants: int | None = None,
                 population_size: int = 40, sample_size: int = 10, min_fit: int = 8, move_choice: str = "ehvi",
                 ehvi_samples: int = 64, ridge_alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0),
                 select_features: bool = True,
                 warmup_networks: int | None = 500, local_sigma: float | None = 0.25,
                 neighbour_decay: float | None = 1.0,
                 scores: ProxyScores | None = None, seed: int | None = None, n_objectives: int = 2):
        super().__init__(space, seed, n_objectives)
        if n_objectives != 2:
            raise InvalidConfigError("ZeroCostStrategy estimates two objectives (accuracy proxy, hardware cost); "
                                     f"got n_objectives={n_objectives}")
        if isinstance(engine, str) and engine not in ENGINES:
            raise InvalidConfigError(f"engine must be one of {ENGINES} or a Strategy, got {engine!r}")
        if not isinstance(engine, (str, Strategy)):
            raise InvalidConfigError(f"engine must be one of {ENGINES} or a Strategy, got {type(engine).__name__}")
        if not 0.0 <= random_move_prob <= 1.0:
            raise InvalidConfigError(f"random_move_prob must be in [0, 1], got {random_move_prob}")
        if move_choice not in MOVE_CHOICES:
            raise InvalidConfigError(f"move_choice must be one of {MOVE_CHOICES}, got {move_choice!r}")
        for name, value, low in (("warmup_candidates", warmup_candidates, 1), ("warmup_size", warmup_size, 0),
                                 ("min_fit", min_fit, 2), ("ehvi_samples", ehvi_samples, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InvalidConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        proxies = list(proxy) if isinstance(proxy, (list, tuple)) else [proxy]
        if not proxies:
            raise InvalidConfigError("proxy must name at least one proxy")
        if scores is None:
            names = [n for n in proxies + [cost] if isinstance(n, str)]
            scores = ProxyScores(space, list(dict.fromkeys(names))) if names else None  # checks the names
        self.scores = scores
        self.proxies = [_as_scorer(p, space, "path_params", scores) for p in proxies]
        self.proxy = self.proxies[0]
        self.cost = _as_scorer(cost, space, "flops", scores)
        self.learned = tuple(int(j) for j in learned)
        for j in self.learned:
            if not 0 <= j < n_objectives:
                raise InvalidConfigError(f"learned objective index {j} outside 0..{n_objectives - 1}")
        self.engine = engine
        self.warmup_candidates = warmup_candidates
        self.warmup_size = warmup_size
        self.random_move_prob = random_move_prob
        self.n_mutants = n_mutants
        self.min_fit = min_fit
        self.move_choice = move_choice
        self.ehvi_samples = ehvi_samples
        self.ridge_alphas = tuple(float(a) for a in ridge_alphas)
        if not self.ridge_alphas or any(not a > 0 for a in self.ridge_alphas):
            raise InvalidConfigError(f"ridge_alphas must be positive numbers, got {list(ridge_alphas)!r}")
        self.select_features = bool(select_features)
        if warmup_networks is not None and (not isinstance(warmup_networks, int) or isinstance(warmup_networks, bool)
                                            or warmup_networks < 2):
            raise InvalidConfigError(f"warmup_networks must be an integer >= 2 or None, got {warmup_networks!r}")
        self.warmup_networks = warmup_networks
        for name, value in (("local_sigma", local_sigma), ("neighbour_decay", neighbour_decay)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not 0.0 < value <= 1.0):
                raise InvalidConfigError(f"{name} must be in (0, 1] or None, got {value!r}")
        self.local_sigma = local_sigma
        self.neighbour_decay = neighbour_decay
        self.selector = ParentSelector(population_size, min(sample_size, population_size)) \
            if engine == "evolution" else None
        self._queue: list[Arch] | None = None
        self._model: OnlineRidge | None = None
        self._rows: list[np.ndarray] = []  # features of the told architectures, in tell order
        self._fitted_at = -1

    # --- estimates -------------------------------------------------------------------------------
    @property
    def estimate_evaluations(self) -> dict[str, int]:
        """Real (uncached) proxy and hardware-cost evaluations so far (one network serves all the
        named proxies and the cost when they share a :class:`ProxyScores`)."""
        return {"proxy": getattr(self.proxy, "evaluations", -1), "cost": getattr(self.cost, "evaluations", -1)}

    def _scores(self, archs: list[Arch]) -> np.ndarray:
        """``[n, len(proxies) + 1]``: every proxy's score, then the cost."""
        return np.stack([score_all(p, archs) for p in self.proxies] + [score_all(self.cost, archs)], axis=1)

    def _static(self, archs: list[Arch], scores: np.ndarray | None = None) -> np.ndarray:
        """Zero-cost estimates ``(-first proxy, cost)``."""
        s = self._scores(archs) if scores is None else scores
        return np.stack([-s[:, 0], s[:, -1]], axis=1)

    def _features(self, archs: list[Arch], scores: np.ndarray) -> np.ndarray:
        onehot = np.stack([self.space.encode_onehot(a) for a in archs])
        return np.hstack([onehot, np.where(np.isfinite(scores), scores, 0.0)])

    @property
    def fitted(self) -> bool:
        """Whether the learned model is in use (``learned`` set and ``min_fit`` results told)."""
        return bool(self.learned) and len(self.history) >= self.min_fit

    def predict(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """``[n, 2]`` minimised estimates of ``archs`` and their predictive standard deviations
        (0 for the zero-cost estimates of objectives not learned, or before ``min_fit``)."""
        archs = [tuple(a) for a in archs]
        scores = self._scores(archs)
        est = self._static(archs, scores)
        sd = np.zeros_like(est)
        if self.fitted:
            self._refit()
            mean, std = self._model.predict(self._features(archs, scores), return_std=True)
            if self.neighbour_decay is not None:
                mean = mean + self._neighbour_correction(archs)
            for k, j in enumerate(self.learned):
                est[:, j], sd[:, j] = mean[:, k], std[:, k]
        return est, sd

    def _neighbour_correction(self, archs: list[Arch]) -> np.ndarray:
        """The told architectures' residuals near each of ``archs``: ``sum_t w_t r_t / (1 + sum_t w_t)``,
        ``w_t = neighbour_decay ** d`` for the ``d <= 2`` decisions in which ``t`` differs (none beyond)."""
        told = self._told_archs
        c = np.asarray(archs)
        d = (c[:, None, :] != told[None, :, :]).sum(-1)
        w = np.where(d <= 2, self.neighbour_decay ** d, 0.0)
        r = np.where(np.isfinite(self._resid), self._resid, 0.0)
        w = w * np.isfinite(self._resid).all(1)[None, :]
        return np.einsum("mn,nk->mk", w, r) / (1.0 + w.sum(1))[:, None]

    def estimates(self, archs: Sequence[Arch]) -> np.ndarray:
        """``[n, 2]`` minimised estimates (zero-cost scores, or the learned model's predictions)."""
        return self.predict(archs)[0]

    def _refit(self) -> None:
        if self._fitted_at == len(self.history):
            return
        x = np.vstack(self._rows)
        y = self.history.matrix()[:, list(self.learned)]
        subsets = None
        if self.select_features:  # the scores alone, or the encoding and the scores: chosen by LOO error
            n_scores = len(self.proxies) + 1
            scores_only = np.zeros(x.shape[1], dtype=bool)
            scores_only[-n_scores:] = True
            subsets = [np.ones(x.shape[1], dtype=bool), scores_only]
        self._model = OnlineRidge(alphas=self.ridge_alphas, subsets=subsets).fit(x, y)
        if self.neighbour_decay is not None:
            self._told_archs = np.asarray(self.history.archs)
            self._resid = y - self._model.predict(x)
        if self.local_sigma is not None:  # the residual spread where the front is, not in the bad tail
            resid = y - self._model.predict(x)
            for j in range(y.shape[1]):
                ok = np.isfinite(y[:, j])
                good = ok & (y[:, j] <= np.quantile(y[ok, j], self.local_sigma)) if ok.any() else ok
                if good.sum() >= 3:
                    self._model.sigma[j] = float(np.sqrt(np.mean(resid[good, j] ** 2)))
        self._fitted_at = len(self.history)

    # --- warm-up ---------------------------------------------------------------------------------
    def _warmup(self) -> list[Arch]:
        if self.warmup_size == 0:
            return []
        n = self.warmup_candidates
        if n >= len(self.space) and hasattr(self.space, "enumerate"):
            cands = [tuple(a) for a in self.space.enumerate()]
        else:
            cands = unseen((self.space.sample(self.rng) for _ in range(n)), lambda a: False)
        k = self.warmup_networks
        if k is None or k >= len(cands):
            est = self._static(cands)
        else:  # score k networks, estimate the rest's scores from their encoding (ridge, LOO-chosen penalty)
            pick = np.sort(self.rng.choice(len(cands), k, replace=False))  # a random sample (enumerate is ordered)
            real = self._scores([cands[i] for i in pick])
            ok = np.all(np.isfinite(real), axis=1)
            x = np.stack([self.space.encode_onehot(a) for a in cands])
            guess = OnlineRidge(alphas=(0.01, 0.1, 1.0, 10.0)).fit(x[pick][ok], real[ok]).predict(x)
            guess[pick] = real
            est = self._static(cands, guess)
        est = np.where(np.isfinite(est), est, np.inf)  # a failed proxy ranks last
        ranks = moo.nondominated_ranks(est)
        chosen: list[int] = []
        for r in range(ranks.max() + 1):
            idx = np.flatnonzero(ranks == r)
            # one architecture per distinct estimate, spread evenly along the front's cost axis
            _, first = np.unique(est[idx], axis=0, return_index=True)
            idx = idx[np.sort(first)]
            need = self.warmup_size - len(chosen)
            if len(idx) > need:
                order = idx[np.argsort(est[idx, 1], kind="stable")]
                idx = order[np.unique(np.round(np.linspace(0, len(order) - 1, need)).astype(int))]
            chosen.extend(idx.tolist())
            if len(chosen) >= self.warmup_size:
                break
        return [cands[i] for i in chosen]

    # --- proposals -------------------------------------------------------------------------------
    def _best(self, cands: list[Arch]) -> Arch:
        """The candidate with the largest (expected) hypervolume improvement, or the best under a
        random preference vector (``move_choice="preference"``, or when no candidate improves)."""
        if len(cands) == 1:
            return cands[0]
        est, sd = self.predict(cands)
        if self.move_choice != "preference":
            best = self._best_improvement(est, sd)
            if best is not None:
                return cands[best]
        finite = np.where(np.isfinite(est), est, np.nan)
        lo, hi = np.nanmin(finite, 0), np.nanmax(finite, 0)
        z = np.nan_to_num((finite - lo) / np.where(hi > lo, hi - lo, 1.0), nan=np.inf)
        w = self.rng.dirichlet(np.ones(est.shape[1]))
        key = moo.chebyshev(z, w) + 1e-3 * moo.weighted_sum(z, w)
        return cands[int(np.argmin(key))]

    def _best_improvement(self, est: np.ndarray, sd: np.ndarray) -> int | None:
        front, told = self.history.front()
        if not front:
            return None
        if self.fitted and len(self.learned) == est.shape[1]:
            # every objective learned: estimates are in the told values' units; normalise by their range
            y = self.history.matrix()
            y = y[np.all(np.isfinite(y), axis=1)]
            fe = told
            lo, hi = np.minimum(y.min(0), est.min(0)), y.max(0)
        else:  # zero-cost (or partly learned) estimates: compare with the front's estimates
            fe, _ = self.predict(front)
            both = np.vstack([fe, est])
            lo, hi = both.min(0), both.max(0)
        span = np.where(hi > lo, hi - lo, 1.0)
        f = (fe - lo) / span
        ref = np.full(est.shape[1], 1.1)
        if self.move_choice == "ehvi" and np.any(sd > 0):
            draws = est[None] + sd[None] * self.rng.standard_normal((self.ehvi_samples, *est.shape))
            gain = moo.hypervolume_improvement(f, ((draws - lo) / span).reshape(-1, est.shape[1]), ref)
            gain = gain.reshape(self.ehvi_samples, len(est)).mean(axis=0)
        else:
            gain = moo.hypervolume_improvement(f, (est - lo) / span, ref)
        return int(np.argmax(gain)) if gain.max() > 1e-12 else None

    def _move(self, parent: Arch, include_parent: bool = False) -> Arch | None:
        cands = unseen(([parent] if include_parent else []) + list(self.space.neighbours(parent)), self.seen)
        if not cands:
            return None
        if self.n_mutants is not None and len(cands) > self.n_mutants:
            cands = [cands[i] for i in sorted(self.rng.choice(len(cands), self.n_mutants, replace=False))]
        if self.rng.random() < self.random_move_prob:
            return cands[int(self.rng.integers(len(cands)))]
        return self._best(cands)

    def _parent(self) -> Arch | None:
        if self.selector is not None:
            return self.selector.select(self.rng) if len(self.selector.population) >= 2 else None
        return self.space.sample(self.rng)

    def _propose(self) -> Arch:
        if self._queue is None:
            self._queue = self._warmup()
        while self._queue:
            a = self._queue.pop(0)
            if not self.seen(a):
                return a
        if isinstance(self.engine, Strategy):
            proposal = self.engine.ask()
            choice = self._move(proposal, include_parent=True) or proposal
            if choice != proposal and hasattr(self.engine, "discard"):
                self.engine.discard(proposal)
            return choice
        for _ in range(20):
            parent = self._parent()
            if parent is None:
                break
            choice = self._move(parent)
            if choice is not None:
                return choice
        return propose_unseen(lambda: self.space.sample(self.rng), self.seen, self.space, self.rng)

    # --- learning --------------------------------------------------------------------------------
    def tell(self, arch, objectives) -> None:
        super().tell(arch, objectives)
        if isinstance(self.engine, Strategy):
            self.engine.tell(self.history.archs[-1], self.history.values[-1])

    def _observe(self, arch, values) -> None:
        if self.selector is not None:
            self.selector.add(arch, values)
        if self.learned:
            self._rows.append(self._features([arch], self._scores([arch]))[0])

    def _reset_derived(self) -> None:
        if self.selector is not None:
            self.selector.reset()
        self._rows = []
        self._fitted_at = -1

    def _extra_state(self) -> dict[str, Any]:
        state = {"queue": None if self._queue is None else [list(a) for a in self._queue]}
        if isinstance(self.engine, Strategy):
            state["engine"] = self.engine.state_dict()
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        self._queue = None if state["queue"] is None else [tuple(a) for a in state["queue"]]
        if "engine" in state:
            self.engine.load_state_dict(state["engine"])
