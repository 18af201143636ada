from types import SimpleNamespace

import numpy as np
import pytest
from ray.tune.schedulers import TrialScheduler

from raynas.errors import InvalidConfigError
from searchers.schedulers import HardwareBudgetStop, MultiObjectiveASHA, ProxyGate

CONT, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


def trial(i):
    return SimpleNamespace(trial_id=f"t{i}")


def test_budget_stop_is_zero_within_budget_and_stops_above():
    s = HardwareBudgetStop(budget=10.0)
    assert s.on_trial_result(None, trial(0), {"latency_ms": 9.99}) == CONT
    assert s.on_trial_result(None, trial(1), {"latency_ms": 10.0}) == CONT
    assert s.on_trial_result(None, trial(2), {"latency_ms": 10.01}) == STOP
    assert s.on_trial_result(None, trial(3), {"accuracy": 50}) == CONT
    assert s.stopped == {"t2": 10.01}
    with pytest.raises(InvalidConfigError, match="-3"):
        HardwareBudgetStop(budget=-3)


def test_proxy_gate_stops_below_running_quantile():
    gate = ProxyGate("proxy/synflow", mode="max", quantile=0.5, min_trials=3)
    scores = [10, 20, 30, 5, 40, 25]
    actions = [gate.on_trial_result(None, trial(i), {"proxy/synflow": s}) for i, s in enumerate(scores)]
    # the first three always pass; 5 < median(10,20,30); 40 passes; 25 >= median(10,20,30,40)=25 passes
    assert actions == [CONT, CONT, CONT, STOP, CONT, CONT]
    assert gate.gate_stopped == {"t3": 5}
    # the gate decides once per trial: later results go to the inner scheduler
    assert gate.on_trial_result(None, trial(3), {"proxy/synflow": -1, "epoch": 1}) == CONT


def test_proxy_gate_min_mode_and_nan_scores_fail():
    gate = ProxyGate("proxy/x", mode="min", quantile=0.5, min_trials=2)
    for i, s in enumerate([1.0, 2.0]):
        gate.on_trial_result(None, trial(i), {"proxy/x": s})
    assert gate.on_trial_result(None, trial(2), {"proxy/x": 3.0}) == STOP  # larger is worse in min mode
    assert gate.on_trial_result(None, trial(3), {"proxy/x": float("nan")}) == STOP
    with pytest.raises(InvalidConfigError, match="1.5"):
        ProxyGate(quantile=1.5)


def test_mo_asha_promotes_by_nondominated_rank():
    s = MultiObjectiveASHA(["accuracy", "latency_ms"], ["max", "min"], time_attr="epoch", max_t=9,
                           grace_period=1, reduction_factor=3)
    assert s.rungs == [1, 3]
    # three trials reach rung 1: t0 and t1 are mutually non-dominated, t2 is dominated by t0
    results = [{"epoch": 1, "accuracy": 90, "latency_ms": 5}, {"epoch": 1, "accuracy": 80, "latency_ms": 1},
               {"epoch": 1, "accuracy": 70, "latency_ms": 6}]
    actions = [s.on_trial_result(None, trial(i), r) for i, r in enumerate(results)]
    assert actions[0] == CONT  # first at a rung keeps going (top 1 of 1)
    assert actions[2] == STOP  # dominated: never in the top third
    # a trial dominating everything always continues
    assert s.on_trial_result(None, trial(9), {"epoch": 1, "accuracy": 99, "latency_ms": 0.5}) == CONT
    assert s.on_trial_result(None, trial(9), {"epoch": 9, "accuracy": 99, "latency_ms": 0.5}) == STOP  # max_t


def test_mo_asha_rejects_bad_metric_mode_lists():
    with pytest.raises(InvalidConfigError, match="maximise"):
        MultiObjectiveASHA(["a", "b"], ["max", "maximise"])
    with pytest.raises(InvalidConfigError):
        MultiObjectiveASHA(["a", "b"], ["max"])
    with pytest.raises(InvalidConfigError, match="grace_period"):
        MultiObjectiveASHA(["a"], ["max"], max_t=3, grace_period=5)


