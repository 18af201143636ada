"""Tune ``param_space`` <-> raynas search spaces.

:func:`space_from_param_space` reads the ``param_space`` of a Tune script -- ``tune.choice``,
``tune.randint``/``qrandint``/``lograndint``/``qlograndint``, ``tune.uniform``/``loguniform``/
``quniform``/``qloguniform``, fixed values, nested dicts and lists holding domains (searched entry by
entry, as Tune's random search resolves them) -- into a
:class:`~raynas.spaces.ParamSpace`; :func:`tune_param_space` goes the other way for any raynas space.

Example::

    from ray import tune
    param_space = {"depth": tune.randint(2, 6), "width": tune.choice([32, 64, 128]),
                   "lr": tune.loguniform(1e-4, 1e-1), "epochs": 3}
    space = space_from_param_space(param_space, model_fn=build_cnn, example_inputs=(1, 28, 28))
    space.dimensions   # depth: Integer(2, 5), width: Categorical, lr: Float(log), epochs fixed
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ray import tune
from ray.tune.search.sample import Categorical as TuneCategorical
from ray.tune.search.sample import Domain
from ray.tune.search.sample import Float as TuneFloat
from ray.tune.search.sample import Integer as TuneInteger

from raynas.errors import InvalidConfigError
from raynas.spaces import Categorical, Fixed, Float, Integer, Items, ParamSpace


def _sampler_parts(domain) -> tuple[str, float | None]:
    """(``"uniform"``/``"loguniform"``/other, quantum or None) of a Tune domain's sampler."""
    sampler = domain.get_sampler()
    q = getattr(sampler, "q", None)
    inner = getattr(sampler, "sampler", sampler) if q is not None else sampler
    kind = type(inner).__name__.strip("_").lower()
    return kind, q


def dimension_from_domain(path: str, domain: Domain):
    """The raynas dimension of one Tune domain (raises naming ``path`` for what a searcher cannot take)."""
    if isinstance(domain, TuneCategorical):
        return Categorical(tuple(domain.categories), path)
    kind, q = _sampler_parts(domain)
    if kind not in ("uniform", "loguniform"):
        raise InvalidConfigError(f"param_space[{path!r}] samples from a {kind} distribution; a raynas searcher "
                                 f"needs bounded dimensions (tune.uniform, loguniform, randint, choice, ...)")
    log = kind == "loguniform"
    if isinstance(domain, TuneInteger):
        if q is None or q == 1:  # upper bound exclusive (Tune's randint / lograndint / qrandint with q=1)
            return Integer(int(domain.lower), int(domain.upper) - 1, log=log, name=path)
        q = int(q)  # quantised: multiples of q, the upper bound included
        low, high = math.ceil(domain.lower / q) * q, math.floor(domain.upper / q) * q
        return Integer(low, high, log=log and q == 1, q=q, name=path)
    if isinstance(domain, TuneFloat):
        if not (math.isfinite(domain.lower) and math.isfinite(domain.upper)):
            raise InvalidConfigError(f"param_space[{path!r}] is unbounded; give finite bounds")
        if q is not None:
            low = round(math.ceil(domain.lower / q - 1e-9) * q, 12)
            return Float(low, float(domain.upper), log=log, q=float(q), name=path)
        return Float(float(domain.lower), float(domain.upper), log=log, name=path)
    raise InvalidConfigError(f"param_space[{path!r}] is a {type(domain).__name__}, which a raynas searcher cannot "
                             f"search (use tune.choice, randint, uniform, loguniform, ...)")


def _convert(spec: Mapping, prefix: str = "") -> dict[str, Any]:
    return {key: _convert_value(value, f"{prefix}{key}") for key, value in spec.items()}


