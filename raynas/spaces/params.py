"""Search spaces of mixed dimensions: your own model and ``param_space``.

A :class:`ParamSpace` is a product of named dimensions -- :class:`Categorical` (any values, lists
and dicts too), :class:`Integer` and :class:`Float` (optionally log-scaled or quantised) -- plus
fixed values, possibly nested as Tune allows (``{"optim": {"lr": ...}}`` becomes the dimension
``"optim/lr"``; a list holding dimensions, :class:`Items`, is searched position by position:
``{"widths": Items([Categorical([16, 32]), Categorical([32, 64])])}`` has ``"widths/0"`` and
``"widths/1"`` and gives ``model_fn`` a list). With ``model_fn(config) -> nn.Module`` and
``example_inputs`` (a batch, or just an input shape) it builds the network a configuration
describes, so zero-cost proxies and hardware costs can be computed on it. Dimensions the model does
not depend on (a learning rate) are searched like any other; only the told results say how they
matter.

A configuration inside raynas is a tuple with one entry per dimension: the value's index for a
categorical dimension, the integer for an integer one, the float for a float one. It is hashable
and cheap, so histories, caches and duplicates work as for the categorical NAS spaces
(:class:`~raynas.spaces.NB201Space` and :class:`~raynas.spaces.FBNetSpace` are ParamSpaces of
categorical dimensions only).

Example::

    import torch.nn as nn
    from raynas.spaces import Categorical, Float, Integer, ParamSpace

    def model_fn(cfg):
        layers, c = [], 1
        for _ in range(cfg["depth"]):
            layers += [nn.Conv2d(c, cfg["width"], cfg["kernel"], padding="same"), nn.ReLU()]
            c = cfg["width"]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))

    space = ParamSpace({"depth": Integer(1, 4), "width": Categorical([16, 32, 64]),
                        "kernel": Categorical([3, 5]), "lr": Float(1e-4, 1e-1, log=True), "epochs": 3},
                       model_fn=model_fn, example_inputs=(1, 28, 28))
    cfg = space.to_config(space.sample(np.random.default_rng(0)))   # {"depth": 2, ..., "epochs": 3}
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from raynas.errors import InvalidArchitectureError, InvalidConfigError

Config = tuple  # one entry per dimension (see the module docstring)
SEP = "/"


def _immutable(v) -> bool:
    """A value a configuration can share with the space (numbers, strings, tuples of such)."""
    if isinstance(v, tuple):
        return all(map(_immutable, v))
    return v is None or isinstance(v, (bool, int, float, complex, str, bytes, np.generic, frozenset))


def _frozen(v):
    """A hashable stand-in for ``v`` that equal values share (dicts as sets of items, lists as tuples)."""
    if isinstance(v, Mapping):
        return frozenset((k, _frozen(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return tuple(map(_frozen, v))
    return v


def _py(v):
    """A numpy scalar as the Python number it holds (tuples of configs must hash and compare alike)."""
    return v.item() if isinstance(v, np.generic) else v


@dataclass(frozen=True)
class Categorical:
    """One of ``values``: any values that compare with ``==``, lists and dicts too (as in
    ``tune.choice([[32, 64], [64, 128]])``); the config holds the value's index, and a configuration
    gets its own copy of a mutable value."""

    values: tuple
    name: str = ""

    def __post_init__(self):
        values = tuple(self.values)
        if not values:
            raise InvalidConfigError(f"categorical dimension {self.name!r} has no values")
        try:
            distinct = len(set(values)) == len(values)
        except TypeError:  # unhashable values (lists, dicts): compared pairwise
            distinct = all(values.index(v) == i for i, v in enumerate(values))
        if not distinct:
            raise InvalidConfigError(f"categorical dimension {self.name!r} repeats a value: {list(values)!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_mutable", any(not _immutable(v) for v in values))

    def __hash__(self) -> int:  # equal dimensions hash alike, lists and dicts among the values too
        try:
            return hash((self.name, _frozen(self.values)))
        except TypeError:
            return hash((self.name, len(self.values)))

    kind = "categorical"

    @property
    def size(self) -> float:
        return len(self.values)

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.values)))

    def entry(self, value) -> int:
        """The config entry (index) of ``value``; an index itself is accepted for non-integer values."""
        try:
            return self.values.index(value)
        except ValueError:
            pass
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
                and not any(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in self.values) \
                and 0 <= int(value) < len(self.values):
            return int(value)
        if isinstance(value, str):  # a value written as text (CSV, command line)
            for i, v in enumerate(self.values):
                if str(v) == value:
                    return i
        raise InvalidArchitectureError(f"{self.name}: {value!r} is not one of {list(self.values)!r}")

    def check(self, entry) -> int:
        if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, (int, np.integer)) \
                or not 0 <= int(entry) < len(self.values):
            raise InvalidArchitectureError(f"{self.name}: index {entry!r} outside 0..{len(self.values) - 1}")
        return int(entry)

    def value(self, entry: int):
        v = self.values[int(entry)]
        return copy.deepcopy(v) if self._mutable else v

    def neighbours(self, entry: int, rng: np.random.Generator | None = None, limit: int | None = None) -> list[int]:
        others = [i for i in range(len(self.values)) if i != entry]
        if limit is not None and len(others) > limit and rng is not None:
            others = sorted(int(i) for i in rng.choice(others, limit, replace=False))
        return others

    def unit(self, entry: int) -> float:  # not used in distances (categorical columns compare by equality)
        return float(entry)

    def text(self, entry: int) -> str:
        return str(self.values[int(entry)])


def _check_bounds(name: str, low, high, log: bool, q) -> None:
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise InvalidConfigError(f"dimension {name!r}: need finite low <= high, got low={low!r}, high={high!r}")
    if log and low <= 0:
        raise InvalidConfigError(f"dimension {name!r}: a log scale needs low > 0, got low={low!r}")
    if q is not None and not q > 0:
        raise InvalidConfigError(f"dimension {name!r}: the quantum q must be > 0, got {q!r}")


@dataclass(frozen=True)
class Integer:
    """An integer in ``[low, high]`` (both included), on a multiple of ``q`` from ``low``; ``log``
    samples and measures distances on a log scale."""

    low: int
    high: int
    log: bool = False
    q: int = 1
    name: str = ""

    def __post_init__(self):
        for k in ("low", "high", "q"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise InvalidConfigError(f"dimension {self.name!r}: {k} must be an integer, got {v!r}")
        _check_bounds(self.name, self.low, self.high, self.log, self.q)
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))
        object.__setattr__(self, "q", int(self.q))

    kind = "integer"

    @property
    def size(self) -> float:
        return (self.high - self.low) // self.q + 1

    def _snap(self, x: float) -> int:
        k = round((x - self.low) / self.q)
        return int(min(max(self.low + k * self.q, self.low), self.low + (self.size - 1) * self.q))

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return self._snap(x)

    def unit(self, entry: int) -> float:
        if self.high == self.low:
            return 0.0
        if self.log:
            return (math.log(entry) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (entry - self.low) / (self.high - self.low)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:  # log-uniform, then snapped (as Tune's lograndint)
            return self.from_unit(float(rng.random()))
        return self.low + self.q * int(rng.integers(self.size))

    def entry(self, value) -> int:
        return self.check(value)

    def check(self, entry) -> int:
        if isinstance(entry, (bool, np.bool_)):
            raise InvalidArchitectureError(f"{self.name}: expected an integer in [{self.low}, {self.high}], got {entry!r}")
        try:
            as_float = float(entry)
        except (TypeError, ValueError):
            raise InvalidArchitectureError(
                f"{self.name}: expected an integer in [{self.low}, {self.high}], got {entry!r}") from None
        if not as_float.is_integer() or not self.low <= as_float <= self.high or (int(as_float) - self.low) % self.q:
            raise InvalidArchitectureError(
                f"{self.name}: {entry!r} is not an integer in [{self.low}, {self.high}]"
                + (f" on steps of {self.q}" if self.q != 1 else ""))
        return int(as_float)

    def value(self, entry: int) -> int:
        return int(entry)

    def neighbours(self, entry: int, rng: np.random.Generator | None = None, limit: int | None = None) -> list[int]:
        """One step either way, plus (in large ranges) two random jumps on the unit scale."""
        out = [v for v in (entry - self.q, entry + self.q) if self.low <= v <= self.high]
        if self.size > 8 and rng is not None:
            for scale in (0.1, 0.3):
                v = self.from_unit(self.unit(entry) + scale * float(rng.standard_normal()))
                if v != entry and v not in out:
                    out.append(v)
        return out

    def text(self, entry: int) -> str:
        return str(int(entry))


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``; ``log`` for a log scale (learning rates), ``q`` rounds to
    multiples of ``q``."""

    low: float
    high: float
    log: bool = False
    q: float | None = None
    name: str = ""

    def __post_init__(self):
        for k in ("low", "high"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                raise InvalidConfigError(f"dimension {self.name!r}: {k} must be a number, got {v!r}")
        _check_bounds(self.name, self.low, self.high, self.log, self.q)
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    kind = "float"

    @property
    def size(self) -> float:
        if self.q is not None:
            return math.floor((self.high - self.low) / self.q + 1e-9) + 1
        return math.inf if self.high > self.low else 1

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        if self.q is not None:  # on the grid low + k q, written without float noise (0.0066, not 0.0066000001)
            x = self.low + round((x - self.low) / self.q) * self.q
            x = round(x, max(0, -math.floor(math.log10(self.q))) + 6)
        return float(min(max(x, self.low), self.high))

    def unit(self, entry: float) -> float:
        if self.high == self.low:
            return 0.0
        if self.log:
            return (math.log(entry) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (entry - self.low) / (self.high - self.low)

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(float(rng.random()))

    def entry(self, value) -> float:
        return self.check(value)

    def check(self, entry) -> float:
        try:
            x = float(entry)
        except (TypeError, ValueError):
            raise InvalidArchitectureError(f"{self.name}: expected a number in [{self.low}, {self.high}], "
                                           f"got {entry!r}") from None
        if isinstance(entry, (bool, np.bool_)) or not self.low <= x <= self.high:
            raise InvalidArchitectureError(f"{self.name}: {entry!r} is outside [{self.low}, {self.high}]")
        return x

    def value(self, entry: float) -> float:
        return float(entry)

    def neighbours(self, entry: float, rng: np.random.Generator | None = None, limit: int | None = None) -> list[float]:
        """Perturbations on the unit (log) scale, small and large; deterministic without ``rng``."""
        u = self.unit(entry)
        steps = [0.05, -0.05, 0.2, -0.2] if rng is None else \
            [s * float(rng.standard_normal()) for s in (0.05, 0.05, 0.2, 0.2)]
        out = []
        for s in steps:
            v = self.from_unit(u + s)
            if v != entry and v not in out:
                out.append(v)
        return out

    def text(self, entry: float) -> str:
        return repr(float(entry))


Dimension = Categorical | Integer | Float


@dataclass(frozen=True)
class Fixed:
    """A value that stays as it is, even a list (which a spec would otherwise read as choices)."""

    value: Any


@dataclass(frozen=True)
class Items:
    """A list (or tuple) whose entries may be dimensions, nested dicts or fixed values, as Tune's
    ``{"widths": [tune.choice([16, 32]), tune.choice([32, 64])]}``: entry ``i`` is searched under
    the path ``"widths/i"`` and configurations hold a list again (a tuple with ``kind=tuple``).

    Example:
        >>> space = ParamSpace({"widths": Items([Categorical([16, 32]), 64])})
        >>> space.names, space.to_config((1,))
        (['widths/0'], {'widths': [32, 64]})
    """

    values: tuple
    kind: type = list

    def __post_init__(self):
        if self.kind not in (list, tuple):
            raise InvalidConfigError(f"Items kind must be list or tuple, got {self.kind!r}")
        object.__setattr__(self, "values", tuple(self.values))

    def as_mapping(self) -> dict[str, Any]:
        return {str(i): v for i, v in enumerate(self.values)}


def _sequence_paths(spec: Mapping, prefix: str = "") -> dict[str, type]:
    """``{path: list | tuple}`` of the :class:`Items` in a (nested) spec."""
    out: dict[str, type] = {}
    for k, v in spec.items():
        path = f"{prefix}{k}"
        if isinstance(v, Items):
            out[path] = v.kind
            v = v.as_mapping()
        if isinstance(v, Mapping):
            out.update(_sequence_paths(v, path + SEP))
    return out


def _as_sequences(nested: dict, paths: Mapping[str, type], wrap: Callable | None = None) -> dict:
    """Turn the ``{"0": .., "1": ..}`` dicts at ``paths`` of an unflattened config back into lists
    (or tuples; ``wrap(values, kind)`` instead, e.g. :class:`Items`), deepest first."""
    for path in sorted(paths, key=lambda p: -p.count(SEP)):
        *parents, leaf = path.split(SEP)
        node = nested
        for p in parents:  # shallower sequences are still dicts here
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict) or not isinstance(node.get(leaf), dict):
            continue
        entries = node[leaf]
        values = [entries[str(i)] for i in range(len(entries))]
        node[leaf] = wrap(values, paths[path]) if wrap is not None else paths[path](values)
    return nested


def _named(dim, name: str):
    if dim.name == name:
        return dim
    from dataclasses import replace

    return replace(dim, name=name)


def flatten(spec: Mapping, prefix: str = "", *, strict: bool = True) -> dict[str, Any]:
    """Nested dicts (and :class:`Items`, entry ``i`` under ``"a/i"``) as one dict with ``"a/b"`` keys
    (the config paths). ``strict`` refuses keys that are not strings or hold ``/`` (as a
    ``param_space`` must); a config may already be flat."""
    out: dict[str, Any] = {}
    for k, v in spec.items():
        if strict and (not isinstance(k, str) or SEP in k):
            raise InvalidConfigError(f"param_space keys must be strings without {SEP!r}, got {k!r}")
        path = f"{prefix}{k}"
        if isinstance(v, Items):
            v = v.as_mapping()
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, path + SEP, strict=strict))
        else:
            out[path] = v
    return out


