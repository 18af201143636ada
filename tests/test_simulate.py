"""The simulated cluster: trials start when a worker is free, finish in their own time, are told in
the order they finish; the driver's time and zero-cost scoring are on the clock."""

import numpy as np
import pytest

from raynas.errors import InvalidConfigError
from raynas.simulate import simulate, value_at


class Scripted:
    """Asks architectures (1,), (2,), ... in order; records the tells."""

    def __init__(self, scored_per_ask: int = 0):
        self.n = 0
        self.told: list = []
        self.scored = 0
        self.scored_per_ask = scored_per_ask

    def ask(self):
        self.n += 1
        self.scored += self.scored_per_ask
        return (self.n,)

    def tell(self, arch, values):
        self.told.append((arch, values))


DURATION = {(1,): 10.0, (2,): 3.0, (3,): 4.0, (4,): 1.0, (5,): 2.0}


def test_two_workers_finish_out_of_order():
    s = Scripted()
    sim = simulate(s, lambda a: (float(a[0]),), DURATION.__getitem__, workers=2, budget=5, driver_time=False)
    # worker 0: (1,) 0-10; worker 1: (2,) 0-3, (3,) 3-7, (4,) 7-8, (5,) 8-10
    # (1,) and (5,) both end at 10: the one asked first is told first
    assert [t.arch for t in sim.trials] == [(2,), (3,), (4,), (1,), (5,)]
    by_arch = {t.arch: t for t in sim.trials}
    assert [(by_arch[(a,)].start, by_arch[(a,)].end) for a in range(1, 6)] == \
           [(0, 10), (0, 3), (3, 7), (7, 8), (8, 10)]
    assert {by_arch[(a,)].worker for a in (2, 3, 4, 5)} == {1} and by_arch[(1,)].worker == 0
    assert [a for a, _ in s.told] == sim.archs()  # told in the order they finished
    assert by_arch[(3,)].pending == 1 and by_arch[(1,)].pending == 0  # (1,) was running when (3,) was asked
    assert sim.makespan == 10 and s.n == 5  # the budget, not one ask more


def test_one_worker_is_sequential_and_the_driver_counts():
    sim = simulate(Scripted(), lambda a: (0.0,), DURATION.__getitem__, workers=1, budget=5, driver_time=False)
    assert sim.makespan == sum(DURATION.values())
    timed = simulate(Scripted(), lambda a: (0.0,), DURATION.__getitem__, workers=1, budget=5)
    assert timed.makespan == pytest.approx(sum(DURATION.values()) + sum(timed.ask_s) + sum(timed.tell_s))
    assert timed.makespan > sim.makespan


def test_scoring_time_is_spread_over_the_workers():
    s = Scripted(scored_per_ask=4)
    sim = simulate(s, lambda a: (0.0,), DURATION.__getitem__, workers=2, budget=5,
                   scoring=lambda: s.scored, seconds_per_network=0.5, driver_time=False)
    assert sim.scoring_s == pytest.approx(5 * 4 * 0.5 / 2)
    # the first two asks each wait 1 s: (1,) starts at 1, (2,) at 2
    assert sorted(t.start for t in sim.trials)[:2] == [1.0, 2.0]


def test_value_at_and_bad_input():
    times, values = np.array([1.0, 2.0, 5.0]), np.array([0.1, 0.5, 0.9])
    assert np.isnan(value_at(times, values, 0.5))
    assert value_at(times, values, 2.0) == 0.5 and value_at(times, values, 99) == 0.9
    with pytest.raises(InvalidConfigError, match="workers must be a positive integer, got 0"):
        simulate(Scripted(), lambda a: (0.0,), DURATION.__getitem__, workers=0, budget=5)
    with pytest.raises(InvalidConfigError, match="seconds_per_network must be a number >= 0, got -1"):
        simulate(Scripted(), lambda a: (0.0,), DURATION.__getitem__, workers=1, budget=5, seconds_per_network=-1)


def test_a_real_strategy_on_published_ground_truth(data_dir):
    from raynas.benchmarks import NB201Benchmark
    from raynas.strategies import RandomStrategy

    bench = NB201Benchmark(data_dir)
    sims = {w: simulate(RandomStrategy(bench.space, seed=0), lambda a: bench.objectives(a, "raspi4"),
                        bench.train_time, workers=w, budget=64, driver_time=False) for w in (1, 16)}
    # the same 64 architectures (random search ignores results), 16 at a time: ~16x sooner
    assert sorted(sims[1].archs()) == sorted(sims[16].archs())
    speedup = sims[1].makespan / sims[16].makespan
    assert 8 < speedup <= 16
    assert sims[1].makespan == pytest.approx(sum(bench.train_time(a) for a in sims[1].archs()))
