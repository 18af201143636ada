"""Search quality on NAS-Bench-201 tabular ground truth: raynas strategies vs Optuna samplers.

Objectives: CIFAR-10 valid error (100 - valid accuracy, %) and the latency (ms) of one device
column of ``nb201/latency_ms.csv`` -- every column the file has, unless ``--devices`` picks some.
Quality is the normalised hypervolume of ``raynas.moo`` (both objectives min-max normalised over all
15,625 architectures of the device, reference (1, 1), HV(evaluated) / HV(all)); a duplicate
architecture costs a trial. Strategies and samplers are driven directly through ask/tell (no Ray).

Zero-cost estimates (proxy and hardware cost) used by ZeroCostStrategy are computed on the real
NB201 networks built by ``NB201Space`` (never read from the accuracy table), cached in
``benchmarks/cache/`` (git-ignored), and reported as a separate budget: the median number of distinct
architectures each run had scored.

    .venv/bin/python benchmarks/search_quality.py                  # all devices, 10 seeds
    .venv/bin/python benchmarks/search_quality.py --devices raspi4,pixel3 --seeds 3 --methods zc,tpe
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

from raynas.benchmarks import NB201Benchmark  # noqa: E402
from raynas.strategies import (AgingEvolutionStrategy, OptunaStrategy, RandomStrategy,  # noqa: E402
                               ZeroCostStrategy)
from raynas.strategies.scorers import BUILTIN, CachedScorer, network_scorer  # noqa: E402

CACHE = ROOT / "benchmarks" / "cache"
OUT = ROOT / "benchmarks" / "out"
BUDGETS = (25, 50, 100, 200)


class RunScorer:
    """Per-run view of a shared cached scorer: counts the distinct architectures this run scored."""

    def __init__(self, base: CachedScorer):
        self.base = base
        self.asked: set = set()
        self.evaluations = 0

    def __call__(self, arch) -> float:
        a = tuple(arch)
        if a not in self.asked:
            self.asked.add(a)
            self.evaluations += 1
        return self.base(a)


def make_proxy(name: str, space) -> CachedScorer:
    if name in BUILTIN:
        return network_scorer(space, name, cache_dir=CACHE)
    if name == "synflow":
        try:
            from raynas.proxies import compute_proxies  # noqa: F401
            from raynas.proxies import score_architectures
        except ImportError as e:
            raise SystemExit(f"--proxy synflow needs raynas.proxies.compute_proxies/score_architectures ({e})") from None

        path = CACHE / "nb201_synflow.json"

        def fn(arch):
            import torch

            batch = (torch.ones(1, 3, 32, 32), torch.zeros(1, dtype=torch.long))
            return float(np.asarray(score_architectures(space, [arch], ["synflow"], batch)).reshape(-1)[0])

        return CachedScorer(fn, "synflow", path)
    raise SystemExit(f"unknown proxy {name!r}; choose from {list(BUILTIN) + ['synflow']}")


def method_factories(args, space, proxy: CachedScorer, cost: CachedScorer):
    """name -> (factory(seed) -> strategy, label)."""
    zc_kw = dict(warmup_candidates=args.warmup_candidates, warmup_size=args.warmup_size,
                 population_size=args.population, sample_size=args.tournament,
                 random_move_prob=args.random_move_prob)
    paper_kw = dict(warmup_candidates=3000, warmup_size=args.warmup_size, population_size=64, sample_size=10,
                    random_move_prob=0.25, learned=(1,), move_choice="preference")
    zc = lambda s, **kw: ZeroCostStrategy(space, RunScorer(proxy), RunScorer(cost), seed=s, **kw)  # noqa: E731
    return {
        "zc": (lambda s: zc(s, **zc_kw),
               f"raynas ZeroCost (evolution pop {args.population}/{args.tournament}, {args.proxy}+{args.cost}, "
               f"learned, HVI move)"),
        "zc-nolearn": (lambda s: zc(s, **{**zc_kw, "learned": ()}),
                       f"raynas ZeroCost, nothing learned ({args.proxy}+{args.cost} only, HVI move)"),
        "zc-latonly": (lambda s: zc(s, **{**zc_kw, "learned": (1,)}),
                       f"raynas ZeroCost, learned latency only ({args.proxy} for accuracy, HVI move)"),
        "zc-paper": (lambda s: zc(s, **paper_kw),
                     f"raynas ZeroCost paper settings (pop 64/10, p=.25, preference move, {args.proxy}+learned latency)"),
        "zc-tpe": (lambda s: zc(s, **{**zc_kw, "engine": OptunaStrategy(space, "tpe", seed=s, skip_duplicates=True)}),
                   f"raynas ZeroCost over Optuna TPE engine ({args.proxy}+{args.cost}, learned, HVI move)"),
        "aging": (lambda s: AgingEvolutionStrategy(space, population_size=20, sample_size=5, seed=s),
                  "raynas AgingEvolution (NSGA-II keys, pop 20, tour 5)"),
        "rs": (lambda s: RandomStrategy(space, seed=s), "raynas Random (no repeats)"),
        "random": (lambda s: OptunaStrategy(space, "random", seed=s), "Optuna RandomSampler"),
        "nsga2-20": (lambda s: OptunaStrategy(space, "nsga2", seed=s, population_size=20),
                     "Optuna NSGAIISampler(population_size=20)"),
        "nsga2": (lambda s: OptunaStrategy(space, "nsga2", seed=s), "Optuna NSGAIISampler (pop 50)"),
        "tpe": (lambda s: OptunaStrategy(space, "tpe", seed=s, multivariate=True),
                "Optuna TPESampler(multivariate=True)"),
        "gp": (lambda s: OptunaStrategy(space, "gp", seed=s), "Optuna GPSampler"),
    }


def run_one(bench, strategy, device: str, budget: int) -> dict:
    archs, t_ask = [], 0.0
    for _ in range(budget):
        t0 = time.perf_counter()
        a = strategy.ask()
        t_ask += time.perf_counter() - t0
        strategy.tell(a, bench.objectives(a, device))
        archs.append(a)
    traj = bench.hv_trajectory(archs, device)
    out = {"hv": traj.tolist(), "ask_ms": 1000 * t_ask / budget, "distinct": len(set(archs))}
    if isinstance(strategy, ZeroCostStrategy):
        out["proxy_evals"] = strategy.proxy.evaluations
        out["cost_evals"] = strategy.cost.evaluations
    return out


def first_reach(traj, level: float) -> float:
    hit = np.flatnonzero(np.asarray(traj) >= level - 1e-12)
    return float(hit[0] + 1) if hit.size else np.inf


def summarise(results: dict, budgets, labels: dict) -> str:
    maxb = max(budgets)
    head = ("| method | runs | " + " | ".join(f"HV@{b}" for b in budgets)
            + " | trials to 95% | trials to 99% | ask ms | proxy+cost evals/run |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for m, runs in results.items():
        trajs = [r["hv"] for r in runs]
        cells = [f"{np.median([t[b - 1] for t in trajs]):.3f}" for b in budgets]
        reach = []
        for level in (0.95, 0.99):
            t = np.array([first_reach(x, level) for x in trajs])
            med = np.median(t)
            frac = np.mean(np.isfinite(t))
            reach.append(f"{int(med)}" if np.isfinite(med) else f">{maxb} ({frac:.0%} reach)")
        ask = np.median([r["ask_ms"] for r in runs])
        evals = "-"
        if "proxy_evals" in runs[0]:
            evals = f"{np.median([r['proxy_evals'] for r in runs]):.0f}+{np.median([r['cost_evals'] for r in runs]):.0f}"
        lines.append(f"| {labels[m]} | {len(runs)} | " + " | ".join(cells) + f" | {reach[0]} | {reach[1]} | {ask:.1f} | {evals} |")
    return "\n".join(lines)


def plot(results: dict, labels: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, runs in results.items():
        t = np.array([r["hv"] for r in runs])
        x = np.arange(1, t.shape[1] + 1)
        ax.plot(x, np.median(t, axis=0), label=labels[m])
    ax.axhline(0.99, color="grey", lw=0.5, ls="--")
    ax.axhline(0.95, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("trials")
    ax.set_ylabel("median normalised HV")
    ax.set_ylim(0.8, 1.0)
    ax.set_title("NB201: valid error vs device latency (median over devices x seeds)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def per_device_table(results: dict, labels: dict, focus: str, budgets=(50, 100)) -> str:
    """``focus`` (a raynas method) against the best Optuna sampler on each device, median over seeds."""
    if focus not in results:
        return ""
    optuna_methods = [m for m in results if labels[m].startswith("Optuna")]
    devices = sorted({r["device"] for r in results[focus]})
    head = "| device | " + " | ".join(f"{focus} HV@{b} | best Optuna HV@{b}" for b in budgets) + " |"
    lines = [f"Per device: {labels[focus]} vs the best Optuna sampler run on that device", "",
             head, "|" + "---|" * (head.count("|") - 1)]
    worse = 0
    for d in devices:
        cells = []
        for b in budgets:
            med = lambda m: float(np.median([r["hv"][b - 1] for r in results[m] if r["device"] == d]))  # noqa: E731
            mine = med(focus)
            best = max(((med(m), m) for m in optuna_methods if any(r["device"] == d for r in results[m])),
                       default=(np.nan, "-"))
            flag = "" if mine >= best[0] - 1e-9 else " (worse)"
            worse += bool(flag)
            cells.append(f"{mine:.3f}{flag} | {best[0]:.3f} ({best[1]})")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    lines.append(f"\n{focus} is below the best Optuna sampler in {worse} of {len(devices) * len(budgets)} device/budget cells.")
    return "\n".join(lines)


def gp_label(label: str, runs: list) -> str:
    devs = sorted({r["device"] for r in runs})
    seeds = len({r["seed"] for r in runs})
    return f"{label} ({len(devs)} devices: {', '.join(devs)}; x {seeds} seeds)"


def merge(args, default_args: dict) -> int:
    """Combine the JSON outputs of several runs (e.g. baselines, GP on a subset, raynas) in one table."""
    results, labels, headers = {}, {}, []
    for path in args.merge.split(","):
        data = json.loads(Path(path).read_text())
        run_args = argparse.Namespace(**{**default_args, **data["args"]})
        defaults = {m: lab for m, (_, lab) in method_factories(run_args, None, None, None).items()}
        headers.append(f"{path}: {data.get('command') or vars(run_args)}")
        for m, runs in data["results"].items():
            results[m] = runs
            labels[m] = data.get("labels", {}).get(m) or defaults.get(m, m)
    if "gp" in results:
        labels["gp"] = gp_label("Optuna GPSampler", results["gp"])
    budgets = [int(b) for b in args.budgets.split(",")]
    table = summarise(results, budgets, labels)
    header = "merged:\n" + "\n".join(headers) + "\n"
    table += "\n\n" + per_device_table(results, labels, args.focus)
    print(header)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.md").write_text(header + "\n" + table + "\n")
    plot(results, labels, OUT / f"{args.tag}.png")
    print(f"\nsaved {OUT / (args.tag + '.md')}, .png")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--devices", default=None, help="comma-separated subset (default: every column of the file)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="25,50,100,200")
    ap.add_argument("--methods", default="zc,zc-paper,zc-tpe,aging,rs,random,nsga2-20,nsga2,tpe,gp")
    ap.add_argument("--gp-devices", default=None, help="devices for GP (default: the first 3 of --devices)")
    ap.add_argument("--gp-seeds", type=int, default=3)
    ap.add_argument("--proxy", default="path_params", help=f"accuracy proxy: {', '.join(BUILTIN)}, or synflow")
    ap.add_argument("--cost", default="flops", help="static hardware cost: params or flops")
    ap.add_argument("--warmup-candidates", type=int, default=3000)
    ap.add_argument("--warmup-size", type=int, default=10)
    ap.add_argument("--population", type=int, default=40)
    ap.add_argument("--tournament", type=int, default=10)
    ap.add_argument("--random-move-prob", type=float, default=0.1)
    ap.add_argument("--tag", default="search_quality")
    ap.add_argument("--focus", default="zc", help="method compared per device in --merge output")
    ap.add_argument("--merge", default=None,
                    help="comma-separated JSON outputs of earlier runs: print and save one combined table")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args, vars(ap.parse_args([])))

    import torch

    torch.set_num_threads(1)
    bench = NB201Benchmark(args.data_dir)
    devices = args.devices.split(",") if args.devices else list(bench.devices)
    for d in devices:
        bench.latency(0, d)  # unknown devices fail here, naming the known ones
    budgets = [int(b) for b in args.budgets.split(",")]
    maxb = max(budgets)
    proxy = make_proxy(args.proxy, bench.space)
    cost = make_proxy(args.cost, bench.space)
    factories = method_factories(args, bench.space, proxy, cost)
    methods = args.methods.split(",")
    for m in methods:
        if m not in factories:
            raise SystemExit(f"unknown method {m!r}; choose from {list(factories)}")
    gp_devices = args.gp_devices.split(",") if args.gp_devices else devices[:3]
    labels = {m: factories[m][1] for m in methods}
    results: dict[str, list] = {m: [] for m in methods}
    t0 = time.time()
    for m in methods:
        devs, nseeds = (gp_devices, args.gp_seeds) if m == "gp" else (devices, args.seeds)
        for d in devs:
            for s in range(nseeds):
                r = run_one(bench, factories[m][0](s), d, maxb)
                r.update(device=d, seed=s)
                results[m].append(r)
        print(f"# {m}: {len(results[m])} runs, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    for scorer in (proxy, cost):
        if scorer.evaluations:  # only write back when this run computed new values
            scorer.save()
    if "gp" in results:
        labels["gp"] = gp_label(labels["gp"], results["gp"])
    table = summarise(results, budgets, labels)
    per_device = {}
    for m in methods:
        for d in sorted({r["device"] for r in results[m]}):
            rs = [r for r in results[m] if r["device"] == d]
            per_device.setdefault(d, {})[m] = {f"HV@{b}": float(np.median([r["hv"][b - 1] for r in rs])) for b in budgets}
    OUT.mkdir(parents=True, exist_ok=True)
    command = " ".join(["benchmarks/search_quality.py"] + (argv if argv is not None else sys.argv[1:]))
    header = (f"NB201 cifar10-valid: valid error vs latency; devices: {len(devices)} ({', '.join(devices)}); "
              f"seeds: {args.seeds}; proxy: {args.proxy}; static cost: {args.cost}; wall {time.time() - t0:.0f} s\n"
              f"command: {command}\n")
    print(header)
    print(table)
    (OUT / f"{args.tag}.md").write_text(header + "\n" + table + "\n")
    (OUT / f"{args.tag}.json").write_text(json.dumps({"args": vars(args), "command": command, "labels": labels,
                                                      "per_device": per_device,
                                                      "results": results}))
    plot(results, labels, OUT / f"{args.tag}.png")
    print(f"\nsaved {OUT / (args.tag + '.md')}, .json, .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
