"""The Ray Tune layer of raynas: searchers, schedulers and results helpers over ``raynas/``.

Searchers (multi-objective ``metric``/``mode`` lists, as in Tune's ``OptunaSearch``)::

    ZeroCostSearch        zero-cost-proxy warm-up and move proposal over an engine
    AgingEvolutionSearch  multi-objective aging evolution
    RandomSearch          uniform random architectures, no repeats
    OptunaStrategySearch  any Optuna sampler behind raynas's ask/tell adapter

Schedulers: :class:`ProxyGate`, :class:`MultiObjectiveASHA`, :class:`HardwareBudgetStop`.
Results: :func:`pareto_front`, :func:`pareto_summary`, :func:`results_dataframe`.
The MODNAS, Multi-Predict and HW-EvRSNAS searchers (:class:`HypernetSearch`,
:class:`PredictorSearch`, :class:`SimilarityEvolutionSearch`) live in ``searchers.hypernet``,
``searchers.predictor`` and ``searchers.similarity``; ``from searchers import HypernetSearch``
works too and imports that module only then.
"""

from __future__ import annotations

from collections.abc import Sequence

import searchers._installed  # noqa: F401  (first: says clearly when a folder shadows the raynas package)
from raynas.errors import UnknownNameError
from raynas.spaces import SearchSpace
from raynas.strategies.optuna import SAMPLERS
from searchers.evolution import AgingEvolutionSearch, OptunaStrategySearch, RandomSearch
from searchers.progress import SearchProgress
from searchers.repeater import Repeater
from searchers.results import pareto_front, pareto_summary, results_dataframe
from searchers.schedulers import HardwareBudgetStop, MultiObjectiveASHA, ProxyGate
from searchers.strategy_searcher import StrategySearcher
from searchers.zero_cost import ZeroCostSearch

#: Names accepted by :func:`make_searcher` (Optuna samplers also as ``optuna-<name>``).
SEARCHERS = ("zero_cost", "aging", "random", *(f"optuna-{s}" for s in SAMPLERS))
_ALIASES = {"zc": "zero_cost", "zerocost": "zero_cost", "zero-cost": "zero_cost", "evolution": "aging",
            "aging_evolution": "aging", **{s: f"optuna-{s}" for s in SAMPLERS if s != "random"}}


def make_searcher(name: str, space: SearchSpace | None, metric: Sequence[str], mode: Sequence[str],
                  seed: int | None = None, **kwargs) -> StrategySearcher:
    """A raynas searcher by name: ``zero_cost`` (alias ``zc``), ``aging``, ``random``, or an Optuna
    sampler (``tpe``, ``nsga2``, ``gp``, ``qmc``, ``optuna-random``); ``kwargs`` go to its class."""
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key == "zero_cost":
        return ZeroCostSearch(space, metric, mode, seed=seed, **kwargs)
    if key == "aging":
        return AgingEvolutionSearch(space, metric, mode, seed=seed, **kwargs)
    if key == "random":
        return RandomSearch(space, metric, mode, seed=seed, **kwargs)
    if isinstance(key, str) and key.startswith("optuna-") and key.removeprefix("optuna-") in SAMPLERS:
        return OptunaStrategySearch(space, metric, mode, sampler=key.removeprefix("optuna-"), seed=seed, **kwargs)
    raise UnknownNameError(f"unknown searcher {name!r}; known: {', '.join(SEARCHERS)} "
                           f"(aliases: {', '.join(sorted(_ALIASES))})")


#: searchers whose modules have heavier imports, loaded on first access (PEP 562)
_LAZY = {"HypernetSearch": "searchers.hypernet", "PredictorSearch": "searchers.predictor",
         "SimilarityEvolutionSearch": "searchers.similarity"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'searchers' has no attribute {name!r}")


__all__ = ["Repeater", "SearchProgress", "HypernetSearch", "PredictorSearch", "SimilarityEvolutionSearch", "ZeroCostSearch", "AgingEvolutionSearch", "RandomSearch", "OptunaStrategySearch", "StrategySearcher",
           "make_searcher", "SEARCHERS", "ProxyGate", "MultiObjectiveASHA", "HardwareBudgetStop", "pareto_front",
           "pareto_summary", "results_dataframe"]
