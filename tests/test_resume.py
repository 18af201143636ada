"""Interrupt and resume: the driver of a search is killed (SIGKILL, with its whole process group, so
its local Ray dies too) after some trials completed; a new driver resumes with ``Tuner.restore``.

Checked for every searcher: no completed trial is lost (each one the killed driver announced is in
the final results, same trial id, same architecture), none is repeated (trial ids and, for searchers
that never repeat, architectures are unique), the budget is exactly spent, nothing of the killed
Ray survives, and -- the search being deterministic under a seed with one trial at a time -- the
final Pareto front equals that of an uninterrupted run (for every searcher here, the evaluated set
of architectures too).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import _zoo
from _cluster import ray_processes, wait_until

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "tests" / "scripts" / "resume_driver.py"
NUM, KILL_AFTER, DELAY = 8, 3, 0.5

#: One searcher per adapter class (the Optuna samplers share OptunaStrategySearch).
RESUME_NAMES = _zoo.adapter_names()


def _driver(*args: str, temp_dir: str | None = None) -> list[str]:
    cmd = [sys.executable, str(DRIVER), *args]
    return cmd + (["--temp-dir", temp_dir] if temp_dir else [])


def run_and_kill(outdir: Path, name: str, temp_dir: str, timeout_s: float = 240) -> list[tuple[str, str]]:
    """Run the driver, SIGKILL its process group after ``KILL_AFTER`` announced trials; return them."""
    proc = subprocess.Popen(_driver(str(outdir), name, str(NUM), "--delay", str(DELAY), temp_dir=temp_dir),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=open(outdir / "killed.err", "w"), text=True,
                            start_new_session=True)
    done: list[tuple[str, str]] = []
    enough = threading.Event()

    def read():
        for line in proc.stdout:
            if line.startswith("DONE "):
                _, trial_id, arch = line.split(maxsplit=2)
                done.append((trial_id, arch.strip()))
                if len(done) >= KILL_AFTER:
                    enough.set()
                    return
        enough.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert enough.wait(timeout_s), f"{name}: no {KILL_AFTER} trials within {timeout_s} s"
        assert len(done) >= KILL_AFTER, f"{name}: driver ended early: {(outdir / 'killed.err').read_text()[-2000:]}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    return done


def front(df: pd.DataFrame) -> set[str]:
    from searchers.results import pareto_front

    return set(pareto_front(df, _zoo.METRIC, _zoo.MODE)["arch"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_dir):
    """Uninterrupted runs of every searcher (one driver process, one Ray)."""
    out = tmp_path_factory.mktemp("reference")
    r = subprocess.run(_driver(str(out), ",".join(RESUME_NAMES), str(NUM)), cwd=REPO, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", RESUME_NAMES)
def test_killed_search_resumes_without_losing_or_repeating_trials(name, reference, tmp_path):
    temp_dir = tempfile.mkdtemp(prefix="rn", dir="/tmp")  # Ray's sockets need a short path
    try:
        done = run_and_kill(tmp_path, name, temp_dir)
        # nothing of the killed driver's Ray outlives it
        assert wait_until(lambda: not ray_processes(temp_dir), 20), ray_processes(temp_dir)
        t0 = time.perf_counter()
        r = subprocess.run(_driver(str(tmp_path), name, str(NUM), "--restore", "--delay", str(DELAY),
                                   temp_dir=temp_dir), cwd=REPO, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        resumed_s = time.perf_counter() - t0
        assert "RESTORE_S" in r.stdout
    finally:
        for pid in ray_processes(temp_dir):  # only if a check above failed: ours, by pid
            os.kill(pid, signal.SIGKILL)
    final = pd.read_csv(tmp_path / "final.csv")
    ref = pd.read_csv(reference / name.replace(":", "_") / "final.csv")
    assert len(final) == NUM and final["trial_id"].is_unique
    by_id = dict(zip(final["trial_id"], final["arch"]))
    for trial_id, arch in done:  # no completed trial lost, none re-labelled
        assert by_id.get(trial_id) == arch, (trial_id, arch)
    assert (final["outcome"] == "ok").all()
    # re-run after the restore: at most the trials of the controller step the kill interrupted
    rerun = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("DONE ")]
    assert len(rerun) <= NUM - len(done) + 1
    if final["arch"].is_unique or not ref["arch"].is_unique:
        assert sorted(final["arch"]) == sorted(ref["arch"]), name
    assert front(final) == front(ref), name
    print(f"{name}: killed after {len(done)} trials; resumed run {resumed_s:.1f} s, "
          f"{r.stdout.split('RESTORE_S')[1].split()[0]} s in Tuner.restore")


def test_state_snapshot_survives_a_torn_experiment_state(tmp_path):
    """Tune's own copy of the experiment state can be torn by a kill; raynas's snapshot is swapped in
    by renames and put back before a restore (quick, no Ray)."""
    from types import SimpleNamespace

    from searchers.experiment import SNAPSHOT, StateSnapshot, restore_state_snapshot

    staging, exp = tmp_path / "staging", tmp_path / "exp"
    staging.mkdir(), exp.mkdir()
    storage = SimpleNamespace(experiment_driver_staging_path=str(staging), experiment_fs_path=str(exp))
    snap = StateSnapshot()
    snap.snapshot(storage)
    assert not (exp / SNAPSHOT).exists()  # nothing staged yet: nothing to keep
    (staging / "experiment_state-1.json").write_text('{"trial_data": [1, 2]}')
    (staging / "searcher-state-1.pkl").write_bytes(b"state-1")
    snap.snapshot(storage)
    (staging / "experiment_state-1.json").write_text('{"trial_data": [1, 2, 3]}')
    snap.snapshot(storage)
    assert (exp / SNAPSHOT / "experiment_state-1.json").read_text() == '{"trial_data": [1, 2, 3]}'
    assert not (exp / f"{SNAPSHOT}.tmp").exists() and not (exp / f"{SNAPSHOT}.old").exists()
    (exp / "experiment_state-1.json").write_text("")  # what a kill mid-copy left behind
    assert restore_state_snapshot(exp)
    assert (exp / "experiment_state-1.json").read_text() == '{"trial_data": [1, 2, 3]}'
    assert (exp / "searcher-state-1.pkl").read_bytes() == b"state-1"
    # a kill between the two renames leaves only the previous snapshot: it is used
    (exp / SNAPSHOT).rename(exp / f"{SNAPSHOT}.old")
    assert restore_state_snapshot(exp) and not restore_state_snapshot(tmp_path / "nothing")
