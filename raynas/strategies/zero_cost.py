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
  NB201 (20 devices x 10 seeds, median trials to 99% of the true front's HV): all 3,000 scored 57,
  500 (default) 54, 200 62 -- within the noise of each other above 200; ``benchmarks/overhead.py``
  times the first ``suggest()``.
* **Move proposal**: instead of one random mutation of the engine's parent, score the parent's
  one-decision mutants (24 for NB201; ``n_mutants`` random ones if set) and propose the best; with
  probability ``random_move_prob`` a random mutant instead (the paper: 0.25). "Best" is
  multi-objective (``move_choice``): ``"ehvi"`` (default) -- the largest expected hypervolume
  improvement over the told front under the estimates' predictive distribution, integrated exactly
  (:func:`raynas.moo.expected_hypervolume_improvement`, quadrature on ``ehvi_grid`` points per
  objective; earlier versions averaged 64 Monte-Carlo draws, whose noise picked a different
  candidate often enough to cost HV on the hardest devices); ``"hvi"`` -- the largest improvement
  of the estimates themselves; ``"preference"`` -- the best under a random preference vector
  (Chebyshev scalarisation of the normalised estimates).
* **Front move** (not in the paper): once the learned model is in use, with probability
  ``front_move_prob`` the candidates are the unseen one-decision mutants of *every* told
  non-dominated architecture, not one parent's, and the (E)HVI picks among all of them. Chosen on
  six NB201 devices x 10 seeds (median trials to 99% of the true front's HV; ``--devices
  pixel3,silver_4114,eyeriss,raspi4,titanxp_1,gold_6226 --variant 'f25={"front_move_prob":0.25}'``):
  0 / 0.25 / 0.5 / 0.75 / 1 -> 63.5 / 57 / 50.5 / 52 / 57.5; on all 20 devices 0 -> 54, 0.5 -> 47
  (Monte-Carlo EHVI; exact: 50 and 47). With the ridge model the same move made the search worse
  (105 trials).

Engines: ``"evolution"`` (aging evolution, NSGA-II tournament on the *told* objectives), ``"random"``
(the parent is a uniformly random architecture), or any :class:`~raynas.strategies.Strategy`
instance (e.g. :class:`~raynas.strategies.OptunaStrategy`): its proposal is the parent, the
proposal itself competes with its mutants, and every told result is passed on to it.

Estimates. Before any result is told they are the zero-cost scores (``-proxy``, ``cost``), computed
on the real networks and cached per architecture; their evaluations are a budget of their own
(:attr:`ZeroCostStrategy.estimate_evaluations`). Objectives listed in ``learned`` (default: both)
are estimated, once ``min_fit`` results are told, by a surrogate refitted as results arrive
(:mod:`raynas.strategies.surrogates`): for the hardware cost this is the "latency predictor"
option; for accuracy it calibrates the proxies on the told results. Its inputs are the
architecture's decisions, one-hot encoding and every zero-cost score (all ``proxy`` entries and the
cost). ``model="gp"`` (default) is a Gaussian process with a kernel on the number of differing
decisions plus linear kernels on the scores and the encoding, on Yeo-Johnson-warped targets;
``model="ridge"`` the Bayesian ridge of earlier versions (``ridge_alphas``, ``select_features``,
``local_sigma`` and ``neighbour_decay`` configure it and only it). Several proxies may be given:
the first drives the warm-up, all of them are features (on NB201, synflow ranks the best 20% of
architectures far better than path_params, which ranks the whole space better).

