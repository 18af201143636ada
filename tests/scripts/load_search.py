"""Load test driver: a tabular NB201 search of many instant trials, several at once, with memory
sampled as it goes.

    python tests/scripts/load_search.py OUTDIR [--trials 5000] [--concurrency 8] [--searcher make:random]
        [--every 250] [--temp-dir DIR]

Runs a local Ray with ``--concurrency`` logical CPUs (one per trial; on a 2-core machine the trials
time-share the cores), ``reuse_actors=True`` and Tune's file loggers off (raynas's fast setting).
Every ``--every`` completed trials it records the resident memory of this driver and of every
process of its Ray session (found by the session's temp dir), and the wall time. Prints one JSON
object at the end and writes it to OUTDIR/load.json::

    {"trials", "ok", "wall_s", "trials_per_s", "samples": [{"done", "t_s", "driver_mb", "ray_mb"}, ...],
     "driver_peak_mb", "ray_peak_mb", "driver_slope_kb_per_trial", "ray_slope_kb_per_trial",
     "result_kb_per_trial"}

``*_slope_kb_per_trial`` is the least-squares growth of memory per completed trial over the
samples after the first fifth of the run (start-up excluded); ``result_kb_per_trial`` is the size
of one trial's result (its pickled last result and config) and ``tune_trial_kb`` that of the
``Trial`` object Tune keeps for every trial (pickled as in its experiment state).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import _zoo  # noqa: E402
from tests._cluster import ray_processes, rss_bytes  # noqa: E402


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else float("nan")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--trials", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--searcher", default="make:random")
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--temp-dir", default=None)
    args = p.parse_args()
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "auto")
    temp_dir = args.temp_dir or tempfile.mkdtemp(prefix="rl", dir="/tmp")

    import ray
    from ray import tune

    from searchers.results import results_dataframe
    from searchers.trainables import tabular_trainable

    samples: list[dict] = []
    t0 = time.perf_counter()

    def sample(done: int) -> None:
        ray_mb = sum(rss_bytes(pid) for pid in ray_processes(temp_dir)) / 2**20
        samples.append({"done": done, "t_s": round(time.perf_counter() - t0, 2),
                        "driver_mb": round(rss_bytes(os.getpid()) / 2**20, 1), "ray_mb": round(ray_mb, 1)})
        print(json.dumps(samples[-1]), flush=True)

    class Sampler(tune.Callback):
        def __init__(self):
            self.done = 0

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.done += 1
            if self.done % args.every == 0:
                sample(self.done)

    ray.init(address="local", num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": _zoo.ray_env()}, _temp_dir=temp_dir)
    try:
        searcher = _zoo.build(args.searcher, seed=0)
        tuner = tune.Tuner(
            tabular_trainable(devices=[_zoo.DEVICE]),
            param_space=_zoo.param_space(args.searcher),
            tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, args.concurrency),
                                        num_samples=args.trials, reuse_actors=True),
            run_config=tune.RunConfig(name="load", storage_path=os.path.abspath(args.outdir), verbose=0,
                                      callbacks=[Sampler()]),
        )
        t0 = time.perf_counter()
        sample(0)
        grid = tuner.fit()
        wall = time.perf_counter() - t0
        df = results_dataframe(grid)
    finally:
        ray.shutdown()
    later = [s for s in samples if s["done"] >= args.trials / 5]
    one = grid[0]
    result_kb = len(pickle.dumps((one.metrics, one.config))) / 1024
    # what Tune itself keeps per trial: the Trial object (config, last result, metric statistics,
    # run metadata, storage context), as Tune pickles it into its experiment state
    from ray import cloudpickle

    trials = grid._experiment_analysis.trials[:100]
    trial_kb = sum(len(cloudpickle.dumps(t.__getstate__())) for t in trials) / len(trials) / 1024
    report = {
        "trials": len(df), "ok": int((df.get("outcome") == "ok").sum()), "concurrency": args.concurrency,
        "nodes_seen": int(df["node_id"].nunique()), "wall_s": round(wall, 1),
        "trials_per_s": round(len(df) / wall, 2), "samples": samples,
        "driver_peak_mb": max(s["driver_mb"] for s in samples), "ray_peak_mb": max(s["ray_mb"] for s in samples),
        "driver_slope_kb_per_trial": round(slope([s["done"] for s in later], [s["driver_mb"] * 1024 for s in later]), 2),
        "ray_slope_kb_per_trial": round(slope([s["done"] for s in later], [s["ray_mb"] * 1024 for s in later]), 2),
        "result_kb_per_trial": round(result_kb, 2), "tune_trial_kb": round(trial_kb, 2),
        "unique_archs": int(df["arch"].nunique()),
    }
    Path(args.outdir).mkdir(parents=True, exist_ok=True)
    (Path(args.outdir) / "load.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
