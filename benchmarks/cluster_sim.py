"""Search on a simulated cluster: how quality holds when many trials run at once, against the clock.

NAS-Bench-201, 2 objectives (CIFAR-10 valid error %, latency ms of one published device). Each run is
:func:`raynas.simulate.simulate`: ``W`` workers, a trial of an architecture lasts NAS-Bench-201's own
training time of it (``train-all-time``, 542-3,461 s), the driver asks whenever a worker is free and
learns results in the order trials finish. On the simulated clock:

- the real time of every ``ask()``/``tell()`` on this machine (the driver does nothing else);
- zero-cost scoring: every distinct network a raynas run scores costs the seconds per network
  measured here at the start (``path_params``, ``synflow``, ``flops`` on one network, Fashion-MNIST
  stand-in batch), spread over the ``W`` workers' CPUs. Scores are read from raynas's proxy cache
  where an earlier run left them and computed here otherwise -- that real time is left out of the
  driver's time, since the scoring charge already counts it.

Quality: normalised HV (``raynas.benchmarks.NB201Benchmark.hv_trajectory``: both objectives
min-max normalised over all 15,625 architectures, HV / HV of the true front) after each finished
trial. Methods (nothing tuned on these runs):

    zc      raynas ZeroCostStrategy, defaults (proxies path_params + synflow, cost FLOPs)
    zc-believer  the same with Acquisition(pending="believer"): running trials count as told at their estimates
    tpe     Optuna TPESampler(multivariate=True, constant_liar=True)
    nsga2   Optuna NSGAIISampler (population 50)
    gp      Optuna GPSampler                random  Optuna RandomSampler

There is no successive-halving baseline: the published table has the 200-epoch results only, no
learning curves to stop a trial early on.

Each run is budget ``max(--budget, 2 W)`` trials. Every finished run is appended to ``--out`` at once;
a rerun skips runs already there.

    python benchmarks/cluster_sim.py --devices raspi4,pixel3 --seeds 2 --workers 1,8,32   # a quick look
    python benchmarks/cluster_sim.py                        # 20 devices x 10 seeds x W in 1..512
    python benchmarks/cluster_sim.py --report               # the tables from what has run
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.nb201_three import RunView, load, shared_scores  # noqa: E402
from benchmarks.overhead import TimedScores  # noqa: E402
from benchmarks.variants import add_variant_option, parse_variants, run_record, variant_label, variant_settings  # noqa: E402, E501

METHODS = ("zc", "zc-believer", "tpe", "nsga2", "gp", "random")
LABELS = {"zc": "raynas ZeroCostStrategy (defaults)",
          "zc-believer": "raynas ZeroCostStrategy, kriging believer (Acquisition(pending='believer'))",
          "tpe": "Optuna TPE (multivariate, constant_liar)",
          "nsga2": "Optuna NSGAIISampler", "gp": "Optuna GPSampler", "random": "Optuna RandomSampler"}
WORKERS = (1, 8, 32, 128, 512)
#: ZeroCostStrategy settings run as methods of their own (``--variant NAME='{json}'``): name -> keyword arguments
VARIANTS: dict[str, dict] = {}


def _methods(runs) -> list[str]:
    return [*METHODS, *sorted({r["method"] for r in runs} - set(METHODS))]


def _label(m: str, runs=()) -> str:
    return LABELS.get(m) or variant_label("ZeroCostStrategy", m, variant_settings(m, VARIANTS, runs))


def seconds_per_network(space, n: int = 8) -> float:
    """Median seconds to score one NB201 network (path_params, synflow, flops) here."""
    from raynas.proxies import score_architectures
    from raynas.strategies.scorers import ProxyScores

    rng = np.random.default_rng(12345)
    archs = [space.sample(rng) for _ in range(n)]
    batch = ProxyScores(space, ["path_params", "synflow", "flops"]).load_batch()
    times = []
    for a in archs:
        t0 = time.perf_counter()
        score_architectures(space, [a], ["path_params", "synflow", "flops"], batch, input_shape=(3, 32, 32))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def make_strategy(method: str, space, scores, seed: int):
    from raynas.strategies import OptunaStrategy, ZeroCostStrategy
    from raynas.strategies.scorers import ProxyColumn

    if method.startswith("zc") or method in VARIANTS:
        view = RunView(scores)
        col = lambda n, t="none": ProxyColumn(view, ["path_params", "synflow", "flops"].index(n), t)  # noqa: E731
        kw = {"acquisition": {"pending": "believer"}} if method == "zc-believer" else VARIANTS.get(method, {})
        return ZeroCostStrategy(space, [col("path_params"), col("synflow", "log")], col("flops"), seed=seed,
                                **kw), view
    kw = {"multivariate": True, "constant_liar": True} if method == "tpe" else {}
    return OptunaStrategy(space, method, n_objectives=2, seed=seed, **kw), None


def run_one(bench, method: str, device: str, seed: int, workers: int, budget: int, scores, per_network: float,
            computed) -> dict:
    from raynas.simulate import simulate

    strategy, view = make_strategy(method, bench.space, scores, seed)
    t0 = time.perf_counter()
    sim = simulate(strategy, lambda a: bench.objectives(a, device), bench.train_time, workers=workers,
                   budget=budget, scoring=(lambda: view.evaluations) if view else None,
                   seconds_per_network=per_network, computed_here=computed if view else None)
    hv = bench.hv_trajectory(sim.archs(), device)
    return {"method": method, "device": device, "seed": seed, "workers": workers, "budget": budget,
            "hv": [round(float(v), 6) for v in hv], "end": [round(float(v), 3) for v in sim.end_times()],
            "ask_ms_p50": 1000 * float(np.median(sim.ask_s)), "ask_ms_p99": 1000 * float(np.percentile(sim.ask_s, 99)),
            "driver_s": float(sum(sim.ask_s) + sum(sim.tell_s)), "scoring_s": sim.scoring_s,
            "networks_scored": view.evaluations if view else 0, "makespan": sim.makespan,
            "distinct": len(set(sim.archs())), "wall_s": time.perf_counter() - t0,
            **run_record(method, VARIANTS)}


def reach(values, level: float, at=None) -> float:
    """Trials (or, with ``at``, the time) until ``values`` first reach ``level``; inf if never."""
    hit = np.flatnonzero(np.asarray(values) >= level - 1e-12)
    if not hit.size:
        return np.inf
    return float(hit[0] + 1) if at is None else float(at[hit[0]])


def hv_at_time(run: dict, t: float) -> float:
    from raynas.simulate import value_at

    v = value_at(np.asarray(run["end"]), np.asarray(run["hv"]), t)
    return 0.0 if np.isnan(v) else v


def _fmt(v: float, unit: str = "") -> str:
    return f"{v:.0f}{unit}" if np.isfinite(v) else "never"


def report(runs: list[dict]) -> str:
    devices = sorted({r["device"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    ws = sorted({r["workers"] for r in runs})
    out = [f"NB201 cifar10-valid error x device latency on a simulated cluster: {len(devices)} devices x "
           f"{len(seeds)} seeds (medians); trial durations = NB201 train-all-time; driver time and zero-cost "
           "scoring on the clock", "",
           "| W | method | runs | trials to 99% | sim. hours to 99% | HV@50 trials | p99 ask ms | "
           "driver s/run | scoring s/run |", "|---|---|---|---|---|---|---|---|---|"]
    for w in ws:
        for m in _methods(runs):
            rs = [r for r in runs if r["workers"] == w and r["method"] == m]
            if not rs:
                continue
            trials = np.median([reach(r["hv"], .99) for r in rs])
            hours = np.median([reach(r["hv"], .99, r["end"]) for r in rs]) / 3600
            hv50 = np.median([r["hv"][min(50, len(r["hv"])) - 1] for r in rs])
            out.append(f"| {w} | {_label(m, rs)} | {len(rs)} | {_fmt(trials)} | "
                       f"{hours:.1f} | {hv50:.3f} | {np.median([r['ask_ms_p99'] for r in rs]):.1f} | "
                       f"{np.median([r['driver_s'] for r in rs]):.1f} | {np.median([r['scoring_s'] for r in rs]):.1f} |")
    out += ["", "HV against simulated time: budgets 1/4, 1/2 and 1x of the time raynas needs to reach 99% at "
            "this W (median over devices x seeds; per device and seed the budget is that run's own time)", "",
            "| W | method | HV@T/4 | HV@T/2 | HV@T | raynas ahead (all three budgets) in runs |",
            "|---|---|---|---|---|---|"]
    for w in ws:
        zc = {(r["device"], r["seed"]): r for r in runs if r["workers"] == w and r["method"] == "zc"}
        if not zc:
            continue
        budget = {k: reach(r["hv"], .99, r["end"]) if np.isfinite(reach(r["hv"], .99, r["end"])) else r["makespan"]
                  for k, r in zc.items()}
        for m in _methods(runs):
            rs = [r for r in runs if r["workers"] == w and r["method"] == m and (r["device"], r["seed"]) in zc]
            if not rs:
                continue
            cells, ahead = [], 0
            for frac in (0.25, 0.5, 1.0):
                cells.append(np.median([hv_at_time(r, frac * budget[(r["device"], r["seed"])]) for r in rs]))
            if m != "zc":
                for r in rs:
                    k = (r["device"], r["seed"])
                    ahead += all(hv_at_time(zc[k], f * budget[k]) >= hv_at_time(r, f * budget[k]) - 1e-12
                                 for f in (0.25, 0.5, 1.0))
            share = f"{ahead}/{len(rs)}" if m != "zc" else "-"
            out.append(f"| {w} | {_label(m, rs)} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {share} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", default=None, help="comma-separated (default: every column of the table)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--workers", default=",".join(map(str, WORKERS)))
    p.add_argument("--methods", default=",".join(m for m in METHODS if m not in ("gp", "zc-believer")))
    p.add_argument("--budget", type=int, default=200, help="trials per run (at least 2 W)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "cluster_sim.jsonl"))
    p.add_argument("--report", action="store_true")
    add_variant_option(p)
    args = p.parse_args(argv)
    VARIANTS.update(parse_variants(args.variant, p))
    out = Path(args.out)
    if not args.report:
        import torch

        from raynas.benchmarks import NB201Benchmark

        torch.set_num_threads(1)
        bench = NB201Benchmark(args.data_dir)
        devices = args.devices.split(",") if args.devices else bench.devices
        methods = args.methods.split(",")
        unknown = [m for m in methods if m not in METHODS and m not in VARIANTS]
        if unknown:
            p.error(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
        scores = shared_scores(bench.space, args.data_dir)
        timed = TimedScores(scores)  # real seconds spent computing networks here (a cold cache)
        computed = lambda: timed.seconds  # noqa: E731
        per_network = seconds_per_network(bench.space)
        print(f"# zero-cost scoring here: {per_network:.3f} s per network", file=sys.stderr, flush=True)
        done = {(r["method"], r["device"], r["seed"], r["workers"]) for r in load(out)}
        out.parent.mkdir(parents=True, exist_ok=True)
        for w in map(int, args.workers.split(",")):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for device in devices:
                    for m in methods:
                        if (m, device, seed, w) in done:
                            continue
                        run = run_one(bench, m, device, seed, w, max(args.budget, 2 * w), scores, per_network,
                                      computed)
                        with out.open("a") as f:
                            f.write(json.dumps(run) + "\n")
                        print(f"# W={w} {m} {device} seed {seed}: trials to 99% {_fmt(reach(run['hv'], .99))}, "
                              f"{run['wall_s']:.1f} s", file=sys.stderr, flush=True)
    text = report(load(out))
    print(text)
    out.with_suffix(".md").write_text(f"command: python benchmarks/cluster_sim.py {' '.join(argv or sys.argv[1:])}\n\n"
                                      + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
