"""A finished search exported into an Optuna storage reads back through Optuna's API and
optuna-dashboard's HTTP API as the search it was."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from raynas.errors import InvalidConfigError
from searchers.export import export_to_optuna, infer_distribution, storage_url
from searchers.results import pareto_front
from tests._frames import METRIC, MODE, results_frame


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'search.db'}"


def test_exported_study_reads_back_with_optunas_api(db):
    df = results_frame()
    export_to_optuna(df, METRIC, MODE, storage=db, study_name="zc-run")
    study = optuna.load_study(study_name="zc-run", storage=db)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == METRIC
    assert study.user_attrs["units"] == {"accuracy": "%", "latency_ms": "ms"}
    trials = study.trials
    assert [t.user_attrs["trial_id"] for t in trials] == list(df["trial_id"])  # one per trial, in order
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5 + [TrialState.PRUNED] + [TrialState.FAIL] * 2
    for t, row in zip(trials[:5], df.to_dict("records")):
        assert t.values == [row["accuracy"], row["latency_ms"]]  # metric order
        assert t.params == {k: row[f"config/{k}"] for k in ("edge", "lr", "width", "bn")}
        assert t.user_attrs["latency_ms/raspi4"] == row["latency_ms/raspi4"] and t.user_attrs["arch"] == row["arch"]
        assert t.user_attrs["epoch"] == 3 and t.user_attrs["outcome"] == "ok"
        assert not {"pid", "date", "hostname", "done", "timestamp", "accuracy"} & set(t.user_attrs)
        seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        assert seconds == pytest.approx(row["time_total_s"], abs=1e-3)
    stopped, explained, raised = trials[5:]
    assert stopped.values == [99.0, 0.5] and stopped.user_attrs["epoch"] == 1  # last values kept
    assert explained.values is None and explained.user_attrs["outcome"] == "invalid_architecture"
    assert "conv9x9" in explained.user_attrs["explanation"]
    assert "accuracy" in explained.user_attrs["fail_reason"]
    assert raised.values is None and raised.user_attrs["trial_error"] == "RuntimeError: node died"
    d = trials[0].distributions
    assert d["edge"] == CategoricalDistribution(["avg_pool_3x3", "none", "nor_conv_3x3", "skip_connect"])
    assert d["lr"] == FloatDistribution(0.01, 0.3) and d["width"] == IntDistribution(4, 32)
    assert d["bn"] == CategoricalDistribution([False, True])


def test_best_trials_are_raynas_pareto_front(db):
    df = results_frame()
    study = export_to_optuna(df, METRIC, MODE, storage=db, study_name="front")
    front = pareto_front(df, METRIC, MODE)
    best = sorted(t.user_attrs["trial_id"] for t in optuna.load_study(study_name="front", storage=db).best_trials)
    assert best == sorted(front["trial_id"]) == ["t0", "t1", "t2", "t4"]  # ties kept by both, t5 is not complete
    assert sorted(t.number for t in study.best_trials) == [0, 1, 2, 4]


def test_single_objective_pruned_trial_has_its_intermediate_value(db):
    df = results_frame()
    study = export_to_optuna(df, ["accuracy"], ["max"], storage=db, study_name="one")
    stopped = study.trials[5]
    assert stopped.state == TrialState.PRUNED and stopped.intermediate_values == {1: 99.0}
    assert study.best_trial.user_attrs["trial_id"] == "t0"  # the stopped 99% does not count
    assert study.trials[0].intermediate_values == {}


def test_existing_study_is_refused_unless_overwritten(tmp_path):
    path = tmp_path / "plain path.db"
    df = results_frame()
    export_to_optuna(df, METRIC, MODE, storage=path, study_name="s")  # a file path is an SQLite file
    assert path.is_file()
    with pytest.raises(InvalidConfigError, match="'s' already exists"):
        export_to_optuna(df, METRIC, MODE, storage=path, study_name="s")
    export_to_optuna(df.iloc[:3], METRIC, MODE, storage=path, study_name="s", overwrite=True)
    assert len(optuna.load_study(study_name="s", storage=storage_url(path)).trials) == 3
    export_to_optuna(df, METRIC, MODE, storage=path, study_name="another")
    assert sorted(optuna.get_all_study_names(storage_url(path))) == ["another", "s"]


def test_distributions_from_a_tune_param_space_or_given(db):
    from ray import tune

    df = results_frame()
    space = {"edge": tune.choice(OPS_ALL), "lr": tune.loguniform(1e-3, 1.0), "width": tune.randint(1, 64),
             "bn": True}  # a constant: inferred from the values
    study = export_to_optuna(df, METRIC, MODE, storage=db, study_name="space", distributions=space)
    d = study.trials[0].distributions
    assert d["edge"] == CategoricalDistribution(OPS_ALL)
    assert d["lr"] == FloatDistribution(1e-3, 1.0, log=True) and d["width"] == IntDistribution(1, 63)
    assert d["bn"] == CategoricalDistribution([False, True])
    with pytest.raises(InvalidConfigError, match="t0.*0.1"):
        export_to_optuna(df, METRIC, MODE, storage=db, study_name="bad",
                         distributions={"lr": FloatDistribution(0.5, 1.0)})


OPS_ALL = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def test_infer_distribution():
    import pandas as pd

    assert infer_distribution(pd.Series([3, 1, 2])) == IntDistribution(1, 3)
    assert infer_distribution(pd.Series([0.5, 2.0, None])) == FloatDistribution(0.5, 2.0)
    assert infer_distribution(pd.Series(["b", "a", "b"])) == CategoricalDistribution(["a", "b"])
    assert infer_distribution(pd.Series([[1, 2], [3]])) == CategoricalDistribution(["[1, 2]", "[3]"])


def test_bad_arguments_are_named(db):
    df = results_frame()
    with pytest.raises(InvalidConfigError, match="energy"):
        export_to_optuna(df, ["accuracy", "energy"], MODE, storage=db)
    with pytest.raises(InvalidConfigError, match="sideways"):
        export_to_optuna(df, METRIC, ["max", "sideways"], storage=db)
    with pytest.raises(InvalidConfigError, match="study_name"):
        export_to_optuna(df, METRIC, MODE, storage=db, study_name="")


# --- optuna-dashboard -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout_s: float = 60.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"optuna-dashboard exited with {proc.returncode}: "
                                     f"{proc.stderr.read().decode(errors='replace')[-2000:]}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_optuna_dashboard_serves_the_exported_study(tmp_path, db):
    pytest.importorskip("optuna_dashboard", reason="pip install 'raynas[dashboard]'")
    exe = Path(sys.executable).with_name("optuna-dashboard")
    command = [str(exe)] if exe.is_file() else [shutil.which("optuna-dashboard") or "optuna-dashboard"]
    df = results_frame()
    export_to_optuna(df, METRIC, MODE, storage=db, study_name="zc-run")
    port = _free_port()
    proc = subprocess.Popen([*command, db, "--host", "127.0.0.1", "--port", str(port), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        listing = _get_json(f"http://127.0.0.1:{port}/api/studies", proc=proc)
        (study,) = listing["study_summaries"]
        assert study["study_name"] == "zc-run" and study["directions"] == ["maximize", "minimize"]
        detail = _get_json(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}")
        assert len(detail["trials"]) == len(df)
        assert sorted(t["number"] for t in detail["best_trials"]) == [0, 1, 2, 4]
        assert [t["state"] for t in detail["trials"]].count("Complete") == 5
        complete = detail["trials"][0]
        assert complete["values"] == [90.0, 5.0] and not math.isnan(complete["values"][0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_optunas_own_plots_read_the_exported_study(db):
    """``optuna.visualization`` needs plotly (not a raynas dependency); its matplotlib twin draws the
    same Pareto-front plot from the exported study."""
    import warnings

    from optuna.visualization.matplotlib import plot_pareto_front

    study = export_to_optuna(results_frame(), METRIC, MODE, storage=db, study_name="plots")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_pareto_front(study)
    drawn = sorted(tuple(p) for c in ax.collections for p in c.get_offsets())
    assert drawn == sorted([(90.0, 5.0), (80.0, 2.0), (70.0, 1.0), (85.0, 6.0), (80.0, 2.0)])  # the complete trials
    import matplotlib.pyplot as plt

    plt.close("all")
