"""Three objectives on NAS-Bench-201: CIFAR-10 valid error x latency on two devices, raynas vs Optuna.

Each run searches the 15,625 NB201 architectures for the Pareto set of (valid error %, latency ms
on device A, latency ms on device B), through ask/tell (no Ray). Quality is the normalised
hypervolume (every objective min-max normalised over all 15,625 architectures of that device pair,
reference 1 in each, divided by the HV of the true front). Device pairs: device ``k`` of the
published latency table with device ``k + 7`` (modulo 20, in file order): 20 distinct pairs, every
device in two of them; ``--pairs N`` takes the first N.

Methods, with their defaults (nothing here was tuned on these pairs or seeds):

    zc   raynas ZeroCostStrategy, roles (quality, cost, cost): accuracy proxies path_params + synflow,
         cost proxy FLOPs for both latencies
    gp   Optuna GPSampler                tpe  Optuna TPESampler(multivariate=True)
    random  Optuna RandomSampler

Zero-cost scores are computed on the real networks (Fashion-MNIST stand-in batch, 64 images, 32 px),
read from the raynas proxy cache where an earlier run left them and computed here otherwise; the
table reports the networks each run had scored (its proxy budget). Every finished run is appended
to ``--out`` at once and a rerun skips what is there.

    python benchmarks/nb201_three.py                          # 20 pairs x 10 seeds x 4 methods
    python benchmarks/nb201_three.py --pairs 2 --seeds 2      # a quick look
    python benchmarks/nb201_three.py --report                 # tables from what has run
    python benchmarks/nb201_three.py --methods zc,zc-ard --variant zc-ard='{"model": {"options": {"relevance": true}}}'
                                                              # a ZeroCostStrategy setting beside the defaults
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

from benchmarks.variants import add_variant_option, parse_variants  # noqa: E402

METHODS = ("zc", "gp", "tpe", "random")
LABELS = {"zc": "raynas ZeroCostStrategy (defaults)", "gp": "Optuna GPSampler",
          "tpe": "Optuna TPESampler(multivariate=True)", "random": "Optuna RandomSampler"}
PROXIES = ["path_params", "synflow", "flops"]
BUDGETS = (25, 50, 100)


def device_pairs(devices: list[str], n: int) -> list[tuple[str, str]]:
    step = 7 if len(devices) == 20 else 1  # 7 is prime to 20: no pair repeats, even in swapped order
    pairs = [(devices[k], devices[(k + step) % len(devices)]) for k in range(len(devices))]
    return pairs[:n]


class Objectives3:
    """(error, latency A, latency B) of every NB201 architecture, with the true front's normaliser."""

    def __init__(self, bench, a: str, b: str):
        from raynas import moo

        self.bench, self.devices = bench, (a, b)
        self.all = np.column_stack([100 - bench.all_accuracy(), bench.all_latency(a), bench.all_latency(b)])
        self.norm = moo.Normaliser.fit(self.all)
        u = self.norm(self.all)
        self.true_hv = moo.hypervolume(u[moo.pareto_mask(u)], np.ones(3))

    def __call__(self, arch) -> tuple[float, float, float]:
        return tuple(float(v) for v in self.all[self.bench.index(arch)])

    def trajectory(self, archs) -> np.ndarray:
        from raynas import moo

        pts = np.array([self(a) for a in archs])
        return moo.hv_trajectory(pts, normaliser=self.norm, true_hv=self.true_hv)


def shared_scores(space, data_dir):
    """One :class:`ProxyScores` for every run, prefilled from the raynas proxy cache where present."""
    import pandas as pd

    from raynas import paths
    from raynas.proxies import ProxyTable
    from raynas.strategies.scorers import ProxyScores

    scores = ProxyScores(space, PROXIES, data_dir=data_dir)
    cache = paths.cache_dir(sub="benchmarks")
    table = ProxyTable(space, cache_dir=cache).table  # read only: nothing is computed here
    if all(n in table.columns for n in PROXIES):
        values = table[PROXIES].apply(pd.to_numeric, errors="coerce")  # "failed" -> NaN
        for s, row in values[table[PROXIES].notna().all(axis=1)].iterrows():
            scores.cache[space.parse(s)] = row.to_numpy(dtype=float)
    print(f"# proxy values of {len(scores.cache)} NB201 networks read from {cache}", file=sys.stderr)
    return scores


class RunView:
    """A run's view of the shared scores: counts the distinct networks this run asked for."""

    def __init__(self, shared):
        self.shared, self.names, self.asked = shared, shared.names, set()

    @property
    def evaluations(self) -> int:
        return len(self.asked)

    def values(self, archs):
        archs = [tuple(a) for a in archs]
        self.asked.update(archs)
        return self.shared.values(archs)

    def prefetch(self, archs):
        self.values(archs)

    def ready(self, archs):
        return self.shared.ready(archs)

    def scorer(self, name: str):
        """One proxy of the shared scores as a scorer counted in this run (synflow on a log scale)."""
        from raynas.strategies.scorers import LOG_PROXIES, ProxyColumn

        return ProxyColumn(self, self.names.index(name), "log" if name in LOG_PROXIES else "none")


#: ZeroCostStrategy settings beside the defaults: name -> keyword arguments (``--variant``)
VARIANTS: dict[str, dict] = {"zc": {}}


