"""Load: a tabular search of 5,000 trials, 8 at once, on this 2-core machine, with memory sampled
every 250 trials (tests/scripts/load_search.py, in its own process so its memory is its own).

Checked: every trial completes with an explained ``ok`` outcome, the searcher never repeats an
architecture, and memory does not grow with the number of trials beyond what Tune keeps per trial:
the driver grows by Tune's ``Trial`` object per trial (measured under contention, 5,000 trials:
3.35 trials/s, driver 393 -> 863 MB, i.e. 65 KB/trial for a 14 KB pickled Trial), and the Ray
processes (workers, raylet, GCS; 1.9-3.3 GB) show no trend. The figures are printed for the record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from _cluster import ray_processes, wait_until

REPO = Path(__file__).resolve().parents[1]
# RAYNAS_LOAD_TRIALS=400 checks the mechanics only: over a short run start-up dominates the memory
# slope (measured 133 KB/trial at 400 trials against 65 KB/trial at 5,000), so the bounds below are
# for the full 5,000.
TRIALS = int(os.environ.get("RAYNAS_LOAD_TRIALS", "5000"))


@pytest.mark.slow
def test_5000_tabular_trials_8_at_once_without_memory_growth(data_dir, tmp_path):
    temp_dir = tempfile.mkdtemp(prefix="rl", dir="/tmp")
    cmd = [sys.executable, str(REPO / "tests" / "scripts" / "load_search.py"), str(tmp_path), "--trials", str(TRIALS),
           "--concurrency", "8", "--searcher", "make:random", "--every", str(max(TRIALS // 20, 1)),
           "--temp-dir", temp_dir]
    try:
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    finally:
        assert wait_until(lambda: not ray_processes(temp_dir), 30), "Ray processes outlived the load run"
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "load.json").read_text())
    print({k: v for k, v in report.items() if k != "samples"})
    assert report["trials"] == report["ok"] == report["unique_archs"] == TRIALS
    # The driver grows linearly by what Tune keeps for every trial (its Trial object: config, last
    # result, metric statistics, run metadata, storage context). Measured: ~65 KB/trial in memory for
    # a 14 KB pickled Trial (4.6x, Python object overhead), while the result itself is ~0.9 KB and
    # RandomSearch's state 38 bytes (pickled). Anything beyond ~6x the pickled Trial would be a leak.
    assert report["driver_slope_kb_per_trial"] < 6 * report["tune_trial_kb"], report
    # The Ray processes (8 reused workers, raylet, GCS) do not grow with the trials: beyond the
    # start-up, their total stays within the range of its first half (workers come and go).
    samples = report["samples"]
    first_half = [s["ray_mb"] for s in samples if 0 < s["done"] <= TRIALS / 2]
    assert samples[-1]["ray_mb"] <= 1.25 * max(first_half), samples
