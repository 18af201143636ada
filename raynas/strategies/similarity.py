"""HW-EvRSNAS (Sinha et al., WACV 2024) as a framework-free ask/tell strategy.

Fitness of an architecture, computed by the strategy itself on one batch without training::

    fitness = score(arch) - hardware_penalty(cost(arch), budget, λ)
    hardware_penalty = λ · max(0, (cost - budget) / budget)

``score`` is normally the representation similarity (RMI = Σ linear CKA over stages) of the
candidate with a trained reference model (:class:`raynas.proxies.rmi.SimilarityScorer`), but any
``arch -> float`` (higher is better) works — e.g. a short training run, which is how
``benchmarks/rmi_search.py`` builds the training-based evolution it compares against with the very
same machinery. ``cost`` is pluggable: :func:`latency_cost` (a measured ``LocalDevice``, a published
``TableDevice`` or a ``PredictedDevice``), :func:`params_cost`, :func:`flops_cost`, or any
``arch -> float``.

The evolution is aging (regularised) evolution with tournament selection (Real et al. 2019), made
of the shared parts of :mod:`raynas.evolution`: an :class:`~raynas.evolution.AgingPopulation` of the
newest ``population_size`` evaluated architectures, a :func:`~raynas.evolution.tournament` of
``sample_size`` members on the fitness, a one-decision mutation (:func:`~raynas.evolution.make_child`,
optionally after crossover) and :func:`~raynas.evolution.propose_unseen`, so every cycle scores a new
architecture and the number of cycles is the number of candidates.

Ask/tell semantics (:class:`raynas.strategies.base.Strategy`): ``ask()`` advances the internal
evolution by ``cycles_per_ask`` cycles (after a random warm-up filling the population) and proposes
the fittest architecture it has evaluated that was not proposed before, so the expensive external
evaluation (training, real latency measurement in a Tune trial) is spent on the best candidates of
the similarity search. ``tell(arch, objectives)`` records the external objectives (all minimised)
in ``history``; they do not change the internal fitness (HW-EvRSNAS trains nothing during search).

Determinism: with deterministic ``score`` and ``cost`` (a table device, params, FLOPs, the seeded
scorer), the same ``seed`` gives the same sequence of asks, and ``load_state_dict(state_dict())``
continues with identical asks (scores and costs are part of the state, nothing is recomputed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from raynas.errors import InvalidConfigError
from raynas.evolution import AgingPopulation, make_child, propose_unseen, tournament
from raynas.strategies.base import Arch, Strategy
from raynas.strategies.scorers import CachedScorer, network_measures


# --- the penalty (the one place it is defined) ---------------------------------------------------
def hardware_penalty(cost: float, budget: float, weight: float = 1.0) -> float:
    """HW-EvRSNAS's penalty ``weight · max(0, (cost - budget) / budget)``: zero within budget,
    growing linearly with the relative excess. A non-finite cost is infinitely penalised."""
    if isinstance(budget, bool) or not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise InvalidConfigError(f"the hardware budget must be a positive number, got {budget!r}")
    if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
        raise InvalidConfigError(f"the penalty weight must be a number >= 0, got {weight!r}")
    cost = float(cost)
    if not math.isfinite(cost):
        return math.inf
    return float(weight) * max(0.0, (cost - budget) / budget)


def penalised_fitness(score: float, cost: float | None, budget: float | None, weight: float = 1.0) -> float:
    """``score - hardware_penalty(cost, budget, weight)``; ``score`` alone without a budget."""
    score = float(score)
    if not math.isfinite(score):
        return -math.inf
    if budget is None or cost is None:
        return score
    return score - hardware_penalty(cost, budget, weight)


# --- costs --------------------------------------------------------------------------------------
def latency_cost(device, space) -> Callable[[Arch], float]:
    """Latency (ms) of an architecture on ``device`` (``LocalDevice``, ``TableDevice``, ``PredictedDevice``)."""
    return lambda arch: float(device.latency_ms(tuple(arch), space))


def params_cost(space, num_classes: int = 10, in_channels: int = 3) -> Callable[[Arch], float]:
    """Parameter count (millions) of the built architecture (:mod:`raynas.proxies.cost`)."""
    return lambda arch: network_measures(space, tuple(arch), ("params",), (in_channels, 32, 32), num_classes)["params"]


def flops_cost(space, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10) -> Callable[[Arch], float]:
    """Multiply-accumulates (millions) of the built architecture on one input of ``input_shape``
    (Conv2d and Linear layers, :mod:`raynas.proxies.cost`)."""
    return lambda arch: network_measures(space, tuple(arch), ("flops",), tuple(input_shape), num_classes)["flops"]


# --- the strategy -------------------------------------------------------------------------------
class SimilarityEvolutionStrategy(Strategy):
    """Aging evolution on ``score(arch) - λ·max(0, (cost(arch) - budget)/budget)``, as ask/tell.

    Args:
        space: the search space (``sample``, ``mutate``, ``arch_str``).
        score: ``arch -> float``, higher is better (RMI: a :class:`~raynas.proxies.rmi.SimilarityScorer`).
        cost: ``arch -> float`` hardware cost (see :func:`latency_cost`, :func:`params_cost`,
            :func:`flops_cost`); ``None`` with ``budget=None`` searches on the score alone.
        budget: the cost budget (same unit as ``cost``).
        penalty_weight: λ.
        population_size, sample_size: aging evolution (population P, tournament S).
        cycles_per_ask: evolution cycles (new candidates scored) run by each ``ask()`` once warmed up.
        crossover_prob: probability of uniform crossover of two tournament winners before mutation.
        seed: seeds the proposals (one ``numpy`` generator, saved in the state).
        name: a label (e.g. the device) for tables.
    """

    def __init__(self, space, score: Callable[[Arch], float], cost: Callable[[Arch], float] | None = None,
                 budget: float | None = None, penalty_weight: float = 1.0, population_size: int = 20,
                 sample_size: int = 5, cycles_per_ask: int = 5, crossover_prob: float = 0.0, seed: int | None = 0,
                 n_objectives: int | None = None, name: str = ""):
        super().__init__(space, seed, n_objectives)
        if (cost is None) != (budget is None):
            raise InvalidConfigError("give both a cost function and a budget, or neither")
        if budget is not None:
            hardware_penalty(budget, budget, penalty_weight)  # validates budget and weight
        if not isinstance(cycles_per_ask, int) or cycles_per_ask < 0:
            raise InvalidConfigError(f"cycles_per_ask must be an integer >= 0, got {cycles_per_ask!r}")
        if not 1 <= sample_size <= population_size:
            raise InvalidConfigError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        if not 0.0 <= crossover_prob <= 1.0:
            raise InvalidConfigError(f"crossover_prob must be in [0, 1], got {crossover_prob!r}")
        self.score_fn, self.cost_fn = score, cost
        self.budget, self.penalty_weight = budget, penalty_weight
        self.cycles_per_ask, self.sample_size, self.crossover_prob = cycles_per_ask, sample_size, crossover_prob
        self.name = name
        self.population = AgingPopulation(population_size)  # members: (arch, (-fitness,))
        self.records: dict[Arch, dict] = {}   # arch -> {"score", "cost", "penalty", "fitness"}, evaluation order
        self.eval_time_s = 0.0
        self.cycles = 0  # evolution cycles run so far

    # --- internal evaluation -----------------------------------------------------------------
    def evaluate(self, arch: Sequence[int]) -> dict:
        """Score, cost, penalty and fitness of ``arch`` (computed once, then cached)."""
        arch = tuple(int(a) for a in arch)
        if arch in self.records:
            return self.records[arch]
        t0 = time.perf_counter()
        try:
            score = float(self.score_fn(arch))
        except (FloatingPointError, RuntimeError):  # a network that cannot be scored is the worst
            score = -math.inf
        cost = float(self.cost_fn(arch)) if self.cost_fn is not None else None
        penalty = hardware_penalty(cost, self.budget, self.penalty_weight) if self.budget is not None else 0.0
        rec = {"score": score, "cost": cost, "penalty": penalty,
               "fitness": penalised_fitness(score, cost, self.budget, self.penalty_weight)}
        self.eval_time_s += time.perf_counter() - t0
        self.records[arch] = rec
        return rec

    def _child(self) -> Arch:
        keys = self.population.matrix()[:, 0]  # -fitness: lower is better
        archs = self.population.archs()
        parent = archs[tournament(self.rng, keys, self.sample_size)]
        other = archs[tournament(self.rng, keys, self.sample_size)] if self.crossover_prob > 0 else None
        return make_child(self.space, parent, self.rng, other, self.crossover_prob)

    def step(self) -> Arch:
        """One evolution cycle: propose a new architecture (random until the population is full,
        then a tournament winner's mutant), evaluate it, add it to the population. Returns it."""
        propose = (lambda: tuple(self.space.sample(self.rng))) if not self.population.full else self._child
        child = tuple(int(a) for a in propose_unseen(propose, lambda a: tuple(a) in self.records, self.space,
                                                     self.rng))
        self.population.add(child, (-self.evaluate(child)["fitness"],))
        self.cycles += 1
        return child

    def run(self, evaluations: int, max_cycles: int | None = None) -> SimilarityEvolutionStrategy:
        """Evolve until ``evaluations`` distinct architectures have been scored (or ``max_cycles``,
        default 20 x evaluations, cycles were run: a small space may run out). Returns ``self``."""
        limit = self.cycles + (max_cycles if max_cycles is not None else 20 * max(evaluations, 1))
        while len(self.records) < evaluations and self.cycles < limit:
            self.step()
        return self

    @property
    def evaluations(self) -> int:
        """Distinct architectures scored so far (the search's number of candidates)."""
        return len(self.records)

    def ranked(self, feasible_only: bool = False) -> list[tuple[Arch, dict]]:
        """Evaluated architectures, fittest first (ties by order of evaluation)."""
        items = [(i, a, r) for i, (a, r) in enumerate(self.records.items())
                 if not feasible_only or self.budget is None or (r["cost"] is not None and r["cost"] <= self.budget)]
        return [(a, r) for _, a, r in sorted(items, key=lambda t: (-t[2]["fitness"], t[0]))]

    def best(self, feasible_only: bool = False) -> tuple[Arch, dict] | None:
        """The fittest evaluated architecture (within budget only, if asked) and its record."""
        ranked = self.ranked(feasible_only)
        return ranked[0] if ranked else None

    # --- ask -------------------------------------------------------------------------------------
    def _propose(self) -> Arch:
        """Warm up (fill the population), run ``cycles_per_ask`` cycles, and propose the fittest
        evaluated architecture not proposed before."""
        while not self.population.full:
            self.step()
        for _ in range(self.cycles_per_ask):
            self.step()
        choice = next((a for a, _ in self.ranked() if not self.seen(a)), None)
        for _ in range(1000):  # everything evaluated was proposed already: evolve further
            if choice is not None:
                return choice
            child = self.step()
            choice = None if self.seen(child) else child
        raise InvalidConfigError("the search space is exhausted: every architecture was already proposed")

    # --- state -------------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {
            "population": [(list(a), list(v)) for a, v in self.population.members],
            "records": [(list(a), dict(r)) for a, r in self.records.items()],
            "cycles": self.cycles, "eval_time_s": self.eval_time_s,
            "budget": self.budget, "penalty_weight": self.penalty_weight,
        }

    def _load_extra(self, state: dict[str, Any]) -> None:
        if state.get("budget") != self.budget or state.get("penalty_weight") != self.penalty_weight:
            raise InvalidConfigError(
                f"state was saved with budget {state.get('budget')} and penalty weight {state.get('penalty_weight')}, "
                f"this strategy has {self.budget} and {self.penalty_weight}")
        self.population = AgingPopulation(self.population.size)
        for a, v in state["population"]:
            self.population.add(tuple(a), v)
        self.records = {tuple(a): dict(r) for a, r in state["records"]}
        self.cycles = state["cycles"]
        self.eval_time_s = state.get("eval_time_s", 0.0)


