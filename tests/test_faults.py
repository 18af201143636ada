"""Faults end in recorded, explained trial outcomes and the search goes on.

* In-process (quick): the live trial body reports ``invalid_architecture``, ``out_of_memory``,
  ``latency_timeout`` and NaN proxies with an explanation instead of raising.
* Through Tune (local Ray): a search whose trials meet an unknown op, an injected OOM, an injected
  bug (raises; Tune records the error) completes every other trial, and the raynas searcher is told
  the failures as infinitely bad. (Retries through ``FailureConfig``: the node-loss test.)
* On a 3-node cluster (slow): a worker node removed mid-run; its trials are rescheduled on the
  surviving nodes through ``FailureConfig`` and complete.
* A live search through Tune (slow): NaN proxies gated by ProxyGate, a latency timeout, an OOM.
"""

from __future__ import annotations

import math
import sys
import threading
import time

import pytest
import ray.cloudpickle
import torch

from raynas.errors import InvalidConfigError
from raynas.spaces import NB201Space
from searchers.trainables import (OUTCOMES, LiveTrialSettings, failure_result, is_out_of_memory, run_live_trial,
                                  tabular_trainable)

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # fault injectors travel to the workers

SMALL = {"channels": 4, "cells_per_stage": 1}
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def live(config, **kw):
    settings = LiveTrialSettings(space_kwargs=SMALL, epochs=1, limit=100, latency_repeats=3, **kw)
    reports: list[dict] = []
    run_live_trial(config, settings, reports.append)
    return reports


def oom_on(target: str):
    def fail_on(arch_str: str):
        if arch_str == target:
            return torch.OutOfMemoryError("CPU out of memory: tried to allocate 96.00 GiB")
        return None
    return fail_on


def bug_on(target: str):
    return lambda arch_str: arch_str == target


# --- the trial body, in process ------------------------------------------------------------------
def test_unknown_op_is_an_explained_outcome_not_a_crash():
    cfg = {**NB201Space().to_config((1,) * 6), "edge_21": "conv_9x9"}
    (r,) = live(cfg)
    assert r["outcome"] == "invalid_architecture" and "conv_9x9" in r["explanation"]
    assert math.isnan(r["accuracy"]) and math.isnan(r["latency_ms"])
    (r,) = live({"edge_10": "skip_connect"})  # decisions missing
    assert r["outcome"] == "invalid_architecture" and "edge_20" in r["explanation"]


def test_out_of_memory_is_recorded_and_other_errors_raise():
    (r,) = live({"arch": CONV}, fail_on=oom_on(CONV))
    assert r["outcome"] == "out_of_memory" and "96.00 GiB" in r["explanation"] and r["arch"] == CONV
    with pytest.raises(RuntimeError, match="injected failure"):
        live({"arch": CONV}, fail_on=bug_on(CONV))
    assert is_out_of_memory(MemoryError()) and is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch")) and not is_out_of_memory(ValueError("out of memory"))


def test_non_finite_proxies_are_nan_with_a_reason_and_the_trial_trains():
    reports = live({"arch": ALL_NONE}, proxies=("params", "naswot", "jacob_cov", "synflow"))
    assert [r["epoch"] for r in reports] == [0, 1]
    last = reports[-1]
    assert last["outcome"] == "ok" and math.isnan(last["proxy/naswot"]) and math.isnan(last["proxy/jacob_cov"])
    assert last["proxy/synflow"] == 0.0 and last["params"] > 0
    assert "naswot failed: non-finite value (-inf)" in last["explanation"]
    assert "jacob_cov failed" in last["explanation"] and math.isfinite(last["accuracy"])


def test_latency_timeout_ends_the_trial_with_an_explanation():
    t0 = time.perf_counter()
    reports = live({"arch": CONV}, latency_timeout_s=1e-3)
    assert time.perf_counter() - t0 < 30
    (r,) = reports  # no training after a timeout
    assert r["outcome"] == "latency_timeout" and "latency_timeout_s=0.001" in r["explanation"]
    assert math.isnan(r["latency_ms"]) and math.isnan(r["accuracy"]) and r["params"] > 0
    # a generous budget measures as usual, with the timed passes reported
    ok = live({"arch": SKIP}, latency_timeout_s=60.0)[-1]
    assert ok["outcome"] == "ok" and ok["latency_ms"] > 0 and ok["latency_repeats"] == 3


