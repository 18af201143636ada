"""How long ``ZeroCostSearch.suggest()`` waits for zero-cost scores computed in the background.

NAS-Bench-201 (valid error x pixel3 latency, tabular), real networks scored on a cold cache by the
searcher's background thread (a one-node Ray session, ``proxy_where="auto"``), driven directly
through ``suggest``/``on_trial_complete`` with each trial simulated by a sleep of ``--trial-s``
seconds (the time the background thread has to score while trials run). Reports the time spent in
``suggest()`` after the first 12 trials (the warm-up), with and without ``Moves(lookahead=...)``
(the mutants of each newly told non-dominated configuration handed to the background as soon as it
is told). Each setting and seed runs in its own process; choices depend on when scores arrive, so
runs with and without differ in what they ask, not only in time.

    python benchmarks/suggest_wait.py --seeds 2                 # ~5 min
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]


def run(lookahead: int, seed: int, trials: int, trial_s: float, device: str) -> dict:
    """One search in this process (``--child``)."""
    import numpy as np
    import ray

    from raynas.benchmarks import NB201Benchmark
    from searchers import ZeroCostSearch

    bench = NB201Benchmark()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s = ZeroCostSearch(bench.space, ["error", "latency"], ["min", "min"], seed=seed,
                           moves={"lookahead": lookahead})
        times = []
        for i in range(trials):
            t0 = time.perf_counter()
            cfg = s.suggest(str(i))
            times.append(time.perf_counter() - t0)
            err, lat = bench.objectives(tuple(bench.space.from_config(cfg)), device)
            time.sleep(trial_s)
            s.on_trial_complete(str(i), {"error": err, "latency": lat, "config": cfg})
        t = np.asarray(times[12:])
        return {"lookahead": lookahead, "seed": seed, "suggest_s": float(t.sum()), "p50_ms": 1000 * float(np.median(t)),
                "p99_ms": 1000 * float(np.percentile(t, 99)), "networks": int(s.scores.evaluations)}
    finally:
        ray.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--trial-s", type=float, default=1.0)
    p.add_argument("--device", default="pixel3")
    p.add_argument("--lookahead", type=int, default=64, help="the setting compared with 0 (off)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        look, seed = map(int, args.child.split(","))
        print(json.dumps(run(look, seed, args.trials, args.trial_s, args.device)))
        return
    rows = []
    for seed in range(args.seeds):
        for look in (args.lookahead, 0):
            out = subprocess.run([sys.executable, __file__, "--child", f"{look},{seed}", "--trials", str(args.trials),
                                  "--trial-s", str(args.trial_s), "--device", args.device],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr, flush=True)
    lines = [f"# python benchmarks/suggest_wait.py --seeds {args.seeds} --trials {args.trials} --trial-s {args.trial_s}",
             "", f"suggest() after the warm-up, {args.trials - 12} asks per run (NB201, {args.device}, cold cache, "
             f"scores in a background thread)", "",
             "| lookahead | seed | suggest s (total) | p50 ms | p99 ms | networks scored |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lookahead']} | {r['seed']} | {r['suggest_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.0f} | "
                     f"{r['networks']} |")
    for look in (args.lookahead, 0):
        total = sum(r["suggest_s"] for r in rows if r["lookahead"] == look)
        lines.append(f"\nlookahead={look}: {total:.1f} s in suggest() over all seeds")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "out" / "suggest_wait.md").write_text(text)


if __name__ == "__main__":
    main()