def make_strategy(method: str, space, scores, seed: int):
    from raynas.strategies import OptunaStrategy, ZeroCostStrategy
    from raynas.strategies.scorers import ProxyColumn

    if method in VARIANTS:
        view = RunView(scores)
        col = lambda n, t="none": ProxyColumn(view, PROXIES.index(n), t)  # noqa: E731
        return ZeroCostStrategy(space, [col("path_params"), col("synflow", "log")], col("flops"),
                                objectives=["quality", "cost", "cost"], seed=seed, **VARIANTS[method]), view
    kw = {"multivariate": True} if method == "tpe" else {}
    return OptunaStrategy(space, method, n_objectives=3, seed=seed, **kw), None


def run_one(method: str, objs: Objectives3, scores, seed: int, budget: int) -> dict:
    strategy, view = make_strategy(method, objs.bench.space, scores, seed)
    archs, ask_s = [], []
    t0 = time.perf_counter()
    for _ in range(budget):
        t = time.perf_counter()
        a = strategy.ask()
        ask_s.append(time.perf_counter() - t)
        strategy.tell(a, objs(a))
        archs.append(a)
    return {"method": method, "pair": list(objs.devices), "seed": seed, "hv": objs.trajectory(archs).tolist(),
            "wall_s": time.perf_counter() - t0, "ask_ms": 1000 * float(np.median(ask_s)),
            "distinct": len(set(archs)), "networks_scored": view.evaluations if view else 0}


def load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def report(runs: list[dict]) -> str:
    def reach(t, level):
        hit = np.flatnonzero(np.asarray(t) >= level - 1e-12)
        return hit[0] + 1 if hit.size else np.inf

    pairs = sorted({tuple(r["pair"]) for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    out = [f"NB201 cifar10-valid, 3 objectives (valid error, latency on device A, latency on device B): "
           f"{len(pairs)} device pairs x {len(seeds)} seeds; median normalised HV over pairs x seeds",
           "", "| method | runs | " + " | ".join(f"HV@{b}" for b in BUDGETS)
           + " | trials to 95% | trials to 99% | median ask ms | networks scored/run |", "|---|" * 1 + "---|" * 8]
    names = [*METHODS, *sorted({r["method"] for r in runs} - set(METHODS))]
    by = {m: [r for r in runs if r["method"] == m] for m in names}
    for m, rs in by.items():
        if not rs:
            continue
        cells = [f"{np.median([r['hv'][min(b, len(r['hv'])) - 1] for r in rs]):.3f}" for b in BUDGETS]
        r95 = np.median([reach(r["hv"], .95) for r in rs])
        r99 = np.median([reach(r["hv"], .99) for r in rs])
        fmt = lambda v: f"{v:.0f}" if np.isfinite(v) else f">{max(BUDGETS)}"  # noqa: E731
        scored = f"{np.median([r['networks_scored'] for r in rs]):.0f}" if rs[0]["networks_scored"] else "-"
        label = LABELS.get(m, f"raynas ZeroCostStrategy, variant {m}")
        out.append(f"| {label} | {len(rs)} | " + " | ".join(cells) + f" | {fmt(r95)} | {fmt(r99)} | "
                   f"{np.median([r['ask_ms'] for r in rs]):.1f} | {scored} |")
    # the target: raynas's HV@50 against the best Optuna sampler's HV@100, per pair (median over seeds)
    if by["zc"]:
        out += ["", "Per device pair: raynas HV@50 vs the best Optuna sampler's HV@100 (median over seeds)", "",
                "| device A | device B | raynas HV@50 | raynas HV@100 | best Optuna HV@100 |", "|---|---|---|---|---|"]
        wins = n = 0
        for p in pairs:
            med = lambda m, b: np.median([r["hv"][b - 1] for r in by[m] if tuple(r["pair"]) == p])  # noqa: E731
            rivals = [(med(m, 100), m) for m in ("gp", "tpe", "random") if any(tuple(r["pair"]) == p for r in by[m])]
            if not any(tuple(r["pair"]) == p for r in by["zc"]) or not rivals:
                continue
            best, bm = max(rivals)
            z50 = med("zc", 50)
            n += 1
            wins += z50 >= best - 1e-12
            out.append(f"| {p[0]} | {p[1]} | {z50:.3f}{'' if z50 >= best - 1e-12 else ' **(below)**'} | "
                       f"{med('zc', 100):.3f} | {best:.3f} ({bm}) |")
        out.append(f"\nraynas HV@50 at or above the best Optuna sampler's HV@100 on {wins} of {n} device pairs.")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=20, help="first N device pairs")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "nb201_three.jsonl"))
    p.add_argument("--report", action="store_true")
    add_variant_option(p)
    args = p.parse_args(argv)
    VARIANTS.update(parse_variants(args.variant, p))
    out = Path(args.out)
    if not args.report:
        import torch

        torch.set_num_threads(1)
        from raynas.benchmarks import NB201Benchmark

        bench = NB201Benchmark(args.data_dir)
        scores = shared_scores(bench.space, args.data_dir)
        have = {(r["method"], tuple(r["pair"]), r["seed"]) for r in load(out)}
        out.parent.mkdir(parents=True, exist_ok=True)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for a, b in device_pairs(bench.devices, args.pairs):
                objs = None
                for m in args.methods.split(","):
                    if (m, (a, b), seed) in have:
                        continue
                    objs = objs or Objectives3(bench, a, b)
                    rec = run_one(m, objs, scores, seed, args.budget)
                    with open(out, "a") as f:
                        f.write(json.dumps(rec) + "\n")
                    print(f"{m} {a}/{b} seed {seed}: HV@50 {rec['hv'][49]:.3f} HV@100 {rec['hv'][-1]:.3f} "
                          f"({rec['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    text = report(load(out))
    cmd = "python benchmarks/nb201_three.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = f"# {cmd}\n\n{text}\n"
    print(text)
    out.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
