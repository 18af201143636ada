"""One call that runs a multi-objective NAS as Ray Tune trials and writes its results.

Used by ``raynas search``; a script can call :func:`run_search` directly. Ray is started explicitly
(``address="local"`` unless an address is given), never by a bare ``ray.init()`` that could join a
stale cluster, and shut down again if this call started it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import ray
from ray import tune

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.logs import get_logger
from searchers.progress import SearchProgress
from searchers.results import front_hypervolume, pareto_front, readable_results, results_dataframe

logger = get_logger("search")


SNAPSHOT = ".raynas_state"


class StateSnapshot(tune.Callback):
    """Keep a consistent copy of Tune's experiment state in ``<experiment>/.raynas_state``.

    Tune writes its experiment state (trial statuses, searcher and scheduler state) to a staging
    directory and copies it to the storage path in the background, neither atomically: measured
    here, a driver killed mid-copy left an empty ``experiment_state-*.json``, and ``Tuner.restore``
    then silently restarted the whole experiment; the copy also lags up to ``SyncConfig.sync_period``
    (300 s by default). Right after each experiment checkpoint (``on_step_end`` follows it in the
    controller's thread, so the staged files are complete), this callback copies the staged files
    into a fresh directory and swaps it in by renames; :func:`restore_state_snapshot` puts them back
    before a restore. Only for a local storage path (elsewhere it does nothing)."""

    def __init__(self):
        self._stamp: tuple | None = None

    def on_step_end(self, iteration: int, trials: list, **info):
        if trials:
            self.snapshot(trials[0].storage)

    def on_experiment_end(self, trials: list, **info):
        if trials:
            self.snapshot(trials[0].storage)

    def snapshot(self, storage) -> None:
        staging = Path(storage.experiment_driver_staging_path)
        target = Path(storage.experiment_fs_path)
        if not target.is_dir() or not staging.is_dir():
            return
        files = sorted(p for p in staging.iterdir() if p.is_file())
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if not any(p.name.startswith("experiment_state") for p in files) or stamp == self._stamp:
            return
        tmp, old, final = target / f"{SNAPSHOT}.tmp", target / f"{SNAPSHOT}.old", target / SNAPSHOT
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for p in files:
            shutil.copy2(p, tmp / p.name)
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        self._stamp = stamp


def restore_state_snapshot(experiment_dir: str | os.PathLike) -> bool:
    """Put the last :class:`StateSnapshot` of ``experiment_dir`` back in place (before
    ``Tuner.restore``). Returns whether there was one. A kill between the snapshot's renames leaves
    ``.raynas_state.old``, used then."""
    d = Path(experiment_dir)
    for name in (SNAPSHOT, f"{SNAPSHOT}.old"):
        snap = d / name
        if snap.is_dir() and any(p.name.startswith("experiment_state") for p in snap.iterdir()):
            for p in snap.iterdir():
                tmp = d / f".{p.name}.restoring"
                shutil.copy2(p, tmp)
                os.replace(tmp, d / p.name)
            return True
    return False


@dataclass
class SearchOutcome:
    """What :func:`run_search` returns: the results (one row per trial), the Pareto front of the
    complete trials, where the files went, the wall time, and Tune's ``ResultGrid``.

    Example::

        >>> outcome = run_search(trainable, space, searcher, metric=["accuracy", "latency_ms"], mode=["max", "min"],
        ...                      num_samples=40)
        >>> [r.metrics["accuracy"] for r in outcome.best_trials]     # Tune Results, like Optuna's study.best_trials
        >>> outcome.hypervolume([0.0, 10.0])                          # reference point in the metrics' units
    """

    results: pd.DataFrame
    front: pd.DataFrame
    output_dir: Path
    wall_time_s: float
    grid: Any = None
    metric: tuple = ()
    mode: tuple = ()

    @property
    def best_trials(self) -> list:
        """The Pareto set of the complete trials as Tune ``Result`` objects (front order)."""
        if self.grid is None or "trial_id" not in self.front:
            return []
        by_id = {r.metrics.get("trial_id"): r for r in self.grid if r.metrics}
        return [by_id[t] for t in self.front["trial_id"] if t in by_id]

    def front_dataframe(self) -> pd.DataFrame:
        """The Pareto front of the complete trials (a copy), sorted by the first metric."""
        return self.front.copy()

    def hypervolume(self, reference: Sequence[float]) -> float:
        """Hypervolume of the front against ``reference`` (one value per metric, in its units)."""
        if len(reference) != len(self.metric):
            raise InvalidConfigError(f"reference needs one value per metric {list(self.metric)}, got {list(reference)}")
        return front_hypervolume(self.front, self.metric, self.mode, reference) if len(self.front) else 0.0


_ADDRESS = re.compile(r"^(?:ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})$")


def check_address(address: str, timeout_s: float = 5.0) -> str:
    """Return ``address`` if it is ``"local"``, ``"auto"`` or a reachable ``host:port`` (optionally
    ``ray://host:port``); otherwise raise naming it -- instead of letting ``ray.init`` wait for a
    cluster that is not there."""
    if not isinstance(address, str):
        raise InvalidConfigError(f"Ray address must be a string such as 'auto' or '10.0.0.1:6379', got {address!r}")
    if address == "local":
        return address
    if address == "auto":
        # what ray.init("auto") would join: $RAY_ADDRESS, else the last `ray start` on this machine
        found = os.environ.get("RAY_ADDRESS") or _read(Path("/tmp/ray/ray_current_cluster"))
        if not found:
            raise InvalidConfigError("address 'auto' found no Ray cluster on this machine (no RAY_ADDRESS, no "
                                     "`ray start --head` running); start one or pass host:port")
        check_address(found, timeout_s)
        return address
    m = _ADDRESS.match(address)
    if m is None or not 0 < int(m["port"]) < 65536:
        raise InvalidConfigError(
            f"Ray address {address!r} is not 'local', 'auto', 'host:port' or 'ray://host:port'")
    host = m["host"].strip("[]")
    try:
        with socket.create_connection((host, int(m["port"])), timeout=timeout_s):
            pass
    except OSError as exc:
        raise InvalidConfigError(
            f"no Ray cluster answers at address {address!r} ({exc.strerror or exc}); start one with "
            f"`ray start --head` and pass the address it prints") from None
    return address


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def init_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start (or join) Ray explicitly. Returns True if this call started it.

    ``address``: ``None``/``"local"`` starts a private local instance (never joins a stale cluster);
    ``"auto"`` joins the cluster ``ray start`` started on this machine; ``host:port`` joins that head."""
    if ray.is_initialized():
        return False
    env = {"OMP_WAIT_POLICY": "PASSIVE", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    if num_cpus is not None and (not isinstance(num_cpus, int) or isinstance(num_cpus, bool) or num_cpus < 1):
        raise InvalidConfigError(f"num_cpus must be a positive integer or None, got {num_cpus!r}")
    if address in (None, "", "local"):
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env})
    else:
        if num_cpus is not None:
            raise InvalidConfigError(f"num_cpus applies to a local Ray only; the cluster at {address!r} has its own")
        ray.init(address=check_address(address), log_to_driver=False, runtime_env={"env_vars": env})
    return True


def _check_search_args(metric, mode, num_samples, max_concurrent, max_failures, name, resources) -> None:
    moo.validate_metric_mode(metric, mode)
    for label, value, low in (("num_samples (the trial budget)", num_samples, 1),
                              ("max_concurrent", max_concurrent, 1), ("max_failures", max_failures, -1)):
        if value is None and label == "max_concurrent":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise InvalidConfigError(f"{label} must be an integer >= {low}, got {value!r}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise InvalidConfigError(f"experiment name must be letters, digits, '_', '.' or '-', got {name!r}")
    if resources is not None:
        if not isinstance(resources, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for k, v in resources.items()):
            raise InvalidConfigError(f"resources must map resource names to amounts >= 0, got {resources!r}")


def run_search(trainable, param_space: dict, searcher, scheduler=None, *, metric: Sequence[str],
               mode: Sequence[str], num_samples: int, output_dir: str | os.PathLike = "raynas_results",
               max_concurrent: int | None = None, address: str | None = None, name: str = "search",
               resources: dict | None = None, max_failures: int = 0, checkpoint_s: float = 10.0,
               plot: bool = True, overwrite: bool = False, tune_loggers: bool = False) -> SearchOutcome:
    """Run ``num_samples`` trials of ``trainable`` proposed by ``searcher`` and write
    ``results.csv`` (one row per trial: status, objectives, fidelity, config), ``tune_results.csv`` (everything
    Tune reported), ``pareto.csv`` and ``pareto.png`` into ``output_dir``.

    ``tune_loggers=True`` switches Tune's per-trial file loggers back on (``progress.csv``,
    ``result.json``, TensorBoard files in each trial's folder; ~2 s per trial on a small machine).
    ``overwrite=True`` replaces a search already in ``output_dir`` (else that is an error).
    ``max_failures``: how often Tune retries a trial that raised or whose node died (``-1``: without
    limit); architecture-level failures are explained results, not errors (see
    :mod:`searchers.trainables`). The experiment directory ``output_dir/name`` can be resumed after an
    interruption with :func:`resume_search`: ``checkpoint_s`` is how often (seconds) the experiment
    state -- trial statuses, searcher and scheduler state -- is written there (Tune's defaults, "at
    least every 10 s" and a copy to the storage path "every 300 s", could lose minutes of completed
    trials to a killed driver; ``0`` writes after every step, for instant trials a real cost)."""
    _check_search_args(metric, mode, num_samples, max_concurrent, max_failures, name, resources)
    if not isinstance(checkpoint_s, (int, float)) or isinstance(checkpoint_s, bool) or not 0 <= checkpoint_s < 1e9:
        raise InvalidConfigError(f"checkpoint_s must be a number of seconds >= 0, got {checkpoint_s!r}")
    out = Path(output_dir).resolve()
    _claim_output(out, name, overwrite)
    if max_concurrent:
        searcher = tune.search.ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)

    def make_tuner(trainable):
        return tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=num_samples,
                                        reuse_actors=True),
            run_config=tune.RunConfig(name=name, storage_path=str(out), verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=max_failures),
                                      sync_config=tune.SyncConfig(sync_period=checkpoint_s),
                                      callbacks=[SearchProgress(metric, mode, total=num_samples), StateSnapshot()]),
        )

    return _run(make_tuner, trainable, address, resources, checkpoint_s, metric, mode, out, plot, tune_loggers)