def test_settings_name_bad_values():
    for kw, word in [({"epochs": 0}, "epochs"), ({"latency_timeout_s": -1}, "latency_timeout_s"),
                     ({"latency_timeout_s": float("nan")}, "latency_timeout_s"), ({"lr": "fast"}, "lr"),
                     ({"proxies": "synflow"}, "proxies"), ({"fail_on": 3}, "fail_on"), ({"threads": True}, "threads")]:
        with pytest.raises(InvalidConfigError, match=word):
            LiveTrialSettings(**kw)
    with pytest.raises(InvalidConfigError, match="ok"):
        failure_result("ok", "", [])
    assert set(OUTCOMES) >= {"ok", "invalid_architecture", "out_of_memory", "latency_timeout", "diverged"}


# --- through Tune, local Ray ---------------------------------------------------------------------
def test_tune_search_survives_bad_ops_oom_and_raising_trials(ray_local, data_dir, tmp_path):
    from ray import tune

    from searchers import make_searcher
    from searchers.results import pareto_front, results_dataframe

    space = NB201Space()
    archs = [space.arch_str(space.from_index(i)) for i in (5, 500, 5000, 9000, 12000, 15000)]
    oom, bug = archs[1], archs[2]

    def fail_on(arch_str):
        return oom_on(oom)(arch_str) or bug_on(bug)(arch_str)

    # the grid: six valid architectures and one naming an op NB201 does not have
    grid_archs = [*archs, "|conv_9x9~0|" + archs[0].split("|", 2)[2]]
    trainable = tabular_trainable(devices=["gold_6226"], fail_on=fail_on)
    tuner = tune.Tuner(trainable, param_space={"arch": tune.grid_search(grid_archs)},
                       tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=2),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), name="grid", verbose=0))
    grid = tuner.fit()
    df = results_dataframe(grid).set_index("config/arch")
    assert len(df) == 7
    assert df.loc[oom, "outcome"] == "out_of_memory" and "96.00 GiB" in df.loc[oom, "explanation"]
    assert "RuntimeError: injected failure" in df.loc[bug, "trial_error"]  # raised: Tune recorded the error
    bad = grid_archs[-1]
    assert df.loc[bad, "outcome"] == "invalid_architecture" and "conv_9x9" in df.loc[bad, "explanation"]
    fine = [a for a in archs if a not in (oom, bug)]
    assert (df.loc[fine, "outcome"] == "ok").all() and df.loc[fine, "accuracy"].notna().all()
    assert set(pareto_front(df.reset_index(), ["accuracy", "latency_ms"], ["max", "min"])["arch"]) <= set(fine)

    # a raynas searcher is told failed trials as infinitely bad and keeps proposing
    def oom_some(arch_str):  # about a fifth of NB201 has avg_pool on edge 1->0
        return torch.OutOfMemoryError("CPU out of memory") if arch_str.startswith("|avg_pool_3x3~0|") else None

    searcher = make_searcher("random", space, ["accuracy", "latency_ms"], ["max", "min"], seed=3)
    trainable = tabular_trainable(devices=["gold_6226"], fail_on=oom_some)
    tuner = tune.Tuner(trainable, param_space={},
                       tune_config=tune.TuneConfig(search_alg=searcher, num_samples=6, reuse_actors=True,
                                                   max_concurrent_trials=2),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), name="searched", verbose=0))
    df = results_dataframe(tuner.fit())
    assert len(df) == 6 and searcher.completed == 6
    failed = df["outcome"] == "out_of_memory"
    assert failed.any() and (~failed).any() and df.loc[failed, "arch"].str.startswith("|avg_pool_3x3~0|").all()
    told = {space.arch_str(a): v for a, v in zip(searcher.strategy.history.archs, searcher.strategy.history.values)}
    assert all(math.isinf(told[a][0]) for a in df.loc[failed, "arch"])
    assert all(math.isfinite(told[a][0]) for a in df.loc[~failed, "arch"])


