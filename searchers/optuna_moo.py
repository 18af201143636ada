"""Tune's ``OptunaSearch`` set up for multi-objective NAS, with Optuna's samplers by name
(:func:`raynas.strategies.optuna.make_sampler`: ``random``, ``tpe``, ``nsga2``, ``gp``, ``qmc``)."""

from __future__ import annotations

from collections.abc import Sequence

from ray.tune.search.optuna import OptunaSearch

from raynas.moo import minimisation_signs
from raynas.strategies.optuna import SAMPLERS, make_sampler

__all__ = ["optuna_moo_search", "SAMPLERS"]


def optuna_moo_search(metric: Sequence[str], mode: Sequence[str], sampler: str = "nsga2", seed: int | None = 0,
                      population_size: int | None = None) -> OptunaSearch:
    """``OptunaSearch`` over the Tuner's ``param_space`` with metric/mode lists validated up front."""
    minimisation_signs(metric, mode)  # raises naming a bad metric/mode list
    kwargs = {"population_size": population_size} if population_size else {}
    return OptunaSearch(metric=list(metric), mode=list(mode), sampler=make_sampler(sampler, seed, **kwargs))
