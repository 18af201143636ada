"""A live view of a multi-objective search, for any Tune run: one compact log line per update.

Between finished trials Tune (with its status table off, the fast setting) prints nothing.
:class:`SearchProgress` logs, every ``every_s`` seconds and when the experiment ends, where the
search stands::

    [raynas 01:27:13] search: 2 running, 27/40 finished (10 complete, 16 stopped early, 1 failed);
    front 3: accuracy 99.44 (max), latency_ms 0.913 (min); HV 312.4 at reference (accuracy 0,
    latency_ms 4.512); 2 min 30 s elapsed, ~56 s left

The hypervolume is of the Pareto front of the complete trials, against a reference point that
never moves (so the number can only grow): the one given, else the worst value of each metric
among the first ``fix_after`` complete trials (logged once when fixed).

Example::

    from searchers import SearchProgress
    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    tune.Tuner(trainable, param_space=space,
               tune_config=tune.TuneConfig(search_alg=searcher, num_samples=40),
               run_config=tune.RunConfig(callbacks=[SearchProgress(metric, mode, total=40)])).fit()
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from ray import tune

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.logs import get_logger
from raynas.objectives import evaluate, make_objectives

logger = get_logger("search")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    return f"{m} min {s} s" if m < 60 else f"{m // 60} h {m % 60} min"


class SearchProgress(tune.Callback):
    """Log the search's state every ``every_s`` seconds (module docstring).

    Args:
        metric, mode: the objectives, as given to the searcher.
        total: the trial budget (``num_samples``), for the time estimate; ``None``: no estimate.
        reference: a fixed hypervolume reference point in the metrics' units; ``None``: fixed from
            the first ``fix_after`` complete trials.
        every_s: seconds between two lines (a line is also logged when the experiment ends).
        max_t, time_attr: how a result's fidelity is read (:func:`raynas.objectives.evaluate`);
            raynas trainables' ``epoch``/``max_epochs`` need neither.
    """

    def __init__(self, metric: Sequence[str], mode: Sequence[str], total: int | None = None,
                 reference: Sequence[float] | None = None, every_s: float = 30.0, fix_after: int = 3,
                 max_t: float | None = None, time_attr: str = "training_iteration"):
        self.metric, self.mode = moo.validate_metric_mode(list(metric), list(mode))
        self.objectives = make_objectives(self.metric, self.mode)
        self.signs = np.asarray(moo.minimisation_signs(self.metric, self.mode), dtype=float)
        if reference is not None and len(reference) != len(self.metric):
            raise InvalidConfigError(f"reference needs one value per metric {self.metric}, got {list(reference)}")
        if not isinstance(every_s, (int, float)) or isinstance(every_s, bool) or every_s < 0:
            raise InvalidConfigError(f"every_s must be a number of seconds >= 0, got {every_s!r}")
        self.reference = None if reference is None else np.asarray(reference, dtype=float) * self.signs
        self.total, self.every_s, self.fix_after = total, float(every_s), int(fix_after)
        self.max_t, self.time_attr = max_t, time_attr
        self.complete: list[np.ndarray] = []
        self.stopped = self.failed = 0
        self.start = time.perf_counter()
        self._last = self.start

    # -- Tune callbacks ---------------------------------------------------------------------------
    def on_trial_complete(self, iteration, trials, trial, **info):
        self.tell(trial.last_result or {})

    def on_trial_error(self, iteration, trials, trial, **info):
        self.failed += 1

    def on_step_end(self, iteration, trials, **info):
        now = time.perf_counter()
        if now - self._last >= self.every_s:
            self._last = now
            logger.info("%s", self.line(sum(t.status == "RUNNING" for t in trials)))

    def on_experiment_end(self, trials, **info):
        logger.info("%s", self.line(0))

    # -- state ------------------------------------------------------------------------------------
    def tell(self, result: dict) -> None:
        """Count one finished trial's last result (complete, stopped early, or failed)."""
        if result.get("outcome", "ok") != "ok":
            self.failed += 1
            return
        ev = evaluate(result, self.objectives, max_t=self.max_t, time_attr=self.time_attr)
        values = np.asarray(ev.values, dtype=float)
        if not ev.fidelity.complete:
            self.stopped += 1
        elif not np.all(np.isfinite(values)):
            self.failed += 1
        else:
            self.complete.append(values)
            if self.reference is None and len(self.complete) >= self.fix_after:
                self.reference = np.max(self.complete, axis=0)
                logger.info("search: hypervolume reference point fixed at (%s)", self._point(self.reference))

    @property
    def finished(self) -> int:
        return len(self.complete) + self.stopped + self.failed

    def hypervolume(self) -> float:
        """Hypervolume of the complete trials' front against the fixed reference (NaN before it is)."""
        if self.reference is None or not self.complete:
            return float("nan")
        pts = np.asarray(self.complete)
        return float(moo.hypervolume(pts[moo.pareto_mask(pts)], self.reference))

    def _point(self, minimised: np.ndarray) -> str:
        return ", ".join(f"{m} {v * s:.4g}" for m, v, s in zip(self.metric, minimised, self.signs))

    def line(self, running: int) -> str:
        """The one-line summary (see the module docstring)."""
        elapsed = time.perf_counter() - self.start
        total = f"/{self.total}" if self.total else ""
        parts = [f"search: {running} running, {self.finished}{total} finished ({len(self.complete)} complete, "
                 f"{self.stopped} stopped early, {self.failed} failed)"]
        if self.complete:
            pts = np.asarray(self.complete)
            front = pts[moo.pareto_mask(pts)]
            best = ", ".join(f"{m} {front[:, j].min() * self.signs[j]:.4g} ({md})"
                             for j, (m, md) in enumerate(zip(self.metric, self.mode)))
            parts.append(f"front {len(front)}: {best}")
        hv = self.hypervolume()
        if math.isfinite(hv):
            parts.append(f"HV {hv:.4g} at reference ({self._point(self.reference)})")
        eta = ""
        if self.total and 0 < self.finished < self.total:
            eta = f", ~{_duration(elapsed / self.finished * (self.total - self.finished))} left"
        parts.append(f"{_duration(elapsed)} elapsed{eta}")
        return "; ".join(parts)
