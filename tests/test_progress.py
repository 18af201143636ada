"""The live view: counts, the front, a hypervolume at a reference that never moves, a time estimate."""

import logging

import numpy as np
import pytest

from raynas.errors import InvalidConfigError
from searchers import SearchProgress

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]


def test_counts_front_and_fixed_reference(caplog):
    p = SearchProgress(METRIC, MODE, total=10, fix_after=2)
    with caplog.at_level(logging.INFO, logger="raynas"):
        p.tell({"accuracy": 90.0, "latency_ms": 4.0, "epoch": 4, "max_epochs": 4})
        p.tell({"accuracy": 60.0, "latency_ms": 2.0, "epoch": 1, "max_epochs": 4})  # stopped early
        p.tell({"outcome": "out_of_memory"})
        assert p.hypervolume() != p.hypervolume()  # NaN: no reference yet
        p.tell({"accuracy": 80.0, "latency_ms": 1.0, "epoch": 4, "max_epochs": 4})
    assert "reference point fixed at (accuracy 80, latency_ms 4)" in caplog.text
    assert (len(p.complete), p.stopped, p.failed, p.finished) == (2, 1, 1, 4)
    # reference (80 %, 4 ms): the front {(90 %, 4 ms), (80 %, 1 ms)} lies on its edges, so HV is 0
    assert p.hypervolume() == pytest.approx(0.0)
    p.tell({"accuracy": 95.0, "latency_ms": 2.0, "epoch": 4, "max_epochs": 4})
    assert p.hypervolume() == pytest.approx((95 - 80) * (4 - 2))  # the reference did not move
    line = p.line(running=2)
    assert line.startswith("search: 2 running, 5/10 finished (3 complete, 1 stopped early, 1 failed)")
    assert "front 2: accuracy 95 (max), latency_ms 1 (min)" in line and "HV 30 at reference" in line
    assert "left" in line


def test_given_reference_and_bad_input():
    p = SearchProgress(METRIC, MODE, reference=[0.0, 10.0])
    p.tell({"accuracy": 50.0, "latency_ms": 5.0})  # no fidelity keys: a finished trial is complete
    assert p.hypervolume() == pytest.approx(50 * 5)
    with pytest.raises(InvalidConfigError, match="one value per metric"):
        SearchProgress(METRIC, MODE, reference=[1.0])
    with pytest.raises(InvalidConfigError, match="every_s"):
        SearchProgress(METRIC, MODE, every_s=-1)
    assert np.isnan(SearchProgress(METRIC, MODE).hypervolume())
