"""Search spaces. ``get_space("nb201")`` builds a registered space; ``SPACES.register`` adds yours."""

from __future__ import annotations

from typing import Any

from raynas.registry import Registry
from raynas.spaces.base import Arch, CategoricalSpace, SearchSpace
from raynas.spaces.params import Categorical, Fixed, Float, Integer, Items, ParamSpace, space_size
from raynas.spaces.nb201 import NB201_OPS, NB201Network, NB201Space

SPACES: Registry[type] = Registry("search space")
SPACES.register("nb201", NB201Space)
SPACES.register("fbnet", __import__("raynas.spaces.fbnet", fromlist=["FBNetSpace"]).FBNetSpace)


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """Instantiate the space registered as ``name``."""
    return SPACES.get(name)(**kwargs)


__all__ = [
    "Arch", "CategoricalSpace", "SearchSpace", "ParamSpace", "Categorical", "Integer", "Float", "Fixed", "Items", "space_size", "NB201Space", "NB201Network", "NB201_OPS",
    "SPACES", "get_space",
]
