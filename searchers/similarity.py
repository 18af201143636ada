"""``SimilarityEvolutionSearch``: HW-EvRSNAS as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.similarity.SimilarityEvolutionStrategy` through the
generic :class:`StrategySearcher`: each ``suggest`` runs some cycles of the representation-similarity
evolution (one batch, no training, inside the searcher) and proposes the fittest architecture not yet
tried; the trial measures whatever the user wants (accuracy after training, real latency) and its
metrics are recorded by the strategy. ``save``/``restore`` go through the strategy's ``state_dict``.

Example::

    ref = raynas.reference.load_reference("ref.pt")
    search = SimilarityEvolutionSearch.from_reference(ref, NB201Space(), cost=latency_cost(dev, space),
                                                      budget=5.0, metric=["accuracy", "latency_ms"],
                                                      mode=["max", "min"])
    tune.Tuner(trainable, tune_config=tune.TuneConfig(search_alg=search, num_samples=8))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from raynas.proxies.rmi import FitSettings, SimilarityScorer
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

    @classmethod
    def from_reference(cls, reference, space, cost: Callable | None = None, budget: float | None = None,
                       metric: Sequence[str] | str = "accuracy", mode: Sequence[str] | str = "max",
                       batch=None, batch_size: int = 64, batch_seed: int = 0, estimator: str = "linear",
                       fit: FitSettings | None = FitSettings(steps=30), init_seed: int = 0, **strategy_kwargs
                       ) -> "SimilarityEvolutionSearch":
        """Build the scorer from a :class:`raynas.reference.ReferenceModel` (``batch`` defaults to
        one batch of its dataset, preprocessed as it was trained) and wrap the strategy.

        ``fit``: by default each candidate is first fitted to the reference on the one batch for 30
        SGD steps (RMI-NAS's protocol, shortened): on Fashion-MNIST this fitted RMI ranked 30 NB201
        networks at Spearman 0.66 with trained accuracy (0.20, n.s., on a smaller 16-network run), whereas
        RMI at initialisation (``fit=None``, ~50x cheaper) was not predictive (-0.15); see ``benchmarks/rmi_search.py``."""
        x, y = batch if batch is not None else reference.batch(batch_size=batch_size, seed=batch_seed)
        rep = reference.representation(x, y, estimator=estimator)
        meta = reference.metadata
        scorer = SimilarityScorer(rep, space, num_classes=meta.get("num_classes", 10),
                                  in_channels=int(x.shape[1]), init_seed=init_seed, fit=fit)
        strategy = SimilarityEvolutionStrategy(space, scorer, cost, budget, **strategy_kwargs)
        return cls(strategy, space, metric, mode)
