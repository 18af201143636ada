"""HW-EvRSNAS (Sinha et al., WACV 2024) as a framework-free ask/tell strategy.

Fitness of an architecture, computed by the strategy itself on one batch without training::

    fitness = score(arch) - hardware_penalty(cost(arch), budget, λ)
    hardware_penalty = λ · max(0, (cost - budget) / budget)

``score`` is normally the representation similarity (RMI = Σ CKA over stages) of the freshly
initialised candidate with a trained reference model (:class:`raynas.proxies.rmi.SimilarityScorer`),
but any ``arch -> float`` (higher is better) works — e.g. a short training run, which is how the
benchmark builds the training-based evolution it compares against with the very same machinery.
``cost`` is pluggable: :func:`latency_cost` (a measured, table or predicted ``Device``),
:func:`params_cost`, :func:`flops_cost`, or any ``arch -> float``.

The evolution is aging (regularised) evolution with tournament selection (Real et al. 2019):
a population of ``population_size`` architectures, each cycle samples ``sample_size`` of them, mutates
the fittest (one decision, ``space.mutate``) and replaces the oldest member by the child.

Ask/tell semantics: ``ask()`` advances the internal evolution by ``cycles_per_ask`` cycles (after a
random warm-up filling the population) and proposes the fittest architecture it has evaluated that
was not proposed before, so the expensive external evaluation (training, real latency measurement
in a Tune trial) is spent on the best candidates of the similarity search. ``tell(arch, objectives)``
records the external objectives (all minimised); they do not change the internal fitness.

Determinism: with deterministic ``score`` and ``cost`` (a table device, params, FLOPs, the seeded
scorer), the same ``seed`` gives the same sequence of asks, and ``load_state_dict(state_dict())``
continues with identical asks (scores and costs are part of the state, nothing is recomputed).

Evolution parts: :class:`AgingEvolution` below is this module's own small engine, behind the
interface ``propose(rng) -> arch`` / ``record(arch, fitness)`` / ``state_dict()`` — to be replaced
by ``raynas.evolution``'s shared aging evolution once that module exists (it did not when this was
written).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from raynas.errors import InvalidConfigError

Arch = tuple[int, ...]


# --- the penalty (the one place it is defined) ---------------------------------------------------
def hardware_penalty(cost: float, budget: float, weight: float = 1.0) -> float:
    """HW-EvRSNAS's penalty ``weight · max(0, (cost - budget) / budget)``: zero within budget,
    growing linearly with the relative excess. A non-finite cost is infinitely penalised."""
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise InvalidConfigError(f"the hardware budget must be a positive number, got {budget!r}")
    if weight < 0:
        raise InvalidConfigError(f"the penalty weight must be >= 0, got {weight!r}")
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
    """Latency (ms) of an architecture on ``device`` (``LocalDevice``, ``TableDevice``, a predicted device)."""
    return lambda arch: float(device.latency_ms(tuple(arch), space))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of ``Conv2d`` and ``Linear`` layers for one input of ``input_shape``
    (the usual "FLOPs" of NAS papers; pooling, BatchNorm and additions are not counted)."""
    total = 0

    def hook(m, _inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += out.numel() // out.shape[0] * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return int(total)


def params_cost(space, num_classes: int = 10, in_channels: int = 3) -> Callable[[Arch], float]:
    """Parameter count (millions) of the built architecture."""
    return lambda arch: count_params(space.build(tuple(arch), num_classes, in_channels)) / 1e6


def flops_cost(space, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10) -> Callable[[Arch], float]:
    """MFLOPs (multiply-accumulates, millions) of the built architecture on one input."""
    return lambda arch: count_flops(space.build(tuple(arch), num_classes, input_shape[0]), input_shape) / 1e6


# --- evolution engine ---------------------------------------------------------------------------
class AgingEvolution:
    """Aging evolution with tournament selection over a search space (interface used by the strategy:
    ``propose(rng)``, ``record(arch, fitness)``, ``ready``, ``state_dict``/``load_state_dict``)."""

    def __init__(self, space, population_size: int = 20, sample_size: int = 5):
        if population_size < 2 or not 1 <= sample_size <= population_size:
            raise InvalidConfigError(
                f"need population_size >= 2 and 1 <= sample_size <= population_size, got {population_size}, {sample_size}")
        self.space, self.population_size, self.sample_size = space, population_size, sample_size
        self.population: deque[tuple[Arch, float]] = deque()

    @property
    def ready(self) -> bool:
        """True once the population is full (before that, proposals are random)."""
        return len(self.population) >= self.population_size

    def propose(self, rng: np.random.Generator) -> Arch:
        if not self.ready:
            return tuple(self.space.sample(rng))
        idx = rng.choice(len(self.population), size=self.sample_size, replace=False)
        parent = max((self.population[int(i)] for i in sorted(idx)), key=lambda p: p[1])[0]
        return tuple(self.space.mutate(parent, rng))

    def record(self, arch: Arch, fitness: float) -> None:
        self.population.append((tuple(arch), float(fitness)))
        while len(self.population) > self.population_size:
            self.population.popleft()

    def state_dict(self) -> dict:
        return {"population": [(list(a), f) for a, f in self.population]}

    def load_state_dict(self, state: dict) -> None:
        self.population = deque((tuple(a), float(f)) for a, f in state["population"])


# --- the strategy -------------------------------------------------------------------------------
class SimilarityEvolutionStrategy:
    """Evolution on ``score(arch) - λ·max(0, (cost(arch) - budget)/budget)``, as ask/tell.

    Parameters
    ----------
    space: the search space (``sample``, ``mutate``, ``arch_str``).
    score: ``arch -> float``, higher is better (RMI: a :class:`~raynas.proxies.rmi.SimilarityScorer`).
    cost: ``arch -> float`` hardware cost (see :func:`latency_cost`, :func:`params_cost`,
        :func:`flops_cost`); ``None`` with ``budget=None`` searches on the score alone.
    budget: the cost budget (same unit as ``cost``).
    penalty_weight: λ.
    population_size, sample_size: aging evolution (population P, tournament S).
    cycles_per_ask: evolution cycles (child evaluations) run by each ``ask()`` once warmed up.
    seed: seeds the proposals (``numpy`` generator).
    """

    def __init__(self, space, score: Callable[[Arch], float], cost: Callable[[Arch], float] | None = None,
                 budget: float | None = None, penalty_weight: float = 1.0, population_size: int = 20,
                 sample_size: int = 5, cycles_per_ask: int = 5, seed: int = 0, name: str = ""):
        if (cost is None) != (budget is None):
            raise InvalidConfigError("give both a cost function and a budget, or neither")
        if budget is not None:
            hardware_penalty(budget, budget, penalty_weight)  # validates budget and weight
        if cycles_per_ask < 0:
            raise InvalidConfigError(f"cycles_per_ask must be >= 0, got {cycles_per_ask}")
        self.space, self.score_fn, self.cost_fn = space, score, cost
        self.budget, self.penalty_weight = budget, penalty_weight
        self.cycles_per_ask, self.seed, self.name = cycles_per_ask, seed, name
        self.engine = AgingEvolution(space, population_size, sample_size)
        self.rng = np.random.default_rng(seed)
        self.records: dict[Arch, dict] = {}   # arch -> {"score", "cost", "penalty", "fitness"}
        self.order: list[Arch] = []           # archs in order of first evaluation
        self.cycles = 0
        self.asked: list[Arch] = []
        self.told: list[tuple[Arch, list[float]]] = []
        self.eval_time_s = 0.0

    # --- internal evaluation -----------------------------------------------------------------
    def evaluate(self, arch: Sequence[int]) -> dict:
        """Score, cost, penalty and fitness of ``arch`` (computed once, then cached)."""
        arch = tuple(int(a) for a in arch)
        if arch in self.records:
            return self.records[arch]
        t0 = time.perf_counter()
        try:
            score = float(self.score_fn(arch))
        except (FloatingPointError, RuntimeError):
            score = -math.inf
        cost = float(self.cost_fn(arch)) if self.cost_fn is not None else None
        penalty = hardware_penalty(cost, self.budget, self.penalty_weight) if self.budget is not None else 0.0
        rec = {"score": score, "cost": cost, "penalty": penalty,
               "fitness": penalised_fitness(score, cost, self.budget, self.penalty_weight)}
        self.eval_time_s += time.perf_counter() - t0
        self.records[arch] = rec
        self.order.append(arch)
        return rec

    def step(self) -> Arch:
        """One evolution cycle: propose (random during warm-up), evaluate, record. Returns the child."""
        child = self.engine.propose(self.rng)
        self.engine.record(child, self.evaluate(child)["fitness"])
        self.cycles += 1
        return child

    def run(self, evaluations: int, max_cycles: int | None = None) -> "SimilarityEvolutionStrategy":
        """Evolve until ``evaluations`` distinct architectures have been evaluated (or
        ``max_cycles``, default 20 x evaluations, cycles were run). Returns ``self``."""
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
        pos = {a: i for i, a in enumerate(self.order)}
        items = [(a, r) for a, r in self.records.items()
                 if not feasible_only or self.budget is None or (r["cost"] is not None and r["cost"] <= self.budget)]
        return sorted(items, key=lambda ar: (-ar[1]["fitness"], pos[ar[0]]))

    def best(self, feasible_only: bool = False) -> tuple[Arch, dict] | None:
        ranked = self.ranked(feasible_only)
        return ranked[0] if ranked else None

    # --- ask / tell ------------------------------------------------------------------------------
    def ask(self) -> Arch:
        """Warm up (fill the population), run ``cycles_per_ask`` cycles, and propose the fittest
        evaluated architecture not proposed before."""
        while not self.engine.ready:
            self.step()
        for _ in range(self.cycles_per_ask):
            self.step()
        asked = set(self.asked)
        choice = next((a for a, _ in self.ranked() if a not in asked), None)
        tries = 0
        while choice is None and tries < 1000:  # everything evaluated was asked: evolve further
            child = self.step()
            tries += 1
            if child not in asked:
                choice = child
        if choice is None:
            raise InvalidConfigError("the search space is exhausted: every architecture was already proposed")
        self.asked.append(choice)
        return choice

    def tell(self, arch: Sequence[int], objectives: Sequence[float]) -> None:
        """Record a trial's external objectives (minimised); the internal fitness is unaffected."""
        self.told.append((tuple(int(a) for a in arch), [float(v) for v in objectives]))

    # --- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "engine": self.engine.state_dict(),
            "records": [(list(a), dict(self.records[a])) for a in self.order],
            "cycles": self.cycles,
            "asked": [list(a) for a in self.asked],
            "told": [(list(a), list(v)) for a, v in self.told],
            "eval_time_s": self.eval_time_s,
            "budget": self.budget, "penalty_weight": self.penalty_weight, "seed": self.seed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("budget") != self.budget or state.get("penalty_weight") != self.penalty_weight:
            raise InvalidConfigError(
                f"state was saved with budget {state.get('budget')} and penalty weight {state.get('penalty_weight')}, "
                f"this strategy has {self.budget} and {self.penalty_weight}")
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.engine.load_state_dict(state["engine"])
        self.order = [tuple(a) for a, _ in state["records"]]
        self.records = {tuple(a): dict(r) for a, r in state["records"]}
        self.cycles = state["cycles"]
        self.asked = [tuple(a) for a in state["asked"]]
        self.told = [(tuple(a), list(v)) for a, v in state["told"]]
        self.eval_time_s = state.get("eval_time_s", 0.0)


# --- budget sweeps ------------------------------------------------------------------------------
class _SharedScore:
    """Caches ``score`` across the strategies of a sweep (the similarity does not depend on the device)."""

    def __init__(self, score: Callable[[Arch], float]):
        self.score, self.cache = score, {}

    def __call__(self, arch: Arch) -> float:
        if arch not in self.cache:
            self.cache[arch] = float(self.score(arch))
        return self.cache[arch]


def budget_sweep(space, score: Callable[[Arch], float], costs: dict[str, Callable[[Arch], float]],
                 pairs: Sequence[tuple[str, float]], evaluations: int = 100, share_scores: bool = True,
                 **strategy_kwargs) -> list[dict]:
    """Run one search per ``(device, budget)`` pair (``costs[device]`` gives the cost) for
    ``evaluations`` candidates each; returns one row per pair with the fittest architecture (and
    the fittest within budget), its score, cost and the search time. With ``share_scores`` the
    device-independent score of an architecture is computed once for the whole sweep (the time of
    each run then counts only what that run computed)."""
    unknown = [d for d, _ in pairs if d not in costs]
    if unknown:
        raise InvalidConfigError(f"no cost function for device(s) {unknown}; known: {sorted(costs)}")
    shared = _SharedScore(score) if share_scores else score
    rows = []
    for device, budget in pairs:
        strat = SimilarityEvolutionStrategy(space, shared, costs[device], budget, name=device, **strategy_kwargs)
        t0 = time.perf_counter()
        strat.run(evaluations)
        elapsed = time.perf_counter() - t0
        best = strat.best()
        feasible = strat.best(feasible_only=True)
        arch, rec = feasible if feasible is not None else best
        rows.append({"device": device, "budget": budget, "arch": arch, "arch_str": space.arch_str(arch),
                     "score": rec["score"], "cost": rec["cost"], "fitness": rec["fitness"],
                     "within_budget": rec["cost"] is not None and rec["cost"] <= budget,
                     "evaluations": strat.evaluations, "cycles": strat.cycles, "search_time_s": elapsed,
                     "strategy": strat})
    return rows


__all__ = ["hardware_penalty", "penalised_fitness", "latency_cost", "params_cost", "flops_cost", "count_params",
           "count_flops", "AgingEvolution", "SimilarityEvolutionStrategy", "budget_sweep"]
