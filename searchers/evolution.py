"""Plain (proxy-free) raynas strategies as Tune searchers: aging evolution, random search, and any
Optuna sampler driven through raynas's ask/tell adapter.

Each class only picks a strategy from :mod:`raynas.strategies` and hands it to
:class:`~searchers.strategy_searcher.StrategySearcher`; see there for the space (a raynas space, a
Tune ``param_space`` or the Tuner's), metric/mode, points to evaluate, checkpoints and trials
stopped early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from raynas.strategies import AgingEvolutionStrategy, OptunaStrategy, RandomStrategy
from searchers.strategy_searcher import StrategySearcher


class AgingEvolutionSearch(StrategySearcher):
    """Multi-objective aging evolution (:class:`raynas.strategies.AgingEvolutionStrategy`).

    ``population_size``/``sample_size``/``selection``/``crossover_prob`` are the strategy's; the
    first ``population_size`` suggestions are uniformly random.

    Example::

        search = AgingEvolutionSearch(metric=["accuracy", "latency_ms"], mode=["max", "min"], seed=0)
    """

    def __init__(self, space=None, metric: Sequence[str] | str | None = None, mode: Sequence[str] | str | None = None,
                 points_to_evaluate: Sequence[Mapping] | None = None, *, population_size: int = 20,
                 sample_size: int = 5, selection: str = "nsga2", crossover_prob: float = 0.0,
                 seed: int | None = None, **searcher_kwargs):
        self._settings = dict(population_size=population_size, sample_size=sample_size, selection=selection,
                              crossover_prob=crossover_prob, seed=seed)
        AgingEvolutionStrategy(_Probe(), **self._settings)  # bad settings raise now, not at the first trial
        super().__init__(None, space, metric, mode, points_to_evaluate, **searcher_kwargs)

    def _build_strategy(self, space, objectives):
        return AgingEvolutionStrategy(space, n_objectives=len(objectives), **self._settings)


class RandomSearch(StrategySearcher):
    """Uniform random configurations, never repeating one (:class:`raynas.strategies.RandomStrategy`)."""

    def __init__(self, space=None, metric: Sequence[str] | str | None = None, mode: Sequence[str] | str | None = None,
                 points_to_evaluate: Sequence[Mapping] | None = None, *, seed: int | None = None, **searcher_kwargs):
        self._seed = seed
        super().__init__(None, space, metric, mode, points_to_evaluate, **searcher_kwargs)

    def _build_strategy(self, space, objectives):
        return RandomStrategy(space, seed=self._seed, n_objectives=len(objectives))


class OptunaStrategySearch(StrategySearcher):
    """An Optuna sampler (``"tpe"``, ``"nsga2"``, ``"gp"``, ``"random"``, ``"qmc"``, with its
    keyword arguments) behind raynas's adapter (:class:`raynas.strategies.OptunaStrategy`): the
    same proposals as driving the sampler directly, with raynas's handling of trials stopped early,
    of mixed spaces and of checkpoints. ``skip_duplicates=True`` answers a repeated proposal from the
    history instead of spending a trial."""

    def __init__(self, space=None, metric: Sequence[str] | str | None = None, mode: Sequence[str] | str | None = None,
                 points_to_evaluate: Sequence[Mapping] | None = None, *, sampler="tpe", seed: int | None = None,
                 skip_duplicates: bool = False, roles=None, max_t=None, time_attr: str = "training_iteration",
                 evaluated_rewards=None, model_fn=None, example_inputs=None, **sampler_kwargs):
        from raynas.strategies.optuna import make_sampler

        if isinstance(sampler, str):
            make_sampler(sampler, seed, **sampler_kwargs)  # an unknown name or bad keyword raises now
        self._settings = dict(sampler=sampler, seed=seed, skip_duplicates=skip_duplicates, **sampler_kwargs)
        super().__init__(None, space, metric, mode, points_to_evaluate, roles=roles, max_t=max_t,
                         time_attr=time_attr, evaluated_rewards=evaluated_rewards, model_fn=model_fn,
                         example_inputs=example_inputs)

    def _build_strategy(self, space, objectives):
        s = dict(self._settings)
        return OptunaStrategy(space, s.pop("sampler"), n_objectives=len(objectives), seed=s.pop("seed"),
                              skip_duplicates=s.pop("skip_duplicates"), **s)


class _Probe:
    """A stand-in space for checking a strategy's settings before the real space is known."""


__all__ = ["AgingEvolutionSearch", "RandomSearch", "OptunaStrategySearch"]
