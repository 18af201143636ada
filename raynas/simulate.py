"""An asynchronous search on a simulated cluster: ``W`` workers, trials that take their own time.

On a cluster a searcher is asked for a new trial whenever a worker is free, while other trials are
still running, and results come back in the order trials finish, not the order they were asked.
:func:`simulate` replays that with any ask/tell strategy (raynas's, or an Optuna sampler behind
:class:`~raynas.strategies.OptunaStrategy`) against known objectives and durations -- a tabular
benchmark's ground truth -- on a simulated clock:

- ``workers`` run one trial each; at time 0 the driver fills them one ask after another;
- a trial of ``arch`` runs ``duration(arch)`` seconds (NAS-Bench-201's own training time of it,
  say), then the driver tells its ``objective(arch)`` and asks for the next one at once;
- the driver is one process: the real time each ``ask()`` and ``tell()`` takes on this machine is
  added to the clock, and nothing starts while it runs;
- zero-cost scoring (``scoring``: a counter of networks scored so far, ``seconds_per_network`` of
  CPU each) runs on the workers' CPUs beside the trials: the networks an ask needed cost
  ``n * seconds_per_network / workers`` of the driver's time.

Example::

    from raynas.benchmarks import NB201Benchmark
    from raynas.simulate import simulate
    from raynas.strategies import RandomStrategy

    bench = NB201Benchmark()
    sim = simulate(RandomStrategy(bench.space, seed=0), lambda a: bench.objectives(a, "raspi4"),
                   bench.train_time, workers=32, budget=200)
    sim.dataframe()          # one row per trial in the order they finished: start, end, worker, ...
    sim.makespan             # simulated seconds until the last trial finished
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from raynas.errors import InvalidConfigError

Arch = tuple[int, ...]


@dataclass(frozen=True)
class SimTrial:
    """One simulated trial: asked (``number``-th) at ``asked``, ran on ``worker`` from ``start`` to
    ``end`` (simulated seconds), told ``values``; ``pending`` trials were running when it was asked."""

    number: int
    arch: Arch
    worker: int
    asked: float
    start: float
    end: float
    values: tuple[float, ...]
    pending: int


@dataclass
class Simulation:
    """What :func:`simulate` returns: the trials in the order they finished, and the driver's time."""

    workers: int
    trials: list[SimTrial] = field(default_factory=list)
    ask_s: list[float] = field(default_factory=list)  # real seconds of each ask() on this machine
    tell_s: list[float] = field(default_factory=list)
    scoring_s: float = 0.0  # simulated seconds the driver waited for zero-cost scores

    @property
    def makespan(self) -> float:
        return max((t.end for t in self.trials), default=0.0)

    def archs(self) -> list[Arch]:
        """Architectures in the order their trials finished (the order the strategy learned them)."""
        return [t.arch for t in self.trials]

    def end_times(self) -> np.ndarray:
        return np.array([t.end for t in self.trials], dtype=float)

    def dataframe(self):
        """One row per trial (finish order): number, arch, worker, asked, start, end, pending, values."""
        import pandas as pd

        rows = [{"number": t.number, "arch": t.arch, "worker": t.worker, "asked": t.asked, "start": t.start,
                 "end": t.end, "pending": t.pending, **{f"value_{i}": v for i, v in enumerate(t.values)}}
                for t in self.trials]
        return pd.DataFrame(rows)


def _check(workers, budget, seconds_per_network) -> None:
    for label, value in (("workers", workers), ("budget", budget)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise InvalidConfigError(f"{label} must be a positive integer, got {value!r}")
    if not isinstance(seconds_per_network, (int, float)) or isinstance(seconds_per_network, bool) \
            or not 0 <= seconds_per_network < float("inf"):
        raise InvalidConfigError(f"seconds_per_network must be a number >= 0, got {seconds_per_network!r}")


def simulate(strategy, objective: Callable[[Arch], Sequence[float]], duration: Callable[[Arch], float], *,
             workers: int, budget: int, scoring: Callable[[], int] | None = None,
             seconds_per_network: float = 0.0, driver_time: bool = True,
             computed_here: Callable[[], float] | None = None) -> Simulation:
    """Run ``budget`` trials of ``strategy`` on ``workers`` simulated workers (module docstring).

    Args:
        strategy: any ask/tell strategy (``ask() -> arch``, ``tell(arch, values)``; values minimised).
        objective: ``arch -> values`` told when the trial finishes.
        duration: ``arch -> seconds`` the trial runs.
        workers: trials running at once.
        budget: trials asked in all.
        scoring: ``() -> networks scored so far`` (e.g. a proxy table's evaluation counter); with
            ``seconds_per_network`` the new ones cost the driver ``n * seconds_per_network / workers``.
        driver_time: count the real time of ``ask()``/``tell()`` on the clock (``False``: the
            driver is free, to separate search quality from searcher speed).
        computed_here: ``() -> real seconds so far`` this process spent computing networks'
            scores inside ``ask()`` (a cold cache); left out of the driver's time, because
            ``scoring`` already charges those networks as the workers would compute them.
    """
    _check(workers, budget, seconds_per_network)
    sim = Simulation(workers=int(workers))
    running: list[tuple[float, int, int, Arch, float, float, int]] = []  # (end, number, worker, arch, asked, start, pending)
    scored = scoring() if scoring is not None else 0
    clock, asked = 0.0, 0

    def ask(worker: int) -> None:
        nonlocal clock, asked, scored
        here = computed_here() if computed_here is not None else 0.0
        t0 = time.perf_counter()
        arch = tuple(int(v) for v in strategy.ask())
        spent = time.perf_counter() - t0
        if computed_here is not None:
            spent = max(0.0, spent - (computed_here() - here))
        sim.ask_s.append(spent)
        at = clock
        clock += spent if driver_time else 0.0
        if scoring is not None:
            now = scoring()
            wait = (now - scored) * seconds_per_network / sim.workers
            sim.scoring_s += wait
            clock, scored = clock + wait, now
        heapq.heappush(running, (clock + float(duration(arch)), asked, worker, arch, at, clock, len(running)))
        asked += 1

    for w in range(min(sim.workers, budget)):
        ask(w)
    while running:
        end, number, worker, arch, at, start, pending = heapq.heappop(running)
        clock = max(clock, end)
        values = tuple(float(v) for v in objective(arch))
        t0 = time.perf_counter()
        strategy.tell(arch, values)
        spent = time.perf_counter() - t0
        sim.tell_s.append(spent)
        clock += spent if driver_time else 0.0
        sim.trials.append(SimTrial(number, arch, worker, at, start, end, values, pending))
        if asked < budget:
            ask(worker)
    return sim


def value_at(times: np.ndarray, values: np.ndarray, at: float) -> float:
    """The last of ``values`` (one per finished trial, ``times`` ascending) reached by time ``at``
    (NaN before the first trial finished)."""
    i = int(np.searchsorted(times, at, side="right"))
    return float(values[i - 1]) if i else float("nan")
