"""Multi-objective aging (regularised) evolution (Real et al., AAAI 2019).

The population is the newest ``population_size`` told architectures; a parent is the winner of a
tournament of ``sample_size`` members, ranked either by NSGA-II keys (non-dominated rank, then
crowding distance) or by a Chebyshev scalarisation under a preference vector drawn from
Dirichlet(1) at every ask. The child is a one-decision mutation (optionally after crossover with a
second tournament winner), never an architecture already evaluated or pending.
"""

from __future__ import annotations

import numpy as np

from raynas.errors import InvalidConfigError
from raynas.evolution import (AgingPopulation, make_child, propose_unseen, rank_crowding_keys, scalarised_keys,
                              tournament)
from raynas.strategies.base import Arch, Strategy

SELECTIONS = ("nsga2", "scalarised")


class ParentSelector:
    """Tournament selection over an aging population under NSGA-II or scalarised keys (a part that
    several strategies reuse)."""

    def __init__(self, population_size: int = 64, sample_size: int = 10, selection: str = "nsga2",
                 scalarisation: str = "chebyshev"):
        if selection not in SELECTIONS:
            raise InvalidConfigError(f"selection must be one of {SELECTIONS}, got {selection!r}")
        if not 1 <= sample_size <= population_size:
            raise InvalidConfigError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        self.population = AgingPopulation(population_size)
        self.sample_size = sample_size
        self.selection = selection
        self.scalarisation = scalarisation

    def reset(self) -> None:
        self.population = AgingPopulation(self.population.size)

    def add(self, arch: Arch, values) -> None:
        self.population.add(arch, values)

    def select(self, rng: np.random.Generator) -> Arch:
        y = self.population.matrix()
        if self.selection == "nsga2":
            keys = rank_crowding_keys(y)
        else:
            w = rng.dirichlet(np.ones(y.shape[1]))
            keys = scalarised_keys(y, w, self.scalarisation)
        return self.population.archs()[tournament(rng, keys, self.sample_size)]


class AgingEvolutionStrategy(Strategy):
    """Aging evolution for any number of minimised objectives.

    Args:
        population_size: members kept (the paper: 64). The first ``population_size`` asks are random.
        sample_size: tournament size (the paper: 10).
        selection: ``"nsga2"`` (rank + crowding) or ``"scalarised"`` (random preference per ask).
        crossover_prob: probability of uniform crossover of two tournament winners before mutation.
    """

    def __init__(self, space, population_size: int = 64, sample_size: int = 10, selection: str = "nsga2",
                 crossover_prob: float = 0.0, seed: int | None = None, n_objectives: int | None = None):
        super().__init__(space, seed, n_objectives)
        self.selector = ParentSelector(population_size, sample_size, selection)
        self.crossover_prob = crossover_prob

    def _reset_derived(self) -> None:
        self.selector.reset()

    def _observe(self, arch, values) -> None:
        self.selector.add(arch, values)

    def _propose(self) -> Arch:
        if len(self.history) + len(self.pending) < self.selector.population.size or len(self.selector.population) < 2:
            return propose_unseen(lambda: self.space.sample(self.rng), self.seen, self.space, self.rng)

        def child():
            parent = self.selector.select(self.rng)
            other = self.selector.select(self.rng) if self.crossover_prob > 0 else None
            return make_child(self.space, parent, self.rng, other, self.crossover_prob)

        return propose_unseen(child, self.seen, self.space, self.rng)