# --- budget sweeps ------------------------------------------------------------------------------
def budget_sweep(space, score: Callable[[Arch], float], costs: dict[str, Callable[[Arch], float]],
                 pairs: Sequence[tuple[str, float]], evaluations: int = 100, share_scores: bool = True,
                 **strategy_kwargs) -> list[dict]:
    """Run one search per ``(device, budget)`` pair (``costs[device]`` gives the cost) for
    ``evaluations`` candidates each; returns one row per pair with the fittest architecture within
    budget (else the fittest), its score, cost and the search time. With ``share_scores`` the
    device-independent score of an architecture is computed once for the whole sweep
    (a :class:`~raynas.strategies.scorers.CachedScorer`; ``score_evaluations`` counts the real ones)."""
    unknown = [d for d, _ in pairs if d not in costs]
    if unknown:
        raise InvalidConfigError(f"no cost function for device(s) {unknown}; known: {sorted(costs)}")
    shared = CachedScorer(score, "score") if share_scores else score
    rows = []
    for device, budget in pairs:
        strat = SimilarityEvolutionStrategy(space, shared, costs[device], budget, name=device, **strategy_kwargs)
        t0 = time.perf_counter()
        strat.run(evaluations)
        elapsed = time.perf_counter() - t0
        arch, rec = strat.best(feasible_only=True) or strat.best()
        rows.append({"device": device, "budget": budget, "arch": arch, "arch_str": space.arch_str(arch),
                     "score": rec["score"], "cost": rec["cost"], "fitness": rec["fitness"],
                     "within_budget": rec["cost"] is not None and rec["cost"] <= budget,
                     "evaluations": strat.evaluations, "cycles": strat.cycles, "search_time_s": elapsed,
                     "score_evaluations": getattr(shared, "evaluations", strat.evaluations), "strategy": strat})
    return rows


__all__ = ["hardware_penalty", "penalised_fitness", "latency_cost", "params_cost", "flops_cost",
           "SimilarityEvolutionStrategy", "budget_sweep"]