OUTPUT_FILES = ("results.csv", "tune_results.csv", "pareto.csv", "pareto.png")


def _claim_output(out: Path, name: str, overwrite: bool) -> None:
    """Create ``out``; refuse one that holds a search unless ``overwrite`` (then remove that search)."""
    held = [p for p in (out / name, *(out / f for f in OUTPUT_FILES)) if p.exists()]
    if held and not overwrite:
        raise InvalidConfigError(
            f"output directory {str(out)!r} already holds a search ({held[0].name}); resume it (--resume, "
            f"resume_search) or replace it (--overwrite, overwrite=True), or choose another --output")
    for p in held:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _run(make_tuner, trainable, address, resources, checkpoint_s, metric, mode, out: Path, plot: bool,
         tune_loggers: bool = False):
    """Start (or join) Ray, fit the tuner ``make_tuner(trainable)`` makes, shut down a Ray started
    here, and write the outcome files."""
    started = init_ray(address)
    try:
        if resources:
            trainable = tune.with_resources(trainable, resources)
        t0 = time.perf_counter()
        grid = _fit(make_tuner(trainable), checkpoint_s, tune_loggers)
        wall = time.perf_counter() - t0
    finally:
        if started:
            ray.shutdown()
    return _write_outcome(grid, metric, mode, out, wall, plot)


