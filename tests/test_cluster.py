"""Every raynas searcher and scheduler on a local multi-node Ray cluster: a head and two worker nodes
(``ray.cluster_utils.Cluster``, each node a raylet of its own with one CPU), trials spread over the
nodes (trainables report ``node_id``), and the ``raynas search --address`` command joining it.

All slow (a cluster takes ~10 s to start on this machine, longer under load); one cluster serves
the module and is shut down at its end, whatever happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import ray

import _zoo
from _cluster import alive_nodes, local_cluster, wait_until

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SMALL = {"channels": 4, "cells_per_stage": 1}
SEEN_NODES: set[str] = set()


@pytest.fixture(scope="module")
def cluster(data_dir):
    with local_cluster(workers=2, cpus_per_node=1) as c:
        assert len(alive_nodes()) == 3
        yield c


def _tune(trainable, searcher=None, scheduler=None, param_space=None, num_samples=1, concurrency=3, path=None):
    from ray import tune

    from searchers.results import results_dataframe

    # the previous run's actors may still hold their CPUs for a moment after its fit returned
    assert wait_until(lambda: ray.available_resources().get("CPU", 0) >= 3, 60), ray.available_resources()
    if searcher is not None:
        searcher = tune.search.ConcurrencyLimiter(searcher, concurrency)
    grid = tune.Tuner(trainable, param_space=param_space or {},
                      tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=num_samples,
                                                  reuse_actors=True, max_concurrent_trials=concurrency),
                      run_config=tune.RunConfig(storage_path=str(path), name="run", verbose=0)).fit()
    assert not grid.errors, grid.errors
    df = results_dataframe(grid)
    SEEN_NODES.update(df["node_id"])
    return df


@pytest.mark.parametrize("name", _zoo.adapter_names())
def test_searcher_on_three_nodes(cluster, name, tmp_path):
    from searchers.results import pareto_front
    from searchers.trainables import tabular_trainable

    searcher = _zoo.build(name, seed=0)
    trainable = tabular_trainable(devices=_zoo.trainable_devices(name), delay_s=1.0)
    df = _tune(trainable, searcher, param_space=_zoo.param_space(name), num_samples=6, path=tmp_path)
    assert len(df) == 6 and (df["outcome"] == "ok").all()
    assert df["node_id"].nunique() >= 2, df["node_id"].value_counts()  # 3 at once need 3 one-CPU nodes
    assert set(df["node_id"]) <= set(alive_nodes())
    assert len(pareto_front(df, _zoo.METRIC, _zoo.MODE)) >= 1


def _live(**kw):
    from searchers.trainables import live_trainable

    return live_trainable(dataset="digits", epochs=2, limit=100, latency_repeats=3, space_kwargs=SMALL, **kw)


def _grid(archs):
    from ray import tune

    return {"arch": tune.grid_search(archs)}


ARCHS = ["|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
         "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]


def test_hardware_budget_stop_on_three_nodes(cluster, tmp_path):
    from raynas.proxies import compute_proxies
    from raynas.spaces import NB201Space
    from searchers.schedulers import HardwareBudgetStop

    space = NB201Space(**SMALL)  # parameter counts in the trainable's unit (millions)
    params = {a: compute_proxies(space.build(space.parse(a), 10, 1), None, ["params"], input_shape=(1, 8, 8))["params"]
              for a in ARCHS}
    budget = (sorted(params.values())[1] + sorted(params.values())[2]) / 2  # the two smallest fit
    sched = HardwareBudgetStop(budget=budget, cost_metric="params")
    df = _tune(_live(), scheduler=sched, param_space=_grid(ARCHS), path=tmp_path).set_index("config/arch")
    for a in ARCHS:
        assert df.loc[a, "epoch"] == (2 if params[a] <= budget else 0), (a, params[a], budget)
    assert df["node_id"].nunique() >= 2


def test_proxy_gate_on_three_nodes(cluster, tmp_path):
    from searchers.schedulers import ProxyGate

    # largest networks first: the first passes (min_trials), the all-skip one (lowest synflow) cannot
    gate = ProxyGate("proxy/synflow", mode="max", quantile=0.5, min_trials=1)
    df = _tune(_live(proxies=("params", "synflow")), scheduler=gate, param_space=_grid(ARCHS[::-1]), concurrency=2,
               path=tmp_path)
    stopped = df["epoch"] == 0
    assert stopped.sum() == len(gate.gate_stopped) >= 1 and (df.loc[~stopped, "epoch"] == 2).all()
    assert df.loc[~stopped, "proxy/synflow"].min() >= df.loc[stopped, "proxy/synflow"].min()


@pytest.mark.parametrize("kind", ["mo_asha", "asha"])
def test_successive_halving_on_three_nodes(cluster, kind, tmp_path):
    from ray.tune.schedulers import ASHAScheduler

    from searchers.schedulers import MultiObjectiveASHA

    if kind == "mo_asha":
        sched = MultiObjectiveASHA(["accuracy", "latency_ms"], ["max", "min"], time_attr="epoch", max_t=2,
                                   grace_period=1, reduction_factor=2)
    else:
        sched = ASHAScheduler(metric="accuracy", mode="max", time_attr="epoch", max_t=2, grace_period=1,
                              reduction_factor=2)
    df = _tune(_live(), scheduler=sched, param_space=_grid(ARCHS), path=tmp_path)
    assert len(df) == 4 and set(df["epoch"]) <= {1, 2} and (df["epoch"] == 2).any()
    if kind == "mo_asha":
        assert (df["epoch"] == 1).sum() == sched.num_stopped


def test_raynas_search_command_joins_the_cluster(cluster, tmp_path):
    """What a user runs on a real cluster, against this one: ``raynas search --address HOST:PORT``."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, "-m", "raynas.cli", "search", "--address", cluster.address, "--samples", "3",
           "--epochs", "1", "--limit", "100", "--channels", "4", "--cells", "1", "--concurrency", "3",
           "--scheduler", "none", "--output", str(tmp_path)]
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    df = pd.read_csv(tmp_path / "results.csv")
    assert len(df) == 3 and set(df["node_id"]) <= set(alive_nodes())
    SEEN_NODES.update(df["node_id"])


def test_trials_ran_on_every_node(cluster):
    assert SEEN_NODES and SEEN_NODES <= set(alive_nodes()) and len(SEEN_NODES) == 3
