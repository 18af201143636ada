"""A short, real Tune run: live training on digits, latency measured here, NSGA-II + ASHA."""

import numpy as np
import pytest
import pandas as pd
from ray.tune.schedulers import ASHAScheduler

from raynas.errors import InvalidConfigError
from raynas.spaces import NB201Space
from searchers.experiment import run_search
from searchers.optuna_moo import optuna_moo_search
from searchers.spaces import tune_param_space
from searchers.trainables import live_trainable


def test_live_search_end_to_end(ray_local, tmp_path):
    kw = {"channels": 4, "cells_per_stage": 1}
    trainable = live_trainable(dataset="digits", epochs=2, limit=300, latency_repeats=5, space_kwargs=kw)
    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    outcome = run_search(
        trainable, tune_param_space(NB201Space(**kw)), optuna_moo_search(metric, mode, "nsga2", seed=1),
        ASHAScheduler(metric="accuracy", mode="max", time_attr="epoch", max_t=2, grace_period=1, reduction_factor=2),
        metric=metric, mode=mode, num_samples=4, output_dir=tmp_path, max_concurrent=2,
    )
    df = pd.read_csv(tmp_path / "results.csv")
    assert len(df) == 4
    assert (df["latency_ms"] > 0).all() and (df["params"] > 0).all() and (df["flops"] > 0).all()
    assert df["arch"].str.startswith("|").all()
    assert (tmp_path / "pareto.png").stat().st_size > 1000
    front = outcome.front
    assert 1 <= len(front) <= 4 and (front["epoch"] == 2).all()
    # nothing in the front is dominated by a complete trial
    complete = df[df["epoch"] == 2]
    for _, f in front.iterrows():
        dominated = (complete["accuracy"] >= f["accuracy"]) & (complete["latency_ms"] <= f["latency_ms"]) & (
            (complete["accuracy"] > f["accuracy"]) | (complete["latency_ms"] < f["latency_ms"]))
        assert not dominated.any()
    assert np.isfinite(df["accuracy"]).all()
    # Optuna-style accessors: the Pareto set as Tune Results, the front, its hypervolume
    best = outcome.best_trials
    assert sorted(r.metrics["trial_id"] for r in best) == sorted(front["trial_id"])
    assert outcome.front_dataframe().equals(front)
    hv = outcome.hypervolume([0.0, float(df["latency_ms"].max())])
    worst_case = front["accuracy"].max() * (df["latency_ms"].max() - front["latency_ms"].min())
    assert 0 < hv <= worst_case + 1e-9
    # a second search into the same directory is refused (nothing a user ran is lost) ...
    again = dict(metric=metric, mode=mode, num_samples=1, output_dir=tmp_path)
    with pytest.raises(InvalidConfigError, match="already holds a search"):
        run_search(trainable, tune_param_space(NB201Space(**kw)), optuna_moo_search(metric, mode, "tpe", seed=1),
                   **again)
    assert len(pd.read_csv(tmp_path / "results.csv")) == 4
    # ... unless asked to replace it
    run_search(trainable, tune_param_space(NB201Space(**kw)), optuna_moo_search(metric, mode, "tpe", seed=1),
               overwrite=True, **again)
    assert len(pd.read_csv(tmp_path / "results.csv")) == 1
