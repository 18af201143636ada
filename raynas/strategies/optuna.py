"""Any Optuna sampler as a raynas ask/tell strategy, over the space's categorical decisions.

An in-memory multi-objective study (every direction ``minimize``) is driven with
``study.ask()``/``study.tell()``: each decision is ``suggest_categorical(name, op names)``.
Architectures told without a pending trial (warm-up seeds, evaluations made elsewhere) are added
as completed trials. ``skip_duplicates=True`` answers an already-evaluated proposal from the
history (told to the sampler at no cost) and asks again, so no trial is spent on a repeat.
"""

from __future__ import annotations

import math
import pickle
import warnings
from typing import Any

from raynas.errors import UnknownNameError
from raynas.strategies.base import Arch, Strategy

SAMPLERS = ("random", "tpe", "nsga2", "gp", "qmc")


def make_sampler(name: str, seed: int | None = None, **kwargs):
    """An Optuna sampler by short name: random, tpe (multivariate by default), nsga2, gp, qmc."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed, **kwargs)
        if name == "tpe":
            kwargs.setdefault("multivariate", True)
            return optuna.samplers.TPESampler(seed=seed, **kwargs)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, **kwargs)
        if name == "gp":
            return optuna.samplers.GPSampler(seed=seed, **kwargs)
        if name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, **kwargs)
    raise UnknownNameError(f"unknown Optuna sampler {name!r}; known: {', '.join(SAMPLERS)}")


class OptunaStrategy(Strategy):
    """Wrap an Optuna sampler (an instance, or a name from :data:`SAMPLERS` plus its kwargs)."""

    def __init__(self, space, sampler: Any = "tpe", n_objectives: int = 2, seed: int | None = None,
                 skip_duplicates: bool = False, max_skips: int = 100, **sampler_kwargs):
        super().__init__(space, seed, n_objectives)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sampler = make_sampler(sampler, seed, **sampler_kwargs) if isinstance(sampler, str) else sampler
        self.skip_duplicates = skip_duplicates
        self.max_skips = max_skips
        self.study = optuna.create_study(directions=["minimize"] * n_objectives, sampler=self.sampler)
        self._trials: dict[Arch, list[int]] = {}
        self._distributions = {name: optuna.distributions.CategoricalDistribution(ops)
                               for name, ops in space.decisions}

    def _ask_trial(self) -> tuple[Arch, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            arch = tuple(self.space.op_index(trial.suggest_categorical(name, ops))
                         for name, ops in self.space.decisions)
        return arch, trial.number

    def _propose(self) -> Arch:
        arch, number = self._ask_trial()
        skips = 0
        while self.skip_duplicates and arch in self.history and skips < self.max_skips:
            self._tell_number(number, self.history.lookup(arch))
            arch, number = self._ask_trial()
            skips += 1
        self._trials.setdefault(arch, []).append(number)
        return arch

    def _tell_number(self, number: int, values) -> None:
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if all(math.isfinite(v) for v in values):
                self.study.tell(number, list(values))
            else:
                self.study.tell(number, state=optuna.trial.TrialState.FAIL)

    def tell(self, arch, objectives) -> None:
        super().tell(arch, objectives)
        a, values = self.history.archs[-1], self.history.values[-1]
        numbers = self._trials.get(a)
        if numbers:
            self._tell_number(numbers.pop(0), values)
            if not numbers:
                del self._trials[a]
        elif all(math.isfinite(v) for v in values):
            self.add_evaluated(a, values)

    def add_evaluated(self, arch: Arch, values) -> None:
        """Tell the sampler about an architecture evaluated outside its own asks."""
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.study.add_trial(optuna.trial.create_trial(
                params=self.space.to_config(arch), distributions=self._distributions, values=list(values)))

    def discard(self, arch: Arch) -> None:
        """Abandon a pending ask that will never be evaluated (marked FAIL for the sampler)."""
        import optuna

        a = tuple(arch)
        numbers = self._trials.get(a)
        if numbers:
            self.study.tell(numbers.pop(0), state=optuna.trial.TrialState.FAIL)
            if not numbers:
                del self._trials[a]
        if a in self.pending:
            self.pending.remove(a)

    def _extra_state(self) -> dict[str, Any]:
        return {"study": pickle.dumps((self.study, self.sampler, self._trials))}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.study, self.sampler, self._trials = pickle.loads(state["study"])
