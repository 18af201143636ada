"""``HypernetSearch``: MODNAS's hypernetwork as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.hypernet.HypernetStrategy` (via the generic
:class:`StrategySearcher`). Each suggested config holds the architecture's decisions plus
``target_device`` (and ``preference``), so one Tune experiment profiles the fronts of every target
device; the trainable reports e.g. ``accuracy`` and ``latency_ms/<target_device>`` (or plain
``latency_ms``). A metric ``m`` is read from ``f"{m}/{target_device}"`` when the result has it,
else from ``m``. Completed trials refine the strategy's surrogates (latency predictor and accuracy
surrogate) and its hypernetwork every ``refit_every`` trials.

    search = HypernetSearch.from_tables(NB201Space(), train_devices=[...], targets=["raspi4", ...])
    search.strategy.add_target(profile.name, profile)  # e.g. HardwareProfile.from_device(LocalDevice(), space)
    run_search(trainable, tune_param_space(space), search, metric=["accuracy", "latency_ms"], mode=["max", "min"],
               num_samples=24 * len(search.strategy.targets))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from raynas.errors import InvalidConfigError
from raynas.strategies.hypernet import HypernetStrategy, build_surrogate_strategy
from searchers.strategy_searcher import StrategySearcher


class HypernetSearch(StrategySearcher):
    """Suggest hypernetwork proposals for a grid of preference vectors x target devices.

    ``strategy``: a trained :class:`HypernetStrategy` (see :meth:`from_tables` to train one).
    ``metric``/``mode``: lists, e.g. ``["accuracy", "latency_ms"]``, ``["max", "min"]``; the latency
    metric (in ms) must be the strategy's ``latency_objective``-th entry and the accuracy (or error)
    metric its ``accuracy_objective``-th, reported in ``accuracy_units`` (``"percent"`` as the
    raynas trainables report it, or ``"fraction"``); its mode says whether it is an accuracy
    (``max``) or an error (``min``).
    """

    def __init__(self, strategy: HypernetStrategy, space, metric: Sequence[str] = ("accuracy", "latency_ms"),
                 mode: Sequence[str] = ("max", "min"), accuracy_units: str = "percent"):
        super().__init__(strategy, space, metric, mode)
        if accuracy_units not in ("percent", "fraction"):
            raise InvalidConfigError(f"accuracy_units must be 'percent' or 'fraction', got {accuracy_units!r}")
        for label, index in (("latency_objective", strategy.latency_objective),
                             ("accuracy_objective", strategy.accuracy_objective)):
            if index is not None and not 0 <= index < len(self.objectives):
                raise InvalidConfigError(f"the strategy's {label} is {index}, but there are only "
                                         f"{len(self.objectives)} metrics {[o.metric for o in self.objectives]}")
        if strategy.accuracy_objective is not None:
            kind = "neg_accuracy" if self.objectives[strategy.accuracy_objective].mode == "max" else "error"
            strategy.accuracy_kind = f"{kind}_{accuracy_units}"
        self.devices: dict[str, str] = {}

    @classmethod
    def from_tables(cls, space, train_devices, targets, metric=("accuracy", "latency_ms"), mode=("max", "min"),
                    accuracy_units: str = "percent", **kwargs) -> "HypernetSearch":
        """Train the hypernetwork in surrogate mode from the published tables (keyword arguments of
        :func:`build_surrogate_strategy`), then adapt it."""
        return cls(build_surrogate_strategy(space, train_devices, targets, **kwargs), space, metric, mode,
                   accuracy_units)

    def suggest(self, trial_id: str) -> dict | None:
        arch, ctx = self.strategy.ask_with_context()
        self.live[trial_id] = tuple(arch)
        self.devices[trial_id] = ctx["target_device"]
        config = self.space.to_config(arch)
        config["target_device"] = ctx["target_device"]
        if ctx.get("preference") is not None:
            config["preference"] = list(ctx["preference"])
        return config

    def objectives_for(self, result: dict | None, device: str) -> list[float]:
        """The result's metrics for ``device`` (``<metric>/<device>`` where reported, else ``<metric>``),
        minimised by the one rule of :func:`raynas.objectives.evaluate`."""
        r = dict(result or {})
        for o in self.objectives:
            if f"{o.metric}/{device}" in r:
                r[o.metric] = r[f"{o.metric}/{device}"]
        return self.objectives_of(r)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arch = self.live.pop(trial_id, None)
        device = self.devices.pop(trial_id, None)
        if arch is None:
            return
        values = [math.inf] * len(self.objectives) if error else self.objectives_for(result, device)
        self.strategy.tell(arch, values, device=device)
        self.completed += 1

    def get_state(self) -> dict:
        return {**super().get_state(), "devices": dict(self.devices)}

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.devices = dict(state.get("devices", {}))
