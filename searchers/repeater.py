"""``Repeater`` for multi-objective searchers: Tune's ``Repeater`` averages one metric only.

Tune's :class:`ray.tune.search.Repeater` runs each suggested configuration ``repeat`` times (e.g.
with different training seeds) and tells the searcher the mean of ``searcher.metric`` -- a single
key, so a searcher with a list of metrics cannot be repeated with it. This subclass averages every
metric of the wrapped searcher (NaN-aware, over the repeats that reported it) and passes on
everything else the first repeat reported (``epoch``/``max_epochs`` included, not its iteration
count), so a raynas searcher gets the same kind of result it gets without repeats.

Example::

    from searchers import Repeater, ZeroCostSearch
    search_alg = Repeater(ZeroCostSearch(metric=["accuracy", "latency_ms"], mode=["max", "min"]), repeat=3)
    tune.TuneConfig(search_alg=search_alg, num_samples=30)     # 10 configurations x 3 seeds
"""

from __future__ import annotations

import numpy as np
from ray.tune.search import Repeater as TuneRepeater


class Repeater(TuneRepeater):
    """Tune's ``Repeater`` that averages every metric of a multi-objective searcher (module docstring).
    With a single metric it behaves exactly as Tune's."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None, **kwargs):
        metrics = self.searcher.metric
        if isinstance(metrics, str) or metrics is None:
            return super().on_trial_complete(trial_id, result, **kwargs)
        metrics = list(metrics)
        group = self._trial_id_to_group[trial_id]
        values = tuple(float(result[m]) if result and m in result and _is_number(result[m]) else np.nan
                       for m in metrics)
        group.report(trial_id, values)
        if not hasattr(group, "raynas_first"):
            group.raynas_first = dict(result or {})
        if group.finished_reporting():
            scores = np.array(group.scores(), dtype=float).reshape(-1, len(metrics))
            with np.errstate(all="ignore"):
                mean = np.array([np.nanmean(col) if np.isfinite(col).any() else np.nan for col in scores.T])
            merged = {**group.raynas_first, **dict(zip(metrics, mean.tolist()))}
            # one repeat's iteration count says nothing about the group (the searcher never saw the
            # repeats' intermediate results); reported epoch/max_epochs still mark a truncated group
            merged.pop(getattr(self.searcher, "time_attr", "training_iteration"), None)
            self.searcher.on_trial_complete(group.primary_trial_id, result=merged, **kwargs)


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


__all__ = ["Repeater"]
