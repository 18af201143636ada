"""The search-space protocol and the mechanics shared by categorical spaces.

An architecture is a tuple of choice indices, one per decision (an NB201 edge, an FBNet layer).
Tuples are hashable, cheap to copy, and mean the same thing in every space, so sampling,
mutation, one-hot encoding, Tune configs and mixed-radix indices are written once here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from raynas.errors import InvalidArchitectureError, InvalidConfigError
from raynas.spaces.params import Categorical, ParamSpace

Arch = tuple[int, ...]


@runtime_checkable
class SearchSpace(Protocol):
    """What every search space offers (:class:`~raynas.spaces.ParamSpace` implements it for any mix
    of categorical, integer and float dimensions; :class:`CategoricalSpace` for the NAS spaces).

    A configuration (``arch``) is a tuple with one entry per dimension: an index for a categorical
    dimension, the number itself for an integer or float one."""

    name: str

    @property
    def dimensions(self) -> list: ...

    @property
    def size(self) -> float:
        """Number of configurations (``math.inf`` when continuous)."""

    def param_space(self) -> dict[str, Any]:
        """The space as a (nested) spec: lists of choices, dimension objects, constants."""

    def validate(self, arch: Sequence) -> tuple: ...

    def from_config(self, config: dict[str, Any]) -> tuple: ...

    def to_config(self, arch: tuple) -> dict[str, Any]: ...

    def sample(self, rng: np.random.Generator) -> tuple: ...

    def mutate(self, arch: tuple, rng: np.random.Generator) -> tuple: ...

    def neighbours(self, arch: tuple, rng: np.random.Generator | None = None, limit: int | None = None) -> list: ...

    def encode(self, arch: tuple) -> np.ndarray: ...

    def split(self, archs: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray]: ...

    def arch_str(self, arch: tuple) -> str: ...

    def parse(self, text: str) -> tuple: ...

    def build(self, arch: tuple, num_classes: int = 10, in_channels: int = 3) -> Any: ...


class CategoricalSpace(ParamSpace):
    """A :class:`~raynas.spaces.ParamSpace` of categorical decisions that share one list of ops (the
    NAS cell and chain spaces). Subclasses set ``name``, ``decision_names`` and ``ops`` and implement
    :meth:`arch_str`, :meth:`parse` and :meth:`build`; the generic methods are specialised here for
    speed (a tabular search calls them thousands of times a second)."""

    name: str = "categorical"
    decision_names: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    constants: dict = {}
    model_fn = None
    example_inputs = None

    def __init__(self):  # the dimensions come from the class attributes, not from a spec
        pass

    @property
    def _dims(self) -> list:
        dims = self.__dict__.get("_dims_cache")
        if dims is None:
            dims = self.__dict__["_dims_cache"] = [Categorical(tuple(self.ops), d) for d in self.decision_names]
        return dims

    @property
    def _index(self) -> dict:
        return {d: i for i, d in enumerate(self.decision_names)}

    @property
    def size(self) -> float:
        return float(len(self))

    def canonical(self, arch: Sequence) -> Arch:
        return tuple(int(a) for a in arch)

    def model_dimensions(self) -> list[str]:
        return list(self.decision_names)

    def network_key(self, arch: Arch) -> Arch:
        return tuple(arch)

    def split(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        codes = np.asarray([tuple(a) for a in archs], dtype=np.int64).reshape(len(archs), self.num_decisions)
        return codes, np.zeros((len(archs), 0))

    def encode(self, arch: Arch) -> np.ndarray:
        return self.encode_onehot(arch)

    # --- structure -------------------------------------------------------------------------
    @property
    def decisions(self) -> list[tuple[str, list[str]]]:
        return [(d, list(self.ops)) for d in self.decision_names]

    @property
    def num_decisions(self) -> int:
        return len(self.decision_names)

    def __len__(self) -> int:
        return len(self.ops) ** self.num_decisions

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_decisions} decisions x {len(self.ops)} ops)"

    def validate(self, arch: Sequence[int]) -> Arch:
        """Return ``arch`` as a tuple of ints, or raise naming what is wrong with it."""
        try:
            out = tuple(int(a) for a in arch)
        except (TypeError, ValueError):
            raise InvalidArchitectureError(
                f"{self.name}: architecture must be a sequence of op indices, got {arch!r}"
            ) from None
        if len(out) != self.num_decisions:
            raise InvalidArchitectureError(
                f"{self.name}: architecture {arch!r} has {len(out)} decisions, expected {self.num_decisions}"
            )
        for i, a in enumerate(out):
            if not 0 <= a < len(self.ops):
                raise InvalidArchitectureError(
                    f"{self.name}: op index {a} at decision {self.decision_names[i]!r} "
                    f"is outside 0..{len(self.ops) - 1}"
                )
        return out

    def op_index(self, op: str) -> int:
        try:
            return self.ops.index(op)
        except ValueError:
            raise InvalidArchitectureError(
                f"{self.name}: unknown op {op!r}; valid ops are {list(self.ops)}"
            ) from None

    # --- Tune configs ----------------------------------------------------------------------
    def param_space(self) -> dict[str, list[str]]:
        return {d: list(self.ops) for d in self.decision_names}

    def to_config(self, arch: Arch) -> dict[str, str]:
        arch = self.validate(arch)
        return {d: self.ops[a] for d, a in zip(self.decision_names, arch)}

    def from_config(self, config: dict[str, Any]) -> Arch:
        """Read an architecture from a Tune config: one op name (or index) per decision, or an
        ``arch`` key holding the architecture string."""
        if not isinstance(config, dict):
            raise InvalidConfigError(f"{self.name}: config must be a dict, got {type(config).__name__}")
        if "arch" in config and not any(d in config for d in self.decision_names):
            return self.parse(str(config["arch"]))
        missing = [d for d in self.decision_names if d not in config]
        if missing:
            raise InvalidConfigError(
                f"{self.name}: config lacks decision(s) {missing}; got keys {sorted(config)}"
            )
        arch = []
        for d in self.decision_names:
            v = config[d]
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                arch.append(int(v))
            else:
                arch.append(self.op_index(str(v)))
        return self.validate(arch)

    # --- sampling and neighbourhoods -------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(int(x) for x in rng.integers(0, len(self.ops), size=self.num_decisions))

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Arch]:
        """``n`` random architectures: the same draws as ``n`` calls of :meth:`sample`."""
        return [tuple(row) for row in rng.integers(0, len(self.ops), size=(n, self.num_decisions)).tolist()]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one decision to a different op, uniformly at random."""
        arch = list(self.validate(arch))
        i = int(rng.integers(self.num_decisions))
        choice = int(rng.integers(len(self.ops) - 1))
        arch[i] = choice if choice < arch[i] else choice + 1
        return tuple(arch)

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each decision from either parent with probability 1/2."""
        mask = rng.random(self.num_decisions) < 0.5
        return tuple(int(x if m else y) for x, y, m in zip(a, b, mask))

    def neighbours(self, arch: Arch, rng: np.random.Generator | None = None, limit: int | None = None) -> list[Arch]:
        """All architectures one decision away (NB201: 6 x 4 = 24; ``rng``/``limit`` are not needed)."""
        arch = self.validate(arch)
        out = []
        for i in range(self.num_decisions):
            for op in range(len(self.ops)):
                if op != arch[i]:
                    out.append(arch[:i] + (op,) + arch[i + 1 :])
        return out

    # --- encodings and enumeration ---------------------------------------------------------
    def encode_onehot(self, arch: Arch) -> np.ndarray:
        arch = self.validate(arch)
        out = np.zeros((self.num_decisions, len(self.ops)), dtype=np.float32)
        out[np.arange(self.num_decisions), arch] = 1.0
        return out.reshape(-1)

    def index(self, arch: Arch) -> int:
        """Mixed-radix position of ``arch`` in :meth:`enumerate` (not a benchmark's index)."""
        idx = 0
        for a in self.validate(arch):
            idx = idx * len(self.ops) + a
        return idx

    def from_index(self, index: int) -> Arch:
        if not 0 <= index < len(self):
            raise InvalidArchitectureError(f"{self.name}: index {index} outside 0..{len(self) - 1}")
        digits = []
        for _ in range(self.num_decisions):
            index, r = divmod(index, len(self.ops))
            digits.append(r)
        return tuple(reversed(digits))

    def enumerate(self) -> Iterator[Arch]:
        return itertools.product(range(len(self.ops)), repeat=self.num_decisions)

    # --- space specific --------------------------------------------------------------------
    def arch_str(self, arch: Arch) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, text: str) -> Arch:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, arch: Arch, num_classes: int = 10, in_channels: int = 3) -> Any:  # pragma: no cover
        raise NotImplementedError
