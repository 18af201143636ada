"""Turn a raynas search space into a Tune ``param_space``."""

from __future__ import annotations

from ray import tune

from raynas.spaces import SearchSpace


def tune_param_space(space: SearchSpace, **constants) -> dict:
    """``tune.choice`` over op names for every decision of ``space``, plus fixed ``constants``."""
    return {**{d: tune.choice(ops) for d, ops in space.param_space().items()}, **constants}
