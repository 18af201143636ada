import numpy as np
import pandas as pd
import pytest

from raynas.errors import InvalidConfigError
from searchers.results import front_hypervolume, mark_complete, pareto_front


@pytest.fixture
def df():
    # a, b, c complete and mutually non-dominated; d complete but dominated by a;
    # e stopped early at epoch 1 and would dominate everything if it counted as complete.
    return pd.DataFrame({
        "trial_id": list("abcde"),
        "accuracy": [90.0, 80.0, 70.0, 85.0, 99.0],
        "latency_ms": [5.0, 2.0, 1.0, 6.0, 0.5],
        "epoch": [3, 3, 3, 3, 1],
        "max_epochs": [3, 3, 3, 3, 3],
        "training_iteration": [4, 4, 4, 4, 2],
    })


def test_front_keeps_only_complete_nondominated_trials(df):
    front = pareto_front(df, ["accuracy", "latency_ms"], ["max", "min"])
    assert list(front["trial_id"]) == ["a", "b", "c"]  # sorted by accuracy, best first
    assert front["complete"].all()
    everything = pareto_front(df, ["accuracy", "latency_ms"], ["max", "min"], include_incomplete=True)
    assert list(everything["trial_id"]) == ["e"]


def test_mark_complete_uses_max_epochs_or_fidelity(df):
    assert mark_complete(df).tolist() == [True, True, True, True, False]
    no_epochs = df.drop(columns=["epoch", "max_epochs"])
    assert mark_complete(no_epochs).tolist() == [True, True, True, True, False]


def test_non_finite_trials_never_enter_the_front(df):
    df.loc[0, "latency_ms"] = np.nan
    front = pareto_front(df, ["accuracy", "latency_ms"], ["max", "min"])
    assert "a" not in set(front["trial_id"]) and "d" in set(front["trial_id"])


def test_hypervolume_of_front(df):
    front = pareto_front(df, ["accuracy", "latency_ms"], ["max", "min"])
    # minimising (-acc, lat) with reference (-0, 10): boxes computed by hand
    hv = front_hypervolume(front, ["accuracy", "latency_ms"], ["max", "min"], reference=[0.0, 10.0])
    expected = 90 * (10 - 5) + 80 * (5 - 2) + 70 * (2 - 1)
    assert hv == pytest.approx(expected)


def test_bad_metric_mode_and_missing_columns(df):
    with pytest.raises(InvalidConfigError, match="sideways"):
        pareto_front(df, ["accuracy", "latency_ms"], ["max", "sideways"])
    with pytest.raises(InvalidConfigError, match="energy"):
        pareto_front(df, ["accuracy", "energy"], ["max", "min"])


def test_pareto_summary_front_and_hypervolume(df):
    from searchers.results import pareto_summary

    s = pareto_summary(df, ["accuracy", "latency_ms"], ["max", "min"], reference=[0.0, 10.0])
    assert list(s.front["trial_id"]) == ["a", "b", "c"]
    assert s.hypervolume == pytest.approx(90 * 5 + 80 * 3 + 70 * 1)
    assert (s.n_trials, s.n_complete) == (5, 4)
    # default reference: the nadir of the complete trials (accuracy 70, latency 6)
    d = pareto_summary(df, ["accuracy", "latency_ms"], ["max", "min"])
    assert d.reference == (70.0, 6.0)
    assert d.hypervolume == pytest.approx((90 - 70) * (6 - 5) + (80 - 70) * (5 - 2))
    with pytest.raises(InvalidConfigError, match="one value per metric"):
        pareto_summary(df, ["accuracy", "latency_ms"], ["max", "min"], reference=[1.0])


def test_is_complete_reads_the_fidelity_of_one_result():
    from searchers.results import is_complete

    assert is_complete({"accuracy": 1.0})
    assert is_complete({"epoch": 3, "max_epochs": 3})
    assert not is_complete({"epoch": 1, "max_epochs": 3})
    assert is_complete({"epoch": "?", "max_epochs": 3})


def test_trial_exception_does_not_clash_with_the_error_metric():
    """A ResultGrid's raised trial keeps its exception in ``trial_error``; the tabular ``error``
    metric (100 - accuracy) of the other trials is left as reported."""
    from types import SimpleNamespace

    from searchers.results import results_dataframe

    class Grid:
        def __init__(self, results):
            self.results = results

        def __len__(self):
            return len(self.results)

        def __getitem__(self, i):
            return self.results[i]

        def get_dataframe(self):  # pragma: no cover - only its presence marks a ResultGrid
            raise AssertionError("read from memory")

    grid = Grid([SimpleNamespace(metrics={"accuracy": 90.0, "error": 10.0}, config={"arch": "a"}, error=None),
                 SimpleNamespace(metrics={}, config={"arch": "b"}, error=RuntimeError("boom"))])
    df = results_dataframe(grid).set_index("config/arch")
    assert df.loc["a", "error"] == 10.0 and pd.isna(df.loc["b", "error"])
    assert df.loc["b", "trial_error"] == "RuntimeError: boom" and pd.isna(df.loc["a", "trial_error"])


def test_readable_results_put_people_first_and_bookkeeping_aside():
    import pandas as pd

    from searchers.results import TUNE_BOOKKEEPING, readable_results

    df = pd.DataFrame({"pid": [1, 2, 3], "accuracy": [90.0, 60.0, float("nan")], "latency_ms": [4.0, 2.0, 1.0],
                       "trial_id": ["a", "b", "c"], "epoch": [4, 1, 4], "max_epochs": [4, 4, 4],
                       "config/width": [8, 16, 8], "hostname": ["h"] * 3, "params": [0.1, 0.2, 0.3]})
    out = readable_results(df, ["accuracy", "latency_ms"])
    assert list(out.columns) == ["trial_id", "status", "accuracy", "latency_ms", "params", "epoch", "max_epochs",
                                 "config/width"]
    assert list(out["status"]) == ["complete", "stopped early", "failed"]
    assert not set(out.columns) & set(TUNE_BOOKKEEPING)
