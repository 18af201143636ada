"""Zero-cost-proxy-guided multi-objective search (Abdelfattah et al., ICLR 2021, made multi-objective).

The paper's two uses of proxies, over a chosen proposal engine:

* **Warm-up**: score ``warmup_candidates`` random architectures (3,000 in the paper) with the
  zero-cost estimates of every objective — by default a proxy for accuracy (higher is better) and a
  cheap hardware cost (FLOPs, params, or a latency predictor) — and ask first for a spread of their
  non-dominated set (next fronts fill up if it is small).
* **Move proposal**: instead of one random mutation of the engine's parent, score the parent's
  one-decision mutants (24 for NB201; ``n_mutants`` random ones if set) and propose the best; with
  probability ``random_move_prob`` propose a random mutant instead (the paper: 0.25). "Best" is
  multi-objective: by default (``move_choice="hvi"``) the mutant whose estimated objectives add the
  most hypervolume to the front of the told architectures; ``"preference"`` takes the best under a
  preference vector drawn at random (Chebyshev scalarisation of the normalised estimates).

Engines: ``"evolution"`` (aging evolution, NSGA-II tournament on the *told* objectives), ``"random"``
(the parent is a uniformly random architecture), or any :class:`~raynas.strategies.Strategy`
instance (e.g. :class:`~raynas.strategies.OptunaStrategy`): its proposal is the parent, the
proposal itself competes with its mutants, and every told result is passed on to it.

Estimates: the zero-cost scores (``-proxy``, ``cost``), cached per architecture
(:class:`~raynas.strategies.scorers.CachedScorer`); their evaluations are a budget of their own
(:attr:`ZeroCostStrategy.estimate_evaluations`). Objectives listed in ``learned`` (default: both)
are estimated, once ``min_fit`` results are told, by an online ridge model on the one-hot encoding
plus the zero-cost scores, refitted on every tell: for the hardware cost this is the "latency
predictor" option; for accuracy it calibrates the proxy on the told results. Warm-up always uses
the zero-cost scores alone.
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
MOVE_CHOICES = ("preference", "hvi")
NEIGHBOURHOODS = ("parent", "front")


class OnlineRidge:
    """Bayesian ridge regression ``features -> targets`` (one column per target), refitted from scratch.

    Features are standardised on the training rows (a column constant there is only centred, so an
    unseen value cannot blow a prediction up); :meth:`predict` can also return each prediction's
    standard deviation ``sigma * sqrt(1 + z' (Z'Z + alpha I)^-1 z)``, ``sigma`` the residual
    standard deviation of that target. Written with ``einsum``, not BLAS: the problems are tiny,
    and a multi-threaded BLAS call on a loaded machine can stall for tens of milliseconds."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha
        self.coef: np.ndarray | None = None

    def _design(self, x: np.ndarray) -> np.ndarray:
        return np.hstack([(x - self.mu) / self.sd, np.ones((len(x), 1))])

    def fit(self, x: np.ndarray, y: np.ndarray) -> OnlineRidge:
        y = y.reshape(len(y), -1)
        self.mu, sd = x.mean(0), x.std(0)
        self.sd = np.where(sd > 1e-8, sd, 1.0)
        z = self._design(x)
        reg = self.alpha * np.eye(z.shape[1])
        reg[-1, -1] = 1e-6
        ok = np.isfinite(y)
        k = y.shape[1]
        self.coef = np.zeros((z.shape[1], k))
        self.inv = np.zeros((k, z.shape[1], z.shape[1]))
        self.sigma = np.zeros(k)
        for j in range(k):  # targets with failed (non-finite) values are fitted on their finite rows
            zj, yj = z[ok[:, j]], y[ok[:, j], j]
            if not len(yj):
                continue
            self.inv[j] = np.linalg.inv(np.einsum("ij,ik->jk", zj, zj) + reg)
            self.coef[:, j] = np.einsum("jk,ik,i->j", self.inv[j], zj, yj)
            resid = yj - zj @ self.coef[:, j]
            self.sigma[j] = np.sqrt(np.sum(resid ** 2) / max(1, len(yj) - 1))
        return self

    def predict(self, x: np.ndarray, return_std: bool = False):
        z = self._design(x)
        mean = np.einsum("ij,jk->ik", z, self.coef)
        if not return_std:
            return mean
        lev = np.einsum("ij,kjl,il->ik", z, self.inv, z)
        return mean, self.sigma[None, :] * np.sqrt(1.0 + np.clip(lev, 0.0, None))


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
    """Zero-cost warm-up and move proposal over a proposal engine. Multi-objective (all minimised).

    Args:
        proxy: accuracy proxy, higher is better — a callable ``Arch -> float``, an object with
            ``score_many(archs)``, or a built-in name (``params``, ``path_params``, ``flops``).
        cost: hardware cost, lower is better (same forms; default ``flops``).
        learned: indices of objectives estimated by an online ridge model once ``min_fit`` results
            are told (default ``(0, 1)``: both; ``(1,)``: only a latency predictor learned from the
            told latencies; ``()``: zero-cost scores only); the zero-cost scores serve as fallback
            and as features.
        engine: ``"evolution"``, ``"random"`` or a :class:`Strategy` instance.
        warmup_candidates / warmup_size: candidates scored at warm-up / architectures seeded.
        random_move_prob: probability of a random mutant instead of the best-scored one.
        n_mutants: score this many random mutants (None: all one-decision mutants).
        population_size / sample_size: aging-evolution engine settings.
        move_choice: ``"hvi"`` — the mutant whose estimate adds most hypervolume to the told front
            (falls back to ``"preference"`` when none does); ``"preference"`` — best under a random
            preference vector.

    Defaults were tuned on NB201 (``benchmarks/search_quality.py``): the paper's settings are
    ``population_size=64, sample_size=10, random_move_prob=0.25``; with ``move_choice="preference"``
    and a learned latency only they are measured there as ``zc-paper``.
    """

    def __init__(self, space, proxy: Any = "path_params", cost: Any = "flops", *, learned: Sequence[int] = (0, 1),
                 engine: Any = "evolution", warmup_candidates: int = 3000, warmup_size: int = 10,
                 random_move_prob: float = 0.1, n_mutants: int | None = None, population_size: int = 40,
                 sample_size: int = 10, min_fit: int = 8, move_choice: str = "hvi", neighbourhood: str = "parent",
                 exploration: float = 0.0,
                 scores: ProxyScores | None = None, seed: int | None = None, n_objectives: int = 2):
        super().__init__(space, seed, n_objectives)
        if isinstance(engine, str) and engine not in ENGINES:
            raise InvalidConfigError(f"engine must be one of {ENGINES} or a Strategy, got {engine!r}")
        if not 0.0 <= random_move_prob <= 1.0:
            raise InvalidConfigError(f"random_move_prob must be in [0, 1], got {random_move_prob}")
        if scores is None:
            names = [n for n in (proxy or "path_params", cost or "flops") if isinstance(n, str)]
            scores = ProxyScores(space, list(dict.fromkeys(names))) if names else None
        self.scores = scores
        self.proxy = _as_scorer(proxy, space, "path_params", scores)
        self.cost = _as_scorer(cost, space, "flops", scores)
        if n_objectives != 2:
            raise InvalidConfigError("ZeroCostStrategy estimates two objectives (accuracy proxy, hardware cost); "
                                     f"got n_objectives={n_objectives}")
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
        if move_choice not in MOVE_CHOICES:
            raise InvalidConfigError(f"move_choice must be one of {MOVE_CHOICES}, got {move_choice!r}")
        self.move_choice = move_choice
        if neighbourhood not in NEIGHBOURHOODS:
            raise InvalidConfigError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}")
        self.neighbourhood = neighbourhood
        if not 0.0 <= exploration < float("inf"):
            raise InvalidConfigError(f"exploration must be a number >= 0, got {exploration!r}")
        self.exploration = float(exploration)
        self.selector = ParentSelector(population_size, min(sample_size, population_size)) \
            if engine == "evolution" else None
        self._queue: list[Arch] | None = None
        self._model: OnlineRidge | None = None
        self._rows: list[np.ndarray] = []  # features of the told architectures, in tell order
        self._fitted_at = -1

    # --- estimates -------------------------------------------------------------------------------
    @property
    def estimate_evaluations(self) -> dict[str, int]:
        """Real (uncached) proxy and hardware-cost evaluations so far."""
        return {"proxy": getattr(self.proxy, "evaluations", -1), "cost": getattr(self.cost, "evaluations", -1)}

    def _static(self, archs: list[Arch]) -> np.ndarray:
        return np.stack([-score_all(self.proxy, archs), score_all(self.cost, archs)], axis=1)

    def _features(self, archs: list[Arch], static: np.ndarray) -> np.ndarray:
        onehot = np.stack([self.space.encode_onehot(a) for a in archs])
        return np.hstack([onehot, static])

    def estimates(self, archs: Sequence[Arch], optimism: float = 0.0) -> np.ndarray:
        """``[n, 2]`` minimised estimates (``-proxy``, cost or learned values) of ``archs``; learned
        ones are lowered by ``optimism`` predictive standard deviations (an optimistic estimate)."""
        archs = [tuple(a) for a in archs]
        est = self._static(archs)
        if self.learned and len(self.history) >= self.min_fit:
            self._refit()
            x = self._features(archs, est)
            if optimism:
                pred, sd = self._model.predict(x, return_std=True)
                pred = pred - optimism * sd
            else:
                pred = self._model.predict(x)
            for k, j in enumerate(self.learned):
                est[:, j] = pred[:, k]
        return est

    def _refit(self) -> None:
        if self._fitted_at == len(self.history):
            return
        x = np.vstack(self._rows)
        y = self.history.matrix()[:, list(self.learned)]
        self._model = OnlineRidge().fit(x, y)
        self._fitted_at = len(self.history)

    # --- warm-up ---------------------------------------------------------------------------------
    def _warmup(self) -> list[Arch]:
        n = self.warmup_candidates
        if n >= len(self.space) and hasattr(self.space, "enumerate"):
            cands = [tuple(a) for a in self.space.enumerate()]
        else:
            cands = unseen((self.space.sample(self.rng) for _ in range(n)), lambda a: False)
        est = self._static(cands)
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
        """The candidate best under a random preference (Chebyshev on normalised estimates), or
        (``move_choice="hvi"``) the one whose estimate adds most hypervolume to the told front's."""
        if len(cands) == 1:
            return cands[0]
        est = self.estimates(cands, self.exploration)
        if self.move_choice == "hvi":
            best = self._best_hvi(est)
            if best is not None:
                return cands[best]
        lo, hi = est.min(0), est.max(0)
        z = (est - lo) / np.where(hi > lo, hi - lo, 1.0)
        w = self.rng.dirichlet(np.ones(est.shape[1]))
        key = moo.chebyshev(z, w) + 1e-3 * moo.weighted_sum(z, w)
        return cands[int(np.argmin(key))]

    def _best_hvi(self, est: np.ndarray) -> int | None:
        front, told = self.history.front()
        if not front:
            return None
        # fully learned: compare with the told values; otherwise estimate the front in the same terms
        fe = told if len(self.learned) == est.shape[1] and len(self.history) >= self.min_fit else self.estimates(front)
        both = np.vstack([fe, est])
        lo, hi = both.min(0), both.max(0)
        span = np.where(hi > lo, hi - lo, 1.0)
        f, e = (fe - lo) / span, (est - lo) / span
        ref = np.full(est.shape[1], 1.1)
        gain = moo.hypervolume_improvement(f, e, ref)
        return int(np.argmax(gain)) if gain.max() > 1e-12 else None

    def _move(self, parent: Arch, include_parent: bool = False, random_only: bool = False) -> Arch | None:
        cands = unseen(([parent] if include_parent else []) + list(self.space.neighbours(parent)), self.seen)
        if not cands:
            return None
        if self.n_mutants is not None and len(cands) > self.n_mutants:
            cands = [cands[i] for i in sorted(self.rng.choice(len(cands), self.n_mutants, replace=False))]
        if random_only or self.rng.random() < self.random_move_prob:
            return cands[int(self.rng.integers(len(cands)))]
        return self._best(cands)

    def _parent(self) -> Arch | None:
        if self.selector is not None:
            return self.selector.select(self.rng) if len(self.selector.population) >= 2 else None
        return self.space.sample(self.rng)

    def _front_neighbours(self) -> list[Arch]:
        """Unseen one-decision mutants of every told non-dominated architecture."""
        front, _ = self.history.front()
        return unseen((n for a in front for n in self.space.neighbours(a)), self.seen)

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
        if self.neighbourhood == "front" and self.rng.random() >= self.random_move_prob:
            cands = self._front_neighbours()
            if cands:
                return self._best(cands)
        for _ in range(20):
            parent = self._parent()
            if parent is None:
                break
            choice = self._move(parent, random_only=self.neighbourhood == "front")
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
            self._rows.append(self._features([arch], self._static([arch]))[0])

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
