"""The small parts raynas's model-based strategies are assembled from.

Like Optuna's ``NSGAIISampler``, which takes its selection, child generation and after-trial
handling as objects, :class:`~raynas.strategies.ZeroCostStrategy` and
:class:`~raynas.strategies.PredictorStrategy` take their research knobs as parts, so a strategy has
few arguments and each part can be swapped or tuned on its own:

* :class:`Warmup` -- the first proposals: many random candidates scored by zero-cost estimates,
  their non-dominated set spread evenly.
* :class:`Moves` -- how later candidates are generated: one-dimension mutants of a parent chosen
  by aging-evolution tournament, or of every member of the told front.
* :class:`Model` -- the learned surrogate (Gaussian process or Bayesian ridge) that replaces the
  zero-cost estimates once enough results are told.
* :class:`Acquisition` -- how a candidate is chosen: expected hypervolume improvement (exact for
  any number of objectives, :func:`raynas.moo.expected_hypervolume_improvement`), plain
  improvement, or a random preference.
* :class:`ZeroCostScores` -- zero-cost estimates of every objective from its role: accuracy
  proxies for ``quality`` objectives, cost proxies (FLOPs, parameters, a latency predictor) for
  ``cost`` objectives, nothing for ``other`` ones.

Example::

    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.parts import Moves, Warmup

    strategy = ZeroCostStrategy(space, "synflow", "flops", warmup=Warmup(candidates=500, size=8),
                                moves=Moves(random_prob=0.1, front_prob=0.5))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.evolution import unseen
from raynas.logs import get_logger
from raynas.objectives import ROLES, Objective

logger = get_logger("parts")

Arch = tuple


def _check_prob(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InvalidConfigError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _check_int(name: str, value, low: int, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidConfigError(f"{name} must be an integer >= {low}{' or None' if allow_none else ''}, got {value!r}")
    return value


@dataclass(frozen=True)
class Warmup:
    """The warm-up (Abdelfattah et al.: score N random architectures, start from the best).

    Args:
        candidates: random candidates considered (3,000 in the paper).
        size: architectures asked first, spread along the candidates' estimated non-dominated set.
        networks: candidates scored on their real networks; the others' scores are predicted from
            their encoding by a ridge fitted on those (``None``: score them all, as the paper does).
        spread: how the ``size`` are chosen from that set (:func:`spread_choice`): ``"even"``
            spaced evenly along the cost objective, cheapest first, both ends included;
            ``"hypervolume"`` (experimental) one at a time, each adding the most hypervolume of the
            estimates (rank-scaled) to those chosen before, the knee first.

    Measured on NB201 (20 devices x 10 seeds, trials to 99% of the true front's HV): all 3,000
    candidates scored 46, 500 (default) 47, 200 54 (``benchmarks/out/search_quality.md``).
    """

    candidates: int = 3000
    size: int = 10
    networks: int | None = 500
    spread: str = "even"

    def __post_init__(self):
        _check_int("warmup candidates", self.candidates, 1)
        _check_int("warmup size", self.size, 0)
        _check_int("warmup networks", self.networks, 2, allow_none=True)
        if self.spread not in SPREADS:
            raise InvalidConfigError(f"warmup spread must be one of {', '.join(SPREADS)}, got {self.spread!r}")


SPREADS = ("even", "hypervolume")


ENGINES = ("evolution", "random")


@dataclass(frozen=True)
class Moves:
    """Candidate generation after the warm-up.

    Args:
        random_prob: probability of a random mutant instead of the best-scored one (the paper: 0.25).
        front_prob: once the model is in use, probability that the candidates are the unseen
            one-dimension mutants of every told non-dominated configuration instead of one parent's.
        n_mutants: score this many random mutants of a parent (None: all one-dimension mutants).
        lookahead: when scores are computed in the background (Ray tasks, a thread), hand up to this
            many networks -- the mutants of each newly told non-dominated configuration, a likely
            parent -- to it as soon as the result is told, so a later ask finds them scored (0: off).
            Measured (``benchmarks/suggest_wait.py``): ``suggest()`` time on NB201 with a background
            thread, 60 trials of 1 s, seeds 0-1: 21.3 s in all with, 31.8 s without (p99 still ~3 s:
            the mutants of parents off the front are scored when asked for).
        population_size / sample_size: the aging-evolution parent selection (the paper: 64 / 10).
        refine: once the learned model is in use, rounds of coordinate search of the acquisition over
            the dimensions the network does not depend on (a learning rate, a weight decay: no
            network to score) after a candidate is chosen; each round tries a step of .2 either way
            on the unit (log) scale, halved when nothing improves (0: off; NB201, FBNet and other
            spaces without such dimensions are unaffected). Measured on the bring-your-own CNN
            space (``benchmarks/byo_search.py``, 5 seeds each): 2 chosen among 0 / 2 / 5 on seeds
            0-4; on seeds 5-9, HV@80 .990 vs .985 (2 objectives), .987 vs .981 (3) with 0.

    Chosen on NB201 (six devices x 10 seeds, ``front_prob`` 0 / .25 / .5 / .75 / 1 -> 63.5 / 57 /
    50.5 / 52 / 57.5 trials to 99% of the true front's HV).
    """

    random_prob: float = 0.2
    front_prob: float = 0.5
    n_mutants: int | None = None
    lookahead: int = 64
    population_size: int = 40
    sample_size: int = 10
    refine: int = 2

    def __post_init__(self):
        _check_prob("random_prob", self.random_prob)
        _check_prob("front_prob", self.front_prob)
        _check_int("n_mutants", self.n_mutants, 1, allow_none=True)
        _check_int("lookahead", self.lookahead, 0)
        _check_int("refine", self.refine, 0)
        _check_int("population_size", self.population_size, 2)
        _check_int("sample_size", self.sample_size, 1)


MODELS = ("gp", "ridge")


@dataclass(frozen=True)
class Model:
    """The learned surrogate.

    Args:
        kind: ``"gp"`` (:class:`~raynas.predictors.surrogates.ArchGP`) or ``"ridge"``
            (:class:`~raynas.predictors.surrogates.RidgeSurrogate`).
        learn: indices of the objectives it estimates (None: all; ``()``: zero-cost estimates only).
        min_fit: told results before it replaces the zero-cost estimates.
        options: keyword arguments of the surrogate class (e.g. ``{"warp_scale": 1.0}``).
    """

    kind: str = "gp"
    learn: tuple | None = None
    min_fit: int = 8
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in MODELS:
            raise InvalidConfigError(f"model kind must be one of {MODELS}, got {self.kind!r}")
        _check_int("min_fit", self.min_fit, 2)
        if self.learn is not None:
            object.__setattr__(self, "learn", tuple(int(j) for j in self.learn))

    def build(self, n_scores: int, categorical: np.ndarray | None):
        from raynas.predictors.surrogates import ArchGP, RidgeSurrogate

        cls = ArchGP if self.kind == "gp" else RidgeSurrogate
        try:
            return cls(n_scores, categorical=categorical, **dict(self.options))
        except TypeError as exc:
            raise InvalidConfigError(f"bad options for the {self.kind} model: {exc}") from None


CHOICES = ("ehvi", "hvi", "preference")
PENDING = ("believer", "ignore")


@dataclass(frozen=True)
class Acquisition:
    """How one candidate is chosen among many.

    Args:
        kind: ``"ehvi"`` -- the largest expected hypervolume improvement over the told front under
            the estimates' predictive distribution (exact for any number of objectives, up to the
            quadrature; with one objective it is the expected improvement); ``"hvi"`` -- the largest
            improvement of the estimates themselves; ``"preference"`` -- the best under a random
            preference vector (Chebyshev scalarisation of the normalised estimates).
        grid: quadrature points per objective (128: within ~0.5% of the exact value).
        pending: how trials still running count when several are asked at once: ``"ignore"`` (the
            front a candidate must improve holds told results only) or ``"believer"`` (a kriging
            believer: each running trial counts as told at its estimate). Measured on a simulated
            cluster (``benchmarks/cluster_sim.py``, NB201, 6 devices x 2 seeds): trials to 99% of the
            true front's HV 80 vs 78 at 32 workers, 60 vs 62 at 8 -- no difference beyond noise --
            while the believer's estimates of 128 running trials raise ``suggest()``'s p99 from 23 to
            35 ms at 2,000 trials; hence the default.
    """

    kind: str = "ehvi"
    grid: int = 128
    pending: str = "ignore"

    def __post_init__(self):
        if self.kind not in CHOICES:
            raise InvalidConfigError(f"acquisition must be one of {CHOICES}, got {self.kind!r}")
        _check_int("grid", self.grid, 2)
        if self.pending not in PENDING:
            raise InvalidConfigError(f"acquisition pending must be one of {PENDING}, got {self.pending!r}")

    def gains(self, front: np.ndarray, est: np.ndarray, sd: np.ndarray, cdf: Callable | None,
              optimistic: np.ndarray | None, reference: np.ndarray, lo: np.ndarray, span: np.ndarray) -> np.ndarray:
        """Improvement of every candidate over the normalised ``front`` (``(values - lo) / span``);
        ``cdf(values in objective units) -> [n, G, m]`` and ``optimistic`` (values each candidate
        beats with negligible probability) describe the predictive distribution."""
        if self.kind == "ehvi" and cdf is not None and np.any(sd > 0):
            low = est if optimistic is None else optimistic
            lower = np.min((low - lo) / span, axis=0, initial=np.inf, where=np.isfinite(est))
            return moo.expected_hypervolume_improvement(front, lambda grid: cdf(lo + span * grid), reference,
                                                        lower, self.grid)
        return moo.hypervolume_improvement(front, (est - lo) / span, reference)


def as_part(cls, value, label: str):
    """``value`` as a part of class ``cls``: the part itself, ``None`` (the defaults), a mapping of its
    fields (e.g. from JSON or a command line), or a string for its first field (``"ridge"``)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls(**value)
        except TypeError as exc:
            raise InvalidConfigError(f"{label}: {exc}") from None
    if isinstance(value, str) and cls in (Model, Acquisition):
        return cls(value)
    raise InvalidConfigError(f"{label} must be a raynas.strategies.parts.{cls.__name__} (or a dict of its fields), "
                             f"got {value!r}")


def preference_choice(est: np.ndarray, rng: np.random.Generator) -> int:
    """The candidate best under a random preference vector (Chebyshev on min-max normalised estimates)."""
    finite = np.where(np.isfinite(est), est, np.nan)
    lo, hi = np.nanmin(finite, 0), np.nanmax(finite, 0)
    z = np.nan_to_num((finite - lo) / np.where(hi > lo, hi - lo, 1.0), nan=np.inf)
    w = rng.dirichlet(np.ones(est.shape[1]))
    key = moo.chebyshev(z, w) + 1e-3 * moo.weighted_sum(z, w)
    return int(np.argmin(key))


def spread_choice(est: np.ndarray, size: int, cost_column: int | None, how: str = "even") -> list[int]:
    """Indices of up to ``size`` candidates: the estimated non-dominated set first, one per distinct
    estimate, then the next fronts while room remains. Within a front too large to take whole,
    ``how="even"`` spreads them evenly along ``cost_column`` (by crowding distance without one);
    ``how="hypervolume"`` takes them greedily by the hypervolume each adds
    (:func:`raynas.moo.greedy_hypervolume_subset`), every column scaled to its ranks among ``est``."""
    est = np.where(np.isfinite(est), est, np.inf)  # a failed estimate ranks last
    if how == "hypervolume":
        from scipy.stats import rankdata

        scaled = np.column_stack([rankdata(c) / len(c) for c in est.T]) if len(est) else est
    chosen: list[int] = []
    remaining = np.arange(len(est))
    while remaining.size:  # peel the fronts one at a time, only as many as are needed
        front = moo.pareto_mask(est[remaining])
        idx, remaining = remaining[front], remaining[~front]
        _, first = np.unique(est[idx], axis=0, return_index=True)
        idx = idx[np.sort(first)]
        need = size - len(chosen)
        if len(idx) > need:
            if how == "hypervolume":
                idx = idx[moo.greedy_hypervolume_subset(scaled[idx], need, np.full(est.shape[1], 1.0 + 1e-3))]
            elif cost_column is not None:
                order = idx[np.argsort(est[idx, cost_column], kind="stable")]
                idx = order[np.unique(np.round(np.linspace(0, len(order) - 1, need)).astype(int))]
            else:
                crowd = moo.crowding_distance(est[idx]) if est.shape[1] > 1 else -est[idx, 0]
                idx = idx[np.argsort(-crowd, kind="stable")[:need]]
        chosen.extend(idx.tolist())
        if len(chosen) >= size:
            break
    return chosen


def free_dimensions(space) -> list[int]:
    """Indices of the dimensions ``space``'s networks do not depend on (a learning rate, a weight
    decay: :meth:`~raynas.spaces.ParamSpace.model_dimensions` leaves them out). Changing them costs
    no network evaluation, only a learned model's prediction. NAS spaces (NB201, FBNet) have none."""
    free = getattr(space, "__dict__", {}).get("_free_dimensions")
    if free is None:
        model_dims = getattr(space, "model_dimensions", None)
        names = set(model_dims()) if model_dims is not None else None
        free = [] if names is None else \
            [i for i, d in enumerate(space.dimensions) if d.name not in names and d.size > 1]
        if hasattr(space, "__dict__"):
            space.__dict__["_free_dimensions"] = free
    return list(free)


def refine(arch: Arch, space, rounds: int, gains: Callable, seen: Callable[[Arch], bool]) -> Arch:
    """Coordinate search of an acquisition over the dimensions the network does not depend on.

    Each round tries every free dimension's neighbours of ``arch`` (a step of ``.2`` either way on
    the unit scale -- a log scale where declared --, every other value of a categorical one) and
    moves to the best when the acquisition rises; the step halves when nothing improves. Used by
    :class:`~raynas.strategies.ZeroCostStrategy` and :class:`~raynas.strategies.PredictorStrategy`
    once a chosen candidate is known: it tunes the chosen network's learning rate on the learned
    model, scoring no network.

    Args:
        arch: the chosen (unseen) configuration.
        space: its space; its :func:`free_dimensions` are searched.
        rounds: rounds of the search (0: ``arch`` as it is).
        gains: ``list[Arch] -> array`` of acquisition values (``None``: nothing to compare by).
        seen: whether a configuration was asked already (those are skipped).

    Example::

        arch = refine(arch, space, 2, lambda cands: acquisition_values(cands), strategy.seen)
    """
    free = free_dimensions(space) if rounds else []
    if not free:
        return arch
    dims = space.dimensions
    step = 0.2
    for _ in range(rounds):
        cands = [arch]
        for i in free:
            d = dims[i]
            values = d.neighbours(arch[i]) if d.kind == "categorical" else \
                [d.from_unit(d.unit(arch[i]) + s) for s in (step, -step)]
            cands += [arch[:i] + (v,) + arch[i + 1:] for v in values if v != arch[i]]
        cands = unseen(cands, seen)  # the chosen one is unseen: it stays first
        if len(cands) > 1:
            gain = gains(cands)
            best = 0 if gain is None else int(np.argmax(gain))  # ties keep the current one
            if best:
                arch = cands[best]
                continue
        step /= 2
    return arch


def roles_of(objectives) -> tuple[Objective, ...]:
    """Objectives from an int (``1``: quality; ``2``: quality, cost; ``n``: quality then costs), a
    list of roles, or :class:`~raynas.objectives.Objective` objects."""
    if isinstance(objectives, int) and not isinstance(objectives, bool):
        if objectives < 1:
            raise InvalidConfigError(f"need at least one objective, got {objectives}")
        roles = ["quality"] + ["cost"] * (objectives - 1)
        return tuple(Objective(f"objective_{j}", "min", r) for j, r in enumerate(roles))
    objectives = list(objectives)
    if not objectives:
        raise InvalidConfigError("need at least one objective")
    if all(isinstance(o, Objective) for o in objectives):
        return tuple(objectives)
    if all(isinstance(o, str) for o in objectives):
        bad = [o for o in objectives if o not in ROLES]
        if bad:
            raise InvalidConfigError(f"unknown role(s) {bad}; roles are {ROLES}")
        return tuple(Objective(f"objective_{j}", "min", r) for j, r in enumerate(objectives))
    raise InvalidConfigError(f"objectives must be a count, a list of roles or Objective objects, got {objectives!r}")


class ZeroCostScores:
    """Zero-cost estimates of every objective from its role (see :mod:`raynas.objectives`).

    Args:
        proxies: accuracy proxies (higher is better): scorers (``Arch -> float`` callables or
            objects with ``score_many(archs)``); the first estimates ``quality`` objectives, all are
            features of the learned model.
        costs: one scorer per ``cost`` objective, in objective order.
        objectives: the objectives (their roles decide which estimate each gets).

    ``scores(archs)`` is ``[n, len(proxies) + len(costs)]``; ``static(archs, scores)`` the minimised
    ``[n, m]`` estimates: ``-first proxy`` for quality objectives, the cost for cost objectives, 0
    (no information) for other objectives.
    """

    def __init__(self, proxies: Sequence, costs: Sequence, objectives: Sequence[Objective]):
        self.proxies = list(proxies)
        self.costs = list(costs)
        self.objectives = tuple(objectives)
        n_cost = sum(o.role == "cost" for o in self.objectives)
        if len(self.costs) != n_cost:
            raise InvalidConfigError(f"{n_cost} cost objective(s) need as many cost scorers, got {len(self.costs)}")
        if not self.proxies:
            raise InvalidConfigError("at least one accuracy proxy is needed")

    @property
    def n_scores(self) -> int:
        return len(self.proxies) + len(self.costs)

    def scorers(self) -> list:
        return self.proxies + self.costs

    def scores(self, archs: Sequence[Arch]) -> np.ndarray:
        from raynas.strategies.scorers import score_columns

        if not archs:
            return np.zeros((0, self.n_scores))
        return score_columns(self.scorers(), archs)

    def static(self, scores: np.ndarray) -> np.ndarray:
        out = np.zeros((len(scores), len(self.objectives)))
        c = len(self.proxies)
        for j, o in enumerate(self.objectives):
            if o.role == "quality":
                out[:, j] = -scores[:, 0]
            elif o.role == "cost":
                out[:, j] = scores[:, c]
                c += 1
        return out

    def check(self, archs: Sequence[Arch], scores: np.ndarray) -> None:
        """Stop early when an estimate that steers the search (the accuracy proxy of a quality
        objective, a cost's scorer) failed on every one of ``archs`` (the first networks scored): a
        ``model_fn`` that cannot run or ``example_inputs`` of the wrong shape, said with the reason.
        Other proxies failing everywhere (features of the learned model only) are logged."""
        if len(archs) < 2:
            return
        dead = [k for k in range(scores.shape[1]) if not np.isfinite(scores[:, k]).any()]
        if not dead:
            return
        scorers = self.scorers()
        steering = set(range(len(self.proxies), self.n_scores))
        if any(o.role == "quality" for o in self.objectives):
            steering.add(0)
        names = list(dict.fromkeys(getattr(scorers[k], "name", f"score {k}") for k in dead))
        table = getattr(scorers[dead[0]], "table", None)
        why = table.failures(archs[0]).get(names[0]) if hasattr(table, "failures") else None
        where = f"; networks got inputs of shape {table.input_shape} plus a batch dimension" if why else ""
        msg = (f"zero-cost scores {names} failed on all {len(archs)} configurations scored first"
               + (f" (first network: {why}{where})" if why else ""))
        if steering.intersection(dead):
            raise InvalidConfigError(f"{msg}; check model_fn and example_inputs (a batch, or the shape of "
                                     f"one input without the batch dimension)")
        logger.warning("%s; they tell the learned model nothing", msg)

    @property
    def cost_column(self) -> int | None:
        """The first cost objective (the axis the warm-up spreads along), if any."""
        return next((j for j, o in enumerate(self.objectives) if o.role == "cost"), None)

    def _sources(self) -> list:
        """The scorers, one per shared table (columns of one :class:`ProxyScores` are asked once)."""
        out, tables = [], set()
        for s in self.scorers():
            t = getattr(s, "table", None)
            if t is not None:
                if id(t) in tables:
                    continue
                tables.add(id(t))
            out.append(s)
        return out

    def prefetch(self, archs: Sequence[Arch]) -> None:
        """Start computing the scores of ``archs`` where a scorer can do that in the background."""
        for s in self._sources():
            if hasattr(s, "prefetch"):
                s.prefetch(archs)

    @property
    def background(self) -> bool:
        """Whether some scorer computes networks in the background (then :meth:`lookahead` pays)."""
        return any(getattr(s, "background", False) for s in self._sources())

    def lookahead(self, archs: Sequence[Arch], limit: int = 64) -> None:
        """Queue the scores of ``archs`` likely needed soon where a scorer computes in the background
        (:meth:`raynas.strategies.scorers.ProxyScores.lookahead`)."""
        for s in self._sources():
            if hasattr(s, "lookahead"):
                s.lookahead(archs, limit)

    def ready(self, archs: Sequence[Arch]) -> np.ndarray:
        """Which of ``archs`` have every score available now (without computing any)."""
        ok = np.ones(len(archs), dtype=bool)
        for s in self._sources():
            if hasattr(s, "ready"):
                ok &= np.asarray(s.ready(archs), dtype=bool)
        return ok

    @property
    def evaluations(self) -> dict[str, int]:
        return {"proxy": getattr(self.proxies[0], "evaluations", -1),
                "cost": getattr(self.costs[0], "evaluations", -1) if self.costs else 0}


__all__ = ["Warmup", "Moves", "Model", "Acquisition", "ZeroCostScores", "as_part", "preference_choice", "spread_choice",
           "free_dimensions", "refine", "roles_of", "ENGINES", "SPREADS", "MODELS", "CHOICES"]