Measured on NB201 (``benchmarks/search_quality.py``, 20 device columns x 10 seeds, median trials to
99% of the true front's HV; ``benchmarks/out/search_quality.md``): defaults 47; GP model without
front moves 50; the ridge without front moves (the defaults before the GP) 60 -- 54 and 63 with the
Monte-Carlo EHVI of earlier versions, which also lost one device cell to Optuna's GPSampler
(silver_4114 at 50 trials; the exact EHVI loses none). Among the
unseen neighbours of a search's front, the GP ranks the best quarter's errors at Spearman ~.45, the
ridge at ~.23 (``benchmarks/surrogate_quality.py``); the output warp's scale matters
(:class:`~raynas.strategies.surrogates.ArchGP`).

Defaults were chosen on NB201 with ``benchmarks/search_quality.py`` (20 device columns x 3-10
seeds, tabular ground truth; ``benchmarks/out/search_quality.md`` has the 10-seed measurement, the
defaults before the GP as ``zc-previous-defaults`` and the paper's settings as ``zc-paper``). The GP's
settings were chosen on eight of those devices x 4 seeds, so the 20-device figures are not a
held-out test; ``random_move_prob=0.1`` measured 53 trials (before front moves) but lost a device
cell, 0.2 was kept.
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
from raynas.strategies.surrogates import ArchGP, OnlineRidge, RidgeSurrogate

ENGINES = ("evolution", "random")
MOVE_CHOICES = ("ehvi", "hvi", "preference")
MODELS = ("gp", "ridge")


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
        model: the learned model, ``"gp"`` (:class:`~raynas.strategies.surrogates.ArchGP`) or
            ``"ridge"`` (:class:`~raynas.strategies.surrogates.RidgeSurrogate`).
        engine: ``"evolution"``, ``"random"`` or a :class:`Strategy` instance.
        warmup_candidates / warmup_size: candidates scored at warm-up / architectures asked first.
        random_move_prob: probability of a random mutant instead of the best-scored one.
        front_move_prob: once the model is in use, probability that a move chooses among the mutants
            of every told non-dominated architecture instead of one parent's (module docstring).
        n_mutants: score this many random mutants (None: all one-decision mutants).
        population_size / sample_size: aging-evolution engine settings (the paper: 64 / 10).
        move_choice: ``"ehvi"``, ``"hvi"`` or ``"preference"`` (module docstring).
        ehvi_grid: quadrature points per objective for ``"ehvi"`` (128: within ~0.5% of the exact value).
        ridge_alphas: (``model="ridge"``) penalties chosen from by leave-one-out error.
        select_features: (``model="ridge"``) let each objective choose between (encoding + scores)
            and the scores alone.
        warmup_networks: warm-up candidates scored on real networks (the rest predicted from the
            encoding); None scores all ``warmup_candidates``.
        local_sigma: (``model="ridge"``) quantile of told values whose residuals give the
            predictive spread (None: all).
        neighbour_decay: (``model="ridge"``) weight per differing decision of told neighbours'
            residuals (None: off).
        scores: a shared :class:`~raynas.strategies.scorers.ProxyScores` computing the named proxies
            and cost together (one network build for all); made here when omitted.

    Defaults: see the module docstring and ``benchmarks/search_quality.py``.
    """

    def __init__(self, space, proxy: Any = ("path_params", "synflow"), cost: Any = "flops", *,
                 learned: Sequence[int] = (0, 1), model: str = "gp", engine: Any = "evolution",
                 warmup_candidates: int = 3000,
                 warmup_size: int = 10, random_move_prob: float = 0.2, front_move_prob: float = 0.5,
                 n_mutants: int | None = None,
                 population_size: int = 40, sample_size: int = 10, min_fit: int = 8, move_choice: str = "ehvi",
                 ehvi_grid: int = 128, ridge_alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0),
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
        for name, value in (("random_move_prob", random_move_prob), ("front_move_prob", front_move_prob)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise InvalidConfigError(f"{name} must be in [0, 1], got {value!r}")
        if model not in MODELS:
            raise InvalidConfigError(f"model must be one of {MODELS}, got {model!r}")
        if move_choice not in MOVE_CHOICES:
            raise InvalidConfigError(f"move_choice must be one of {MOVE_CHOICES}, got {move_choice!r}")
        for name, value, low in (("warmup_candidates", warmup_candidates, 1), ("warmup_size", warmup_size, 0),
                                 ("min_fit", min_fit, 2), ("ehvi_grid", ehvi_grid, 2)):
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
        self.model = model
        self.engine = engine
        self.warmup_candidates = warmup_candidates
        self.warmup_size = warmup_size
        self.random_move_prob = random_move_prob
        self.front_move_prob = float(front_move_prob)
        self.n_mutants = n_mutants
        self.min_fit = min_fit
        self.move_choice = move_choice
        self.ehvi_grid = ehvi_grid
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
        self._model: ArchGP | RidgeSurrogate | None = None
        self._rows: list[np.ndarray] = []  # features of the told architectures, in tell order
        self._onehots: dict[Arch, np.ndarray] = {}
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
        onehot = np.stack([self._onehot(a) for a in archs])
        return np.hstack([onehot, np.where(np.isfinite(scores), scores, 0.0)])

    def _onehot(self, arch: Arch) -> np.ndarray:
        """The space's one-hot encoding, memoised (front moves score the same mutants again and again)."""
        row = self._onehots.get(arch)
        if row is None:
            row = self._onehots[arch] = np.asarray(self.space.encode_onehot(arch), dtype=float)
        return row

    @property
    def fitted(self) -> bool:
        """Whether the learned model is in use (``learned`` set and ``min_fit`` results told)."""
        return bool(self.learned) and len(self.history) >= self.min_fit

    def predict(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """``[n, 2]`` minimised estimates of ``archs`` and their predictive spreads
        (0 for the zero-cost estimates of objectives not learned, or before ``min_fit``)."""
        est, sd, _ = self._posterior(archs)
        return est, sd

    def _posterior(self, archs: Sequence[Arch]):
        """Estimates, spreads and the learned model's :class:`~raynas.strategies.surrogates.Posterior`
        (None before ``min_fit``). An objective the model cannot predict yet (too few finite results)
        keeps its zero-cost estimate."""
        archs = [tuple(a) for a in archs]
        scores = self._scores(archs)
        est = self._static(archs, scores)
        sd = np.zeros_like(est)
        if not self.fitted:
            return est, sd, None
        self._refit()
        post = self._model.posterior(np.asarray(archs), self._features(archs, scores))
        k, j = self._learned_columns(post)
        est[:, j], sd[:, j] = post.mean[:, k], post.std[:, k]
        return est, sd, post

    def _learned_columns(self, post) -> tuple[list[int], list[int]]:
        """The model's columns and the objectives they estimate, for the objectives the learned model
        predicts everywhere (none without a model)."""
        pairs = [] if post is None else [(k, j) for k, j in enumerate(self.learned)
                                         if np.isfinite(post.mean[:, k]).all()]
        return [k for k, _ in pairs], [j for _, j in pairs]

    def _cdf(self, post, est: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``[n, G, 2]``: ``P(objective_j <= values[g, j])`` of every candidate -- the learned model's
        predictive distribution, or a point mass at the zero-cost estimate."""
        prob = (est[:, None, :] <= values[None]).astype(float)
        k, j = self._learned_columns(post)
        if k:
            grid = np.full((len(values), post.mean.shape[1]), np.nan)
            grid[:, k] = values[:, j]
            prob[:, :, j] = post.cdf(grid)[:, :, k]
        return prob

    def _optimistic(self, post, est: np.ndarray) -> np.ndarray:
        """``[n, 2]``: values each candidate beats with negligible probability (the learned model's
        ``Posterior.optimistic``; the zero-cost estimate itself where nothing is learned)."""
        low = est.copy()
        k, j = self._learned_columns(post)
        if k:
            low[:, j] = post.optimistic()[:, k]
        return low

    def _expected_improvement(self, post, est: np.ndarray, f: np.ndarray, lo: np.ndarray, span: np.ndarray,
                              ref: np.ndarray) -> np.ndarray:
        """Exact EHVI of every candidate over the normalised front ``f``."""
        lower = np.min((self._optimistic(post, est) - lo) / span, axis=0, initial=np.inf,
                       where=np.isfinite(est))
        return moo.expected_hypervolume_improvement(f, lambda grid: self._cdf(post, est, lo + span * grid), ref,
                                                    lower, self.ehvi_grid)

    def estimates(self, archs: Sequence[Arch]) -> np.ndarray:
        """``[n, 2]`` minimised estimates (zero-cost scores, or the learned model's predictions)."""
        return self.predict(archs)[0]

    def _refit(self) -> None:
        if self._fitted_at == len(self.history):
            return
        n_scores = len(self.proxies) + 1
        if self.model == "gp":
            self._model = self._model or ArchGP(n_scores)  # kept: it reselects hyperparameters as rows grow
        else:
            self._model = RidgeSurrogate(n_scores, self.ridge_alphas, self.select_features, self.neighbour_decay,
                                         self.local_sigma)
        y = self.history.matrix()[:, list(self.learned)]
        self._model.fit(np.asarray(self.history.archs), np.vstack(self._rows), y)
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
        est, sd, post = self._posterior(cands)
        if self.move_choice != "preference":
            best = self._best_improvement(post, est, sd)
            if best is not None:
                return cands[best]
        finite = np.where(np.isfinite(est), est, np.nan)
        lo, hi = np.nanmin(finite, 0), np.nanmax(finite, 0)
        z = np.nan_to_num((finite - lo) / np.where(hi > lo, hi - lo, 1.0), nan=np.inf)
        w = self.rng.dirichlet(np.ones(est.shape[1]))
        key = moo.chebyshev(z, w) + 1e-3 * moo.weighted_sum(z, w)
        return cands[int(np.argmin(key))]

    def _best_improvement(self, post, est: np.ndarray, sd: np.ndarray) -> int | None:
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
            gain = self._expected_improvement(post, est, f, lo, span, ref)
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

    def _front_move(self) -> Arch | None:
        """The best unseen one-decision mutant of any told non-dominated architecture."""
        front, _ = self.history.front()
        cands = unseen([tuple(n) for a in front for n in self.space.neighbours(a)], self.seen)
        return self._best(cands) if cands else None

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
        if self.fitted and self.front_move_prob and self.rng.random() < self.front_move_prob:
            choice = self._front_move()
            if choice is not None:
                return choice
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
        self._model = None
        self._fitted_at = -1

    def _extra_state(self) -> dict[str, Any]:
        state = {"queue": None if self._queue is None else [list(a) for a in self._queue]}
        if isinstance(self._model, ArchGP):  # its hyperparameter schedule cannot be replayed from the history
            state["surrogate"] = self._model.state_dict()
        if isinstance(self.engine, Strategy):
            state["engine"] = self.engine.state_dict()
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        self._queue = None if state["queue"] is None else [tuple(a) for a in state["queue"]]
        if "surrogate" in state:
            self._model = ArchGP(len(self.proxies) + 1)
            self._model.load_state_dict(state["surrogate"])
        if "engine" in state:
            self.engine.load_state_dict(state["engine"])