_MISSING = object()


def _lookup(config: Mapping, path: str):
    """The value at ``"a/b"`` of a nested config (or under the flat key itself), else ``_MISSING``.
    A value that is itself a dict (a choice among dicts) is returned whole; ``"a/0"`` reads entry 0
    of a list."""
    if path in config:
        return config[path]
    node: Any = config
    for key in path.split(SEP):
        if isinstance(node, (list, tuple)) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, Mapping) and key in node:
            node = node[key]
        else:
            return _MISSING
    return node


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten`."""
    out: dict[str, Any] = {}
    for path, v in flat.items():
        node = out
        *parents, leaf = path.split(SEP)
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


class ParamSpace:
    """A product of named dimensions (module docstring).

    Args:
        spec: ``{name: Categorical | Integer | Float | list of values | fixed value}``, nested dicts
            allowed; a list is a categorical dimension, anything else a constant.
        model_fn: ``model_fn(config) -> torch.nn.Module`` for the full (nested) config; needed by
            zero-cost proxies and hardware costs, not by the search itself.
        example_inputs: a batch (a tensor, or an ``(inputs, labels)`` pair) or an input shape
            without the batch dimension, e.g. ``(3, 32, 32)``: what proxies and costs are computed on.
        name: names caches of this space's proxy values (give each of your spaces its own).
    """

    def __init__(self, spec: Mapping[str, Any] | None = None, *, model_fn: Callable[[dict], Any] | None = None,
                 example_inputs: Any = None, name: str = "params"):
        self.name = name
        if model_fn is not None and not callable(model_fn):
            raise InvalidConfigError(f"model_fn must be a function config -> torch.nn.Module, got {model_fn!r}")
        self.model_fn = model_fn
        self.example_inputs = _checked_inputs(example_inputs)
        dims, constants = [], {}
        for path, v in flatten(spec or {}).items():
            if isinstance(v, (Categorical, Integer, Float)):
                dims.append(_named(v, path))
            elif isinstance(v, Fixed):
                constants[path] = v.value
            elif isinstance(v, list):
                dims.append(Categorical(tuple(v), path))
            else:
                constants[path] = v
        self._dims: list = dims
        self.constants = constants
        self._index = {d.name: i for i, d in enumerate(dims)}
        self._sequences = _sequence_paths(spec or {})

    # --- structure -----------------------------------------------------------------------------
    @property
    def dimensions(self) -> list:
        """The dimensions, in config-tuple order."""
        return list(self._dims)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self._dims]

    @property
    def num_decisions(self) -> int:
        return len(self._dims)

    @property
    def decisions(self) -> list[tuple[str, list]]:
        """``(name, values)`` of the categorical dimensions (the NAS spaces' decisions)."""
        return [(d.name, list(d.values)) for d in self._dims if d.kind == "categorical"]

    @property
    def categorical(self) -> np.ndarray:
        """Boolean mask of the categorical dimensions."""
        return np.array([d.kind == "categorical" for d in self._dims], dtype=bool)

    @property
    def size(self) -> float:
        """Number of distinct configurations (``math.inf`` with a continuous dimension)."""
        n = 1.0
        for d in self._dims:
            n *= d.size
        return n

    @property
    def finite(self) -> bool:
        return math.isfinite(self.size)

    def __len__(self) -> int:
        if not self.finite:
            raise TypeError(f"{self!r} has continuous dimensions: use space.size (math.inf)")
        return int(self.size)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{d.name}:{d.kind}" for d in self._dims[:6]) + (", ..." if len(self._dims) > 6 else "")
        return f"{type(self).__name__}({kinds})"

    def param_space(self) -> dict[str, Any]:
        """The (nested) spec this space was made from: dimension objects (categorical ones as lists of
        values) and constants; ``searchers.spaces.tune_param_space`` turns it into Tune domains."""
        flat = {k: Fixed(v) if isinstance(v, list) else v for k, v in self.constants.items()}
        flat.update({d.name: list(d.values) if d.kind == "categorical" else d for d in self._dims})
        return _as_sequences(unflatten(flat), self._sequences, Items)

    # --- configs --------------------------------------------------------------------------------
    def validate(self, arch: Sequence) -> Config:
        """``arch`` as a config tuple of Python numbers, or raise naming what is wrong."""
        try:
            entries = tuple(arch)
        except TypeError:
            raise InvalidArchitectureError(f"{self.name}: a configuration must be a sequence, got {arch!r}") from None
        if len(entries) != len(self._dims):
            raise InvalidArchitectureError(
                f"{self.name}: configuration {arch!r} has {len(entries)} entries, expected {len(self._dims)} "
                f"({', '.join(self.names)})")
        return tuple(_py(d.check(_py(e))) for d, e in zip(self._dims, entries))

    def canonical(self, arch: Sequence) -> Config:
        """``arch`` as a tuple of Python numbers, without checks (hot paths)."""
        return tuple(_py(e) for e in arch)

    def to_config(self, arch: Config) -> dict[str, Any]:
        """The nested config (dimension values and constants) that Tune and ``model_fn`` receive."""
        arch = self.validate(arch)
        flat = {k: v if _immutable(v) else copy.deepcopy(v) for k, v in self.constants.items()}  # each its own copy
        flat.update({d.name: d.value(e) for d, e in zip(self._dims, arch)})
        return _as_sequences(unflatten(flat), self._sequences) if self._sequences else unflatten(flat)

    def from_config(self, config: Mapping[str, Any]) -> Config:
        """The config tuple of a (nested or flat) config dict; other keys are ignored."""
        found = self._found(config)
        missing = [d.name for d, v in zip(self._dims, found) if v is _MISSING]
        if missing:
            raise InvalidConfigError(f"{self.name}: config lacks {missing}; got keys {sorted(map(str, config))}")
        return tuple(_py(d.entry(v)) for d, v in zip(self._dims, found))

    def complete(self, config: Mapping[str, Any], rng: np.random.Generator) -> Config:
        """The config tuple of a config dict that may leave dimensions out, as Tune's
        ``points_to_evaluate`` may: the missing ones are drawn from ``rng``. When something is
        missing, a key that is neither a dimension nor a fixed value is refused (a misspelled key
        would otherwise be replaced by a random value without a word).

        Example:
            >>> space = ParamSpace({"width": Categorical([16, 32]), "lr": Float(1e-4, 1e-1, log=True)})
            >>> space.to_config(space.complete({"width": 32}, np.random.default_rng(0)))["width"]
            32
        """
        found = self._found(config)
        if any(v is _MISSING for v in found):
            known = [d.name for d in self._dims] + list(self.constants)
            unknown = [k for k in flatten(config, strict=False)
                       if not any(k == n or k.startswith(n + SEP) or n.startswith(k + SEP) for n in known)]
            if unknown:
                raise InvalidConfigError(f"{self.name}: {unknown} not in the space (its dimensions: "
                                         f"{[d.name for d in self._dims]})")
        return tuple(_py(d.sample(rng)) if v is _MISSING else _py(d.entry(v)) for d, v in zip(self._dims, found))

    def _found(self, config: Mapping[str, Any]) -> list:
        """Each dimension's value in ``config`` (nested or flat), ``_MISSING`` where absent."""
        if not isinstance(config, Mapping):
            raise InvalidConfigError(f"{self.name}: config must be a dict, got {type(config).__name__}")
        return [_lookup(config, d.name) for d in self._dims]

    def arch_str(self, arch: Config) -> str:
        """A stable text form, ``name=value,name=value`` (keys of caches and result tables)."""
        arch = self.validate(arch)
        return ",".join(f"{d.name}={d.text(e)}" for d, e in zip(self._dims, arch))

    def parse(self, text: str) -> Config:
        """Inverse of :meth:`arch_str`."""
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"{self.name}: expected a configuration string, got {text!r}")
        parts = dict(p.split("=", 1) for p in text.split(",") if "=" in p) if text else {}
        if set(parts) != set(self.names):
            raise InvalidArchitectureError(f"{self.name}: {text!r} must give {', '.join(self.names)}")
        out = []
        for d in self._dims:
            raw = parts[d.name]
            if d.kind == "categorical":
                out.append(d.entry(raw))
            elif d.kind == "integer":
                out.append(d.check(raw))
            else:
                out.append(d.check(raw))
        return tuple(_py(e) for e in out)

    # --- sampling and neighbourhoods ----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Config:
        return tuple(_py(d.sample(rng)) for d in self._dims)

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Config]:
        """``n`` random configurations, drawn a dimension at a time (distributed as :meth:`sample`'s,
        but not the same draws as ``n`` calls of it)."""
        columns = []
        for d in self._dims:
            if d.kind == "categorical":
                columns.append(rng.integers(len(d.values), size=n).tolist())
            elif d.kind == "integer" and not d.log:
                columns.append((d.low + d.q * rng.integers(d.size, size=n)).tolist())
            else:  # log-scaled integers and floats: from the unit scale, as sample does
                columns.append([_py(d.from_unit(u)) for u in rng.random(n).tolist()])
        return list(zip(*columns)) if columns else [() for _ in range(n)]

    def neighbours(self, arch: Config, rng: np.random.Generator | None = None, limit: int | None = 8) -> list[Config]:
        """Configurations one dimension away: every other value of a categorical dimension (at most
        ``limit``, a random subset, when it has more), a step either way of an integer, a few
        perturbations of a float (random with ``rng``)."""
        arch = self.canonical(arch)
        out = []
        for i, d in enumerate(self._dims):
            for v in d.neighbours(arch[i], rng, limit):
                out.append(arch[:i] + (_py(v),) + arch[i + 1:])
        return out

    def mutate(self, arch: Config, rng: np.random.Generator) -> Config:
        """Change one dimension (chosen uniformly among those that can change) to a neighbouring value."""
        arch = self.validate(arch)
        movable = [i for i, d in enumerate(self._dims) if d.size > 1]
        if not movable:
            return arch
        i = movable[int(rng.integers(len(movable)))]
        d = self._dims[i]
        if d.kind == "categorical":  # uniformly another value
            c = int(rng.integers(len(d.values) - 1))
            v = c if c < arch[i] else c + 1
        else:
            options = d.neighbours(arch[i], rng)
            v = options[int(rng.integers(len(options)))] if options else arch[i]
        return arch[:i] + (_py(v),) + arch[i + 1:]

    def crossover(self, a: Config, b: Config, rng: np.random.Generator) -> Config:
        """Uniform crossover: each dimension from either parent with probability 1/2."""
        mask = rng.random(len(self._dims)) < 0.5
        return tuple(_py(x if m else y) for x, y, m in zip(a, b, mask))

    def enumerate(self) -> Iterator[Config]:
        """Every configuration of a finite space (categorical and integer dimensions)."""
        if not self.finite:
            raise TypeError(f"{self!r} has continuous dimensions and cannot be enumerated")
        values = [range(len(d.values)) if d.kind == "categorical"
                  else range(d.low, d.high + 1, d.q) if d.kind == "integer"
                  else [d.from_unit(k / max(1, d.size - 1)) for k in range(int(d.size))] for d in self._dims]
        return (tuple(_py(v) for v in c) for c in itertools.product(*values))

    # --- encodings ------------------------------------------------------------------------------
    def encode(self, arch: Config) -> np.ndarray:
        """Features of a configuration: one-hot for categorical dimensions, the unit-scaled (log where
        declared) value for the others."""
        parts = []
        for d, e in zip(self._dims, arch):
            if d.kind == "categorical":
                row = np.zeros(len(d.values), dtype=np.float32)
                row[int(e)] = 1.0
                parts.append(row)
            else:
                parts.append(np.array([d.unit(e)], dtype=np.float32))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def encode_many(self, archs: Sequence[Config]) -> np.ndarray:
        """``[n, d]``: :meth:`encode` of every configuration, built a dimension at a time."""
        archs = list(archs)
        n, rows = len(archs), np.arange(len(archs))
        blocks = []
        for i, d in enumerate(self._dims):
            if d.kind == "categorical":
                block = np.zeros((n, len(d.values)), dtype=np.float32)
                block[rows, np.fromiter((a[i] for a in archs), dtype=np.int64, count=n)] = 1.0
            else:
                units = np.fromiter((d.unit(a[i]) for a in archs), dtype=np.float64, count=n)
                block = units.astype(np.float32)[:, None]
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((n, 0), dtype=np.float32)

    def encode_onehot(self, arch: Config) -> np.ndarray:
        """Alias of :meth:`encode` (one-hot for categorical dimensions)."""
        return self.encode(arch)

    def split(self, archs: Sequence[Config]) -> tuple[np.ndarray, np.ndarray]:
        """``(codes [n, n_categorical] int, units [n, n_numeric] float)``: what a kernel compares
        (categorical entries by equality, the others by distance on the unit scale)."""
        cat = [i for i, d in enumerate(self._dims) if d.kind == "categorical"]
        num = [i for i, d in enumerate(self._dims) if d.kind != "categorical"]
        codes = np.array([[a[i] for i in cat] for a in archs], dtype=np.int64).reshape(len(archs), len(cat))
        units = np.array([[self._dims[i].unit(a[i]) for i in num] for a in archs],
                         dtype=float).reshape(len(archs), len(num))
        return codes, units

    # --- networks --------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """Shape of one input (no batch dimension), from ``example_inputs``."""
        x = self.example_inputs
        if x is None:
            return None
        if _is_shape(x):
            return tuple(int(v) for v in x)
        shape = getattr(_batch_inputs(x), "shape", None)
        return tuple(int(v) for v in shape[1:]) if shape is not None else None

    def example_batch(self):
        """``example_inputs`` when it is a batch (tensor or ``(inputs, labels)``), else ``None``."""
        x = self.example_inputs
        return None if x is None or _is_shape(x) else x

    def model_dimensions(self) -> list[str]:
        """The dimensions the network depends on, found by probing ``model_fn``: a dimension counts
        when changing it (from two random configurations, to up to three other values) changes the
        built network's structure, parameter shapes or seeded initial weights. A learning rate does
        not; a width does. Zero-cost scores are shared by configurations that differ only in the
        other dimensions (:meth:`network_key`). Without ``model_fn``: every dimension."""
        cached = self.__dict__.get("_model_dims")
        if cached is not None:
            return list(cached)
        if self.model_fn is None:
            found = [d.name for d in self._dims]
        else:
            rng = np.random.default_rng(12345)
            signatures = self._buildable_bases(rng)
            bases = list(signatures)
            found = []
            for i, d in enumerate(self._dims):
                changed = False
                for b in bases:
                    for v in d.neighbours(b[i], rng, limit=3)[:3]:
                        other = b[:i] + (_py(v),) + b[i + 1:]
                        if self._signature(other) != signatures[b]:
                            changed = True
                            break
                    if changed:
                        break
                if changed:
                    found.append(d.name)
        self.__dict__["_model_dims"] = tuple(found)
        return list(found)

    def _buildable_bases(self, rng: np.random.Generator, need: int = 2, tries: int = 20) -> dict:
        """``need`` random configurations ``model_fn`` builds, with their signatures (a model_fn may
        refuse some configurations); a clear error when none of ``tries`` builds."""
        bases, first = {}, None
        for _ in range(tries):
            b = self.sample(rng)
            try:
                bases[b] = self._signature(b, strict=True)
            except InvalidConfigError:
                raise  # not a refusal: model_fn itself is wrong (it returned no nn.Module)
            except Exception as exc:  # noqa: BLE001 - reported below if nothing builds
                first = first or (b, exc)
            if len(bases) == need:
                break
        if not bases:
            b, exc = first
            raise InvalidConfigError(f"{self.name}: model_fn failed on all {tries} sampled configurations "
                                     f"(first {self.to_config(b)}: {type(exc).__name__}: {exc})")
        return bases

    def _signature(self, arch: Config, strict: bool = False) -> tuple:
        """What the built network is (a configuration model_fn refuses has its own signature, unless
        ``strict``): changing a value that decides whether a network can be built changes it."""
        from raynas.rng import cpu_seeded

        try:
            with cpu_seeded(0):
                return _signature(self.build(arch))
        except Exception as exc:  # noqa: BLE001 - refusing a configuration is part of what model_fn says
            if strict:
                raise
            return ("model_fn failed", type(exc).__name__, str(exc))

    def network_key(self, arch: Config) -> tuple:
        """``arch`` restricted to :meth:`model_dimensions`: configurations with one key build the same network."""
        keep = self.__dict__.get("_model_index")
        if keep is None:
            names = set(self.model_dimensions())
            keep = self.__dict__["_model_index"] = tuple(i for i, d in enumerate(self._dims) if d.name in names)
            self.__dict__["_network_keys"] = {}
        memo = self.__dict__["_network_keys"]
        key = memo.get(arch)
        if key is None:
            key = memo[arch] = tuple(arch[i] for i in keep)
        return key

    def build(self, arch: Config, num_classes: int | None = None, in_channels: int | None = None):
        """``model_fn(to_config(arch))`` (``num_classes``/``in_channels`` are the model's own business)."""
        if self.model_fn is None:
            raise InvalidConfigError(f"{self.name}: no model_fn given, so configurations cannot be built into "
                                     f"networks (proxies and hardware costs need one)")
        config = self.to_config(arch)
        model = self.model_fn(config)
        if not _is_module(model):
            raise InvalidConfigError(f"model_fn returned {type(model).__name__} for {config}, not a torch.nn.Module")
        return model


def _is_module(model) -> bool:
    import torch.nn as nn

    return isinstance(model, nn.Module)


def _checked_inputs(x):
    """``example_inputs`` as given, once it is one of the accepted forms (else an error naming it)."""
    if x is None:
        return None
    if _is_shape(x):
        if any(v < 1 for v in x):
            raise InvalidConfigError(f"example_inputs shape {tuple(x)} has a size below 1")
        return tuple(int(v) for v in x)
    inputs = _batch_inputs(x)
    if hasattr(inputs, "shape") and len(getattr(inputs, "shape")) >= 2:
        return x
    raise InvalidConfigError(f"example_inputs must be a batch (a tensor, or an (inputs, labels) pair) or one "
                             f"input's shape such as (3, 32, 32), got {x!r:.80}")


def _is_shape(x) -> bool:
    """``example_inputs`` given as one input's shape, e.g. ``(3, 32, 32)`` (else a batch)."""
    return isinstance(x, (tuple, list)) and bool(x) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in x)


def _batch_inputs(x):
    """The inputs of a batch given as a tensor or an ``(inputs, labels)`` pair."""
    return x[0] if isinstance(x, (tuple, list)) and len(x) == 2 else x


def _signature(model) -> tuple:
    """What makes two networks the same for zero-cost proxies: structure, shapes, seeded weights."""
    import torch

    with torch.no_grad():
        params = tuple((n, tuple(p.shape), round(float(p.double().abs().sum()), 6)) for n, p in model.named_parameters())
    return repr(model), params


def space_size(space) -> float:
    """Number of configurations of any raynas space (``math.inf`` when continuous)."""
    size = getattr(space, "size", None)
    if size is not None:
        return float(size)
    try:
        return float(len(space))
    except TypeError:
        return math.inf


def encode_all(space, archs: Sequence) -> np.ndarray:
    """``[n, d]`` encodings of any raynas space's configurations: its ``encode_many`` when it has one
    (every :class:`ParamSpace`), else its ``encode`` of each, stacked."""
    many = getattr(space, "encode_many", None)
    return many(archs) if many is not None else np.stack([space.encode(a) for a in archs])


__all__ = ["Categorical", "Integer", "Float", "Fixed", "Items", "ParamSpace", "flatten", "unflatten", "space_size",
           "encode_all", "Config"]
