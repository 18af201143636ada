"""``PredictorSearch``: predictor-guided multi-objective search as a Ray Tune searcher.

A thin adapter over :class:`raynas.strategies.predictor.PredictorStrategy` through the generic
:class:`StrategySearcher`: ``suggest`` asks the strategy (candidates scored by transferred
predictors, chosen by expected hypervolume improvement or predicted non-dominance),
``on_trial_complete`` tells it the trial's metrics (the predictors refit on the next ask), and
``save``/``restore`` go through the strategy's ``state_dict``.

Example (latency transferred from published devices, accuracy from a ZCP-encoded tree model)::

    lat = ObjectiveModel(features=lat_features, model=RaynasTransfer(n_source=k, n_cost=c), prior=transferred)
    acc = ObjectiveModel(features=zcp_features, model=TreePredictor(), prior=zcp_prior)
    search = PredictorSearch.from_models(space, [acc, lat], metric=["accuracy", "latency_ms"], mode=["max", "min"])
    tune.Tuner(trainable, tune_config=tune.TuneConfig(search_alg=search, num_samples=50))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.strategies.predictor import ObjectiveModel, PredictorStrategy
from searchers.strategy_searcher import StrategySearcher


class PredictorSearch(StrategySearcher):
    """Suggest the architectures a :class:`PredictorStrategy` proposes; ``metric``/``mode`` are lists
    in the order of the strategy's models (the strategy's ``signs`` must match ``mode``)."""

    def __init__(self, strategy: PredictorStrategy, space, metric: Sequence[str] | str,
                 mode: Sequence[str] | str):
        super().__init__(strategy, space, metric, mode)
        if len(self._metric) != len(strategy.models):
            raise InvalidConfigError(
                f"{len(self._metric)} metrics {self._metric} but the strategy has {len(strategy.models)} models")
        if not np.array_equal(np.asarray(self._signs, float), np.asarray(strategy.signs, float)):
            raise InvalidConfigError(
                f"mode {self._mode} does not match the strategy's signs {list(strategy.signs)} (+1 min, -1 max)")

    @classmethod
    def from_models(cls, space, models: Sequence[ObjectiveModel], metric: Sequence[str], mode: Sequence[str],
                    **strategy_kwargs) -> PredictorSearch:
        """Build the strategy (signs from ``mode``) and adapt it."""
        metric = [metric] if isinstance(metric, str) else list(metric)
        mode = [mode] if isinstance(mode, str) else list(mode)
        signs = moo.minimisation_signs(metric, mode)
        strategy = PredictorStrategy(space, models, signs=signs, **strategy_kwargs)
        return cls(strategy, space, metric, mode)