@contextlib.contextmanager
def tune_settings(checkpoint_s: float | None = None, tune_loggers: bool = False) -> Iterator[None]:
    """Tune's fast settings for the duration of one ``fit()``, restored afterwards.

    Tune reads these from the environment when ``fit()`` runs: its per-trial file loggers
    (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS``, off unless ``tune_loggers``; they cost ~2 s a trial on
    a small machine), the old quiet console output (``RAY_AIR_NEW_OUTPUT=0``, with ``verbose=0``),
    and the experiment-checkpoint period ``checkpoint_s``. A value the user set in the environment
    is kept, except what the arguments ask for explicitly (``tune_loggers=True``, ``checkpoint_s``).
    Without the file loggers Tune's result reader would warn once per trial that it found no
    ``result.json`` (results come from memory instead); that warning is muted inside the block."""
    analysis_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    old_level = analysis_log.level
    if not tune_loggers:
        analysis_log.setLevel(logging.ERROR)
    wanted = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "0" if tune_loggers else "1"}
    forced = {"TUNE_GLOBAL_CHECKPOINT_S"} | ({"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"} if tune_loggers else set())
    if checkpoint_s is not None:
        wanted["TUNE_GLOBAL_CHECKPOINT_S"] = str(checkpoint_s)
    old = {k: os.environ.get(k) for k in wanted}
    for k, v in wanted.items():
        if k in forced or old[k] is None:
            os.environ[k] = v
    try:
        yield
    finally:
        analysis_log.setLevel(old_level)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _fit(tuner, checkpoint_s: float | None = None, tune_loggers: bool = False):
    with tune_settings(checkpoint_s, tune_loggers):
        return tuner.fit()


