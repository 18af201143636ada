"""The Tune searchers: construction errors, Tune's protocol, checkpoints, and real Tune runs."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.hardware.base import Device
from raynas.spaces import NB201Space
from raynas.strategies import ZeroCostStrategy
from searchers import (AgingEvolutionSearch, OptunaStrategySearch, RandomSearch, ZeroCostSearch,
                       make_searcher)

# A small NB201 network (C=4, N=1): the same decisions and configs as the benchmark's, cheap proxies.
SMALL = NB201Space(channels=4, cells_per_stage=1)
METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
ZC_KW = dict(warmup={"candidates": 30, "size": 4}, moves={"population_size": 8, "sample_size": 3, "n_mutants": 6})


def conv_weight(arch) -> float:
    """A cheap stand-in proxy for protocol tests (tests using real proxies say so)."""
    return float(sum({2: 1.0, 3: 9.0}.get(o, 0.0) for o in arch))


def zc(seed=0, **kw):
    return ZeroCostSearch(SMALL, METRIC, MODE, proxy=conv_weight, cost=conv_weight, seed=seed, **{**ZC_KW, **kw})


def fake_result(arch, complete=True):
    """A deterministic result for an architecture (no data needed)."""
    a = np.asarray(arch)
    res = {"accuracy": float(50 + 10 * np.sum(a == 3) + 5 * np.sum(a == 2) - 8 * np.sum(a == 0)),
           "latency_ms": float(1 + 3 * np.sum(a == 3) + np.sum(a == 2))}
    if not complete:
        res.update(epoch=1, max_epochs=3)
    return res


def run(searcher, n, start=0, space=SMALL):
    archs = []
    for i in range(start, start + n):
        config = searcher.suggest(f"t{i}")
        arch = space.from_config(config)
        searcher.on_trial_complete(f"t{i}", fake_result(arch))
        archs.append(arch)
    return archs


# --- construction ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [ZeroCostSearch, AgingEvolutionSearch, RandomSearch, OptunaStrategySearch])
def test_bad_metric_mode_lists_rejected_at_construction(cls):
    with pytest.raises(InvalidConfigError, match="sideways"):
        cls(SMALL, ["accuracy", "latency_ms"], ["max", "sideways"])
    with pytest.raises(InvalidConfigError, match="same length"):
        cls(SMALL, ["accuracy", "latency_ms"], ["max"])
    with pytest.raises(InvalidConfigError, match="distinct"):
        cls(SMALL, ["accuracy", "accuracy"], ["max", "max"])
    with pytest.raises(InvalidConfigError, match="cannot suggest without metric/mode"):
        cls(SMALL).suggest("t0")  # no metric here and none from TuneConfig


def test_zero_cost_search_rejects_unknown_names_and_bad_settings():
    with pytest.raises(UnknownNameError, match="synflw"):
        ZeroCostSearch(SMALL, METRIC, MODE, proxy="synflw")
    with pytest.raises(UnknownNameError, match="latency_magic"):
        ZeroCostSearch(SMALL, METRIC, MODE, cost="latency_magic")
    with pytest.raises(InvalidConfigError, match="bayes"):
        ZeroCostSearch(SMALL, METRIC, MODE, engine="bayes")
    with pytest.raises(InvalidConfigError, match="energy"):
        ZeroCostSearch(SMALL, METRIC, MODE, roles={"energy": "cost"})
    with pytest.raises(InvalidConfigError, match="role"):
        ZeroCostSearch(SMALL, METRIC, MODE, roles={"latency_ms": "hardware"})
    with pytest.raises(UnknownNameError, match="bogus"):
        make_searcher("bogus", SMALL, METRIC, MODE)


def test_make_searcher_names():
    assert isinstance(make_searcher("zc", SMALL, METRIC, MODE, seed=0, **ZC_KW), ZeroCostSearch)
    assert isinstance(make_searcher("aging", SMALL, METRIC, MODE), AgingEvolutionSearch)
    assert isinstance(make_searcher("random", SMALL, METRIC, MODE), RandomSearch)
    tpe = make_searcher("tpe", SMALL, METRIC, MODE, seed=0)
    assert isinstance(tpe, OptunaStrategySearch) and type(tpe.strategy.sampler.for_trial(0)).__name__ == "TPESampler"
    zc = make_searcher("zero_cost", SMALL, METRIC, MODE, engine="nsga2", **ZC_KW)
    assert type(zc.strategy.engine.sampler.for_trial(0)).__name__ == "NSGAIISampler"


def test_set_search_properties_checks_metric_and_param_space():
    from ray import tune

    s = RandomSearch(SMALL, METRIC, MODE, seed=0)
    good = {**{d: tune.choice(ops) for d, ops in SMALL.param_space().items()}, "lr": 0.1}
    assert s.set_search_properties("accuracy", "max", good) is True
    with pytest.raises(InvalidConfigError, match="energy"):
        s.set_search_properties("energy", "min", {})
    with pytest.raises(InvalidConfigError, match="contradicts"):
        s.set_search_properties("accuracy", "min", {})
    with pytest.raises(InvalidConfigError, match="conv_7x7"):
        s.set_search_properties(None, None, {"edge_10": tune.choice(["none", "conv_7x7"])})
    with pytest.raises(InvalidConfigError, match="uniform|Float"):
        s.set_search_properties(None, None, {"edge_10": tune.uniform(0, 1)})


# --- protocol ----------------------------------------------------------------------------------
def test_zero_cost_search_suggests_what_the_strategy_asks():
    """The adapter adds nothing to the algorithm: same seed, same proposals as the strategy."""
    # scores on the driver: in a Ray session they would arrive in the background, whenever they arrive
    searcher = ZeroCostSearch(SMALL, METRIC, MODE, proxy="params", cost="flops", seed=3, proxy_workers=0, **ZC_KW)
    direct = ZeroCostStrategy(SMALL, "params", "flops", seed=3, **ZC_KW)
    via_tune = run(searcher, 14)
    asked = []
    for _ in range(14):
        a = direct.ask()
        r = fake_result(a)
        direct.tell(a, (-r["accuracy"], r["latency_ms"]))
        asked.append(a)
    assert via_tune == asked
    assert len(set(via_tune)) == 14
    # proxies computed on the real networks, once per architecture
    assert searcher.proxy_evaluations["proxy"] == len(searcher.scores.cache) >= ZC_KW["warmup"]["candidates"] - 2


@pytest.mark.parametrize("name", ["zc", "aging", "random", "tpe"])
def test_save_restore_resumes_with_identical_suggestions(tmp_path, name):
    kw = {**ZC_KW, "proxy": conv_weight, "cost": conv_weight} if name == "zc" else {}
    ref = make_searcher(name, SMALL, METRIC, MODE, seed=1, **kw)
    full = run(ref, 20)
    s = make_searcher(name, SMALL, METRIC, MODE, seed=1, **kw)
    first = run(s, 12)
    in_flight = SMALL.from_config(s.suggest("t12"))  # a trial running at checkpoint time
    s.save(str(tmp_path / "state.pkl"))
    r = make_searcher(name, SMALL, METRIC, MODE, seed=99, **kw)  # everything must come from the checkpoint
    r.restore(str(tmp_path / "state.pkl"))
    assert r.live == {"t12": in_flight}
    r.on_trial_complete("t12", fake_result(in_flight))
    rest = run(r, 7, start=13)
    assert first + [in_flight] + rest == full
    assert r.completed == 20


def test_restore_rejects_another_searchers_checkpoint(tmp_path):
    a = RandomSearch(SMALL, METRIC, MODE, seed=0)
    run(a, 2)
    a.save(str(tmp_path / "a.pkl"))
    with pytest.raises(InvalidConfigError, match="RandomSearch"):
        AgingEvolutionSearch(SMALL, METRIC, MODE).restore(str(tmp_path / "a.pkl"))


def test_zero_cost_checkpoint_carries_the_proxy_cache(tmp_path):
    s = ZeroCostSearch(SMALL, METRIC, MODE, proxy="params", cost="flops", seed=0, **ZC_KW)
    run(s, 6)
    s.save(str(tmp_path / "zc.pkl"))
    r = ZeroCostSearch(SMALL, METRIC, MODE, proxy="params", cost="flops", seed=0, **ZC_KW)
    r.restore(str(tmp_path / "zc.pkl"))
    assert r.scores.cache.keys() == s.scores.cache.keys()
    assert r.scores.evaluations == s.scores.evaluations  # nothing recomputed on restore


def test_early_stopped_and_failed_trials_are_never_complete_evaluations():
    s = zc()
    a = SMALL.from_config(s.suggest("a"))
    s.on_trial_complete("a", fake_result(a, complete=False))
    # accuracy of a stopped trial is not its final value: infinitely bad; latency is kept (static metric)
    assert s.strategy.history.values[-1] == (math.inf, fake_result(a)["latency_ms"])
    b = SMALL.from_config(s.suggest("b"))
    s.on_trial_complete("b", None, error=True)
    assert s.strategy.history.values[-1] == (math.inf, math.inf)
    c = SMALL.from_config(s.suggest("c"))
    s.on_trial_complete("c", {"accuracy": float("nan"), "latency_ms": 3.0})
    assert s.strategy.history.values[-1] == (math.inf, 3.0)
    assert s.stopped_early == 1 and s.completed == 3
    assert len({a, b, c}) == 3
    assert s.on_trial_complete("unknown-trial", fake_result(a)) is None  # ignored


def test_add_evaluated_point_feeds_the_strategy():
    s = AgingEvolutionSearch(SMALL, METRIC, MODE, seed=0)
    s.add_evaluated_point(SMALL.to_config((3,) * 6), [90.0, 12.0])
    s.add_evaluated_point(SMALL.to_config((0,) * 6), {"accuracy": 10.0, "latency_ms": 1.0})
    assert s.strategy.history.values == [(-90.0, 12.0), (-10.0, 1.0)]
    with pytest.raises(InvalidConfigError, match="2 metrics"):
        s.add_evaluated_point(SMALL.to_config((3,) * 6), [90.0])


def test_searcher_pickles_for_tune():
    s = zc()
    run(s, 3)
    t = pickle.loads(pickle.dumps(s))
    assert run(t, 3, start=3) == run(s, 3, start=3)


# --- through Tune ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("where", ["auto", "ray"])
def test_proxies_in_the_background_equal_the_driver_ones(ray_local, where):
    archs = [SMALL.sample(np.random.default_rng(i)) for i in range(12)]
    driver = ZeroCostSearch(SMALL, METRIC, MODE, proxy="path_params", cost="flops", seed=0, proxy_workers=0, **ZC_KW)
    tasks = ZeroCostSearch(SMALL, METRIC, MODE, proxy="path_params", cost="flops", seed=0, proxy_workers=2,
                           proxy_chunk=5, proxy_where=where, **ZC_KW)
    tasks.scores.inline_s = 0  # never here: all in the background
    tasks.scores.prefetch(archs[:6])
    assert tasks.scores._inflight
    tasks.scores.collect(wait=True)
    np.testing.assert_allclose(tasks.scores.values(archs), driver.scores.values(archs))
    assert tasks.scores.evaluations == len(set(archs))
    executor = tasks.scores.executor
    # one node here: "auto" scores in a thread of the driver, "ray" in Ray tasks; every chunk counted
    assert (executor._pool is not None) == (where == "auto") and sum(executor.nodes.values()) >= 3
    assert set(executor.nodes) == {ray_local.get_runtime_context().get_node_id()}


def test_a_chunk_needed_now_waits_for_a_free_slot_not_forever(ray_local):
    """With every slot taken by a chunk nobody waits for, waiting for a queued chunk collects the
    other when it finishes (kept for ``done``) and then computes the needed one -- it used to spin."""
    import threading

    archs = [tuple(SMALL.sample(np.random.default_rng(i))) for i in range(6)]
    s = ZeroCostSearch(SMALL, METRIC, MODE, proxy="params", cost="flops", seed=0, proxy_workers=1,
                       proxy_where="thread", **ZC_KW)
    executor = s.scores.executor
    executor.max_in_flight = 1
    first, *needed = (executor.submit(archs[i:i + 2]) for i in (0, 2, 4))
    out: list = []
    waiter = threading.Thread(target=lambda: out.append(dict(executor.wait(needed))), daemon=True)
    waiter.start()
    waiter.join(120)
    assert out, "wait() did not return"
    got = out[0]
    assert list(got) == needed and all(len(got[h]) == 2 for h in needed)
    assert [h for h, _ in executor.done([first])] == [first] and not executor._refs and not executor._queue


class Recorder:
    """A background executor that keeps the chunks handed to it and never finishes one."""

    def __init__(self):
        self.chunks = []

    def submit(self, chunk):
        self.chunks.append(chunk)
        return len(self.chunks) - 1

    def done(self, handles):
        return []


class Computer(Recorder):
    """A background executor that computes each chunk on ``table`` when asked whether it is done
    (once ``opened``)."""

    def __init__(self, table, opened=True):
        super().__init__()
        self.table, self.opened = table, opened

    def done(self, handles):
        return [(h, self.table._compute(self.chunks[h], here=True)) for h in handles] if self.opened else []


def test_quick_networks_are_scored_here_instead_of_in_the_background():
    """Networks are scored on the driver while ``inline_s`` seconds last (all of them: nothing in
    flight, and networks count as quick), the rest go to the executor."""
    from raynas.strategies.scorers import ProxyScores

    archs = [tuple(SMALL.sample(np.random.default_rng(i))) for i in range(10)]
    quick = ProxyScores(SMALL, ["params"], executor=Recorder(), inline_s=60.0)
    quick.prefetch(archs)
    assert not quick.executor.chunks and not quick._inflight and quick.evaluations == len(set(archs))
    assert quick._quick and quick._progress._closed and quick._progress.n == len(set(archs))
    slow = ProxyScores(SMALL, ["params"], executor=Recorder(), inline_s=1e-9)
    slow.prefetch(archs)
    sent = [a for c in slow.executor.chunks for a in c]
    assert slow.evaluations == 1 and len(sent) == len(set(archs)) - 1  # one scored here, the rest sent
    assert not slow._quick and slow._progress.total == len(set(archs)) and slow._progress.n == 1


def test_driver_work_stops_when_its_time_budget_is_spent_not_when_a_forecast_says():
    """``within_budget`` works in chunks doubling from one and stops once the rest would not fit at
    the pace so far: networks that grow slower after quick first ones stop it near the budget (a
    forecast from the first two alone would have done all 40 here, ~2 s)."""
    import time

    from raynas.strategies.scorers import within_budget

    chunks = []

    def work(chunk):
        chunks.append(len(chunk))
        time.sleep(0.05 * sum(i >= 2 for i in chunk))  # items 0 and 1 are instant, the others 50 ms each

    t0 = time.perf_counter()
    done = within_budget(list(range(40)), 0.2, work)
    assert 3 <= done < 40 and time.perf_counter() - t0 < 1.0
    assert chunks[:2] == [1, 2] and sum(chunks) == done
    assert within_budget(list(range(5)), 60.0, lambda chunk: None) == 5
    assert within_budget(list(range(5)), 1e-9, lambda chunk: None) == 1  # the first item is always done here
    chunks.clear()
    slow = within_budget(list(range(40)), 0.5, lambda chunk: (chunks.append(len(chunk)), time.sleep(0.05 * len(chunk))))
    assert slow == 3 and chunks == [1, 2]  # 37 more at 50 ms would not fit: the rest goes at once, not after 0.5 s


def test_lookahead_hands_likely_networks_to_the_background_only_when_it_pays():
    """A newly told non-dominated configuration's mutants are queued for background scoring ahead
    of demand -- only with an executor and networks measured too slow to score on demand."""
    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.parts import Warmup
    from raynas.strategies.scorers import ProxyScores

    archs = [tuple(SMALL.sample(np.random.default_rng(i))) for i in range(6)]
    quick = ProxyScores(SMALL, ["params"], executor=Recorder(), inline_s=60.0)
    quick.prefetch(archs)
    assert quick.background is False and quick.lookahead(archs[:1]) == 0 and not quick.executor.chunks
    assert ProxyScores(SMALL, ["params"]).lookahead(archs) == 0  # no executor: computed on demand
    slow = ProxyScores(SMALL, ["params"], executor=Recorder(), inline_s=1e-9)
    slow.prefetch(archs)
    sent = len(slow.executor.chunks)
    fresh = [tuple(SMALL.sample(np.random.default_rng(100 + i))) for i in range(5)]
    assert slow.background and slow.lookahead(fresh, limit=3) == 3 and len(slow.executor.chunks) == sent + 1
    assert slow.lookahead(fresh[:3]) == 0  # already in flight

    strategy = ZeroCostStrategy(SMALL, ["params"], ["params"], warmup=Warmup(20, 2, networks=None), seed=0)
    scores = strategy.scores._sources()[0].table
    scores.executor, scores.inline_s = Computer(scores), 1e-9
    first = [strategy.ask() for _ in range(2)]
    before = len(scores.executor.chunks)
    strategy.tell(first[0], (1.0, 1.0))
    strategy.tell(first[1], (2.0, 2.0))  # dominated: nothing queued for it
    queued = [a for c in scores.executor.chunks[before:] for a in c]
    assert queued and all(scores._nk(a) in {scores._nk(n) for n in SMALL.neighbours(first[0])} for a in queued)


def test_asks_made_while_warmup_scores_arrive_count_towards_its_size():
    """The warm-up's spread picks, once its scores are in, are its size less the asks already made
    from the scores that had arrived."""
    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.parts import Warmup

    strategy = ZeroCostStrategy(SMALL, ["params"], ["params"], warmup=Warmup(20, 4, networks=None), seed=0)
    scores = strategy.scores._sources()[0].table
    scores.executor, scores.inline_s = Computer(scores, opened=False), 1e-9
    early = [strategy.ask() for _ in range(3)]
    assert strategy._queue is None and len(set(early)) == 3  # the scores are not in: interim asks
    scores.executor.opened = True
    strategy.ask()
    assert strategy._queue == [] and strategy._interim_asks == 3  # 4 - 3 = 1 spread pick, now asked
    restored = ZeroCostStrategy(SMALL, ["params"], ["params"], warmup=Warmup(20, 4, networks=None), seed=0)
    restored.load_state_dict(strategy.state_dict())
    assert restored._interim_asks == 3 and restored.ask() == strategy.ask()


class SlowDevice(Device):
    """A device that times a network in ``seconds`` and reports its parameter count as milliseconds."""

    def __init__(self, seconds=0.05):
        super().__init__("slow")
        self.seconds, self.calls = seconds, 0

    def measure(self, model, input_shape=None):
        import time
        from types import SimpleNamespace

        time.sleep(self.seconds)
        self.calls += 1
        return SimpleNamespace(median_ms=float(sum(p.numel() for p in model.parameters())))

    def latency_ms(self, arch, space=None):
        return self.measure(space.build(arch)).median_ms


def test_a_device_cost_is_timed_in_the_background_when_it_would_hold_up_the_search():
    from raynas.strategies.scorers import DeviceScorer

    archs = list(dict.fromkeys(tuple(SMALL.sample(np.random.default_rng(i))) for i in range(12)))
    here = DeviceScorer(SlowDevice(0.0), SMALL)  # the default: timed when first needed
    here.prefetch(archs)
    truth = here.score_many(archs)
    assert np.isfinite(truth).all() and not here.background and here.evaluations == len({here.key(a) for a in archs})
    slow = DeviceScorer(SlowDevice(0.05), SMALL, inline_s=0.01)
    slow.prefetch(archs)
    assert slow.background and slow.device.calls == 1  # timed here while its 0.01 s lasted, the rest in flight
    assert not slow.ready(archs).all()
    assert slow(archs[-1]) == truth[-1]  # needed now: timed here if still queued, else waited for
    pickled = pickle.loads(pickle.dumps(slow))  # background work does not travel
    assert pickled._futures == {} and pickled._worker is None and not pickled._todo
    import time

    for _ in range(200):
        if slow.ready(archs).all():
            break
        time.sleep(0.05)
    assert slow.ready(archs).all() and np.array_equal(slow.score_many(archs), truth)
    for _ in range(100):  # the thread stops once its queue is empty (and never holds up the exit: a daemon)
        if slow._worker is None:
            break
        time.sleep(0.01)
    assert slow._worker is None
    assert slow.evaluations == here.evaluations and slow.lookahead(archs) == 0  # nothing left to time
    quick = DeviceScorer(SlowDevice(0.0), SMALL, inline_s=60.0)
    quick.prefetch(archs)
    assert not quick.background and not quick._futures and quick.ready(archs).all()
    s = ZeroCostSearch(SMALL, METRIC, MODE, cost={"latency_ms": SlowDevice()}, seed=0, **ZC_KW)
    s.set_search_properties(None, None, {})
    device = next(c for c in s.strategy.scores.costs if isinstance(c, DeviceScorer))
    assert device.inline_s == 2.0
    s0 = ZeroCostSearch(SMALL, METRIC, MODE, cost={"latency_ms": SlowDevice()}, seed=0, proxy_workers=0, **ZC_KW)
    s0.set_search_properties(None, None, {})
    assert next(c for c in s0.strategy.scores.costs if isinstance(c, DeviceScorer)).inline_s is None


def test_scoring_place_is_checked():
    from raynas.errors import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="proxy_where must be one of .*got 'gpu'"):
        ZeroCostSearch(SMALL, METRIC, MODE, proxy_where="gpu")


def test_tabular_search_through_tune_with_limiter_and_mo_asha(ray_local, data_dir, tmp_path):
    import os

    from ray import tune

    from searchers import MultiObjectiveASHA, pareto_summary
    from searchers.trainables import tabular_trainable

    searcher = ZeroCostSearch(SMALL, ["accuracy", "latency_ms/raspi4"], MODE, proxy="params", cost="flops",
                              seed=0, **ZC_KW)
    tuner = tune.Tuner(
        tabular_trainable(devices=["raspi4"], data_dir=str(data_dir)),
        tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, 2), num_samples=12,
                                    scheduler=MultiObjectiveASHA(["accuracy", "latency_ms/raspi4"], MODE,
                                                                 time_attr="epoch", max_t=1),
                                    reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="zc", verbose=0),
    )
    grid = tuner.fit()
    summary = pareto_summary(grid, ["accuracy", "latency_ms/raspi4"], MODE)
    assert summary.n_trials == 12 and len(summary.front) >= 1 and summary.hypervolume > 0
    archs = [r.metrics["arch"] for r in grid]
    assert len(set(archs)) == 12  # no architecture evaluated twice
    assert searcher.completed == 12 and not searcher.live
    assert any(f.startswith("searcher-state") for f in os.listdir(tmp_path / "zc"))


def _expected_archs(name: str, kw: dict, n: int, bench, device: str) -> list[str]:
    """What an uninterrupted sequential (ConcurrencyLimiter(1)) search proposes: the searcher driven
    directly with the same seed and the same tabular results."""
    s = make_searcher(name, SMALL, METRIC, MODE, seed=0, **kw)
    out = []
    for i in range(n):
        arch = SMALL.from_config(s.suggest(f"t{i}"))
        s.on_trial_complete(f"t{i}", {"accuracy": bench.accuracy(arch), "latency_ms": bench.latency(arch, device)})
        out.append(SMALL.arch_str(arch))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["zc", "tpe"])
def test_tuner_restore_resumes_without_duplicate_or_lost_trials(tmp_path, data_dir, name):
    """Interrupt a Tune search (SIGINT, as Ctrl+C) after 5 trials, resume it with Tuner.restore, and
    compare with the uninterrupted search: every trial once, the same architectures."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    from raynas.benchmarks import NB201Benchmark

    root = Path(__file__).resolve().parents[1]
    script = root / "tests" / "scripts" / "tabular_search.py"
    # scores on the driver (proxy_workers=0): background scores arrive when they arrive, and the
    # uninterrupted search this is compared with must be reproducible
    kw = {"proxy": "params", "cost": "flops", "proxy_workers": 0, **ZC_KW} if name == "zc" else {}
    n, device = 12, "gold_6226"
    env = {**os.environ, "RAYNAS_DATA": str(data_dir), "PYTHONPATH": str(root), "TUNE_GLOBAL_CHECKPOINT_S": "0"}
    cmd = [sys.executable, str(script), str(tmp_path), name, str(n), "--delay", "1.0", "--kw", json.dumps(kw),
           "--device", device]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=root)
    done = []
    for line in first.stdout:
        if line.startswith("DONE"):
            done.append(line.split()[2])
            if len(done) == 5:
                first.send_signal(signal.SIGINT)
                break
    first.stdout.read()
    assert first.wait(timeout=120) == 0
    interrupted = pd.read_csv(tmp_path / "final.csv")
    assert interrupted["arch"].notna().sum() < n  # the search really stopped early
    second = subprocess.run(cmd + ["--restore"], capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    final = pd.read_csv(tmp_path / "final.csv")
    assert len(final) == n and final["trial_id"].is_unique and final["arch"].notna().all()
    assert final["arch"].is_unique  # no duplicate architecture
    expected = _expected_archs(name, kw, n, NB201Benchmark(data_dir), device)
    assert sorted(final["arch"]) == sorted(expected)  # none lost, none extra: the uninterrupted search's
    assert set(done) <= set(final["arch"])


def test_every_searcher_is_importable_from_the_package():
    import searchers
    from searchers.hypernet import HypernetSearch
    from searchers.predictor import PredictorSearch
    from searchers.similarity import SimilarityEvolutionSearch

    assert searchers.HypernetSearch is HypernetSearch
    assert searchers.PredictorSearch is PredictorSearch
    assert searchers.SimilarityEvolutionSearch is SimilarityEvolutionSearch
    assert {"HypernetSearch", "PredictorSearch", "SimilarityEvolutionSearch"} <= set(searchers.__all__)
    with pytest.raises(AttributeError, match="NoSuchSearch"):
        searchers.NoSuchSearch