def _convert_value(value, path: str):
    if isinstance(value, Mapping) and "grid_search" in value and len(value) == 1:
        raise InvalidConfigError(f"param_space[{path!r}] is a grid_search; a searcher proposes every trial itself: "
                                 f"use tune.choice({list(value['grid_search'])!r})")
    if isinstance(value, Mapping):
        return _convert(value, path + "/")
    if isinstance(value, Domain):
        if type(value).__name__ == "Function":
            raise InvalidConfigError(f"param_space[{path!r}] is a tune.sample_from function, which a searcher "
                                     f"cannot search; use a fixed value or a domain")
        return dimension_from_domain(path, value)
    if isinstance(value, (list, tuple)) and _holds_domain(value):  # searched entry by entry
        return Items([_convert_value(v, f"{path}/{i}") for i, v in enumerate(value)], type(value))
    return Fixed(value)  # a fixed value (a list too, as in Tune)


def _holds_domain(value) -> bool:
    if isinstance(value, Domain):
        return True
    if isinstance(value, (list, tuple)):
        return any(map(_holds_domain, value))
    if isinstance(value, Mapping):
        return any(map(_holds_domain, value.values()))
    return False


def with_items(spec: Mapping) -> dict:
    """``spec`` with every list or tuple that holds search domains as an :class:`~raynas.spaces.Items`
    (so :func:`raynas.spaces.params.flatten` reaches the domains inside, ``"layers/0"``)."""
    return {k: _with_items(v) for k, v in spec.items()}


def _with_items(v):
    if isinstance(v, Mapping) and not ("grid_search" in v and len(v) == 1):
        return with_items(v)
    if isinstance(v, (list, tuple)) and _holds_domain(v):
        return Items([_with_items(x) for x in v], type(v))
    return v


def space_from_param_space(param_space: Mapping, *, model_fn: Callable[[dict], Any] | None = None,
                           example_inputs: Any = None, name: str = "params") -> ParamSpace:
    """A :class:`~raynas.spaces.ParamSpace` from a Tune ``param_space`` (module docstring).

    Fixed values stay fixed (a plain list is a fixed value, as in Tune, not a choice)."""
    if not isinstance(param_space, Mapping):
        raise InvalidConfigError(f"param_space must be a dict, got {type(param_space).__name__}")
    converted = _convert(param_space)
    space = ParamSpace(converted, model_fn=model_fn, example_inputs=example_inputs, name=name)
    if not space.dimensions:
        raise InvalidConfigError(f"param_space has nothing to search (no tune.choice/randint/uniform/... among "
                                 f"{sorted(param_space)})")
    return space


def tune_param_space(space, **constants) -> dict:
    """A Tune ``param_space`` for any raynas space: ``tune.choice`` for categorical dimensions,
    ``tune.randint``/``qrandint``/``lograndint`` for integers, ``tune.uniform``/``loguniform``/
    ``quniform`` for floats, the space's constants, plus ``constants``."""
    spec = space.param_space()
    return {**_to_tune(spec), **constants}


def _to_tune(spec: Mapping) -> dict:
    return {k: _tune_value(v) for k, v in spec.items()}


def _tune_value(v):
    if isinstance(v, Mapping):
        return _to_tune(v)
    if isinstance(v, Items):
        return v.kind(_tune_value(x) for x in v.values)
    if isinstance(v, list):
        return tune.choice(v)
    if isinstance(v, Integer):
        if v.q != 1:
            return tune.qrandint(v.low, v.high, v.q)
        return tune.lograndint(v.low, v.high + 1) if v.log else tune.randint(v.low, v.high + 1)
    if isinstance(v, Float):
        if v.q is not None:
            return tune.qloguniform(v.low, v.high, v.q) if v.log else tune.quniform(v.low, v.high, v.q)
        return tune.loguniform(v.low, v.high) if v.log else tune.uniform(v.low, v.high)
    if isinstance(v, Categorical):
        return tune.choice(list(v.values))
    if isinstance(v, Fixed):
        return v.value
    return v


__all__ = ["space_from_param_space", "tune_param_space", "dimension_from_domain", "with_items"]