def resume_search(output_dir: str | os.PathLike, trainable, *, metric: Sequence[str], mode: Sequence[str],
                  name: str = "search", address: str | None = None, resources: dict | None = None,
                  checkpoint_s: float = 10.0, plot: bool = True) -> SearchOutcome:
    """Resume an interrupted :func:`run_search` from ``output_dir/name`` with ``Tuner.restore``.

    Trials that had completed are kept (never run again); trials that were running or had raised
    start again; the searcher and scheduler continue from the state Tune checkpointed with them.
    ``trainable`` must be the one the search ran (Tune cannot pickle it into the experiment)."""
    moo.validate_metric_mode(metric, mode)
    out = Path(output_dir).resolve()
    path = out / name
    if not isinstance(name, str) or not (path / "tuner.pkl").is_file():
        raise InvalidConfigError(f"no Tune experiment to resume at {str(path)!r} (no tuner.pkl)")
    restore_state_snapshot(path)

    def make_tuner(trainable):
        return tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True, resume_errored=True)

    return _run(make_tuner, trainable, address, resources, checkpoint_s, metric, mode, out, plot)


def _write_outcome(grid, metric, mode, out: Path, wall: float, plot: bool) -> SearchOutcome:
    df = results_dataframe(grid)
    front = pareto_front(df, metric, mode)
    readable_results(df, metric).to_csv(out / "results.csv", index=False)
    df.to_csv(out / "tune_results.csv", index=False)  # everything Tune reported, bookkeeping included
    front.to_csv(out / "pareto.csv", index=False)
    if plot:
        plot_front(df, front, metric, mode, out / "pareto.png")
    return SearchOutcome(df, front, out, wall, grid, tuple(metric), tuple(mode))


def plot_front(df: pd.DataFrame, front: pd.DataFrame, metric: Sequence[str], mode: Sequence[str],
               path: Path) -> None:
    """Scatter of every trial (early-stopped ones hollow) with the Pareto front as a step line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from searchers.results import mark_complete

    x, y = metric[1], metric[0]
    complete = mark_complete(df)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.scatter(df.loc[complete, x], df.loc[complete, y], s=22, c="tab:blue", label="complete trials")
    if (~complete).any():
        ax.scatter(df.loc[~complete, x], df.loc[~complete, y], s=22, facecolors="none",
                   edgecolors="tab:gray", label="stopped early")
    f = front.sort_values(x)
    ax.step(f[x], f[y], where="post", c="tab:red", lw=1.5)
    ax.scatter(f[x], f[y], s=40, c="tab:red", label="Pareto front", zorder=3)
    ax.set_xlabel(f"{x} ({mode[1]})")
    ax.set_ylabel(f"{y} ({mode[0]})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
