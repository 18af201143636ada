"""Plain (proxy-free) raynas strategies as Tune searchers: aging evolution, random search, and any
Optuna sampler driven through raynas's ask/tell adapter.

Each class only picks a strategy from :mod:`raynas.strategies` and hands it to
:class:`~searchers.strategy_searcher.StrategySearcher`; see there for metric/mode lists, param
spaces, checkpoints and early-stopped trials.
"""

from __future__ import annotations

from collections.abc import Sequence

from raynas.spaces import NB201Space, SearchSpace
from raynas.strategies import AgingEvolutionStrategy, OptunaStrategy, RandomStrategy
from searchers.strategy_searcher import StrategySearcher, _validated_lists


class AgingEvolutionSearch(StrategySearcher):
    """Multi-objective aging evolution (:class:`raynas.strategies.AgingEvolutionStrategy`).

    ``population_size``/``sample_size``/``selection``/``crossover_prob`` are the strategy's; the
    first ``population_size`` suggestions are uniformly random."""

    def __init__(self, space: SearchSpace | None = None, metric: Sequence[str] | str | None = None,
                 mode: Sequence[str] | str | None = None, *, population_size: int = 20, sample_size: int = 5,
                 selection: str = "nsga2", crossover_prob: float = 0.0, seed: int | None = None,
                 static_metrics: Sequence[str] = ()):
        metric, mode = _validated_lists(metric, mode)
        space = space if space is not None else NB201Space()
        strategy = AgingEvolutionStrategy(space, population_size=population_size, sample_size=sample_size,
                                          selection=selection, crossover_prob=crossover_prob, seed=seed,
                                          n_objectives=len(metric))
        super().__init__(strategy, space, metric, mode, static_metrics)


class RandomSearch(StrategySearcher):
    """Uniform random architectures, never repeating one (:class:`raynas.strategies.RandomStrategy`)."""

    def __init__(self, space: SearchSpace | None = None, metric: Sequence[str] | str | None = None,
                 mode: Sequence[str] | str | None = None, *, seed: int | None = None,
                 static_metrics: Sequence[str] = ()):
        metric, mode = _validated_lists(metric, mode)
        space = space if space is not None else NB201Space()
        super().__init__(RandomStrategy(space, seed=seed, n_objectives=len(metric)), space, metric, mode,
                         static_metrics)


class OptunaStrategySearch(StrategySearcher):
    """An Optuna sampler (``"tpe"``, ``"nsga2"``, ``"gp"``, ``"random"``, ``"qmc"`` or an instance)
    behind raynas's adapter (:class:`raynas.strategies.OptunaStrategy`): the same proposals as
    driving the sampler directly, with raynas's handling of early-stopped trials and checkpoints.
    ``skip_duplicates=True`` answers a repeated proposal from the history instead of spending a trial."""

    def __init__(self, space: SearchSpace | None = None, metric: Sequence[str] | str | None = None,
                 mode: Sequence[str] | str | None = None, *, sampler="tpe", seed: int | None = None,
                 skip_duplicates: bool = False, static_metrics: Sequence[str] = (), **sampler_kwargs):
        metric, mode = _validated_lists(metric, mode)
        space = space if space is not None else NB201Space()
        strategy = OptunaStrategy(space, sampler, n_objectives=len(metric), seed=seed,
                                  skip_duplicates=skip_duplicates, **sampler_kwargs)
        super().__init__(strategy, space, metric, mode, static_metrics)


__all__ = ["AgingEvolutionSearch", "RandomSearch", "OptunaStrategySearch"]
