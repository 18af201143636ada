"""Reading a finished search: trial outcomes, units and axis labels, and the normalised hypervolume
that says what it is normalised to."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from raynas import moo
from raynas.errors import InvalidConfigError
from searchers.results import (COMPLETE, FAILED, STOPPED, format_value, hypervolume_box, hypervolume_history,
                               metric_label, metric_unit, normalised_hypervolume, pareto_front, trial_status)
from tests._frames import METRIC, MODE, results_frame


def test_trial_status_names_complete_stopped_and_failed():
    assert trial_status(results_frame(), METRIC).tolist() == [COMPLETE] * 5 + [STOPPED, FAILED, FAILED]


def test_a_trial_that_raised_never_enters_the_front():
    df = results_frame()
    df.loc[7, ["accuracy", "latency_ms", "epoch"]] = [100.0, 0.1, 3]  # values from before it raised
    assert trial_status(df, METRIC)[7] == FAILED
    assert "t7" not in set(pareto_front(df, METRIC, MODE)["trial_id"])
    assert "t7" not in set(pareto_front(df, METRIC, MODE, include_incomplete=True)["trial_id"])


@pytest.mark.parametrize("name, mode, label", [
    ("accuracy", "max", "accuracy (%) \u2191"),
    ("latency_ms", "min", "latency (ms) \u2193"),
    ("latency_ms/raspi4", "min", "latency on raspi4 (ms) \u2193"),
    ("error", "min", "error (%) \u2193"),
    ("params", "min", "params (M) \u2193"),
    ("energy_mj", "min", "energy (mJ) \u2193"),
    ("val_loss", "min", "val_loss \u2193"),
    ("score", None, "score"),
])
def test_labels_carry_units_and_the_better_direction(name, mode, label):
    assert metric_label(name, mode) == label
    assert "(min)" not in metric_label(name, "min") and "(max)" not in metric_label(name, "max")


def test_your_own_units_win():
    assert metric_unit("energy", {"energy": "J"}) == "J" and metric_unit("energy") == ""
    assert metric_label("latency_ms", "min", {"latency_ms": "ms on CPU"}) == "latency_ms (ms on CPU) \u2193"
    assert metric_unit("latency_ms/pixel3") == "ms" and metric_unit("time_this_iter_s") == "s"
    assert format_value(93.456, "accuracy") == "93.46 %" and format_value(3.0, "score") == "3"
    with pytest.raises(InvalidConfigError, match="sideways"):
        metric_label("accuracy", "sideways")


def test_normalised_hypervolume_by_hand():
    # complete trials (accuracy, latency): (90, 5) (80, 2) (70, 1) (85, 6) (80, 2); best (90, 1), worst (70, 6);
    # the reference lies 10% of the range beyond the worst: (68, 6.5); box volume 22 * 5.5
    hv = normalised_hypervolume(results_frame(), METRIC, MODE)
    assert hv.ideal == (90.0, 1.0) and hv.reference == pytest.approx((68.0, 6.5))
    by_hand = ((90 - 68) * (6.5 - 5) + (80 - 68) * (5 - 2) + (70 - 68) * (2 - 1)) / (22 * 5.5)
    assert hv.value == pytest.approx(by_hand) and float(hv) == hv.value
    assert f"{hv:.3f}" == f"{by_hand:.3f}"
    text = str(hv)
    assert text.startswith(f"normalised hypervolume {by_hand:.3f} of the box from ideal "
                           "[accuracy 90 %, latency_ms 1 ms]")
    assert "reference [accuracy 68 %, latency_ms 6.5 ms]" in text and "5 complete trials" in text
    assert "10%" in text
    # margin 0: the reference is the worst trial itself; the trial at accuracy 70 adds nothing
    flat = normalised_hypervolume(results_frame(), METRIC, MODE, margin=0)
    assert flat.value == pytest.approx((20 * 1 + 10 * 3) / (20 * 5))


def test_the_raw_hypervolume_comes_from_raynas_moo():
    df = results_frame()
    hv = normalised_hypervolume(df, METRIC, MODE, ideal=[100.0, 0.0], reference=[0.0, 10.0])
    raw = moo.hypervolume(df.loc[:4, METRIC].to_numpy() * [-1, 1], [0.0, 10.0])
    assert hv.value == pytest.approx(raw / (100 * 10)) and "both given" in str(hv)


def test_given_box_bounds_the_value_to_one():
    hv = normalised_hypervolume(results_frame(), METRIC, MODE, ideal=[85.0, 3.0])  # trials beat this ideal
    assert 0 < hv.value <= 1 and "ideal given" in str(hv)
    with pytest.raises(InvalidConfigError, match=r"reference \[90.0, 6.0\] must be worse than ideal"):
        normalised_hypervolume(results_frame(), METRIC, MODE, ideal=[90.0, 1.0], reference=[90.0, 6.0])
    with pytest.raises(InvalidConfigError, match="must be worse"):
        normalised_hypervolume(results_frame(), METRIC, MODE, ideal=[0.0, 10.0], reference=[100.0, 0.0])


def test_one_box_for_two_searches_makes_their_values_compare():
    a, b = results_frame(), results_frame()
    b.loc[0, "accuracy"] = 95.0  # b found a better network
    ideal, nadir = hypervolume_box([a, b], METRIC, MODE)
    assert ideal == (95.0, 1.0) and nadir == (70.0, 6.0)
    assert hypervolume_box([a, b], METRIC, MODE, margin=0.1)[1] == pytest.approx((67.5, 6.5))
    ha = normalised_hypervolume(a, METRIC, MODE, ideal=ideal, reference=nadir)
    hb = normalised_hypervolume(b, METRIC, MODE, ideal=ideal, reference=nadir)
    assert hb.value > ha.value


def test_degenerate_box_gives_nan_not_a_crash():
    df = results_frame().iloc[:1]
    assert math.isnan(normalised_hypervolume(df, METRIC, MODE).value)
    history, final = hypervolume_history(df, METRIC, MODE)
    assert math.isnan(final.value) and history["hypervolume"].isna().all()
    with pytest.raises(InvalidConfigError, match="one value per metric"):
        normalised_hypervolume(results_frame(), METRIC, MODE, reference=[1.0])
    with pytest.raises(InvalidConfigError, match="margin"):
        normalised_hypervolume(results_frame(), METRIC, MODE, margin=-1)


def test_hypervolume_history_rises_only_with_complete_trials():
    history, final = hypervolume_history(results_frame(), METRIC, MODE)
    hv = history["hypervolume"].to_numpy()
    assert list(history["trial"]) == list(range(8)) and list(history["status"][5:]) == [STOPPED, FAILED, FAILED]
    assert np.all(np.diff(hv) >= 0) and hv[-1] == pytest.approx(final.value)
    assert hv[0] == pytest.approx((90 - 68) * (6.5 - 5) / (22 * 5.5))  # the first trial alone counts
    assert hv[5] == hv[4]  # the stopped trial, better than everything, does not count
    prefix = normalised_hypervolume(results_frame().iloc[:2], METRIC, MODE, ideal=final.ideal,
                                    reference=final.reference)
    assert hv[1] == pytest.approx(prefix.value)


def test_results_from_a_csv_with_missing_columns():
    df = pd.DataFrame({"accuracy": [90.0, 80.0], "latency_ms": [5.0, 2.0]})  # no fidelity, no errors
    assert trial_status(df, METRIC).tolist() == [COMPLETE, COMPLETE]
    assert normalised_hypervolume(df, METRIC, MODE).value > 0
