"""Zero-cost-proxy-guided multi-objective search (Abdelfattah et al., ICLR 2021, made multi-objective).

The paper's two uses of proxies, over any number of objectives with declared roles
(:mod:`raynas.objectives`: ``quality`` objectives are estimated by accuracy proxies, ``cost``
objectives by cost proxies such as FLOPs or a latency predictor, ``other`` objectives only by the
told results), and any space (:class:`~raynas.spaces.ParamSpace`: categorical, integer and float
dimensions, a user's own ``model_fn``):

* **Warm-up** (:class:`~raynas.strategies.parts.Warmup`): draw many random configurations (3,000 in
  the paper), estimate every objective with zero-cost scores and ask first for a few spread along
  their non-dominated set. Only ``networks`` (500) of the candidates are scored on their real
  networks; the others' scores are predicted from their encoding by a ridge fitted on those (NB201:
  FLOPs and params are additive in the encoding, Spearman .995; path_params .90, synflow .89).
  When the scorer computes in the background (``searchers.ZeroCostSearch`` with Ray tasks), the
  first asks do not wait: they come from the candidates scored so far (random ones before any score
  arrived), and the warm-up proper starts once all are scored, with as many asks fewer as were
  made meanwhile.
* **Move proposal** (:class:`~raynas.strategies.parts.Moves`): instead of one random mutation of
  a parent (aging-evolution tournament), score the parent's one-dimension mutants and propose the
  best (:class:`~raynas.strategies.parts.Acquisition`: expected hypervolume improvement over the
  told front under the estimates' predictive distribution, exact for any number of objectives,
  :func:`raynas.moo.expected_hypervolume_improvement`); with probability ``random_prob`` a random
  mutant instead (the paper: 0.25).
* **Refinement** (not in the paper; spaces with keys the network does not depend on, such as a
  learning rate): the chosen candidate's values of those keys are improved by a short coordinate
  search of the acquisition on the learned model (``Moves(refine=2)``); no network is scored for it.
* **Front move** (not in the paper): once the learned model is in use, with probability
  ``front_prob`` the candidates are the unseen mutants of *every* told non-dominated configuration.

Estimates. Before results are told they are the zero-cost scores, computed on the real networks
and cached per configuration (their evaluations are a budget of their own,
:attr:`ZeroCostStrategy.estimate_evaluations`). Once ``min_fit`` results are told, a surrogate
(:class:`~raynas.strategies.parts.Model`) refitted as results arrive estimates the learned
objectives from the configuration's encoding and every zero-cost score: a Gaussian process with a
kernel on the number of differing dimensions (numeric ones by their distance on a unit scale; in
spaces with numeric dimensions each dimension weighted by its learned relevance) plus
linear kernels on the scores and the encoding, on Yeo-Johnson-warped targets. Dimensions the network
does not depend on (a learning rate) get the same zero-cost scores everywhere: only the learned
model, from told results, can tell their values apart.

Measured on NB201 (``benchmarks/search_quality.py``, 20 device columns x 10 seeds, median trials to
99% of the true front's HV; ``benchmarks/out/search_quality.md``): defaults 47; GP model without
front moves 50; the ridge without front moves (the defaults before the GP) 60; the paper's settings
102. The defaults were chosen on seeds 0-9 of those devices; seeds 10-19 give 54.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.evolution import propose_unseen, unseen
from raynas.logs import get_logger
from raynas.objectives import Objective
from raynas.spaces.params import encode_all, space_size
from raynas.strategies.aging import ParentSelector
from raynas.strategies.base import Arch, Strategy
from raynas.strategies.parts import (ENGINES, Acquisition, Model, Moves, Warmup, ZeroCostScores, as_part,
                                     preference_choice, refine, roles_of, spread_choice)
from raynas.strategies.scorers import LOG_PROXIES, CachedScorer, DeviceScorer, ProxyScores
from raynas.predictors.surrogates import ArchGP, OnlineRidge

logger = get_logger("zero_cost")


def _as_scorer(s, space, default: str, scores: ProxyScores | None = None):
    """A registered proxy name (scored through ``scores``, a shared :class:`ProxyScores`), a
    :mod:`raynas.hardware` device (its latency, :class:`DeviceScorer`), a callable ``Arch -> float``
    (cached here), or an object with ``score_many(archs)``."""
    from raynas.hardware.base import Device

    if isinstance(s, Device):
        return DeviceScorer(s, space)
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
        f"a scorer must be a registered proxy name, a raynas.hardware device, a callable Arch -> float or have "
        f"score_many(archs); got {s!r}")


def default_cost(objective: Objective) -> str:
    """The cost proxy that estimates a cost metric by default: parameters for a metric about
    parameters, else FLOPs (latency, energy and the like grow with the work done)."""
    return "params" if "param" in objective.metric.lower() else "flops"


def _cost_scorers(cost, objectives: Sequence[Objective], space, scores) -> list:
    """One scorer per cost objective: ``cost`` for all of them, a list (one per cost objective, in
    order), or ``{metric: scorer}``."""
    costs = [o for o in objectives if o.role == "cost"]
    if isinstance(cost, Mapping):
        unknown = [k for k in cost if k not in {o.metric for o in costs}]
        if unknown:
            raise InvalidConfigError(f"cost estimators given for {unknown}, which are not cost objectives "
                                     f"{[o.metric for o in costs]}")
        return [_as_scorer(cost.get(o.metric, default_cost(o)), space, default_cost(o), scores) for o in costs]
    if isinstance(cost, (list, tuple)):
        if len(cost) != len(costs):
            raise InvalidConfigError(f"{len(cost)} cost estimators given for {len(costs)} cost objective(s) "
                                     f"{[o.metric for o in costs]}")
        return [_as_scorer(c, space, default_cost(o), scores) for c, o in zip(cost, costs)]
    return [_as_scorer(cost, space, default_cost(o), scores) for o in costs]


class ZeroCostStrategy(Strategy):
    """Zero-cost warm-up and move proposal over a proposal engine (module docstring).

    Args:
        space: the search space (a :class:`~raynas.spaces.ParamSpace`, NB201, FBNet, ...).
        proxy: accuracy proxy (higher is better): a registered proxy name (``path_params``,
            ``synflow``, ``snip``, ...), a callable ``Arch -> float``, an object with
            ``score_many(archs)``, or a sequence of those (the first estimates quality objectives,
            all are features of the learned model).
        cost: the estimate of cost objectives: one scorer, name or :mod:`raynas.hardware` device
            (its latency, :class:`~raynas.strategies.scorers.DeviceScorer`) for all, a list with one
            per cost objective (in objective order), or ``{metric: scorer}``;
            default ``params`` for a metric about parameters, else ``flops``.
        objectives: a count (``2``: quality then cost), a list of roles (``["quality", "cost",
            "other"]``) or :class:`~raynas.objectives.Objective` objects (a searcher passes these).
        model: the learned surrogate, :class:`~raynas.strategies.parts.Model` (default: GP over
            every objective after 8 told results); ``"gp"``/``"ridge"`` for the defaults of either.
        warmup / moves / acquisition: the other parts (:mod:`raynas.strategies.parts`).
        engine: ``"evolution"`` (aging-evolution parents), ``"random"`` (random parents) or any
            :class:`~raynas.strategies.Strategy` (e.g. an Optuna sampler's): its proposal is the
            parent, and competes with its own mutants.
        seed: makes the whole search deterministic (with scores computed in the foreground).

    Example::

        strategy = ZeroCostStrategy(NB201Space(), ("path_params", "synflow"), "flops", seed=0)
        arch = strategy.ask()
        strategy.tell(arch, [error, latency_ms])
    """

    def __init__(self, space, proxy: Any = ("path_params", "synflow"), cost: Any = None, *,
                 objectives: int | Sequence = 2, model: Model | str | None = None, warmup: Warmup | None = None,
                 moves: Moves | None = None, acquisition: Acquisition | str | None = None,
                 engine: Any = "evolution", seed: int | None = None):
        objs = roles_of(objectives)
        super().__init__(space, seed, len(objs))
        if isinstance(engine, str) and engine not in ENGINES:
            raise InvalidConfigError(f"engine must be one of {ENGINES} or a Strategy, got {engine!r}")
        if not isinstance(engine, (str, Strategy)):
            raise InvalidConfigError(f"engine must be one of {ENGINES} or a Strategy, got {type(engine).__name__}")
        self.model = as_part(Model, model, "model")
        self.warmup = as_part(Warmup, warmup, "warmup")
        self.moves = as_part(Moves, moves, "moves")
        self.acquisition = as_part(Acquisition, acquisition, "acquisition")
        proxies = list(proxy) if isinstance(proxy, (list, tuple)) else [proxy]
        if not proxies:
            raise InvalidConfigError("proxy must name at least one proxy")
        names = [n for n in proxies if isinstance(n, str)]
        costs = cost.values() if isinstance(cost, Mapping) else cost if isinstance(cost, (list, tuple)) else [cost]
        names += [c for c in costs if isinstance(c, str)]
        names += [default_cost(o) for o in objs if o.role == "cost"]
        shared = ProxyScores(space, list(dict.fromkeys(names))) if names else None  # checks the names
        self.scores = ZeroCostScores([_as_scorer(p, space, "path_params", shared) for p in proxies],
                                     _cost_scorers(cost, objs, space, shared), objs)
        self.objectives = objs
        self.learned = tuple(range(len(objs))) if self.model.learn is None else self.model.learn
        for j in self.learned:
            if not 0 <= j < len(objs):
                raise InvalidConfigError(f"learned objective index {j} outside 0..{len(objs) - 1}")
        self.engine = engine
        self.selector = ParentSelector(self.moves.population_size, min(self.moves.sample_size,
                                                                       self.moves.population_size)) \
            if engine == "evolution" else None
        self._categorical = None if np.all(getattr(space, "categorical", [True])) else \
            np.concatenate([np.ones(int(np.sum(space.categorical)), bool), np.zeros(int(np.sum(~space.categorical)), bool)])
        self._queue: list[Arch] | None = None
        self._candidates: list[Arch] | None = None  # the warm-up's, while their scores are computed
        self._scored: np.ndarray | None = None  # which of them are scored on their networks
        self._interim_order = None  # (candidates ready, their spread order) while scores arrive
        self._interim_asks = 0  # asks made while the warm-up's scores arrived: they count towards its size
        self._model = None
        self._rows: list[np.ndarray] = []  # features of the told configurations, in tell order
        self._encodings: dict[Arch, np.ndarray] = {}
        self._fitted_at = -1

    # --- compatibility views ---------------------------------------------------------------------
    @property
    def proxies(self) -> list:
        return self.scores.proxies

    @property
    def proxy(self):
        return self.scores.proxies[0]

    @property
    def cost(self):
        return self.scores.costs[0] if self.scores.costs else None

    # --- estimates -------------------------------------------------------------------------------
    @property
    def estimate_evaluations(self) -> dict[str, int]:
        """Real (uncached) proxy and hardware-cost evaluations so far (one network serves all the
        named proxies and costs when they share a :class:`ProxyScores`)."""
        return self.scores.evaluations

    def _features(self, archs: list[Arch], scores: np.ndarray) -> np.ndarray:
        enc = np.stack([self._encode(a) for a in archs])
        return np.hstack([enc, np.where(np.isfinite(scores), scores, 0.0)])

    def _encode(self, arch: Arch) -> np.ndarray:
        """The space's encoding, memoised (front moves score the same mutants again and again)."""
        row = self._encodings.get(arch)
        if row is None:
            row = self._encodings[arch] = np.asarray(self.space.encode(arch), dtype=float)
        return row

    def _kernel_rows(self, archs: Sequence[Arch]) -> np.ndarray:
        """What the surrogate compares configurations by: categorical entries, then unit-scaled numbers."""
        if self._categorical is None:
            return np.asarray(archs)
        codes, units = self.space.split(archs)
        return np.hstack([codes.astype(float), units])

    @property
    def fitted(self) -> bool:
        """Whether the learned model is in use (objectives to learn, ``min_fit`` results told)."""
        return bool(self.learned) and len(self.history) >= self.model.min_fit

    def predict(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """``[n, m]`` minimised estimates of ``archs`` and their predictive spreads (0 for zero-cost
        estimates of objectives not learned, or before ``min_fit``)."""
        est, sd, _ = self._posterior(archs)
        return est, sd

    def estimates(self, archs: Sequence[Arch]) -> np.ndarray:
        """``[n, m]`` minimised estimates (zero-cost scores, or the learned model's predictions)."""
        return self.predict(archs)[0]

    def _posterior(self, archs: Sequence[Arch]):
        """Estimates, spreads and the learned model's :class:`~raynas.predictors.surrogates.Posterior`
        (None before ``min_fit``). An objective the model cannot predict yet (too few finite results)
        keeps its zero-cost estimate."""
        archs = [tuple(a) for a in archs]
        scores = self.scores.scores(archs)
        est = self.scores.static(scores)
        sd = np.zeros_like(est)
        if not self.fitted:
            return est, sd, None
        self._refit()
        post = self._model.posterior(self._kernel_rows(archs), self._features(archs, scores))
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
        """``[n, G, m]``: ``P(objective_j <= values[g, j])`` of every candidate -- the learned model's
        predictive distribution, or a point mass at the zero-cost estimate."""
        prob = (est[:, None, :] <= values[None]).astype(float)
        k, j = self._learned_columns(post)
        if k:
            grid = np.full((len(values), post.mean.shape[1]), np.nan)
            grid[:, k] = values[:, j]
            prob[:, :, j] = post.cdf(grid)[:, :, k]
        return prob

    def _optimistic(self, post, est: np.ndarray) -> np.ndarray:
        """``[n, m]``: values each candidate beats with negligible probability."""
        low = est.copy()
        k, j = self._learned_columns(post)
        if k:
            low[:, j] = post.optimistic()[:, k]
        return low

    def _refit(self) -> None:
        if self._fitted_at == len(self.history):
            return
        if self._model is None or self.model.kind != "gp":  # a GP is kept: it reselects hyperparameters as rows grow
            self._model = self.model.build(self.scores.n_scores, self._categorical)
        missing = [i for i, row in enumerate(self._rows) if row is None]
        if missing:  # features of told configurations, computed when first needed (not at tell time)
            archs = [self.history.archs[i] for i in missing]
            for i, row in zip(missing, self._features(archs, self.scores.scores(archs))):
                self._rows[i] = row
        y = self.history.matrix()[:, list(self.learned)]
        self._model.fit(self._kernel_rows(self.history.archs), np.vstack(self._rows), y)
        self._fitted_at = len(self.history)

    # --- warm-up ---------------------------------------------------------------------------------
    def _warmup_candidates(self) -> None:
        """Draw the warm-up's candidates, choose those scored on their networks, start scoring them."""
        n = self.warmup.candidates
        if n >= space_size(self.space) and hasattr(self.space, "enumerate"):
            cands = [tuple(a) for a in self.space.enumerate()]
        else:
            cands = unseen((self.space.sample(self.rng) for _ in range(n)), lambda a: False)
        k = self.warmup.networks
        scored = np.ones(len(cands), dtype=bool)
        if k is not None and k < len(cands):
            scored[:] = False
            scored[np.sort(self.rng.choice(len(cands), k, replace=False))] = True  # a random sample
        self._candidates, self._scored = cands, scored
        self.scores.prefetch([c for c, s in zip(cands, scored) if s])

    def _warmup_plan(self) -> list[Arch] | None:
        """The warm-up's queue, or ``None`` while some of its networks' scores are still computed."""
        cands, scored = self._candidates, self._scored
        pick = np.flatnonzero(scored)
        ready = self.scores.ready([cands[i] for i in pick])
        if not ready.all():
            return None
        real = self.scores.scores([cands[i] for i in pick])
        self.scores.check([cands[i] for i in pick], real)
        if len(pick) == len(cands):
            est = self.scores.static(real)
        else:  # the rest's scores estimated from their encoding (ridge, LOO-chosen penalty)
            alive = np.isfinite(real).any(axis=0)  # a proxy failing everywhere is left out (check logged it)
            ok = np.all(np.isfinite(real[:, alive]), axis=1)
            guess = np.full((len(cands), real.shape[1]), np.nan)
            if ok.sum() >= 2:
                x = encode_all(self.space, cands)
                ridge = OnlineRidge(alphas=(0.01, 0.1, 1.0, 10.0)).fit(x[pick][ok], real[ok][:, alive])
                guess[:, alive] = ridge.predict(x)
            guess[pick] = real
            est = self.scores.static(guess)
        chosen = spread_choice(est, self.warmup.size, self._spread_column(est), self.warmup.spread)
        self._candidates = self._scored = None
        return [cands[i] for i in chosen]

    def _spread_column(self, est: np.ndarray) -> int | None:
        if est.shape[1] == 2:
            return 1
        return self.scores.cost_column if est.shape[1] > 2 else None

    def _interim(self) -> Arch:
        """While warm-up scores arrive: the best-spread unseen candidate scored so far, else a random one."""
        cands, scored = self._candidates, self._scored
        pick = np.flatnonzero(scored)
        ready = [i for i, r in zip(pick, self.scores.ready([cands[i] for i in pick])) if r]
        if ready:
            if self._interim_order is None or self._interim_order[0] != len(ready):  # new scores arrived
                est = self.scores.static(self.scores.scores([cands[i] for i in ready]))
                chosen = spread_choice(est, min(len(ready), self.warmup.size), self._spread_column(est),
                                       self.warmup.spread)
                self._interim_order = (len(ready), [ready[i] for i in chosen])
            for i in self._interim_order[1]:
                if not self.seen(cands[i]):
                    return cands[i]
            unseen_ready = [i for i in ready if not self.seen(cands[i])]
            if unseen_ready:
                return cands[unseen_ready[int(self.rng.integers(len(unseen_ready)))]]
        left = [c for c in cands if not self.seen(c)]
        return left[int(self.rng.integers(len(left)))] if left else self.space.sample(self.rng)

    # --- proposals -------------------------------------------------------------------------------
    def _best(self, cands: list[Arch]) -> Arch:
        """The candidate with the largest (expected) hypervolume improvement, or the best under a
        random preference vector (``acquisition="preference"``, or when no candidate improves)."""
        if len(cands) == 1:
            return cands[0]
        est, sd, post = self._posterior(cands)
        if self.acquisition.kind != "preference":
            gain = self._gains(post, est, sd)
            if gain is not None and gain.max() > 1e-12:
                return self._refine(cands[int(np.argmax(gain))])
        return cands[preference_choice(est, self.rng)]

    def _refine(self, arch: Arch) -> Arch:
        """``arch`` with its free keys (a learning rate) tuned on the learned model (:func:`refine`)."""
        if not (self.moves.refine and self.fitted):
            return arch

        def gains(cands):
            est, sd, post = self._posterior(cands)
            return self._gains(post, est, sd)

        return refine(arch, self.space, self.moves.refine, gains, self.seen)

    def _gains(self, post, est: np.ndarray, sd: np.ndarray) -> np.ndarray | None:
        """The acquisition's value of each candidate (None before anything is told)."""
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
        believed = self._believed_pending(learned=self.fitted and len(self.learned) == est.shape[1])
        if len(believed):
            fe = np.vstack([fe, believed])
            fe = fe[moo.pareto_mask(fe)]
            lo = np.minimum(lo, believed.min(0))
        span = np.where(hi > lo, hi - lo, 1.0)
        ref = np.full(est.shape[1], 1.1)
        return self.acquisition.gains((fe - lo) / span, est, sd, lambda v: self._cdf(post, est, v),
                                      self._optimistic(post, est), ref, lo, span)

    def _believed_pending(self, learned: bool) -> np.ndarray:
        """Estimates of the trials still running (``Acquisition(pending="believer")``), in the units
        of the front they join: the model's means when every objective is learned, else zero-cost."""
        running = [a for a in self.pending if a not in self.history]
        if self.acquisition.pending != "believer" or not running:
            return np.empty((0, 0))
        est = self._posterior(running)[0] if learned else self.predict(running)[0]
        return est[np.all(np.isfinite(est), axis=1)]

    def _neighbours(self, arch: Arch) -> list[Arch]:
        return [tuple(n) for n in self.space.neighbours(arch, self.rng)]

    def _move(self, parent: Arch, include_parent: bool = False) -> Arch | None:
        cands = unseen(([parent] if include_parent else []) + self._neighbours(parent), self.seen)
        if not cands:
            return None
        n_mutants = self.moves.n_mutants
        if n_mutants is not None and len(cands) > n_mutants:
            cands = [cands[i] for i in sorted(self.rng.choice(len(cands), n_mutants, replace=False))]
        if self.rng.random() < self.moves.random_prob:
            return cands[int(self.rng.integers(len(cands)))]
        return self._best(cands)

    def _front_move(self) -> Arch | None:
        """The best unseen one-dimension mutant of any told non-dominated configuration."""
        front, _ = self.history.front()
        cands = unseen([n for a in front for n in self._neighbours(a)], self.seen)
        return self._best(cands) if cands else None

    def _parent(self) -> Arch | None:
        if self.selector is not None:
            return self.selector.select(self.rng) if len(self.selector.population) >= 2 else None
        return self.space.sample(self.rng)

    def _propose(self) -> Arch:
        if self._queue is None:
            if self._candidates is None:
                if self.warmup.size == 0:
                    self._queue = []
                else:
                    self._warmup_candidates()
            if self._candidates is not None:
                plan = self._warmup_plan()
                if plan is None:
                    self._interim_asks += 1
                    return self._interim()
                self._queue = plan[:max(0, len(plan) - self._interim_asks)]
        while self._queue:
            a = self._queue.pop(0)
            if not self.seen(a):
                return a
        if self.fitted and self.moves.front_prob and self.rng.random() < self.moves.front_prob:
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
        self._look_ahead()

    def _look_ahead(self) -> None:
        """A newly told non-dominated configuration is a likely parent: its mutants' networks go to
        the background scorer now (when there is one), while trials run, not when they are asked for."""
        if self._queue is None or not self.moves.lookahead or not self.scores.background:
            return  # in the warm-up, off, or scores computed on demand
        arch = self.history.archs[-1]
        if arch not in self.history.front()[0]:
            return
        self.scores.lookahead(unseen([tuple(n) for n in self.space.neighbours(arch)], self.seen),
                              self.moves.lookahead)

    def _observe(self, arch, values) -> None:
        if self.selector is not None:
            self.selector.add(arch, values)
        if self.learned:
            self._rows.append(None)  # filled by _refit: scoring here would block a tell

    def _reset_derived(self) -> None:
        if self.selector is not None:
            self.selector.reset()
        self._rows = []
        self._model = None
        self._fitted_at = -1

    def _extra_state(self) -> dict[str, Any]:
        from raynas.strategies.scorers import key_text

        state = {"queue": None if self._queue is None else [list(a) for a in self._queue],
                 "candidates": None if self._candidates is None else [key_text(a) for a in self._candidates],
                 "scored": None if self._scored is None else [bool(v) for v in self._scored],
                 "interim_asks": self._interim_asks}
        if isinstance(self._model, ArchGP):  # its hyperparameter schedule cannot be replayed from the history
            state["surrogate"] = self._model.state_dict()
        if isinstance(self.engine, Strategy):
            state["engine"] = self.engine.state_dict()
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        from raynas.strategies.scorers import parse_key

        self._queue = None if state["queue"] is None else [tuple(a) for a in state["queue"]]
        cands = state.get("candidates")
        self._candidates = None if cands is None else [parse_key(a) for a in cands]
        self._scored = None if state.get("scored") is None else np.asarray(state["scored"], dtype=bool)
        self._interim_asks = int(state.get("interim_asks", 0))
        if self._candidates is not None:
            self.scores.prefetch([c for c, s in zip(self._candidates, self._scored) if s])
        if "surrogate" in state:
            self._model = self.model.build(self.scores.n_scores, self._categorical)
            self._model.load_state_dict(state["surrogate"])
        if "engine" in state:
            self.engine.load_state_dict(state["engine"])
