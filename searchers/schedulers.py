"""Tune trial schedulers for hardware-aware NAS.

* :class:`HardwareBudgetStop` — a trial whose latency (or any cost) exceeds the budget stops at once.
* :class:`ProxyGate` — a trial whose zero-cost proxy score falls below a running quantile of the
  scores seen so far stops before it trains; otherwise an inner scheduler (e.g. ASHA) decides.
* :class:`MultiObjectiveASHA` — asynchronous successive halving whose rungs promote by
  non-dominated rank (crowding distance breaks ties), as MO-ASHA does, instead of one metric.

All three accept metric/mode lists validated at construction and save/restore their state with
Tune's experiment checkpoints.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from raynas import moo
from raynas.errors import InvalidConfigError


class _PicklingScheduler(FIFOScheduler):
    """Save/restore the whole scheduler state, as Tune's own schedulers do."""

    def save(self, checkpoint_path: str):
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str):
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(pickle.load(f))


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(float(value))


class _Gate(_PicklingScheduler):
    """A scheduler that may stop a trial on one of its results and otherwise defers to ``inner``
    (any Tune scheduler: ASHA, :class:`MultiObjectiveASHA`, another gate; default FIFO)."""

    def __init__(self, scheduler: TrialScheduler | None = None):
        super().__init__()
        if scheduler is not None and not isinstance(scheduler, TrialScheduler):
            raise InvalidConfigError(f"scheduler must be a Tune TrialScheduler, got {type(scheduler).__name__}")
        self.inner = scheduler or FIFOScheduler()

    def gate(self, trial, result: dict) -> bool:  # pragma: no cover - abstract
        """True to stop the trial now."""
        raise NotImplementedError

    def on_trial_result(self, tune_controller, trial, result) -> str:
        if self.gate(trial, result):
            return TrialScheduler.STOP
        return self.inner.on_trial_result(tune_controller, trial, result)

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    def on_trial_add(self, tune_controller, trial):
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller, trial):
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_complete(self, tune_controller, trial, result):
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial):
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller):
        return self.inner.choose_trial_to_run(tune_controller)


class HardwareBudgetStop(_Gate):
    """Stop a trial as soon as it reports ``cost_metric`` above ``budget`` (e.g. the latency on the
    target device, ``"latency_ms/raspi4"``); raynas trainables report it before training starts, so
    an over-budget architecture costs no training. Other results go to ``scheduler``."""

    def __init__(self, budget: float, cost_metric: str = "latency_ms", scheduler: TrialScheduler | None = None):
        super().__init__(scheduler)
        if not _finite(budget) or budget <= 0:
            raise InvalidConfigError(f"budget must be a positive number, got {budget!r}")
        if not isinstance(cost_metric, str) or not cost_metric:
            raise InvalidConfigError(f"cost_metric must be a result key, got {cost_metric!r}")
        self.budget = float(budget)
        self.cost_metric = cost_metric
        self.stopped: dict[str, float] = {}

    def gate(self, trial, result: dict) -> bool:
        cost = result.get(self.cost_metric)
        if cost is not None and _finite(cost) and cost > self.budget:
            self.stopped[trial.trial_id] = float(cost)
            return True
        return False

    def debug_string(self) -> str:
        return f"HardwareBudgetStop({self.cost_metric} <= {self.budget:g}): {len(self.stopped)} stopped"


