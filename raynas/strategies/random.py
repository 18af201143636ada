"""Uniform random search over the space, never repeating an architecture while unseen ones remain."""

from __future__ import annotations

from raynas.evolution import propose_unseen
from raynas.strategies.base import Arch, Strategy


class RandomStrategy(Strategy):
    """Uniform samples; ``allow_duplicates=True`` samples with replacement (like Optuna's RandomSampler)."""

    def __init__(self, space, seed: int | None = None, allow_duplicates: bool = False, n_objectives: int | None = None):
        super().__init__(space, seed, n_objectives)
        self.allow_duplicates = allow_duplicates

    def _propose(self) -> Arch:
        if self.allow_duplicates:
            return self.space.sample(self.rng)
        return propose_unseen(lambda: self.space.sample(self.rng), self.seen, self.space, self.rng)
