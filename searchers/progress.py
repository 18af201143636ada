"""A live view of a multi-objective search, for any Tune run.

Between finished trials Tune (with its status table off, the fast setting) prints nothing.
:class:`SearchProgress` says where the search stands: one line per finished trial, and every
``every_s`` seconds (and when the experiment ends) a summary -- one compact line in a log (under
Tune, in files, in CI), a small table on a terminal::

    [raynas 01:27:13] search: 2 running, 27/40 finished (10 complete, 16 stopped early, 1 failed);
    front 3: accuracy 99.44 % (max), latency_ms 0.913 ms (min); HV 0.612 of the box fixed at trial
    3; 2 min 30 s elapsed, ~56 s left

The hypervolume is that of the complete trials' Pareto front, normalised to a box that never moves
(so the number can only grow): from ``ideal`` to ``reference``, both in the metrics' units, as
given, else fixed from the first ``fix_after`` complete trials -- the reference 10 % of their
range beyond their worst value, the ideal one range beyond their best (not past 100 % for a
percentage, nor below 0 for a non-negative cost). The box is logged once, when it is fixed; trials
better than the ideal count as at the ideal. 0 means nothing better than the reference, 1 a trial
at the ideal point.

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
from raynas.logs import get_logger, is_terminal
from raynas.objectives import evaluate, finite_number, make_objectives
from searchers.results import MARGIN, format_value, metric_label, metric_unit

logger = get_logger("search")

#: How far beyond the first trials' best value the live view's ideal point lies, in their range.
HEADROOM = 1.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    return f"{m} min {s} s" if m < 60 else f"{m // 60} h {m % 60} min"


def live_box(points: np.ndarray, metric: Sequence[str], signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ideal, reference)`` in minimisation space from the first complete trials' ``points``
    (minimised): the reference :data:`~searchers.results.MARGIN` of their range beyond the worst,
    the ideal :data:`HEADROOM` ranges beyond the best, kept inside a percentage's 0-100 and at or
    above 0 for a cost that was never negative."""
    best, worst = points.min(axis=0), points.max(axis=0)
    span = worst - best
    span = np.where(span > 0, span, np.maximum(np.abs(worst), 1.0) * 0.1)
    reference, ideal = worst + MARGIN * span, best - HEADROOM * span
    for j, name in enumerate(metric):
        values = points[:, j] * signs[j]  # metric units
        if metric_unit(name) == "%":
            ideal[j] = max(ideal[j], -100.0) if signs[j] < 0 else max(ideal[j], 0.0)
        elif signs[j] > 0 and np.all(values >= 0):
            ideal[j] = max(ideal[j], 0.0)
    return ideal, reference


