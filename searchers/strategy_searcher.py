"""One Tune ``Searcher`` adapter for every raynas ask/tell strategy.

A strategy (``raynas.strategies``) proposes architectures with ``ask()`` and learns from
``tell(arch, objectives)`` where every objective is minimised. This adapter only translates:
Tune's trial ids to architectures, configs to and from the space's decisions, metric/mode lists to
minimisation signs, and Tune's checkpoints to the strategy's ``state_dict``. The searchers users
import (``ZeroCostSearch``, ``AgingEvolutionSearch``, ...) are this class with a strategy chosen
for them.

Behaviour shared with Tune's own ``OptunaSearch``:

* ``metric``/``mode`` are lists (or single strings) given at construction and validated there; a
  ``TuneConfig(metric=...)`` must name one of them (and agree on its mode).
* ``set_search_properties`` accepts the Tuner's ``param_space`` when its decisions match the space
  (``tune.choice`` over the space's op names, or fixed values); other keys pass through untouched.
* ``save``/``restore`` (called by Tune for experiment checkpoints and ``Tuner.restore``) capture
  the strategy's whole state, so a restored search asks what the uninterrupted one would have.
* Works under ``ConcurrencyLimiter`` and with any scheduler. A trial a scheduler stopped early (its
  last result has ``epoch < max_epochs``, raynas trainables' convention, see
  :func:`searchers.results.is_complete`) never counts as a complete evaluation: its metrics are told
  as infinitely bad, except those listed in ``static_metrics`` (e.g. a latency, which does not
  depend on training).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.spaces import SearchSpace
from searchers.results import is_complete


def _validated_lists(metric, mode) -> tuple[list[str], list[str]]:
    if metric is None or mode is None:
        raise InvalidConfigError(
            f"a raynas searcher needs metric and mode lists at construction (e.g. metric=['accuracy', "
            f"'latency_ms'], mode=['max', 'min']), got metric={metric!r}, mode={mode!r}")
    if isinstance(metric, str) != isinstance(mode, str):
        raise InvalidConfigError(f"metric and mode must both be lists or both strings, got {metric!r} and {mode!r}")
    if isinstance(metric, str):
        metric, mode = [metric], [mode]
    return moo.validate_metric_mode(metric, mode)


class StrategySearcher(Searcher):
    """Adapt ``strategy`` (over ``space``) to Tune, optimising ``metric`` in ``mode`` (lists).

    Args:
        strategy: a :class:`raynas.strategies.Strategy` (``ask``/``tell``/``state_dict``).
        space: the :class:`~raynas.spaces.SearchSpace` whose configs the trials receive.
        metric, mode: lists of result keys and ``"min"``/``"max"``, as in ``OptunaSearch``.
        static_metrics: metrics still told for a trial stopped early (values that do not depend on
            training, such as a latency); the others are told as infinitely bad.

    Trials that end without all metrics, or with non-finite values, or with an error, are told to
    the strategy as infinitely bad in those metrics, so it never proposes them as parents.
    """

    def __init__(self, strategy, space: SearchSpace, metric: Sequence[str] | str, mode: Sequence[str] | str,
                 static_metrics: Sequence[str] = ()):
        metric, mode = _validated_lists(metric, mode)
        unknown = [m for m in static_metrics if m not in metric]
        if unknown:
            raise InvalidConfigError(f"static_metrics {unknown} are not among the metrics {metric}")
        self._signs = moo.minimisation_signs(metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.strategy = strategy
        self.space = space
        self.static_metrics = list(static_metrics)
        self.live: dict[str, tuple[int, ...]] = {}
        self.completed: int = 0
        self.stopped_early: int = 0

    # --- Tune protocol -----------------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict | None, **spec) -> bool:
        """Check the Tuner's ``metric``/``mode`` and ``param_space`` against this searcher's (see module doc)."""
        if metric:
            if metric not in self._metric:
                raise InvalidConfigError(
                    f"TuneConfig metric {metric!r} is not one of the searcher's metrics {self._metric}")
            if mode and mode != self._mode[self._metric.index(metric)]:
                raise InvalidConfigError(
                    f"TuneConfig mode {mode!r} for {metric!r} contradicts the searcher's "
                    f"{self._mode[self._metric.index(metric)]!r}")
        if config:
            self.check_param_space(config)
        return True

    def check_param_space(self, config: dict) -> None:
        """Raise if ``config`` (a Tuner ``param_space``) gives a decision choices the space lacks."""
        for name, ops in self.space.decisions:
            if name not in config:
                continue
            value = config[name]
            categories = getattr(value, "categories", None)
            if categories is None and hasattr(value, "sample") and not isinstance(value, (str, int)):
                raise InvalidConfigError(
                    f"param_space[{name!r}] is a {type(value).__name__}; a raynas searcher proposes "
                    f"{self.space.name} decisions itself: use tune.choice({ops}) or leave it out")
            values = categories if categories is not None else [value]
            bad = [v for v in values if v not in ops and not (isinstance(v, int) and 0 <= v < len(ops))]
            if bad:
                raise InvalidConfigError(
                    f"param_space[{name!r}] offers {bad}, which the {self.space.name} space does not have "
                    f"(its choices: {ops})")

    def suggest(self, trial_id: str) -> dict | None:
        if len(self.strategy.history) + len(self.strategy.pending) >= len(self.space):
            return Searcher.FINISHED  # every architecture evaluated or running
        arch = self.strategy.ask()
        self.live[trial_id] = tuple(arch)
        return self.space.to_config(arch)

    def objectives(self, result: dict | None) -> list[float]:
        """The result's metrics as minimised values; missing or non-finite become +inf, and so do
        those of an incomplete (early-stopped) result other than ``static_metrics``."""
        complete = is_complete(result or {})
        out = []
        for m, s in zip(self._metric, self._signs):
            v = (result or {}).get(m)
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = math.nan
            usable = math.isfinite(v) and (complete or m in self.static_metrics)
            out.append(s * v if usable else math.inf)
        return out

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arch = self.live.pop(trial_id, None)
        if arch is None:
            return
        values = [math.inf] * len(self._metric) if error else self.objectives(result)
        if not error and result and not is_complete(result):
            self.stopped_early += 1
        self.strategy.tell(arch, values)
        self.completed += 1

    def add_evaluated_point(self, parameters: dict, value: Sequence[float] | dict, error: bool = False,
                            pruned: bool = False, intermediate_values=None) -> None:
        """Tell the strategy about a config evaluated outside this search (``value``: the metrics in
        ``metric`` order, or a result dict)."""
        arch = self.space.from_config(parameters)
        if error or pruned:
            values = [math.inf] * len(self._metric)
        elif isinstance(value, dict):
            values = self.objectives(value)
        else:
            vals = [value] if np.ndim(value) == 0 else list(value)
            if len(vals) != len(self._metric):
                raise InvalidConfigError(f"value {value!r} must give the {len(self._metric)} metrics {self._metric}")
            values = self.objectives(dict(zip(self._metric, vals)))
        self.strategy.tell(arch, values)

    # --- Tune experiment checkpoints ------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"searcher": type(self).__name__, "strategy": self.strategy.state_dict(), "live": dict(self.live),
                "completed": self.completed, "stopped_early": self.stopped_early,
                "metric": list(self._metric), "mode": list(self._mode), "static_metrics": list(self.static_metrics)}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("searcher", type(self).__name__) != type(self).__name__:
            raise InvalidConfigError(f"a {state['searcher']} checkpoint cannot restore a {type(self).__name__}")
        self.strategy.load_state_dict(state["strategy"])
        self.live = dict(state["live"])
        self.completed = state["completed"]
        self.stopped_early = state.get("stopped_early", 0)
        self._metric, self._mode = list(state["metric"]), list(state["mode"])
        self.static_metrics = list(state.get("static_metrics", []))
        self._signs = moo.minimisation_signs(self._metric, self._mode)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strategy!r}, metric={self._metric}, mode={self._mode})"
