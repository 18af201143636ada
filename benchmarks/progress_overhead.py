"""What the live view costs: a 200-trial tabular search through Ray Tune with and without
:class:`searchers.SearchProgress`.

Instant NAS-Bench-201 trials (``tabular_trainable``: CIFAR-10 accuracy and raspi4 latency read from
the published tables) proposed by Tune's default random search (the cheapest searcher, so the
callback's share of the wall-clock is as large as it gets), with raynas's fast Tune settings. Each
setting runs ``--repeats`` times, the settings interleaved; log lines go to a file (a terminal
would add its own drawing time). Two figures per setting:

- time spent inside the callback's methods (timed around each call: the progress view's own cost),
  as a share of the run's wall-clock;
- the run's median wall-clock against the runs without the callback (includes Tune's and the
  machine's noise, so it can come out negative).

    nice -n 10 .venv/bin/python benchmarks/progress_overhead.py            # ~3 min here
    nice -n 10 .venv/bin/python benchmarks/progress_overhead.py --trials 200 --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
OUT = ROOT / "benchmarks" / "out"


def timed_progress(**kwargs):
    """A :class:`SearchProgress` that adds up the seconds spent in its Tune callbacks."""
    from searchers import SearchProgress

    class Timed(SearchProgress):
        seconds = 0.0

        def _timed(self, method, *args, **kw):
            t0 = time.perf_counter()
            try:
                return method(*args, **kw)
            finally:
                self.seconds += time.perf_counter() - t0

        def on_trial_complete(self, *a, **kw):
            return self._timed(super().on_trial_complete, *a, **kw)

        def on_trial_error(self, *a, **kw):
            return self._timed(super().on_trial_error, *a, **kw)

        def on_step_end(self, *a, **kw):
            return self._timed(super().on_step_end, *a, **kw)

        def on_experiment_end(self, *a, **kw):
            return self._timed(super().on_experiment_end, *a, **kw)

    return Timed(METRIC, MODE, **kwargs)


SETTINGS = {
    "none": None,
    "log line every 30 s + a line per trial (default)": dict(every_s=30.0, table=False),
    "summary at every Tune step (every_s=0) + a line per trial": dict(every_s=0.0, table=False),
    "terminal table at every Tune step (every_s=0)": dict(every_s=0.0, table=True),
}


def run_once(trainable, space, trials: int, setting: dict | None) -> tuple[float, float]:
    from ray import tune

    callback = None if setting is None else timed_progress(total=trials, **setting)
    with tempfile.TemporaryDirectory() as tmp:
        tuner = tune.Tuner(trainable, param_space=space,
                           tune_config=tune.TuneConfig(metric="accuracy", mode="max", num_samples=trials,
                                                       reuse_actors=True),
                           run_config=tune.RunConfig(storage_path=tmp, name="progress", verbose=0,
                                                     callbacks=[callback] if callback else None))
        t0 = time.perf_counter()
        tuner.fit()
        wall = time.perf_counter() - t0
    return wall, (callback.seconds if callback else 0.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="raspi4")
    ap.add_argument("--tag", default="progress_overhead")
    args = ap.parse_args(argv)

    import ray

    from raynas import logs
    from raynas.spaces import NB201Space
    from searchers.spaces import tune_param_space
    from searchers.trainables import tabular_trainable

    OUT.mkdir(parents=True, exist_ok=True)
    log_file = OUT / f"{args.tag}.log"
    logs.disable_default_handler()
    handler = logging.FileHandler(log_file, mode="w")
    handler.setFormatter(logging.Formatter("[raynas %(asctime)s] %(message)s", "%H:%M:%S"))
    logging.getLogger("raynas").addHandler(handler)
    logging.getLogger("raynas").propagate = False
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}})
    trainable = tabular_trainable(devices=[args.device])
    space = tune_param_space(NB201Space())
    walls: dict[str, list[float]] = {k: [] for k in SETTINGS}
    inside: dict[str, list[float]] = {k: [] for k in SETTINGS}
    load = os.getloadavg()[0]
    try:
        run_once(trainable, space, 10, None)  # warm-up: actors, imports, the tables
        for r in range(args.repeats):
            for name, setting in SETTINGS.items():
                wall, cb = run_once(trainable, space, args.trials, setting)
                walls[name].append(wall)
                inside[name].append(cb)
                print(f"# repeat {r}: {name}: {wall:.1f} s wall, {cb * 1000:.0f} ms in the callback",
                      file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    base = statistics.median(walls["none"])
    rows = []
    for name in SETTINGS:
        wall = statistics.median(walls[name])
        cb = statistics.median(inside[name])
        share = statistics.median(c / w for c, w in zip(inside[name], walls[name]))
        diff = "-" if name == "none" else f"{(wall - base) / base:+.1%}"
        rows.append(f"| {name} | {wall:.1f} | {args.trials / wall:.1f} | {cb * 1000:.0f} | {share:.2%} | {diff} |")
    command = " ".join(["benchmarks/progress_overhead.py"] + (argv if argv is not None else sys.argv[1:]))
    text = "\n".join([
        f"command: {command}", f"load average at start: {load:.1f} (2 cores)", "",
        f"Progress view cost on a {args.trials}-trial instant tabular NB201 search through Ray Tune (random search, "
        f"reuse_actors=True, Tune's file loggers off), median of {args.repeats} runs; log lines to {log_file.name}",
        "", "| setting | wall s | trials/s | ms in the callback | share of wall-clock | wall vs none |",
        "|---|---|---|---|---|---|", *rows])
    print(text)
    (OUT / f"{args.tag}.md").write_text(text + "\n")
    print(f"\nsaved {OUT / (args.tag + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
