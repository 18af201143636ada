"""One Tune ``Searcher`` adapter for every raynas ask/tell strategy.

A strategy (``raynas.strategies``) proposes configurations with ``ask()`` and learns from
``tell(arch, objectives)`` where every objective is minimised. This adapter only translates:
Tune's trial ids to configurations, configs to and from the space, results to objectives
(:func:`raynas.objectives.evaluate`, the one rule every raynas component uses), and Tune's
checkpoints to the strategy's ``state_dict``. The searchers users import (``ZeroCostSearch``,
``AgingEvolutionSearch``, ...) are this class with a strategy chosen for them.

It behaves like Tune's own ``OptunaSearch``:

* ``space`` may be a raynas space, a Tune ``param_space`` dict, or ``None`` -- then the Tuner's
  ``param_space`` is the space (``tune.choice``/``randint``/``uniform``/``loguniform``/..., nested
  dicts, fixed values; :func:`searchers.spaces.space_from_param_space`).
* ``metric``/``mode`` are strings or lists given here, or come from ``TuneConfig(metric=...,
  mode=...)``; a ``TuneConfig`` metric must agree with the searcher's own.
* ``points_to_evaluate`` are suggested first (keys a point leaves out are drawn, as Tune does);
  with ``evaluated_rewards`` they are told without being run.
* ``save``/``restore`` (Tune's experiment checkpoints, ``Tuner.restore``) capture the strategy's
  whole state, so a restored search asks what the uninterrupted one would have.
* Works under ``ConcurrencyLimiter`` and any scheduler; under Tune's ``Repeater`` with one metric
  (Tune's Repeater averages a single metric: use :class:`searchers.Repeater` for several).

Fidelity, without custom keys. A trial a scheduler stopped early is never learned as a complete
evaluation: its quality metrics are told as infinitely bad and only its ``cost`` metrics (which do
not depend on training) are kept. Complete means: the trial ended by itself; or it reported
``epoch``/``max_epochs`` (raynas trainables) with ``epoch >= max_epochs``; or it reached ``max_t``
of ``time_attr`` (given here, or ``RunConfig(stop={"training_iteration": n})``). Without those,
a trial a scheduler stopped at iteration ``t`` is truncated when any trial continued past ``t``
(schedulers promote the first trial that reaches each rung, so every rung below the top is
proved); one stopped at the highest iteration seen is held back until a second trial stops there
too (the top rung, ``max_t``) or some trial goes further (it was truncated).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from raynas.errors import InvalidConfigError, RaynasError
from raynas.objectives import Objective, evaluate, finite_number, make_objectives
from raynas.spaces.params import flatten, space_size


class MetricNames(list):
    """The searcher's metric list, hashable so that Tune's single-metric ``Repeater`` does not crash
    on it (the searcher then explains what to use instead)."""

    def __hash__(self) -> int:
        return hash(tuple(self))




class StrategySearcher(Searcher):
    """Adapt a raynas strategy to Tune (module docstring).

    Args:
        strategy: a :class:`raynas.strategies.Strategy`, or ``None`` when a subclass builds one
            (:meth:`_build_strategy`) once the space and the metrics are known.
        space: a raynas space, a Tune ``param_space`` dict, or ``None`` (the Tuner's ``param_space``).
        metric, mode: a string or a list each (as ``OptunaSearch``), or ``None`` (``TuneConfig``'s).
        points_to_evaluate: configs (dicts) to suggest first; on a ``param_space`` a point may
            leave keys out (they are drawn, the same way every run).
        evaluated_rewards: their results (a number per point for one metric, a list in metric
            order, or a result dict), told without running them.
        roles: ``{metric: "quality" | "cost" | "other"}`` (:mod:`raynas.objectives`; inferred from
            the names otherwise).
        max_t: the full fidelity in ``time_attr`` (a scheduler's ``max_t``), when known.
        time_attr: the fidelity key of results (Tune's ``training_iteration`` by default).
        model_fn, example_inputs: build networks from configs of a ``param_space`` space
            (:class:`~raynas.spaces.ParamSpace`); needed by proxies and hardware costs only.
    """

    #: the :class:`~raynas.strategies.scorers.ProxyScores` a subclass's strategy reads (if any): saved
    #: with the searcher's state, so a restored search does not compute its networks again
    scores = None

    def __init__(self, strategy=None, space=None, metric: Sequence[str] | str | None = None,
                 mode: Sequence[str] | str | None = None, points_to_evaluate: Sequence[Mapping] | None = None, *,
                 evaluated_rewards: Sequence | None = None, roles: Mapping[str, str] | None = None,
                 max_t: float | None = None, time_attr: str = "training_iteration", model_fn=None,
                 example_inputs=None):
        self._roles = dict(roles) if roles else None
        self._objectives: tuple[Objective, ...] | None = None
        if metric is not None or mode is not None:
            self._objectives = make_objectives(metric, mode, self._roles)
        elif self._roles:
            raise InvalidConfigError("roles need the metrics they refer to: pass metric and mode too")
        super().__init__(metric=None, mode=None)
        self.model_fn, self.example_inputs = model_fn, example_inputs
        self.space = None
        self._param_space: Mapping | None = None
        if isinstance(space, Mapping):
            self._param_space = space
            self._set_space_from(space)
        else:
            self.space = space
        if max_t is not None and (finite_number(max_t) is None or max_t <= 0):
            raise InvalidConfigError(f"max_t must be a positive number, got {max_t!r}")
        self.max_t = max_t
        self.time_attr = time_attr
        self.strategy = strategy
        self.live: dict[str, tuple] = {}
        self.completed = 0
        self.stopped_early = 0
        self._points = [dict(p) for p in points_to_evaluate or []]
        self._rewards = list(evaluated_rewards) if evaluated_rewards is not None else None
        if self._rewards is not None and len(self._rewards) != len(self._points):
            raise InvalidConfigError(f"evaluated_rewards has {len(self._rewards)} entries for "
                                     f"{len(self._points)} points_to_evaluate")
        self._asked: set[tuple] = set()
        self._last_t: dict[str, float] = {}
        self._max_continued = -math.inf
        self._natural_full: float | None = None
        self._stopped_at: dict[float, int] = {}
        self._deferred: dict[str, tuple[tuple, dict]] = {}
        self._pending_state: dict | None = None
        self._sync_metric()
        self._maybe_build()

    # --- set-up ------------------------------------------------------------------------------------
    def _set_space_from(self, param_space: Mapping) -> None:
        from searchers.spaces import space_from_param_space

        self.space = space_from_param_space(param_space, model_fn=self.model_fn, example_inputs=self.example_inputs)

    def _build_strategy(self, space, objectives: tuple[Objective, ...]):
        """Subclasses that build their strategy late (space or metrics unknown at construction)."""
        raise InvalidConfigError(f"{type(self).__name__} was given no strategy")

    def _maybe_build(self) -> None:
        if self.space is not None and self._objectives is not None:
            self._check_points()
            if self.strategy is None:
                self.strategy = self._build_strategy(self.space, self._objectives)
            n = getattr(self.strategy, "n_objectives", None)
            if n is not None and n != len(self._objectives):
                raise InvalidConfigError(f"the strategy has {n} objectives but the metrics are "
                                         f"{[o.metric for o in self._objectives]}")
            if self._pending_state is not None:
                state, self._pending_state = self._pending_state, None
                self.set_state(state)
            if self._rewards is not None:
                self._tell_rewards()

    def _check_points(self) -> None:
        """Validate the points; a point leaving dimensions of a ``param_space`` out (as Tune allows)
        gets them drawn, the same way every time (the i-th point from generator ``i``). A point
        with a reward must be complete: the reward belongs to one configuration."""
        complete = getattr(self.space, "complete", None)
        for i, p in enumerate(self._points):
            if complete is None or self._rewards is not None:
                self.space.from_config(p)  # raises naming what is missing or wrong
            else:
                self._points[i] = self.space.to_config(complete(p, np.random.default_rng(i)))

    def _tell_rewards(self) -> None:
        points, rewards = self._points, self._rewards
        self._points, self._rewards = [], None
        for config, reward in zip(points, rewards):
            self.add_evaluated_point(config, reward)

    def _sync_metric(self) -> None:
        if self._objectives is None:
            self._metric, self._mode = None, None
        elif len(self._objectives) == 1:
            self._metric, self._mode = self._objectives[0].metric, self._objectives[0].mode
        else:
            self._metric = MetricNames(o.metric for o in self._objectives)
            self._mode = [o.mode for o in self._objectives]

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The objectives (metric, mode, role), once known."""
        if self._objectives is None:
            raise InvalidConfigError(f"{type(self).__name__} has no metric yet: pass metric/mode to it or to "
                                     f"TuneConfig(metric=..., mode=...)")
        return self._objectives

    @property
    def _signs(self):  # minimisation signs, in metric order
        return [o.sign for o in self.objectives]

    # --- Tune protocol -------------------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict | None, **spec) -> bool:
        """Take the Tuner's ``metric``/``mode`` and ``param_space`` (module docstring)."""
        if metric:
            if self._objectives is None:
                if not mode:
                    raise InvalidConfigError(f"TuneConfig metric {metric!r} needs a mode ('min' or 'max')")
                self._objectives = make_objectives(metric, mode, self._roles)
                self._sync_metric()
            else:
                self._check_tuner_metric(metric, mode)
        if config:
            if self.space is None:
                self._param_space = config
                self._set_space_from(config)
            else:
                self.check_param_space(config)
        stop = spec.get("stop")
        if self.max_t is None and isinstance(stop, Mapping) and finite_number(stop.get(self.time_attr)) is not None:
            self.max_t = float(stop[self.time_attr])
        self._maybe_build()
        return True

    def _check_tuner_metric(self, metric, mode) -> None:
        """The Tuner's metric(s) must be among the searcher's, with the same modes."""
        names = [o.metric for o in self._objectives]
        metrics = [metric] if isinstance(metric, str) else list(metric)
        modes = [mode] * len(metrics) if mode is None or isinstance(mode, str) else list(mode)
        for m, md in zip(metrics, modes):
            if m not in names:
                raise InvalidConfigError(f"TuneConfig metric {m!r} is not one of the searcher's metrics {names}")
            own = self._objectives[names.index(m)].mode
            if md and md != own:
                raise InvalidConfigError(f"TuneConfig mode {md!r} for {m!r} contradicts the searcher's {own!r}")

    def check_param_space(self, config: Mapping) -> None:
        """Raise if the Tuner's ``param_space`` offers values the space lacks, or has search domains
        the space does not cover (Tune would pass them unresolved to the trainable)."""
        from ray.tune.search.sample import Domain

        from searchers.spaces import with_items

        flat = flatten(with_items(config))
        dims = {d.name: d for d in self.space.dimensions}
        for key, value in flat.items():
            d = dims.get(key)
            if d is None:
                if isinstance(value, Domain) or (isinstance(value, Mapping) and "grid_search" in value):
                    raise InvalidConfigError(
                        f"param_space[{key!r}] is a search domain, but this searcher searches the {self.space.name} "
                        f"space, which has no {key!r}: leave the space out (space=None) to search the param_space "
                        f"itself, or add {key!r} to the space")
                continue
            categories = getattr(value, "categories", None)
            if d.kind == "categorical":
                if categories is None and isinstance(value, Domain):
                    raise InvalidConfigError(f"param_space[{key!r}] is a {type(value).__name__}; the searcher proposes "
                                             f"{key!r} itself: use tune.choice({list(d.values)}) or leave it out")
                values = categories if categories is not None else [value]
                bad = []
                for v in values:
                    try:
                        d.entry(v)
                    except RaynasError:
                        bad.append(v)
                if bad:
                    raise InvalidConfigError(f"param_space[{key!r}] offers {bad}, which the {self.space.name} space "
                                             f"does not have (its choices: {list(d.values)})")

    def suggest(self, trial_id: str) -> dict | None:
        if self.strategy is None:
            self._maybe_build()
        if self.strategy is None:
            missing = " and ".join(w for w, ok in (("metric/mode (here or in TuneConfig)", self._objectives is not None),
                                                   ("a space (here or the Tuner's param_space)", self.space is not None))
                                   if not ok)
            raise InvalidConfigError(f"{type(self).__name__} cannot suggest without {missing}")
        if self._points:
            config = self._points.pop(0)
            arch = self.space.from_config(config)
            self.live[trial_id] = arch
            self._asked.add(arch)
            return self.space.to_config(arch)
        if len(self._asked) >= space_size(self.space):
            return Searcher.FINISHED  # every configuration evaluated or running
        arch = self.strategy.ask()
        self._asked.add(tuple(arch))
        self.live[trial_id] = tuple(arch)
        return self.space.to_config(arch)

    def objectives_of(self, result: Mapping | None, complete: bool | None = None) -> list[float]:
        """The result's metrics as minimised values (:func:`raynas.objectives.evaluate`)."""
        return list(evaluate(result, self.objectives, complete=complete, max_t=self.max_t,
                             time_attr=self.time_attr).values)

    # kept for callers of earlier versions
    objectives_for_result = objectives_of

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        t = finite_number((result or {}).get(self.time_attr))
        if t is not None and trial_id in self.live:
            self._last_t[trial_id] = t
            self._max_continued = max(self._max_continued, t)  # it got CONTINUE: the budget is larger
            self._resolve_deferred()

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arch = self.live.pop(trial_id, None)
        last = self._last_t.pop(trial_id, None)
        if arch is None:
            return
        if result and any(isinstance(k, MetricNames) for k in result):
            raise InvalidConfigError(
                "Tune's Repeater averages a single metric and cannot repeat a multi-objective searcher: wrap it in "
                "searchers.Repeater, which averages every metric")
        if error or not result:
            self._tell(arch, [math.inf] * len(self.objectives))
            return
        complete = self._complete(trial_id, arch, result, last)
        if complete is None:
            return  # held back until the fidelity is known
        self._tell(arch, self.objectives_of(result, complete), truncated=not complete)
        self._resolve_deferred()

    def _complete(self, trial_id: str, arch: tuple, result: dict, last: float | None) -> bool | None:
        """Whether ``result`` is a complete evaluation; ``None``: not known yet (held back)."""
        fid = evaluate(result, self.objectives, max_t=self.max_t, time_attr=self.time_attr).fidelity
        if fid.full is not None:  # epoch/max_epochs reported, or max_t known
            t = finite_number(result.get(self.time_attr))
            return fid.complete or (last is not None and t == last)
        t = finite_number(result.get(self.time_attr))
        if t is None:
            return True
        if last is not None and t == last:  # it ended by itself (Tune repeats its last result)
            self._natural_full = t if self._natural_full is None else max(self._natural_full, t)
            return True
        self._stopped_at[t] = self._stopped_at.get(t, 0) + 1
        verdict = self._verdict(t)
        if verdict is None:
            self._deferred[trial_id] = (arch, dict(result))
        return verdict

    def _verdict(self, t: float) -> bool | None:
        if self._natural_full is not None and t >= self._natural_full:
            return True
        if t <= self._max_continued:
            return False
        if self._stopped_at.get(t, 0) >= 2:
            return True
        return None

    def _resolve_deferred(self) -> None:
        for trial_id, (arch, result) in list(self._deferred.items()):
            verdict = self._verdict(finite_number(result.get(self.time_attr)))
            if verdict is not None:
                del self._deferred[trial_id]
                self._tell(arch, self.objectives_of(result, verdict), truncated=not verdict)

    def _tell(self, arch: tuple, values: Sequence[float], truncated: bool = False) -> None:
        self.strategy.tell(arch, values)
        self.completed += 1
        self.stopped_early += int(truncated)

    def add_evaluated_point(self, parameters: dict, value: Sequence[float] | float | dict, error: bool = False,
                            pruned: bool = False, intermediate_values=None) -> None:
        """Tell the strategy about a config evaluated outside this search (``value``: the metrics in
        ``metric`` order, one number for one metric, or a result dict)."""
        arch = self.space.from_config(parameters)
        if error or pruned:
            values = [math.inf] * len(self.objectives)
        elif isinstance(value, Mapping):
            values = self.objectives_of(value, complete=True)
        else:
            vals = [value] if not isinstance(value, (list, tuple)) else list(value)
            if len(vals) != len(self.objectives):
                raise InvalidConfigError(f"value {value!r} must give the {len(self.objectives)} metrics "
                                         f"{[o.metric for o in self.objectives]}")
            values = self.objectives_of(dict(zip([o.metric for o in self.objectives], vals)), complete=True)
        self._asked.add(arch)
        self.strategy.tell(arch, values)

    # --- Tune experiment checkpoints ------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        if self.strategy is None:
            raise InvalidConfigError(f"{type(self).__name__} has nothing to save before its space and metrics are known")
        state = {} if self.scores is None else {"proxy_scores": self.scores.state_dict()}
        return {**state, "searcher": type(self).__name__, "strategy": self.strategy.state_dict(),
                "live": dict(self.live), "completed": self.completed, "stopped_early": self.stopped_early,
                "objectives": [(o.metric, o.mode, o.role) for o in self.objectives], "max_t": self.max_t,
                "points": list(self._points), "asked": [list(a) for a in self._asked],
                "fidelity": {"last_t": dict(self._last_t), "max_continued": self._max_continued,
                             "natural_full": self._natural_full, "stopped_at": dict(self._stopped_at),
                             "deferred": {k: (list(a), r) for k, (a, r) in self._deferred.items()}}}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("searcher", type(self).__name__) != type(self).__name__:
            raise InvalidConfigError(f"a {state['searcher']} checkpoint cannot restore a {type(self).__name__}")
        self._objectives = tuple(Objective(*o) for o in state["objectives"])
        self._sync_metric()
        if self.strategy is None:
            self._maybe_build()
        if self.strategy is None:  # the space arrives with set_search_properties
            self._pending_state = state
            return
        if self.scores is not None and "proxy_scores" in state:
            self.scores.load_state_dict(state["proxy_scores"])  # before the strategy replays its history
        self.strategy.load_state_dict(state["strategy"])
        self.live = {k: tuple(v) for k, v in state["live"].items()}
        self.completed = state["completed"]
        self.stopped_early = state.get("stopped_early", 0)
        self.max_t = state.get("max_t", self.max_t)
        self._points = list(state.get("points", []))
        self._rewards = None
        self._asked = {tuple(a) for a in state.get("asked", [])}
        fid = state.get("fidelity", {})
        self._last_t = dict(fid.get("last_t", {}))
        self._max_continued = fid.get("max_continued", -math.inf)
        self._natural_full = fid.get("natural_full")
        self._stopped_at = dict(fid.get("stopped_at", {}))
        self._deferred = {k: (tuple(a), r) for k, (a, r) in fid.get("deferred", {}).items()}

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    def __repr__(self) -> str:
        metrics = None if self._objectives is None else [o.metric for o in self._objectives]
        return f"{type(self).__name__}({self.strategy!r}, metric={metrics})"


def _validated_lists(metric, mode) -> tuple[list[str], list[str]]:
    """``metric``/``mode`` as validated lists (both given)."""
    if metric is None or mode is None:
        raise InvalidConfigError(
            f"a raynas searcher needs metric and mode lists at construction (e.g. metric=['accuracy', "
            f"'latency_ms'], mode=['max', 'min']), got metric={metric!r}, mode={mode!r}")
    objs = make_objectives(metric, mode)
    return [o.metric for o in objs], [o.mode for o in objs]


__all__ = ["StrategySearcher", "MetricNames"]
