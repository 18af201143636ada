"""One call that runs a multi-objective NAS as Ray Tune trials and writes its results.

Used by ``raynas search``; a script can call :func:`run_search` directly. Ray is started explicitly
(``address="local"`` unless an address is given), never by a bare ``ray.init()`` that could join a
stale cluster, and shut down again if this call started it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Before Ray/Tune are imported: fast trials, quiet default loggers (see README, "Speed").
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import ray  # noqa: E402
from ray import tune  # noqa: E402

from raynas.errors import InvalidConfigError  # noqa: E402
from searchers.results import pareto_front, results_dataframe  # noqa: E402


class ProgressPrinter(tune.Callback):
    """One line per finished trial, so a long search shows it is alive."""

    def __init__(self, metric: Sequence[str], total: int):
        self.metric = list(metric)
        self.total = total
        self.done = 0
        self.start = time.perf_counter()

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        last = trial.last_result or {}
        values = "  ".join(f"{m}={last.get(m, float('nan')):.4g}" for m in self.metric)
        epoch, full = last.get("epoch", "?"), last.get("max_epochs")
        stopped = "  (stopped early)" if full is not None and epoch != "?" and epoch < full else ""
        print(f"[{self.done:>3}/{self.total}] {time.perf_counter() - self.start:6.1f}s  {values}  "
              f"epochs={epoch}{stopped}  {last.get('arch', '')}", flush=True)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        print(f"[{self.done:>3}/{self.total}] trial {trial.trial_id} failed: {trial.error_file}", flush=True)


@dataclass
class SearchOutcome:
    results: pd.DataFrame
    front: pd.DataFrame
    output_dir: Path
    wall_time_s: float


def init_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start (or join) Ray explicitly. Returns True if this call started it."""
    if ray.is_initialized():
        return False
    env = {"OMP_WAIT_POLICY": "PASSIVE", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    if address in (None, "", "local"):
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env})
    else:
        ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env})
    return True


def run_search(trainable, param_space: dict, searcher, scheduler=None, *, metric: Sequence[str],
               mode: Sequence[str], num_samples: int, output_dir: str | os.PathLike = "raynas_results",
               max_concurrent: int | None = None, address: str | None = None, name: str = "search",
               resources: dict | None = None, plot: bool = True) -> SearchOutcome:
    """Run ``num_samples`` trials of ``trainable`` proposed by ``searcher`` and write
    ``results.csv``, ``pareto.csv`` and ``pareto.png`` into ``output_dir``."""
    if not isinstance(num_samples, int) or num_samples < 1:
        raise InvalidConfigError(f"num_samples (the trial budget) must be a positive integer, got {num_samples!r}")
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = init_ray(address)
    try:
        if max_concurrent:
            searcher = tune.search.ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
        if resources:
            trainable = tune.with_resources(trainable, resources)
        t0 = time.perf_counter()
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=num_samples,
                                        reuse_actors=True),
            run_config=tune.RunConfig(name=name, storage_path=str(out), verbose=0,
                                      callbacks=[ProgressPrinter(metric, num_samples)]),
        )
        # With the file loggers off (the fast setting) Tune's ExperimentAnalysis warns once per trial
        # that it found no result.json; results are read from memory instead (results_dataframe).
        logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
        grid = tuner.fit()
        wall = time.perf_counter() - t0
    finally:
        if started:
            ray.shutdown()
    df = results_dataframe(grid)
    front = pareto_front(df, metric, mode)
    df.to_csv(out / "results.csv", index=False)
    front.to_csv(out / "pareto.csv", index=False)
    if plot:
        plot_front(df, front, metric, mode, out / "pareto.png")
    return SearchOutcome(df, front, out, wall)


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
