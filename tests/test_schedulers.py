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