def test_scheduler_state_round_trips(tmp_path):
    s = MultiObjectiveASHA(["a", "b"], ["max", "min"], time_attr="epoch", max_t=9)
    s.on_trial_result(None, trial(0), {"epoch": 1, "a": 1.0, "b": 2.0})
    path = tmp_path / "sched.pkl"
    s.save(str(path))
    r = MultiObjectiveASHA(["a", "b"], ["max", "min"], time_attr="epoch", max_t=9)
    r.restore(str(path))
    assert list(r.recorded[1]) == ["t0"]
    np.testing.assert_array_equal(r.recorded[1]["t0"], s.recorded[1]["t0"])


def test_scheduler_wraps_an_inner_scheduler_and_rejects_junk():
    inner = MultiObjectiveASHA(["a", "b"], ["max", "min"], time_attr="epoch", max_t=9)
    s = HardwareBudgetStop(5.0, "lat", scheduler=ProxyGate("p", min_trials=1, scheduler=inner))
    assert s.on_trial_result(None, trial(0), {"lat": 6.0, "p": 1.0}) == STOP  # over budget: the gate never sees it
    assert s.on_trial_result(None, trial(1), {"lat": 1.0, "p": 1.0}) == CONT
    assert s.on_trial_result(None, trial(2), {"lat": 1.0, "p": 0.5}) == STOP  # below the proxy quantile
    assert s.on_trial_result(None, trial(1), {"lat": 1.0, "epoch": 1, "a": 1.0, "b": 1.0}) == CONT
    assert list(inner.recorded[1]) == ["t1"]  # later results reach the innermost scheduler
    with pytest.raises(InvalidConfigError, match="TrialScheduler"):
        HardwareBudgetStop(5.0, scheduler="asha")


def staged_tabular_trainable(data_dir, device: str, epochs: int = 3):
    """NB201 from the tables, reported as a trial would: cost and a proxy at epoch 0 (before
    training), then accuracy rising linearly to the table's value at ``epochs``. The proxy is a
    stand-in (number of convolution edges): these tests are about scheduling, not proxy quality."""
    from ray import tune

    from raynas.benchmarks import NB201Benchmark

    bench = NB201Benchmark(data_dir)

    def trainable(config):
        arch = bench.space.from_config(config)
        acc, lat = bench.accuracy(arch), bench.latency(arch, device)
        static = {"latency_ms": lat, "proxy/convs": float(sum(o in (2, 3) for o in arch)), "max_epochs": epochs,
                  "arch": bench.space.arch_str(arch)}
        tune.report({**static, "epoch": 0, "accuracy": 10.0})
        for e in range(1, epochs + 1):
            tune.report({**static, "epoch": e, "accuracy": 10.0 + (acc - 10.0) * e / epochs})

    return trainable


def test_schedulers_through_tune(ray_local, data_dir, tmp_path):
    """Budget stop, proxy gate and MO-ASHA nested in one Tune run: each stops what it should, the
    searcher never counts a stopped trial as complete, the front holds complete trials only."""
    from ray import tune

    from raynas.spaces import NB201Space
    from searchers import RandomSearch, pareto_front, results_dataframe

    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    budget = 40.0  # raspi4 latencies span 0.01-99 ms
    asha = MultiObjectiveASHA(metric, mode, time_attr="epoch", max_t=3, grace_period=1, reduction_factor=3)
    gate = ProxyGate("proxy/convs", mode="max", quantile=0.3, min_trials=4, scheduler=asha)
    scheduler = HardwareBudgetStop(budget, "latency_ms", scheduler=gate)
    searcher = RandomSearch(NB201Space(), metric=metric, mode=mode, seed=4)
    tuner = tune.Tuner(
        staged_tabular_trainable(data_dir, "raspi4"),
        tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, 1), scheduler=scheduler,
                                    num_samples=20, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="sched", verbose=0),
    )
    df = results_dataframe(tuner.fit())
    assert len(df) == 20
    over = df["latency_ms"] > budget
    assert over.any() and (df.loc[over, "epoch"] == 0).all()  # stopped at once, before any training
    gated = df["trial_id"].isin(gate.gate_stopped)
    assert gated.any() and (df.loc[gated, "epoch"] == 0).all()
    assert not (over & gated).any()  # the budget stop decided first
    promoted_cut = (df["epoch"] >= 1) & (df["epoch"] < 3)
    assert promoted_cut.any() and asha.num_stopped == promoted_cut.sum()  # MO-ASHA stopped some at a rung
    complete = df["epoch"] == 3
    assert complete.any()
    assert searcher.stopped_early == (~complete).sum() and searcher.completed == 20
    front = pareto_front(df, metric, mode)
    assert (front["epoch"] == 3).all()
