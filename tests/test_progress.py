"""The live view: counts, the front, a normalised hypervolume in a box that never moves, a time estimate."""

import logging

import numpy as np
import pytest

from raynas import moo
from raynas.errors import InvalidConfigError
from searchers import SearchProgress
from searchers.progress import live_box

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]


def _unit_box_hv(points, ideal, reference) -> float:
    """HV of ``points`` (accuracy %, latency ms) in the box from ``ideal`` to ``reference``, by hand."""
    y = np.array([[(ideal[0] - a) / (ideal[0] - reference[0]), (lat - ideal[1]) / (reference[1] - ideal[1])]
                  for a, lat in points])
    return moo.hypervolume(np.maximum(y, 0), [1.0, 1.0])


def test_counts_front_and_fixed_box(caplog):
    p = SearchProgress(METRIC, MODE, total=10, fix_after=2, table=False)
    with caplog.at_level(logging.INFO, logger="raynas"):
        p.tell({"accuracy": 90.0, "latency_ms": 4.0, "epoch": 4, "max_epochs": 4})
        p.tell({"accuracy": 60.0, "latency_ms": 2.0, "epoch": 1, "max_epochs": 4})  # stopped early
        p.tell({"outcome": "out_of_memory", "explanation": "needs 9 GB"})
        assert np.isnan(p.hypervolume())  # no box yet
        p.tell({"accuracy": 80.0, "latency_ms": 1.0, "epoch": 4, "max_epochs": 4})
    # first two complete trials: accuracy 80..90 (range 10), latency 1..4 ms (range 3). Reference 10 %
    # of the range beyond the worst (79 %, 4.3 ms); ideal one range beyond the best, but not past 100 %
    # nor below 0 ms
    assert "box fixed after 2 complete trials: ideal (accuracy 100 %, latency_ms 0 ms), " \
           "reference (accuracy 79 %, latency_ms 4.3 ms)" in caplog.text
    assert "[  3/10]" in caplog.text and "out_of_memory: needs 9 GB" in caplog.text
    assert "accuracy=60  latency_ms=2  stopped early" in caplog.text
    assert (len(p.complete), p.stopped, p.failed, p.finished) == (2, 1, 1, 4)
    ideal, ref = (100.0, 0.0), (79.0, 4.3)
    first = p.hypervolume()
    assert first == pytest.approx(_unit_box_hv([(90, 4), (80, 1)], ideal, ref))
    p.tell({"accuracy": 95.0, "latency_ms": 2.0, "epoch": 4, "max_epochs": 4})
    assert p.hypervolume() == pytest.approx(_unit_box_hv([(90, 4), (80, 1), (95, 2)], ideal, ref))  # box kept
    assert p.hypervolume() > first
    line = p.line(running=2)
    assert line.startswith("search: 2 running, 5/10 finished (3 complete, 1 stopped early, 1 failed)")
    assert "front 2: accuracy 95 % (max), latency_ms 1 ms (min)" in line
    assert f"HV {p.hypervolume():.3f} of the box fixed at trial 2" in line and "left" in line


def test_table_lists_the_front_and_the_box():
    p = SearchProgress(METRIC, MODE, total=4, reference=[0.0, 10.0], ideal=[100.0, 0.0], trial_lines=False)
    for acc, lat in ((50.0, 5.0), (70.0, 8.0), (40.0, 9.0)):
        p.tell({"accuracy": acc, "latency_ms": lat})
    table = p.table(running=1)
    lines = table.splitlines()
    assert lines[0].startswith("search: 1 running, 3/4 finished (3 complete")
    assert "Pareto front, 2 trial(s)" in lines[1] and "accuracy (%) \u2191" in lines[1] and "latency (ms) \u2193" in lines[1]
    assert [ln.split() for ln in lines[2:4]] == [["70", "8"], ["50", "5"]]  # the front, best accuracy first
    # given box: HV = area dominated in (100 - acc) / 100 x lat / 10
    assert p.hypervolume() == pytest.approx((0.5 - 0.3) * (1 - 0.8) + (1 - 0.5) * (1 - 0.5))
    assert lines[4].startswith(f"  HV {p.hypervolume():.3f}") and "reference (accuracy 0 %, latency_ms 10 ms)" in lines[4]


def test_live_box_bounds():
    signs = np.array([-1.0, 1.0])
    # accuracy as a fraction (no % unit) is not clipped at 100; a cost that was never negative is kept >= 0
    ideal, ref = live_box(np.array([[-0.9, 2.0], [-0.5, 3.0]]), ["score", "latency_ms"], signs)
    assert ideal == pytest.approx([-1.3, 1.0]) and ref == pytest.approx([-0.46, 3.1])
    # identical trials: a box of 10 % of the value around them instead of an empty one
    ideal, ref = live_box(np.array([[-50.0, 2.0], [-50.0, 2.0]]), METRIC, signs)
    assert np.all(ideal < ref)


def test_given_box_and_bad_input():
    p = SearchProgress(METRIC, MODE, reference=[0.0, 10.0], ideal=[100.0, 0.0])
    p.tell({"accuracy": 50.0, "latency_ms": 5.0})  # no fidelity keys: a finished trial is complete
    assert p.hypervolume() == pytest.approx(0.25)
    with pytest.raises(InvalidConfigError, match="reference needs one value per metric"):
        SearchProgress(METRIC, MODE, reference=[1.0])
    with pytest.raises(InvalidConfigError, match=r"reference \[100.0, 0.0\] must be worse than ideal"):
        SearchProgress(METRIC, MODE, reference=[100.0, 0.0], ideal=[0.0, 10.0])
    with pytest.raises(InvalidConfigError, match="every_s"):
        SearchProgress(METRIC, MODE, every_s=-1)
    with pytest.raises(InvalidConfigError, match="fix_after must be a positive number of trials, got 0"):
        SearchProgress(METRIC, MODE, fix_after=0)
    assert np.isnan(SearchProgress(METRIC, MODE).hypervolume())
