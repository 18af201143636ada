"""Searcher overhead: ``suggest()`` latency as the history grows, and trials per second through Tune.

Part 1 (no Ray): each searcher's ``suggest()`` + ``on_trial_complete()`` driven for ``--trials``
(default 1,000) tabular NAS-Bench-201 trials (valid accuracy vs the latency of one device); the
median ``suggest()`` time per window of 100 trials. raynas's searchers are the Tune adapters users
import; Optuna's samplers run inside Tune's own ``OptunaSearch``. For ``ZeroCostSearch`` the time spent
computing zero-cost proxies on networks not yet scored is excluded from its suggest time and
reported beside it (how many networks, how many seconds): that is a budget of its own, and with a
warm cache (``--proxy-cache``, by default raynas's benchmark cache as ``benchmarks/search_quality.py``
fills it) it is small.

Part 2 (Ray Tune): trials per second of an instant tabular search (``tabular_trainable``) with the
fast settings raynas uses (``reuse_actors=True``, ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``),
``ZeroCostSearch`` vs ``OptunaSearch`` (TPE), ``--tune-trials`` each; ``--default-tuner`` also times
a default ``tune.Tuner`` (a process per trial) for comparison.

    nice -n 10 .venv/bin/python benchmarks/overhead.py
    nice -n 10 .venv/bin/python benchmarks/overhead.py --trials 300 --methods zc,tpe --no-tune

Part 3: the first ``suggest()`` of a default ``ZeroCostSearch`` with no proxy cache (its warm-up
cost: real networks scored on the driver), ``--no-cold`` skips it.

Wall-clock figures on a shared machine: the header prints the load average at the start.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
OUT = ROOT / "benchmarks" / "out"


class TimedScores:
    """Wrap a ProxyScores' network computation to time it (excluded from suggest time)."""

    def __init__(self, scores):
        self.seconds = 0.0
        self.scores = scores
        inner = scores._compute

        def timed(archs):
            t0 = time.perf_counter()
            try:
                return inner(archs)
            finally:
                self.seconds += time.perf_counter() - t0

        scores._compute = timed


def make(name: str, space, seed: int, proxy_cache: str | None):
    """(searcher, label, TimedScores | None) by name."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from raynas.strategies.optuna import make_sampler
    from searchers import AgingEvolutionSearch, ZeroCostSearch
    from searchers.spaces import tune_param_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if name == "zc":
        s = ZeroCostSearch(space, METRIC, MODE, seed=seed, proxy_cache_dir=proxy_cache)
        return s, "raynas ZeroCostSearch (default settings)", TimedScores(s.scores)
    if name == "aging":
        return AgingEvolutionSearch(space, METRIC, MODE, seed=seed), "raynas AgingEvolutionSearch", None
    samplers = {"tpe": {}, "nsga2": {"population_size": 20}, "gp": {}}
    if name in samplers:
        s = OptunaSearch(metric=list(METRIC), mode=list(MODE), sampler=make_sampler(name, seed, **samplers[name]))
        s.set_search_properties(None, None, tune_param_space(space))
        return s, f"Tune OptunaSearch({type(s._sampler.for_trial(0)).__name__})", None
    raise SystemExit(f"unknown method {name!r}: zc, aging, tpe, nsga2, gp")


def suggest_latency(args, bench, space) -> str:
    device = args.device
    windows = list(range(0, args.trials, 100))
    rows = []
    for name in args.methods.split(","):
        n = min(args.trials, args.gp_trials) if name == "gp" else args.trials
        searcher, label, timed = make(name, space, 0, args.proxy_cache)
        times = np.zeros(n)
        t_start = time.perf_counter()
        for i in range(n):
            proxy_before = timed.seconds if timed else 0.0
            t0 = time.perf_counter()
            config = searcher.suggest(f"t{i}")
            times[i] = time.perf_counter() - t0 - ((timed.seconds - proxy_before) if timed else 0.0)
            arch = space.from_config(config)
            searcher.on_trial_complete(f"t{i}", {"accuracy": bench.accuracy(arch),
                                                  "latency_ms": bench.latency(arch, device)})
        total = time.perf_counter() - t_start
        cells = [f"{1000 * np.median(times[w:w + 100]):.1f}" if w < n else "-" for w in windows]
        proxy = "-"
        if timed:
            proxy = f"{timed.scores.evaluations} networks, {timed.seconds:.0f} s"
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {1000 * np.median(times[-100:]):.1f} | "
                    f"{total:.0f} | {proxy} |")
        print(f"# {name}: {total:.0f} s", file=sys.stderr, flush=True)
    head = ("| searcher | " + " | ".join(f"ms @{w + 1}-{w + 100}" for w in windows)
            + f" | median ms, last 100 | wall s ({args.trials} trials) | proxies computed (excluded) |")
    return "\n".join([f"suggest() median per window of 100 trials (device {device}; suggest time "
                      f"excludes proxy computation; GP capped at {args.gp_trials} trials)", "",
                      head, "|" + "---|" * (head.count("|") - 1)] + rows)


def cold_warmup(args, space) -> str:
    """The first ``suggest()`` of a default ``ZeroCostSearch`` with no proxy cache: the warm-up scores
    ``warmup_networks`` real networks (proxies and cost on the driver) and predicts the rest of its
    ``warmup_candidates`` from their encoding; the paper's warm-up scores all of them."""
    from searchers import ZeroCostSearch

    s = ZeroCostSearch(space, METRIC, MODE, seed=0)
    timed = TimedScores(s.scores)
    t0 = time.perf_counter()
    s.suggest("t0")
    total = time.perf_counter() - t0
    st = s.strategy
    n = timed.scores.evaluations
    per = timed.seconds / max(n, 1)
    return "\n".join([
        "First suggest() of a default ZeroCostSearch, no proxy cache (proxies "
        f"{', '.join(s.scores.names)} on the driver, 1 torch thread)", "",
        "| warm-up | networks scored | proxy s | s per network | rest of suggest() s | first suggest() s |",
        "|---|---|---|---|---|---|",
        f"| default: {st.warmup.networks} of {st.warmup.candidates} candidates scored, the rest predicted | {n} | "
        f"{timed.seconds:.1f} | {per:.3f} | {total - timed.seconds:.2f} | {total:.1f} |",
        f"| paper: all {st.warmup.candidates} scored (Warmup(networks=None); not run, {st.warmup.candidates} x the "
        f"s per network measured above) | {st.warmup.candidates} | ~{st.warmup.candidates * per:.0f} | "
        f"{per:.3f} | - | - |"])


