"""The ask/tell protocol every raynas search strategy follows (like an Optuna sampler).

``ask()`` proposes an architecture, ``tell(arch, objectives)`` reports its objectives (every one
minimised; a failed trial may report ``inf``). ``state_dict()``/``load_state_dict()`` capture the
whole strategy including its random generator, so a restored strategy asks exactly what the
uninterrupted one would have asked next.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from raynas.errors import InvalidConfigError
from raynas.evolution import History

Arch = tuple[int, ...]


class Strategy:
    """Base class: owns the space, one ``numpy`` generator, the history and the pending asks.

    Subclasses implement :meth:`_propose` (may use ``self.rng``, :meth:`seen`) and optionally
    :meth:`_observe` (update derived state from one tell; must not draw random numbers, because
    :meth:`load_state_dict` rebuilds derived state by replaying the history through it), plus
    :meth:`_extra_state`/:meth:`_load_extra` for state that cannot be replayed."""

    def __init__(self, space, seed: int | None = None, n_objectives: int | None = None):
        self.space = space
        self.seed = seed
        self.n_objectives = n_objectives
        self.rng = np.random.default_rng(seed)
        self.history = History()
        self.pending: list[Arch] = []

    # --- protocol --------------------------------------------------------------------------------
    def ask(self) -> Arch:
        arch = self.space.canonical(self._propose())
        self.pending.append(arch)
        return arch

    def tell(self, arch: Sequence[int], objectives: Sequence[float]) -> None:
        a = self.space.validate(arch)
        try:
            values = tuple(float(v) for v in (objectives if np.ndim(objectives) else [objectives]))
        except (TypeError, ValueError):
            raise InvalidConfigError(f"objectives must be numbers, got {objectives!r}") from None
        if self.n_objectives is None:
            self.n_objectives = len(values)
        elif len(values) != self.n_objectives:
            raise InvalidConfigError(
                f"{type(self).__name__} expects {self.n_objectives} objectives, got {len(values)}: {objectives!r}")
        if a in self.pending:
            self.pending.remove(a)
        self.history.add(a, values)
        self._observe(a, values)

    def seen(self, arch) -> bool:
        """Evaluated or currently pending."""
        a = tuple(arch)
        return a in self.history or a in self.pending

    # --- hooks -----------------------------------------------------------------------------------
    def _propose(self) -> Arch:  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, arch: Arch, values: tuple[float, ...]) -> None:
        pass

    def _reset_derived(self) -> None:
        pass

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state: dict[str, Any]) -> None:
        pass

    # --- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": type(self).__name__,
            "seed": self.seed,
            "n_objectives": self.n_objectives,
            "rng": copy.deepcopy(self.rng.bit_generator.state),
            "history": self.history.state_dict(),
            "pending": [list(a) for a in self.pending],
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("strategy") != type(self).__name__:
            raise InvalidConfigError(
                f"state of a {state.get('strategy')!r} cannot be loaded into a {type(self).__name__}")
        self.seed = state["seed"]
        self.n_objectives = state["n_objectives"]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self.history = History.from_state(state["history"])
        self.pending = [tuple(a) for a in state["pending"]]
        self._reset_derived()
        for a, v in zip(self.history.archs, self.history.values):
            self._observe(a, v)
        self._load_extra(state["extra"])

    # --- conveniences ----------------------------------------------------------------------------
    def front(self) -> tuple[list[Arch], np.ndarray]:
        """Non-dominated told architectures and their objectives."""
        return self.history.front()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.space!r}, told={len(self.history)}, pending={len(self.pending)})"
