"""Framework-free ask/tell search strategies (like Optuna samplers); ``searchers/`` adapts them to Tune.

Every strategy: ``ask() -> arch``, ``tell(arch, objectives)`` (all minimised),
``state_dict()``/``load_state_dict()`` (a restored strategy asks what the uninterrupted one would).
Strategy modules with heavier dependencies (``hypernet``, ``similarity``) are imported directly.
"""

from raynas.strategies.aging import AgingEvolutionStrategy, ParentSelector
from raynas.strategies.base import Strategy
from raynas.strategies.optuna import SAMPLERS, OptunaStrategy, make_sampler
from raynas.strategies.parts import Acquisition, Model, Moves, Warmup
from raynas.strategies.random import RandomStrategy
from raynas.strategies.scorers import (CachedScorer, ProxyColumn, ProxyScores, network_measures, network_scorer,
                                      proxy_scorer)
from raynas.strategies.zero_cost import ZeroCostStrategy

__all__ = ["Strategy", "RandomStrategy", "AgingEvolutionStrategy", "ParentSelector", "OptunaStrategy",
           "make_sampler", "SAMPLERS", "ZeroCostStrategy", "Warmup", "Moves", "Model", "Acquisition", "CachedScorer", "network_scorer", "network_measures",
           "ProxyScores", "ProxyColumn", "proxy_scorer"]