def tune_throughput(args, space) -> str:
    import ray
    from ray import tune

    from searchers.spaces import tune_param_space
    from searchers.trainables import tabular_trainable

    # results are read from memory; with the fast settings there is no result.json to warn about
    import logging

    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    ray.init(address="local", num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}})
    trainable = tabular_trainable(devices=[args.device])
    rows = []
    settings = [("fast", True)] + ([("default Tuner", False)] if args.default_tuner else [])
    try:
        for name in ("zc", "tpe"):
            for setting, reuse in settings:
                n = args.tune_trials if reuse else min(args.tune_trials, 20)
                searcher, label, _ = make(name, space, 0, args.proxy_cache)
                if name == "tpe":  # a fresh OptunaSearch: the Tuner sets its space from param_space
                    from ray.tune.search.optuna import OptunaSearch

                    from raynas.strategies.optuna import make_sampler

                    searcher = OptunaSearch(metric=list(METRIC), mode=list(MODE), sampler=make_sampler("tpe", 0))
                with __import__("tempfile").TemporaryDirectory() as tmp:
                    tuner = tune.Tuner(trainable, param_space=tune_param_space(space),
                                       tune_config=tune.TuneConfig(search_alg=searcher, num_samples=n,
                                                                   reuse_actors=reuse),
                                       run_config=tune.RunConfig(storage_path=tmp, name="overhead", verbose=0))
                    t0 = time.perf_counter()
                    tuner.fit()
                    wall = time.perf_counter() - t0
                rows.append(f"| {label} | {setting} | {n} | {wall:.1f} | {n / wall:.1f} |")
                print(f"# tune {name} {setting}: {n / wall:.1f} trials/s", file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    head = "| searcher | Tuner settings | trials | wall s | trials/s |"
    return "\n".join([f"Instant tabular trials through Ray Tune ({args.ray_cpus} CPUs, local Ray; fast = reuse_actors=True + "
                      "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1)", "", head, "|---|---|---|---|---|"] + rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--methods", default="zc,aging,tpe,nsga2,gp")
    ap.add_argument("--gp-trials", type=int, default=200, help="GP costs ~0.7 s per suggestion: cap its history")
    ap.add_argument("--device", default="raspi4")
    ap.add_argument("--proxy-cache", default=None,
                    help="ProxyTable directory with precomputed proxies (default: raynas's benchmark cache, "
                         "as search_quality.py and nb201_three.py fill it; '' to compute all on the fly)")
    ap.add_argument("--no-tune", action="store_true", help="skip the Ray Tune throughput part")
    ap.add_argument("--tune-trials", type=int, default=100)
    ap.add_argument("--default-tuner", action="store_true", help="also time a default Tuner (20 trials)")
    ap.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray (trials run concurrently)")
    ap.add_argument("--no-cold", action="store_true", help="skip timing the first suggest() with no proxy cache")
    ap.add_argument("--tag", default="overhead")
    args = ap.parse_args(argv)
    if args.proxy_cache is None:
        from raynas import paths

        args.proxy_cache = str(paths.cache_dir(sub="benchmarks"))
    args.proxy_cache = args.proxy_cache or None

    import torch

    from raynas.benchmarks import NB201Benchmark

    torch.set_num_threads(1)
    bench = NB201Benchmark()
    bench.latency(0, args.device)
    space = bench.space
    load = os.getloadavg()
    command = " ".join(["benchmarks/overhead.py"] + (argv if argv is not None else sys.argv[1:]))
    parts = [f"command: {command}\nload average at start: {load[0]:.1f} (2 cores shared with other jobs: "
             f"wall-clock figures are under contention)\n", suggest_latency(args, bench, space)]
    if not args.no_cold:
        parts.append(cold_warmup(args, space))
    if not args.no_tune:
        parts.append(tune_throughput(args, space))
    text = "\n\n".join(parts)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.md").write_text(text + "\n")
    print(f"\nsaved {OUT / (args.tag + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