class SearchProgress(tune.Callback):
    """Log each finished trial and, every ``every_s`` seconds, where the search stands (module docstring).

    Args:
        metric, mode: the objectives, as given to the searcher.
        total: the trial budget (``num_samples``), for the time estimate; ``None``: no estimate.
        ideal, reference: the hypervolume's box in the metrics' units (one value per metric);
            ``None``: fixed from the first ``fix_after`` complete trials.
        every_s: seconds between two summaries (one is also logged when the experiment ends).
        trial_lines: also log one line per finished trial (its objectives, epochs, outcome).
        table: a multi-line table instead of one line per summary; ``None``: when stderr is a terminal.
        max_t, time_attr: how a result's fidelity is read (:func:`raynas.objectives.evaluate`);
            raynas trainables' ``epoch``/``max_epochs`` need neither.
    """

    def __init__(self, metric: Sequence[str], mode: Sequence[str], total: int | None = None, *,
                 ideal: Sequence[float] | None = None, reference: Sequence[float] | None = None,
                 every_s: float = 30.0, fix_after: int = 3, trial_lines: bool = True, table: bool | None = None,
                 max_t: float | None = None, time_attr: str = "training_iteration"):
        self.metric, self.mode = moo.validate_metric_mode(list(metric), list(mode))
        self.objectives = make_objectives(self.metric, self.mode)
        self.signs = np.asarray(moo.minimisation_signs(self.metric, self.mode), dtype=float)
        if not isinstance(every_s, (int, float)) or isinstance(every_s, bool) or every_s < 0:
            raise InvalidConfigError(f"every_s must be a number of seconds >= 0, got {every_s!r}")
        if not isinstance(fix_after, int) or isinstance(fix_after, bool) or fix_after < 1:
            raise InvalidConfigError(f"fix_after must be a positive number of trials, got {fix_after!r}")
        self.ideal, self.reference = self._given(ideal, "ideal"), self._given(reference, "reference")
        if self.ideal is not None and self.reference is not None and not np.all(self.ideal < self.reference):
            raise InvalidConfigError(f"reference {list(reference)} must be worse than ideal {list(ideal)} in every "
                                     f"metric {self.metric} (modes {self.mode})")
        self.fixed_at: int | None = 0 if self.ideal is not None and self.reference is not None else None
        self.total, self.every_s, self.fix_after = total, float(every_s), fix_after
        self.trial_lines = bool(trial_lines)
        self.table_view = is_terminal() if table is None else bool(table)
        self.max_t, self.time_attr = max_t, time_attr
        self.complete: list[np.ndarray] = []
        self.stopped = self.failed = 0
        self.start = time.perf_counter()
        self._last = self.start

    def _given(self, point, label: str) -> np.ndarray | None:
        if point is None:
            return None
        if len(point) != len(self.metric):
            raise InvalidConfigError(f"{label} needs one value per metric {self.metric}, got {list(point)}")
        return np.asarray(point, dtype=float) * self.signs

    # -- Tune callbacks ---------------------------------------------------------------------------
    def on_trial_complete(self, iteration, trials, trial, **info):
        self.tell(trial.last_result or {})

    def on_trial_error(self, iteration, trials, trial, **info):
        self.failed += 1
        logger.warning("%s trial %s failed: %s", self._counter(), trial.trial_id, trial.error_file)

    def on_trial_recover(self, iteration, trials, trial, **info):
        logger.warning("trial %s failed (attempt %s), rescheduled: %s", trial.trial_id, trial.num_failures,
                       trial.error_file)

    def on_step_end(self, iteration, trials, **info):
        now = time.perf_counter()
        if now - self._last >= self.every_s:
            self._last = now
            self.log(sum(t.status == "RUNNING" for t in trials))

    def on_experiment_end(self, trials, **info):
        self.log(0)

    def log(self, running: int) -> None:
        """Log the summary: a table on a terminal, else one line."""
        logger.info("%s", self.table(running) if self.table_view else self.line(running))

    # -- state ------------------------------------------------------------------------------------
    def tell(self, result: dict) -> None:
        """Count one finished trial's last result (complete, stopped early, or failed)."""
        if result.get("outcome", "ok") != "ok":
            self.failed += 1
            self._trial_line(result, f"{result.get('outcome')}: {result.get('explanation', '')}")
            return
        ev = evaluate(result, self.objectives, max_t=self.max_t, time_attr=self.time_attr)
        values = np.asarray(ev.values, dtype=float)
        if not ev.fidelity.complete:
            self.stopped += 1
            kind = "stopped early"
        elif not np.all(np.isfinite(values)):
            self.failed += 1
            kind = "no value"
        else:
            self.complete.append(values)
            kind = "complete"
            if self.fixed_at is None and len(self.complete) >= self.fix_after:
                self._fix_box()
        self._trial_line(result, kind)

    def _fix_box(self) -> None:
        ideal, reference = live_box(np.asarray(self.complete), self.metric, self.signs)
        self.ideal = ideal if self.ideal is None else self.ideal
        self.reference = reference if self.reference is None else self.reference
        self.ideal = np.minimum(self.ideal, self.reference - 1e-12)
        self.fixed_at = len(self.complete)
        logger.info("search: hypervolume box fixed after %d complete trials: ideal (%s), reference (%s)",
                    self.fixed_at, self._point(self.ideal), self._point(self.reference))

    def _counter(self) -> str:
        return f"[{self.finished:>3}/{self.total}]" if self.total else f"[{self.finished:>3}]"

    def _trial_line(self, result: dict, kind: str) -> None:
        if not self.trial_lines:
            return
        values = "  ".join(f"{m}={_value(result.get(m))}" for m in self.metric)
        arch = result.get("arch", "")
        logger.info("%s %s  %s  %s  %s", self._counter(), _duration(self.elapsed), values, kind, arch)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def finished(self) -> int:
        return len(self.complete) + self.stopped + self.failed

    def front(self) -> np.ndarray:
        """The complete trials' Pareto front (minimised), sorted by the first metric."""
        if not self.complete:
            return np.empty((0, len(self.metric)))
        pts = np.asarray(self.complete)
        front = np.unique(pts[moo.pareto_mask(pts)], axis=0)
        return front[np.argsort(front[:, 0], kind="stable")]

    def hypervolume(self) -> float:
        """Normalised hypervolume of the complete trials' front in the fixed box (NaN before it is fixed)."""
        if self.fixed_at is None or not self.complete:
            return float("nan")
        box = moo.Normaliser(self.ideal, self.reference)
        y = np.maximum(box(self.front()), 0.0)
        return float(moo.hypervolume(y, np.ones(len(self.metric))))

    def _point(self, minimised: np.ndarray) -> str:
        return ", ".join(f"{m} {format_value(v * s, m)}" for m, v, s in zip(self.metric, minimised, self.signs))

    def _eta(self) -> str:
        if self.total and 0 < self.finished < self.total:
            return f", ~{_duration(self.elapsed / self.finished * (self.total - self.finished))} left"
        return ""

    def _status(self, running: int) -> str:
        total = f"/{self.total}" if self.total else ""
        return (f"{running} running, {self.finished}{total} finished ({len(self.complete)} complete, "
                f"{self.stopped} stopped early, {self.failed} failed)")

    def _hv_words(self) -> str:
        hv = self.hypervolume()
        return f"HV {hv:.3f} of the box fixed at trial {self.fixed_at}" if math.isfinite(hv) else ""

    def line(self, running: int) -> str:
        """The one-line summary (see the module docstring)."""
        parts = [f"search: {self._status(running)}"]
        front = self.front()
        if len(front):
            best = ", ".join(f"{m} {format_value(front[:, j].min() * self.signs[j], m)} ({md})"
                             for j, (m, md) in enumerate(zip(self.metric, self.mode)))
            parts.append(f"front {len(front)}: {best}")
        if self._hv_words():
            parts.append(self._hv_words())
        parts.append(f"{_duration(self.elapsed)} elapsed{self._eta()}")
        return "; ".join(parts)

    def table(self, running: int, rows: int = 8) -> str:
        """The summary as a small table: status, the front (up to ``rows`` members), hypervolume, time."""
        front = self.front()
        labels = [metric_label(m, md) for m, md in zip(self.metric, self.mode)]
        widths = [max(len(lab), 10) for lab in labels]
        lines = [f"search: {self._status(running)}; {_duration(self.elapsed)} elapsed{self._eta()}",
                 f"  Pareto front, {len(front)} trial(s):  " + "  ".join(f"{lab:>{w}}" for lab, w in zip(labels, widths))]
        step = max(1, math.ceil(len(front) / rows))
        for y in front[::step]:
            cells = "  ".join(f"{y[j] * self.signs[j]:>{w}.4g}" for j, w in enumerate(widths))
            lines.append(" " * (len(lines[1]) - sum(widths) - 2 * (len(widths) - 1)) + cells)
        if self._hv_words():
            lines.append(f"  {self._hv_words()}: ideal ({self._point(self.ideal)}), "
                         f"reference ({self._point(self.reference)})")
        return "\n".join(lines)


def _value(v) -> str:
    f = finite_number(v)
    return "-" if f is None else f"{f:.4g}"
