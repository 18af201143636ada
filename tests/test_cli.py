import subprocess
import sys

import pandas as pd
import pytest

from raynas.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "raynas.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,needle", [
    (["search", "--samples", "-5"], "-5"),
    (["search", "--epochs", "zero"], "zero"),
    (["search", "--dataset", "cifar5"], "cifar5"),
    (["search", "--dataset", "fashion-mnist", "--data-dir", "/no/such/dir"], "/no/such/dir"),
    (["search", "--searcher", "hyperband"], "hyperband"),
    (["search", "--compare", "optuna-bohb"], "optuna-bohb"),
    (["search", "--compare", "tpe", "--resume"], "--compare"),
    (["search", "--searcher", "similarity", "--budget", "-1"], "-1"),
    (["search", "--searcher", "hypernet", "--refit-every", "-2"], "-2"),
    (["search", "--searcher", "hypernet", "--accuracy-labels", "0"], "'0'"),
])
def test_bad_search_input_is_one_line_naming_the_value(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pareto_command_prints_front(tmp_path, capsys):
    pd.DataFrame({"accuracy": [90.0, 80.0, 70.0], "latency_ms": [5.0, 2.0, 6.0], "arch": ["a", "b", "c"]}).to_csv(
        tmp_path / "results.csv", index=False)
    assert main(["pareto", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 architectures" in out and " a" in out and " b" in out and " c\n" not in out


def test_pareto_command_exports_to_an_optuna_storage(tmp_path, capsys):
    import optuna

    pd.DataFrame({"accuracy": [90.0, 80.0, 70.0], "latency_ms": [5.0, 2.0, 6.0], "arch": ["a", "b", "c"],
                  "epoch": [4, 4, 1], "max_epochs": [4, 4, 4]}).to_csv(tmp_path / "results.csv", index=False)
    db = tmp_path / "study.db"
    assert main(["pareto", str(tmp_path), "--export", str(db), "--study", "demo"]) == 0
    assert f"optuna-dashboard sqlite:///{db}" in capsys.readouterr().out
    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{db}")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert sorted(t.values for t in study.best_trials) == [[80.0, 2.0], [90.0, 5.0]]


def test_pareto_command_missing_results(tmp_path, capsys):
    assert main(["pareto", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err


ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.mark.parametrize("arch,needle", [
    ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv_9x9"),
    ("not-an-arch", "not-an-arch"),
])
def test_proxies_bad_architecture_is_one_line(arch, needle, capsys):
    assert main(["proxies", arch, "--names", "params"]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_proxies_unknown_proxy_name(capsys):
    assert main(["proxies", ARCH, "--names", "synfloww"]) == 2
    assert "synfloww" in capsys.readouterr().err


def test_proxies_table_for_strings_and_indices(capsys, data_dir):
    assert main(["proxies", ARCH, "1", "--names", "synflow", "params", "--batch", "random",
                 "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("|", "1 "))]
    assert [r[0] for r in rows] == [ARCH, "1"]  # each row names the input it answers
    assert rows[0][1] == rows[1][1] == ARCH  # NAS-Bench-201 index 1 is this architecture
    assert rows[0][2:] == rows[1][2:]
    assert float(rows[0][-1]) == pytest.approx(0.802426, rel=1e-4)  # params (M) of that network


@pytest.mark.slow
def test_search_then_resume_keeps_every_trial(tmp_path):
    """A finished (or interrupted) search resumes from its output directory: no trial runs again."""
    common = ["search", "--samples", "3", "--epochs", "1", "--channels", "4", "--cells", "1", "--limit", "200",
              "--scheduler", "none", "--output", str(tmp_path)]
    first = subprocess.run([sys.executable, "-m", "raynas.cli", *common], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    before = pd.read_csv(tmp_path / "results.csv")
    again = subprocess.run([sys.executable, "-m", "raynas.cli", *common, "--resume"], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    after = pd.read_csv(tmp_path / "results.csv")
    assert sorted(after["trial_id"]) == sorted(before["trial_id"]) and len(after) == 3
    assert "[  1/3]" not in again.stdout  # nothing was trained again


def test_a_folder_shadowing_the_package_is_named(tmp_path):
    """A clone named raynas/ in the working directory wins over an editable install as a namespace
    package; importing the Tune layer says so instead of failing later inside Ray workers."""
    (tmp_path / "raynas" / "raynas").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", "import searchers"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    if "shadows" not in proc.stderr and proc.returncode == 0:
        pytest.skip("raynas is installed as a regular package here; a namespace folder cannot shadow it")
    assert proc.returncode != 0 and "shadows the installed raynas package" in proc.stderr
    assert str(tmp_path / "raynas") in proc.stderr


def test_searcher_names_map_to_searchers():
    from types import SimpleNamespace

    from ray.tune.search.optuna import OptunaSearch

    from raynas.cli import SEARCHER_CHOICES, _make_search_alg, _searcher_name
    from raynas.spaces import NB201Space
    from searchers import AgingEvolutionSearch, PredictorSearch, RandomSearch, ZeroCostSearch

    assert _searcher_name("tpe") == "optuna-tpe" and _searcher_name("zc") == "zc"
    args = SimpleNamespace(seed=0, population=10)
    space, metric, mode = NB201Space(channels=8, cells_per_stage=1), ["accuracy", "latency_ms"], ["max", "min"]
    trained_first = ("hypernet", "similarity")  # built from tables / a reference: tests below
    kinds = {name: type(_make_search_alg(name, space, metric, mode, args)) for name in SEARCHER_CHOICES
             if name not in trained_first}
    assert kinds["zc"] is ZeroCostSearch and kinds["predictor"] is PredictorSearch
    assert kinds["aging"] is AgingEvolutionSearch and kinds["random"] is RandomSearch
    assert all(kinds[n] is OptunaSearch for n in SEARCHER_CHOICES if n.startswith("optuna-"))


def test_compare_table_uses_one_reference_for_both():
    from types import SimpleNamespace

    from raynas.cli import _compare_table

    a = pd.DataFrame({"accuracy": [90.0, 50.0], "latency_ms": [4.0, 1.0]})
    b = pd.DataFrame({"accuracy": [90.0], "latency_ms": [2.0]})
    out = _compare_table([("zc", SimpleNamespace(front=a, results=a, wall_time_s=3.0)),
                          ("optuna-gp", SimpleNamespace(front=b, results=b, wall_time_s=2.0))],
                         ["accuracy", "latency_ms"], ["max", "min"])
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    # one box for both: ideal (90 %, 1 ms), reference 10 % of the range beyond the worst (46 %, 4.3 ms)
    assert "from ideal [accuracy 90 %, latency_ms 1 ms]" in out and "to reference [accuracy 46 %, latency_ms 4.3 ms]" in out
    x = lambda acc: (90 - acc) / 44  # noqa: E731 - box coordinates, 0 at the ideal, 1 at the reference
    y = lambda lat: (lat - 1) / 3.3  # noqa: E731
    # zc: (90 %, 4 ms) and (50 %, 1 ms) -> two strips minus their overlap
    zc = (1 - y(4)) + (1 - x(50)) - (1 - y(4)) * (1 - x(50))
    assert float(rows["zc"][5]) == pytest.approx(zc, abs=1e-3)
    assert float(rows["optuna-gp"][5]) == pytest.approx(1 - y(2), abs=1e-3)


@pytest.mark.slow
def test_tune_loggers_flag_writes_per_trial_files(tmp_path):
    args = ["search", "--samples", "2", "--epochs", "1", "--channels", "4", "--cells", "1", "--limit", "200",
            "--scheduler", "none", "--output", str(tmp_path / "on")]
    proc = subprocess.run([sys.executable, "-m", "raynas.cli", *args, "--tune-loggers"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list((tmp_path / "on").rglob("progress.csv"))) == 2
    assert "status" in pd.read_csv(tmp_path / "on" / "results.csv").columns
    assert (tmp_path / "on" / "tune_results.csv").is_file()


def test_parser_accepts_hypernet_and_similarity():
    from raynas.cli import DEFAULT_TRAIN_DEVICES, _searcher_name, build_parser

    assert _searcher_name("hypernet") == "hypernet" and _searcher_name("similarity") == "similarity"
    args = build_parser().parse_args(["search", "--searcher", "hypernet", "--compare", "similarity",
                                      "--train-devices", "pixel3", "raspi4", "--accuracy-labels", "20",
                                      "--refit-every", "0", "--reference", "ref.pt", "--budget", "2.5"])
    assert (args.searcher, args.compare, args.train_devices) == ("hypernet", "similarity", ["pixel3", "raspi4"])
    assert (args.accuracy_labels, args.refit_every, args.reference, args.budget) == (20, 0, "ref.pt", 2.5)
    assert set(args.given) == {"--train-devices", "--accuracy-labels", "--refit-every", "--reference", "--budget"}
    defaults = build_parser().parse_args(["search"])
    assert defaults.given == () and defaults.budget is None and defaults.reference is None
    assert (defaults.accuracy_labels, defaults.refit_every) == (100, 24)
    assert defaults.train_devices == list(DEFAULT_TRAIN_DEVICES)


def test_default_train_devices_are_table_columns(data_dir):
    from raynas.cli import DEFAULT_TRAIN_DEVICES
    from raynas.hardware.registry import table_devices

    assert set(DEFAULT_TRAIN_DEVICES) <= set(table_devices("nb201", data_dir))


@pytest.mark.parametrize("args,needle", [
    (["--budget", "3"], "--budget is an option of --searcher similarity; this search runs zc"),
    (["--searcher", "similarity", "--train-devices", "pixel3"], "--train-devices is an option of --searcher hypernet"),
    (["--searcher", "hypernet", "--compare", "tpe", "--reference", "r.pt"], "runs hypernet and optuna-tpe"),
    (["--searcher", "similarity", "--reference", "/no/such/ref.pt"], "'/no/such/ref.pt'"),
])
def test_searcher_option_misuse_is_one_line(args, needle, tmp_path, capsys):
    assert main(["search", *args, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and err.startswith("raynas: error: ")


def test_an_option_of_the_compared_searcher_is_accepted():
    from raynas.cli import _check_searcher_options, build_parser

    args = build_parser().parse_args(["search", "--compare", "similarity", "--budget", "2"])
    _check_searcher_options(args)  # --budget belongs to the second search


def test_hypernet_without_tables_names_the_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAYNAS_DATA", str(tmp_path))
    assert main(["search", "--searcher", "hypernet", "--channels", "4", "--cells", "1", "--output",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "nb201") in err and "raynas data fetch" in err


def _save_small_reference(path, **metadata):
    from raynas.reference import ReferenceModel, build_reference_model, save_reference

    model, meta = build_reference_model("resnet", num_classes=10, in_channels=1, resnet_width=4, resnet_blocks=1)
    return save_reference(ReferenceModel(model, None, {**meta, "dataset": "digits", **metadata}), path)


def test_similarity_reference_of_another_dataset_is_refused(tmp_path, capsys):
    ref = _save_small_reference(tmp_path / "ref.pt", dataset="fashion-mnist")
    assert main(["search", "--searcher", "similarity", "--reference", str(ref), "--channels", "4", "--cells", "1",
                 "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'fashion-mnist'" in err and "--dataset" in err


def test_similarity_searcher_from_a_saved_reference(tmp_path):
    from types import SimpleNamespace

    from raynas.cli import _make_search_alg
    from raynas.spaces import NB201Space
    from searchers import SimilarityEvolutionSearch

    ref = _save_small_reference(tmp_path / "ref.pt")
    args = SimpleNamespace(seed=0, dataset="digits", data_dir=None, reference=str(ref), budget=0.5, epochs=1,
                           limit=200)
    space = NB201Space(channels=4, cells_per_stage=1)
    search = _make_search_alg("similarity", space, ["accuracy", "latency_ms"], ["max", "min"], args)
    assert isinstance(search, SimilarityEvolutionSearch) and search.strategy.budget == 0.5
    config = search.suggest("t0")
    assert space.validate(space.from_config(config))
    cost = search.strategy.records[space.from_config(config)]["cost"]
    assert 0 < cost < 1000  # ms on this CPU, timed at the digits input shape (1 x 8 x 8)


def _search(tmp_path, *args, env=None):
    common = ["search", "--samples", "3", "--epochs", "1", "--channels", "4", "--cells", "1", "--limit", "200",
              "--scheduler", "none", "--concurrency", "1", "--output", str(tmp_path / "out")]
    proc = subprocess.run([sys.executable, "-m", "raynas.cli", *common, *args], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, pd.read_csv(tmp_path / "out" / "results.csv")


def test_similarity_search_end_to_end(tmp_path):
    """The default path: a reference is trained on --dataset, then the evolution suggests the trials."""
    proc, results = _search(tmp_path, "--searcher", "similarity", "--budget", "0.5")
    assert "training a SmallResNet reference on digits" in proc.stdout
    assert len(results) == 3 and (results["outcome"] == "ok").all()
    assert results["arch"].nunique() == 3  # the strategy never proposes an architecture twice


@pytest.mark.slow
def test_hypernet_search_end_to_end(tmp_path, data_dir):
    """Trains the hypernetwork from the tables (progress logged as it goes), profiles this CPU, and
    the trainable runs the suggested configs with their target_device/preference keys."""
    import os

    env = {**os.environ, "RAYNAS_DATA": str(data_dir)}
    proc, results = _search(tmp_path, "--searcher", "hypernet", "--accuracy-labels", "20", "--refit-every", "2",
                            env=env)
    assert "hypernetwork training (MGD): started" in proc.stderr
    assert "hypernetwork training (MGD): done" in proc.stderr
    assert len(results) == 3 and (results["outcome"] == "ok").all()
    assert (results["config/target_device"] == results["latency_device"]).all()  # this CPU, the one target


def test_tune_settings_mutes_the_missing_result_file_warning_only_inside():
    """Without per-trial files Tune's result reader warns once per trial; tune_settings mutes that
    logger for the fit and gives it back as it was (it is the user's process)."""
    import logging

    from searchers.experiment import tune_settings

    log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    log.setLevel(logging.INFO)
    try:
        with tune_settings():
            assert log.level == logging.ERROR
        assert log.level == logging.INFO
        with tune_settings(tune_loggers=True):  # files written: nothing to mute
            assert log.level == logging.INFO
    finally:
        log.setLevel(logging.NOTSET)
