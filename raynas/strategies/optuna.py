"""Any Optuna sampler as a raynas ask/tell strategy, over the space's categorical decisions.

An in-memory multi-objective study (every direction ``minimize``) is driven with
``study.ask()``/``study.tell()``: each decision is ``suggest_categorical(name, op names)``.
Architectures told without a pending trial (warm-up seeds, evaluations made elsewhere) are added
as completed trials. ``skip_duplicates=True`` answers an already-evaluated proposal from the
history (told to the sampler at no cost) and asks again, so no trial is spent on a repeat.

Checkpoints never pickle an Optuna object. Samplers are given by name (:data:`SAMPLERS`) and
wrapped in :class:`RebuildableSampler`, which builds the real sampler afresh for every trial from
``(name, kwargs, seed derived from the trial number)``; a strategy's state holds that recipe and its
trials (parameters, values, state, system attributes), and loading it replays them into a new
study. So a restored search asks exactly what the uninterrupted one would have, whatever the
installed Optuna keeps inside its samplers (Optuna 5.1's genetic samplers hold a thread lock, which
cannot be pickled).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.strategies.base import Arch, Strategy
from raynas.strategies.scorers import key_text, parse_key

SAMPLERS = ("random", "tpe", "nsga2", "gp", "qmc")


def _build_sampler(name: str, seed: int | None, kwargs: dict[str, Any]):
    import optuna

    kwargs = dict(kwargs)
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


def _trial_seed(seed: int, number: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def _rebuildable_base():
    import optuna

    class _Rebuildable(optuna.samplers.BaseSampler):
        """Defined lazily so that importing this module does not import Optuna."""

        def __init__(self, name: str, seed: int | None = None, **kwargs):
            if name not in SAMPLERS:
                raise UnknownNameError(f"unknown Optuna sampler {name!r}; known: {', '.join(SAMPLERS)}")
            _build_sampler(name, 0, kwargs)  # bad kwargs raise here, not at the first ask
            if seed is None:
                import numpy as np

                seed = int(np.random.SeedSequence().generate_state(1)[0])
            self.name, self.seed, self.kwargs = name, int(seed), dict(kwargs)
            self._inner = None
            self._number: int | None = None

        def for_trial(self, number: int):
            """The Optuna sampler that serves trial ``number`` (built from the recipe)."""
            if self._inner is None or self._number != number:
                # QMC's sequence is defined by one scramble seed; the others draw afresh per trial
                seed = self.seed if self.name == "qmc" else _trial_seed(self.seed, number)
                self._inner, self._number = _build_sampler(self.name, seed, self.kwargs), number
            return self._inner

        def __getstate__(self) -> dict[str, Any]:
            return {"name": self.name, "seed": self.seed, "kwargs": self.kwargs}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.name, self.seed, self.kwargs = state["name"], state["seed"], dict(state["kwargs"])
            self._inner, self._number = None, None

        def __str__(self) -> str:
            return f"RebuildableSampler({self.name!r}, seed={self.seed})"

        __repr__ = __str__

        def infer_relative_search_space(self, study, trial):
            return self.for_trial(trial.number).infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self.for_trial(trial.number).sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self.for_trial(trial.number).sample_independent(study, trial, param_name, param_distribution)

        def before_trial(self, study, trial) -> None:
            self.for_trial(trial.number).before_trial(study, trial)

        def after_trial(self, study, trial, state, values) -> None:
            self.for_trial(trial.number).after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            """Optuna calls this for parallel ``optimize``; a rebuildable sampler's draws depend only
            on its seed and the trial number, so there is nothing to reseed."""

    _Rebuildable.__name__ = _Rebuildable.__qualname__ = "RebuildableSampler"
    _Rebuildable.__module__ = __name__
    return _Rebuildable


_REBUILDABLE = None


def __getattr__(name: str):
    if name == "RebuildableSampler":  # the class needs Optuna; build it on first use (PEP 562)
        global _REBUILDABLE
        if _REBUILDABLE is None:
            _REBUILDABLE = _rebuildable_base()
        return _REBUILDABLE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_sampler(name: str, seed: int | None = None, **kwargs):
    """An Optuna sampler by short name (``random``, ``tpe`` -- multivariate by default --, ``nsga2``,
    ``gp``, ``qmc``), as a :class:`RebuildableSampler`: a real Optuna ``BaseSampler`` that pickles as
    its recipe, so Tune's ``OptunaSearch`` and raynas checkpoints work whatever the sampler holds.

    Example (with Ray Tune's ``OptunaSearch``, from ``ray.tune.search.optuna``)::

        search = OptunaSearch(metric=["accuracy", "latency_ms"], mode=["max", "min"],
                              sampler=make_sampler("nsga2", seed=0, population_size=20))
    """
    return __getattr__("RebuildableSampler")(name, seed, **kwargs)


_PRIMITIVE = (type(None), bool, int, float, str)


def _distribution(dim):
    """The Optuna distribution of a raynas dimension (categorical values Optuna cannot hold, such
    as tuples, are offered by index; a log scale with a step is sampled on the log scale and snapped)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if dim.kind == "categorical":
        return CategoricalDistribution(list(range(len(dim.values)) if _by_index(dim) else dim.values))
    if dim.kind == "integer":
        return IntDistribution(dim.low, dim.high, log=dim.log, step=1 if dim.log else dim.q)
    return FloatDistribution(dim.low, dim.high, log=dim.log, step=None if dim.log else dim.q)


def _by_index(dim) -> bool:
    return not all(isinstance(v, _PRIMITIVE) for v in dim.values)


def _suggest(trial, name: str, dist):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _entry(dim, value):
    """The raynas config entry of an Optuna parameter value."""
    if dim.kind == "categorical":
        return int(value) if _by_index(dim) else dim.values.index(value)
    if dim.kind == "integer":
        return dim._snap(value) if dim.log and dim.q != 1 else int(value)
    return dim.from_unit(dim.unit(value)) if dim.log and dim.q else float(value)


def _param(dim, entry):
    """The Optuna parameter value of a raynas config entry (inverse of :func:`_entry`)."""
    if dim.kind == "categorical":
        return int(entry) if _by_index(dim) else dim.values[int(entry)]
    return dim.value(entry)


class OptunaStrategy(Strategy):
    """An Optuna sampler as an ask/tell strategy.

    Args:
        space: the search space.
        sampler: a name from :data:`SAMPLERS` (with ``**sampler_kwargs``), or a
            :func:`make_sampler` result. Arbitrary sampler instances are refused: they cannot be
            checkpointed without pickling Optuna's internals.
        n_objectives: number of minimised objectives.
        seed: seeds the sampler (and this strategy's own generator).
        skip_duplicates: answer an already-evaluated proposal from the history and ask again.

    Example::

        strategy = OptunaStrategy(NB201Space(), "nsga2", seed=0, population_size=20)
        arch = strategy.ask(); strategy.tell(arch, [error, latency])
    """

    def __init__(self, space, sampler: Any = "tpe", n_objectives: int = 2, seed: int | None = None,
                 skip_duplicates: bool = False, max_skips: int = 100, **sampler_kwargs):
        super().__init__(space, seed, n_objectives)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        rebuildable = __getattr__("RebuildableSampler")
        if isinstance(sampler, str):
            sampler = make_sampler(sampler, seed, **sampler_kwargs)
        elif not isinstance(sampler, rebuildable):
            raise InvalidConfigError(
                f"sampler must be a name from {list(SAMPLERS)} (with its keyword arguments) or a "
                f"raynas.strategies.optuna.make_sampler(...) result, got {type(sampler).__name__}")
        self.sampler = sampler
        self.skip_duplicates = skip_duplicates
        self.max_skips = max_skips
        self._trials: dict[Arch, list[int]] = {}
        self._distributions = {d.name: _distribution(d) for d in space.dimensions}
        self.study = self._new_study()

    def _new_study(self):
        import optuna

        return optuna.create_study(directions=["minimize"] * self.n_objectives, sampler=self.sampler)

    def _ask_trial(self) -> tuple[Arch, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            arch = tuple(_entry(d, _suggest(trial, d.name, self._distributions[d.name]))
                         for d in self.space.dimensions)
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
            params = {d.name: _param(d, e) for d, e in zip(self.space.dimensions, arch)}
            self.study.add_trial(optuna.trial.create_trial(
                params=params, distributions=self._distributions, values=list(values)))

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
        trials = [{"params": dict(t.params), "state": t.state.name, "values": t.values,
                   "system_attrs": dict(t.system_attrs), "user_attrs": dict(t.user_attrs)}
                  for t in self.study.get_trials(deepcopy=False)]
        study_attrs = self.study._storage.get_study_system_attrs(self.study._study_id)
        return {"sampler": self.sampler.__getstate__(), "trials": trials, "study_system_attrs": dict(study_attrs),
                "pending_numbers": {key_text(a): list(n) for a, n in self._trials.items()}}

    def _load_extra(self, state: dict[str, Any]) -> None:
        import optuna

        self.sampler = __getattr__("RebuildableSampler").__new__(__getattr__("RebuildableSampler"))
        self.sampler.__setstate__(state["sampler"])
        self.study = self._new_study()
        for k, v in state.get("study_system_attrs", {}).items():  # e.g. NSGA-II's cached parent populations
            self.study._storage.set_study_system_attr(self.study._study_id, k, v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for t in state["trials"]:
                trial_state = optuna.trial.TrialState[t["state"]]
                self.study.add_trial(optuna.trial.create_trial(
                    params=t["params"], distributions={k: self._distributions[k] for k in t["params"]},
                    values=t["values"] if trial_state == optuna.trial.TrialState.COMPLETE else None,
                    state=trial_state, system_attrs=t["system_attrs"], user_attrs=t["user_attrs"]))
        self._trials = {parse_key(k): list(n)
                        for k, n in state["pending_numbers"].items()}
