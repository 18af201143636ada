"""One Tune ``Searcher`` adapter for every raynas ask/tell strategy.

A strategy (``raynas.strategies``) proposes architectures with ``ask()`` and learns from
``tell(arch, objectives)`` where every objective is minimised. This adapter only translates:
Tune's trial ids to architectures, configs to and from the space's decisions, metric/mode lists to
minimisation signs, and Tune's checkpoints to the strategy's ``state_dict``. The searchers users
import (``ZeroCostSearch``, ...) are this class with a strategy chosen for them.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence

import numpy as np
from ray.tune.search import Searcher

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.spaces import SearchSpace


class StrategySearcher(Searcher):
    """Adapt ``strategy`` (over ``space``) to Tune, optimising ``metric`` in ``mode`` (lists).

    Trials that end without all metrics, or with non-finite values, are told to the strategy as
    infinitely bad, so it never proposes them as parents; errored trials likewise.
    """

    def __init__(self, strategy, space: SearchSpace, metric: Sequence[str], mode: Sequence[str]):
        if isinstance(metric, str) or isinstance(mode, str):
            metric, mode = [metric] if isinstance(metric, str) else metric, [mode] if isinstance(mode, str) else mode
        self._signs = moo.minimisation_signs(metric, mode)
        super().__init__(metric=list(metric), mode=list(mode))
        self.strategy = strategy
        self.space = space
        self.live: dict[str, tuple[int, ...]] = {}
        self.completed: int = 0

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        # Metric/mode lists are fixed at construction (TuneConfig only takes single strings).
        if metric and metric not in self._metric:
            raise InvalidConfigError(
                f"TuneConfig metric {metric!r} is not one of the searcher's metrics {self._metric}")
        return True

    def suggest(self, trial_id: str) -> dict | None:
        arch = self.strategy.ask()
        self.live[trial_id] = tuple(arch)
        return self.space.to_config(arch)

    def objectives(self, result: dict | None) -> list[float]:
        """The result's metrics as minimised values; missing or non-finite become +inf."""
        out = []
        for m, s in zip(self._metric, self._signs):
            v = (result or {}).get(m)
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = math.nan
            out.append(s * v if math.isfinite(v) else math.inf)
        return out

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arch = self.live.pop(trial_id, None)
        if arch is None:
            return
        values = [math.inf] * len(self._metric) if error else self.objectives(result)
        self.strategy.tell(arch, values)
        self.completed += 1

    # --- Tune experiment checkpoints ------------------------------------------------------------
    def get_state(self) -> dict:
        return {"strategy": self.strategy.state_dict(), "live": dict(self.live), "completed": self.completed,
                "metric": list(self._metric), "mode": list(self._mode)}

    def set_state(self, state: dict) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.live = dict(state["live"])
        self.completed = state["completed"]
        self._metric, self._mode = state["metric"], state["mode"]
        self._signs = np.asarray(moo.minimisation_signs(self._metric, self._mode))

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))