class ProxyGate(_Gate):
    """Stop trials whose proxy score is below the running ``quantile`` of earlier trials' scores.

    The gate looks at the first result that carries ``proxy_metric`` (raynas trainables report the
    proxies before training starts); the first ``min_trials`` trials always pass, and every score
    (of stopped trials too) enters the running quantile. Other results go to ``scheduler`` (ASHA,
    MO-ASHA, ...)."""

    def __init__(self, proxy_metric: str = "proxy/synflow", mode: str = "max", quantile: float = 0.5,
                 min_trials: int = 5, scheduler: TrialScheduler | None = None):
        super().__init__(scheduler)
        if mode not in ("min", "max"):
            raise InvalidConfigError(f"mode must be 'min' or 'max', got {mode!r}")
        if not _finite(quantile) or not 0.0 <= quantile < 1.0:
            raise InvalidConfigError(f"quantile must be in [0, 1), got {quantile!r}")
        if not isinstance(min_trials, int) or min_trials < 1:
            raise InvalidConfigError(f"min_trials must be a positive integer, got {min_trials!r}")
        self.proxy_metric = proxy_metric
        self.sign = 1.0 if mode == "max" else -1.0
        self.quantile = quantile
        self.min_trials = min_trials
        self.scores: list[float] = []
        self.gated: set[str] = set()
        self.gate_stopped: dict[str, float] = {}

    def admits(self, score: float) -> bool:
        """Whether a trial with this proxy score passes the gate (and records the score)."""
        value = self.sign * float(score) if _finite(score) else -math.inf
        passes = len(self.scores) < self.min_trials or value >= np.quantile(self.scores, self.quantile)
        if math.isfinite(value):
            self.scores.append(value)
        return passes

    def gate(self, trial, result: dict) -> bool:
        if trial.trial_id in self.gated or self.proxy_metric not in result:
            return False
        self.gated.add(trial.trial_id)
        if self.admits(result[self.proxy_metric]):
            return False
        self.gate_stopped[trial.trial_id] = result[self.proxy_metric]
        return True

    def debug_string(self) -> str:
        return f"ProxyGate({self.proxy_metric}, q={self.quantile}): {len(self.gate_stopped)} stopped"


class MultiObjectiveASHA(_PicklingScheduler):
    """Asynchronous successive halving over several objectives.

    Rungs sit at ``grace_period * reduction_factor**k`` (< ``max_t``) of ``time_attr``. When a trial
    reaches a rung, it continues only if it is within the top ``1/reduction_factor`` of the trials
    recorded at that rung, ordered by non-dominated rank, then crowding distance (MO-ASHA,
    Schmucker et al. 2021, with the NSGA-II ordering)."""

    def __init__(self, metric: Sequence[str], mode: Sequence[str], time_attr: str = "training_iteration",
                 max_t: int = 100, grace_period: int = 1, reduction_factor: float = 3):
        super().__init__()
        self.signs = moo.minimisation_signs(metric, mode)
        if not isinstance(max_t, int) or max_t < 1:
            raise InvalidConfigError(f"max_t must be a positive integer, got {max_t!r}")
        if not isinstance(grace_period, int) or not 1 <= grace_period <= max_t:
            raise InvalidConfigError(f"grace_period must be an integer in 1..max_t ({max_t}), got {grace_period!r}")
        if not _finite(reduction_factor) or reduction_factor <= 1:
            raise InvalidConfigError(f"reduction_factor must be > 1, got {reduction_factor!r}")
        self.metrics = list(metric)
        self._metric = self.metrics[0]
        self.time_attr = time_attr
        self.max_t = max_t
        self.reduction_factor = float(reduction_factor)
        rungs, r = [], grace_period
        while r < max_t:
            rungs.append(r)
            r = int(math.ceil(r * reduction_factor))
        self.rungs = rungs
        self.recorded: dict[int, dict[str, np.ndarray]] = {r: {} for r in rungs}
        self.num_stopped = 0

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return True

    def _objectives(self, result) -> np.ndarray | None:
        if any(m not in result for m in self.metrics):
            return None
        vals = np.array([float(result[m]) if _finite(result[m]) else np.inf for m in self.metrics]) * self.signs
        return np.where(np.isnan(vals), np.inf, vals)

    def decide(self, trial_id: str, t: float, objectives: np.ndarray) -> str:
        """Record ``objectives`` at every rung ``t`` has passed and decide on the highest one."""
        action = TrialScheduler.CONTINUE
        for rung in reversed(self.rungs):
            if t < rung:
                continue
            table = self.recorded[rung]
            if trial_id in table:
                break
            table[trial_id] = objectives
            ids = list(table)
            keep = max(1, int(len(ids) / self.reduction_factor))
            order = moo.nsga2_order(np.vstack([table[i] for i in ids]))
            if trial_id not in {ids[i] for i in order[:keep]}:
                action = TrialScheduler.STOP
            break
        return action

    def on_trial_result(self, tune_controller, trial, result) -> str:
        if self.time_attr not in result:
            return TrialScheduler.CONTINUE
        objectives = self._objectives(result)
        if objectives is None:
            return TrialScheduler.CONTINUE
        if result[self.time_attr] >= self.max_t:
            return TrialScheduler.STOP
        action = self.decide(trial.trial_id, result[self.time_attr], objectives)
        if action == TrialScheduler.STOP:
            self.num_stopped += 1
        return action

    def debug_string(self) -> str:
        return f"MultiObjectiveASHA(rungs={self.rungs}): {self.num_stopped} stopped"