# --- a worker node lost mid-run (3-node cluster) -------------------------------------------------
@pytest.mark.slow
def test_removed_worker_node_trials_are_rescheduled(data_dir, tmp_path):
    from ray import tune

    from _cluster import alive_nodes, local_cluster, wait_until
    from searchers import make_searcher
    from searchers.results import results_dataframe

    space = NB201Space()
    events: dict[str, list] = {"recovered": [], "errored": []}

    class Watch(tune.Callback):
        def on_trial_recover(self, iteration, trials, trial, **info):
            events["recovered"].append(trial.trial_id)

        def on_trial_error(self, iteration, trials, trial, **info):
            events["errored"].append(trial.trial_id)

    with local_cluster(workers=2) as cluster:
        victim = sorted(cluster.worker_nodes, key=lambda n: n.node_id)[0]
        assert len(alive_nodes()) == 3

        def remove_when_busy():
            # once every node runs a trial (3 CPUs, 3 trials at once), take a worker node away
            wait_until(lambda: len(events.setdefault("started", [])) >= 3, 120)
            time.sleep(1.0)
            events["removed_at"] = time.perf_counter()
            cluster.remove_node(victim, allow_graceful=False)

        class Started(tune.Callback):
            def on_trial_start(self, iteration, trials, trial, **info):
                events.setdefault("started", []).append(trial.trial_id)

        killer = threading.Thread(target=remove_when_busy, daemon=True)
        killer.start()
        searcher = make_searcher("random", space, ["accuracy", "latency_ms"], ["max", "min"], seed=0)
        grid = tune.Tuner(
            tabular_trainable(devices=["gold_6226"], delay_s=4.0),
            tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, 3), num_samples=6,
                                        reuse_actors=True),
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="lost_node", verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=3),
                                      callbacks=[Watch(), Started()]),
        ).fit()
        killer.join(60)
        assert "removed_at" in events and len(alive_nodes()) == 2
    df = results_dataframe(grid)
    assert len(df) == 6 and (df["outcome"] == "ok").all() and not grid.errors
    assert events["recovered"], "no trial was running on the removed node"
    assert victim.node_id not in set(df["node_id"])  # every result comes from a surviving node
    assert not events["errored"] and searcher.completed == 6
    print(f"rescheduled after node loss: {sorted(set(events['recovered']))}")


