"""``SimilarityEvolutionSearch``: HW-EvRSNAS as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.similarity.SimilarityEvolutionStrategy` through the
generic :class:`StrategySearcher`: each ``suggest`` runs some cycles of the representation-similarity
evolution (one batch, no training, inside the searcher) and proposes the fittest architecture not yet
tried; the trial measures whatever the user wants (accuracy after training, real latency) and its
metrics are recorded by the strategy. ``save``/``restore`` (and Tune's experiment checkpoints) go
through the strategy's ``state_dict``.

Example::

    ref = raynas.reference.load_reference("ref.pt")
    space = NB201Space()
    search = SimilarityEvolutionSearch.from_reference(
        ref, space, cost=latency_cost(TableDevice("raspi4"), space), budget=15.0,
        metric=["accuracy", "latency_ms"], mode=["max", "min"])
    tune.Tuner(trainable, param_space=tune_param_space(space),
               tune_config=tune.TuneConfig(search_alg=search, num_samples=8)).fit()

Budget sweeps over several devices: :meth:`SimilarityEvolutionSearch.sweep` builds one searcher per
``(device, budget)`` pair, all sharing one cache of similarity scores (the similarity does not
depend on the device), for one Tune run each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from raynas.errors import InvalidConfigError
from raynas.proxies.rmi import FitSettings, SimilarityScorer
from raynas.strategies.scorers import CachedScorer
from raynas.strategies.similarity import SimilarityEvolutionStrategy
from searchers.strategy_searcher import StrategySearcher


class SimilarityEvolutionSearch(StrategySearcher):
    """Suggest the fittest architectures of an RMI-minus-penalty evolution.

    ``strategy``: a :class:`SimilarityEvolutionStrategy` (see :meth:`from_reference` to build one
    from a reference model). ``metric``/``mode``: what the trials report, as lists (or single strings).
    """

    def __init__(self, strategy: SimilarityEvolutionStrategy, space, metric: Sequence[str] | str = "accuracy",
                 mode: Sequence[str] | str = "max"):
        super().__init__(strategy, space, metric, mode)

    @staticmethod
    def scorer(reference, space, batch=None, batch_size: int = 64, batch_seed: int = 0, estimator: str = "linear",
               fit: FitSettings | None = None, init_seed: int = 0, match: str = "index",
               data_dir: str | os.PathLike | None = None, rank_by: str = "rmi") -> SimilarityScorer:
        """The ``arch -> RMI`` scorer of ``space`` against a :class:`raynas.reference.ReferenceModel`
        (``batch`` defaults to one batch of its dataset, preprocessed as it was trained)."""
        x, y = batch if batch is not None else reference.batch(batch_size=batch_size, seed=batch_seed,
                                                               data_dir=data_dir)
        rep = reference.representation(x, y, estimator=estimator)
        return SimilarityScorer(rep, space, num_classes=reference.metadata.get("num_classes", 10),
                                in_channels=int(x.shape[1]), init_seed=init_seed, match=match, fit=fit,
                                rank_by=rank_by)

    @classmethod
    def from_reference(cls, reference, space, cost: Callable | None = None, budget: float | None = None,
                       metric: Sequence[str] | str = "accuracy", mode: Sequence[str] | str = "max",
                       batch=None, batch_size: int = 64, batch_seed: int = 0, estimator: str = "linear",
                       fit: FitSettings | None = None, init_seed: int = 0, match: str = "index",
                       data_dir: str | os.PathLike | None = None, rank_by: str = "rmi",
                       **strategy_kwargs) -> SimilarityEvolutionSearch:
        """Build the scorer (see :meth:`scorer`) and wrap a :class:`SimilarityEvolutionStrategy`
        (``strategy_kwargs``: ``penalty_weight``, ``population_size``, ``sample_size``, ``seed``, ...).

        ``fit=None`` (default) scores candidates at initialisation — HW-EvRSNAS's "one batch, no
        training"; ``fit=FitSettings(steps=...)`` first fits each candidate to the reference on the
        batch as RMI-NAS does (150 steps there), and ``rank_by="rminas_loss"`` ranks by RMI-NAS's
        mixed loss after that fit. Measured on Fashion-MNIST (``benchmarks/rmi_search.py``, 60 NB201
        cells): Spearman with briefly-trained accuracy -0.02 at initialisation (not predictive at
        that scale), 0.42 for RMI after a 30-step fit, 0.54 for the fitted loss (synflow 0.49,
        #params 0.44) — but the fit costs ~50x the at-init score (~5 s per small cell on a loaded
        2-core CPU). When accuracy matters more than search time, pass
        ``fit=FitSettings(steps=30), rank_by="rminas_loss"``."""
        scorer = cls.scorer(reference, space, batch, batch_size, batch_seed, estimator, fit, init_seed, match,
                            data_dir, rank_by)
        strategy = SimilarityEvolutionStrategy(space, scorer, cost, budget, **strategy_kwargs)
        return cls(strategy, space, metric, mode)

    @classmethod
    def sweep(cls, score: Callable, space, costs: dict[str, Callable], pairs: Sequence[tuple[str, float]],
              metric: Sequence[str] | str = "accuracy", mode: Sequence[str] | str = "max",
              **strategy_kwargs) -> dict[tuple[str, float], SimilarityEvolutionSearch]:
        """One searcher per ``(device, budget)`` pair (``costs[device]``: that device's cost), all
        sharing one cache of ``score`` (e.g. :meth:`scorer`), for a budget sweep over devices."""
        unknown = [d for d, _ in pairs if d not in costs]
        if unknown:
            raise InvalidConfigError(f"no cost function for device(s) {unknown}; known: {sorted(costs)}")
        shared = score if isinstance(score, CachedScorer) else CachedScorer(score, "similarity")
        return {(d, b): cls(SimilarityEvolutionStrategy(space, shared, costs[d], b, name=d, **strategy_kwargs),
                            space, metric, mode) for d, b in pairs}