@pytest.mark.slow
def test_two_hundred_trials_sixteen_at_once_survive_a_lost_node(data_dir, tmp_path):
    """A ZeroCostSearch of 200 tabular trials, 16 at a time, on a 3-node cluster; one worker node
    is removed after 60 trials. Its zero-cost scoring runs as Ray tasks spread over the nodes.
    Nothing is lost (200 results, every one counted by the searcher once), nothing repeated (unique
    trial ids and architectures), and no result comes from the removed node after it left."""
    from ray import tune

    from _cluster import alive_nodes, local_cluster, wait_until
    from searchers import ZeroCostSearch
    from searchers.results import results_dataframe
    from searchers.spaces import tune_param_space

    space, n = NB201Space(), 200
    finished: list[str] = []

    class Count(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            finished.append(trial.trial_id)

    with local_cluster(workers=2, cpus_per_node=6, head_cpus=4) as cluster:
        victim = sorted(cluster.worker_nodes, key=lambda node: node.node_id)[0]
        removed: dict[str, float] = {}

        def remove_after_60():
            wait_until(lambda: len(finished) >= 60, 600)
            cluster.remove_node(victim, allow_graceful=False)
            removed["at"] = len(finished)

        killer = threading.Thread(target=remove_after_60, daemon=True)
        killer.start()
        searcher = ZeroCostSearch(space, ["accuracy", "latency_ms"], ["max", "min"], seed=0)
        grid = tune.Tuner(
            tabular_trainable(devices=["gold_6226"], delay_s=2.0),
            param_space=tune_param_space(space),
            tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, 16), num_samples=n,
                                        reuse_actors=True),
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="two_hundred", verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=3), callbacks=[Count()]),
        ).fit()
        killer.join(60)
        assert "at" in removed and len(alive_nodes()) == 2
        scoring_nodes = searcher.scores.executor.nodes
    df = results_dataframe(grid)
    # Tune may mark a trial whose actor went with the node as errored (ActorDiedError or
    # ActorUnavailableError): usually after it had reported its (only) result, which is kept (3 of 7
    # runs in an earlier session); sometimes before, when Tune retried it on the removed node until
    # its retries ran out (3 of 7 runs on 2026-12-04). (Runs that hung instead were raynas's: a wait
    # for scores queued behind other chunks spun; test_searchers.py checks it no longer does.)
    # At most one trial may go that way; any other error is a failure.
    errored = [r for r in grid if r.error is not None]
    for r in errored:
        assert type(r.error).__name__ in ("ActorDiedError", "ActorUnavailableError"), r.error
    lost = [r for r in errored if r.metrics.get("outcome") != "ok"]
    assert len(lost) <= 1, [r.metrics for r in lost]
    # results_dataframe keeps a row for a lost trial: its config and trial_error, no metrics
    ok = df[df["outcome"] == "ok"]
    assert len(df) == n and len(ok) == n - len(lost)
    if lost:
        assert df.loc[df["outcome"] != "ok", "trial_error"].str.startswith(("ActorDiedError",
                                                                            "ActorUnavailableError")).all()
    assert ok["trial_id"].is_unique and ok["arch"].is_unique  # ZeroCostSearch never repeats an architecture
    assert searcher.completed in (n - len(lost), n)  # every result told to the searcher once, never twice
    assert len(scoring_nodes) >= 2, scoring_nodes  # zero-cost scoring ran on more than one node
    print(f"lost a node after {removed['at']} trials; scoring chunks per node: {dict(scoring_nodes)}; "
          f"errored: {len(errored)}, of them before reporting: {len(lost)}")


# --- a live search through Tune -------------------------------------------------------------------
@pytest.mark.slow
def test_live_search_records_nan_proxies_timeouts_and_oom(ray_local, tmp_path):
    from ray import tune

    from searchers.results import results_dataframe
    from searchers.schedulers import ProxyGate
    from searchers.trainables import live_trainable

    conv_big = CONV
    archs = [SKIP, ALL_NONE, CONV, "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"]
    # at 48 channels and batch 512 a pass of the all-conv network takes ~0.8 s here, one of the all-skip
    # network ~55 ms: a 1 s budget (at least four conv passes, four skip passes in all) leaves a wide
    # margin both ways on machines several times faster or slower
    trainable = live_trainable(dataset="digits", epochs=2, limit=200, latency_repeats=3, latency_batch_size=512,
                               latency_warmup=1, latency_timeout_s=1.0, proxies=("params", "naswot"),
                               fail_on=oom_on(archs[3]), space_kwargs={"channels": 48, "cells_per_stage": 5})
    gate = ProxyGate("proxy/naswot", mode="max", quantile=0.5, min_trials=1)
    grid = tune.Tuner(trainable, param_space={"arch": tune.grid_search(archs)},
                      tune_config=tune.TuneConfig(scheduler=gate, reuse_actors=True, max_concurrent_trials=1),
                      run_config=tune.RunConfig(storage_path=str(tmp_path), name="live", verbose=0)).fit()
    df = results_dataframe(grid).set_index("config/arch")
    assert len(df) == 4 and not grid.errors
    assert df.loc[SKIP, "outcome"] == "ok" and df.loc[SKIP, "epoch"] == 2
    none = df.loc[ALL_NONE]
    assert "naswot failed: non-finite value" in none["explanation"] and math.isnan(none["proxy/naswot"])
    assert none["epoch"] == 0  # the gate stopped it before training (NaN never passes)
    assert df.loc[conv_big, "outcome"] == "latency_timeout"
    assert df.loc[archs[3], "outcome"] == "out_of_memory"
