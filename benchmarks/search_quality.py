"""Search quality on NAS-Bench-201 tabular ground truth: raynas strategies vs Optuna samplers.

Objectives: CIFAR-10 valid error (100 - valid accuracy, %) and the latency (ms) of one device
column of ``nb201/latency_ms.csv`` -- every column the file has, unless ``--devices`` picks some.
Quality is the normalised hypervolume of ``raynas.moo`` (both objectives min-max normalised over all
15,625 architectures of the device, reference (1, 1), HV(evaluated) / HV(all)); a duplicate
architecture costs a trial. Strategies and Optuna's samplers are driven directly through ask/tell
(no Ray); ``--tune-check`` runs a few suggestions through the Tune adapter and checks they are the
same.

Zero-cost estimates used by ZeroCostStrategy (the accuracy proxy and the hardware cost) are computed
on the real NB201 networks built by ``NB201Space`` (never read from the accuracy table) and kept in a
:class:`raynas.proxies.ProxyTable` in raynas's cache directory (``benchmarks/`` under ``$RAYNAS_CACHE`` or the
user cache dir, shared with ``nb201_three.py``); missing
values are computed when a run first asks for them and appended to the cache at once
(``--fill-workers N`` computes all of them first instead; all 15,625 networks take ~30 min on 2
loaded cores). They are a separate budget: the table reports the median number of distinct networks
each run had scored. Every finished run is appended to ``--runs`` (a JSON lines file) at once, and
a rerun of the same command skips the runs it finds there.

    .venv/bin/python benchmarks/search_quality.py                    # all devices, 10 seeds, GP on 3 devices
    .venv/bin/python benchmarks/search_quality.py --devices raspi4,pixel3 --seeds 3 --methods zc,tpe
    .venv/bin/python benchmarks/search_quality.py --merge out1.json,out2.json   # one table from several runs
    .venv/bin/python benchmarks/search_quality.py --merge gp.json,gp100.json#gp=gp-all   # rename a method
    .venv/bin/python benchmarks/search_quality.py --merge a.json#gp=gp-all,b.json#gp=gp-all   # pool two runs
    .venv/bin/python benchmarks/search_quality.py --merge a.json#zc=-,b.json   # leave a file's method out
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

from raynas import paths  # noqa: E402
from raynas.benchmarks import NB201Benchmark  # noqa: E402
from raynas.strategies import (AgingEvolutionStrategy, OptunaStrategy, RandomStrategy,  # noqa: E402
                               ZeroCostStrategy)
from raynas.strategies.scorers import ProxyScores  # noqa: E402

from benchmarks.nb201_three import RunView, load  # noqa: E402
from benchmarks.variants import add_variant_option, parse_variants  # noqa: E402

CACHE = paths.cache_dir(sub="benchmarks")
OUT = ROOT / "benchmarks" / "out"
BUDGETS = (25, 50, 100, 200)


def load_scores(space, names: list[str], workers: int) -> ProxyScores:
    """NB201 networks' ``names`` through the ProxyTable cache: a network no run has scored yet is
    computed when a run first asks for it and appended to the cache at once (with ``workers`` > 0,
    every missing network is computed first, in that many processes)."""
    from raynas.proxies import ProxyTable

    if workers > 0:
        table = ProxyTable(space, cache_dir=CACHE)
        archs = [tuple(a) for a in space.enumerate()]
        missing = table.missing(archs, names)
        if missing:
            print(f"# computing {names} on {len(missing)} NB201 networks ({workers} workers) into {table.path}",
                  file=sys.stderr, flush=True)
            table.fill(archs, names, workers=workers, threads=1)
    return ProxyScores(space, names, cache_dir=CACHE)


def zc_factory(space, scores, proxies: list[str], cost: str, kw: dict):
    def make(seed):
        view = RunView(scores)  # shared by the proxies and the cost: one network scored for all
        args = dict(kw)
        if args.get("engine") in ("tpe", "nsga2", "gp"):
            args["engine"] = OptunaStrategy(space, args["engine"], seed=seed, skip_duplicates=True)
        names = args.pop("proxy", proxies)
        names = [names] if isinstance(names, str) else list(names)
        return ZeroCostStrategy(space, [view.scorer(p) for p in names], view.scorer(args.pop("cost", cost)),
                                seed=seed, **args)
    return make


def method_factories(args, space, scores):
    """name -> (factory(seed) -> strategy, label)."""
    proxies = args.proxy.split(",")
    pr = " + ".join(proxies)
    variants = {
        "zc": ({}, f"raynas ZeroCost (proxies {pr}, cost {args.cost}; defaults: learned, EHVI move)"),
        "zc-hvi": ({"proxy": proxies[:1], "acquisition": "hvi"},
                   f"raynas ZeroCost, {proxies[0]} only, HVI move (no predictive uncertainty)"),
        "zc-nolearn": ({"model": {"learn": ()}},
                       f"raynas ZeroCost, nothing learned (zero-cost scores {pr}, {args.cost} only)"),
        "zc-paper": ({"proxy": ["synflow"], "moves": {"population_size": 64, "sample_size": 10, "random_prob": 0.25,
                                                      "front_prob": 0.0},
                      "model": {"learn": (1,)}, "acquisition": "preference", "warmup": {"networks": None}},
                     "raynas ZeroCost, the paper's settings (synflow, all 3,000 warm-up candidates scored, pop 64/10, "
                     "p=.25; latency learned, preference move)"),
        "zc-tpe": ({"engine": "tpe"}, f"raynas ZeroCost over an Optuna TPE engine ({pr}, {args.cost})"),
        "zc-random": ({"engine": "random"}, f"raynas ZeroCost over a random engine ({pr}, {args.cost})"),
    }
    for name, kw in parse_variants(args.variant).items():
        variants[name] = (kw, f"raynas ZeroCost variant {name}: {json.dumps(kw)}")
    out = {}
    for name, (kw, label) in variants.items():
        out[name] = (zc_factory(space, scores, proxies, args.cost, kw), label)
    out.update({
        "aging": (lambda s: AgingEvolutionStrategy(space, population_size=20, sample_size=5, seed=s),
                  "raynas AgingEvolution (NSGA-II keys, pop 20, tour 5; no proxies)"),
        "rs": (lambda s: RandomStrategy(space, seed=s), "raynas Random (no repeats)"),
        "random": (lambda s: OptunaStrategy(space, "random", seed=s), "Optuna RandomSampler"),
        "nsga2-20": (lambda s: OptunaStrategy(space, "nsga2", seed=s, population_size=20),
                     "Optuna NSGAIISampler(population_size=20)"),
        "nsga2": (lambda s: OptunaStrategy(space, "nsga2", seed=s), "Optuna NSGAIISampler (default pop 50)"),
        "tpe": (lambda s: OptunaStrategy(space, "tpe", seed=s, multivariate=True),
                "Optuna TPESampler(multivariate=True)"),
        "gp": (lambda s: OptunaStrategy(space, "gp", seed=s), "Optuna GPSampler"),
    })
    return out


def run_one(bench, strategy, device: str, budget: int) -> dict:
    archs, ask_s = [], []
    for _ in range(budget):
        t0 = time.perf_counter()
        a = strategy.ask()
        ask_s.append(time.perf_counter() - t0)
        strategy.tell(a, bench.objectives(a, device))
        archs.append(a)
    traj = bench.hv_trajectory(archs, device)
    out = {"hv": traj.tolist(), "ask_ms": 1000 * float(np.median(ask_s)), "ask_ms_max": 1000 * float(np.max(ask_s)),
           "distinct": len(set(archs))}
    if isinstance(strategy, ZeroCostStrategy):
        out["networks_scored"] = max(strategy.estimate_evaluations.values())
    return out


def first_reach(traj, level: float) -> float:
    hit = np.flatnonzero(np.asarray(traj) >= level - 1e-12)
    return float(hit[0] + 1) if hit.size else np.inf


def _reach_cell(trajs, level: float, maxb: int) -> str:
    t = np.array([first_reach(x, level) for x in trajs])
    med = np.median(t)
    frac = np.mean(np.isfinite(t))
    return f"{int(med)} ({frac:.0%} reach)" if np.isfinite(med) else f">{maxb} ({frac:.0%} reach)"


def summarise(results: dict, budgets, labels: dict) -> str:
    maxb = max(budgets)
    head = ("| method | runs | " + " | ".join(f"HV@{b}" for b in budgets)
            + f" | trials to 95% | trials to 99% | median ask ms | networks scored/run (proxy budget) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for m, runs in results.items():
        trajs = [r["hv"] for r in runs]
        run_len = min(len(t) for t in trajs)  # a run shorter than the largest budget (e.g. GP to 100)
        cells = [f"{np.median([t[b - 1] for t in trajs]):.3f}" if b <= run_len else "-" for b in budgets]
        reach = [_reach_cell(trajs, level, min(maxb, run_len)) for level in (0.95, 0.99)]
        ask = np.median([r["ask_ms"] for r in runs])
        evals = f"{np.median([r['networks_scored'] for r in runs]):.0f}" if "networks_scored" in runs[0] else "-"
        lines.append(f"| {labels[m]} | {len(runs)} | " + " | ".join(cells) + f" | {reach[0]} | {reach[1]} | "
                     f"{ask:.1f} | {evals} |")
    return "\n".join(lines)


def plot(results: dict, labels: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for m, runs in results.items():
        t = np.array([r["hv"] for r in runs])
        x = np.arange(1, t.shape[1] + 1)
        ax.plot(x, np.median(t, axis=0), label=labels[m], lw=2 if labels[m].startswith("raynas ZeroCost") else 1.2)
    ax.axhline(0.99, color="grey", lw=0.5, ls="--")
    ax.axhline(0.95, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("trials")
    ax.set_ylabel("median normalised HV")
    ax.set_ylim(0.8, 1.0)
    ax.set_title("NB201 valid error vs device latency (median over devices x seeds)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def per_device_table(results: dict, labels: dict, focus: str, budgets=(50, 100)) -> str:
    """``focus`` (a raynas method) against the best Optuna sampler run on each device, median over seeds.

    Only samplers run on the device count (GP may run on a subset); a device with no Optuna run has
    no comparison (shown as ``-``) and is never counted as worse."""
    optuna_methods = [m for m in results if labels[m].startswith("Optuna")]
    if focus not in results:
        return ""
    devices = sorted({r["device"] for r in results[focus]})
    head = "| device | " + " | ".join(f"{focus} HV@{b} | best Optuna HV@{b}" for b in budgets) + \
        f" | {focus} trials to 99% | best Optuna trials to 99% |"
    lines = [f"Per device: {labels[focus]} vs the best Optuna sampler run on that device (median over seeds; "
             "GP only where it was run)", "", head, "|" + "---|" * (head.count("|") - 1)]
    worse = compared = 0
    maxb = len(results[focus][0]["hv"])
    for d in devices:
        runs = {m: [r for r in results[m] if r["device"] == d] for m in [focus, *optuna_methods]}
        rivals = [m for m in optuna_methods if runs[m]]
        cells = []
        for b in budgets:
            med = lambda m: float(np.median([r["hv"][min(b, len(r["hv"])) - 1] for r in runs[m]]))  # noqa: E731
            mine = med(focus)
            if not rivals:
                cells.append(f"{mine:.3f} | -")
                continue
            best_v, best_m = max((med(m), m) for m in rivals)
            compared += 1
            flag = "" if mine >= best_v - 1e-9 else " **(worse)**"
            worse += bool(flag)
            cells.append(f"{mine:.3f}{flag} | {best_v:.3f} ({best_m})")
        reach = lambda m: float(np.median([first_reach(r["hv"], 0.99) for r in runs[m]]))  # noqa: E731
        rival = "-"
        full = [m for m in rivals if len(runs[m][0]["hv"]) >= maxb]  # runs as long as the focus's
        if full:
            best_v, best_m = min((reach(m), m) for m in full)
            rival = f"{best_v:g} ({best_m})" if np.isfinite(best_v) else f">{maxb} (none reach)"
        lines.append(f"| {d} | " + " | ".join(cells) + f" | {reach(focus):g} | {rival} |".replace(' inf |', f' >{maxb} |'))
    missing = len(devices) * len(budgets) - compared
    lines.append(f"\n{focus} is below the best Optuna sampler in {worse} of {compared} device/budget cells "
                 f"(budgets {', '.join(map(str, budgets))})"
                 + (f"; {missing} cells had no Optuna run to compare with." if missing else "."))
    return "\n".join(lines)


def gp_label(label: str, runs: list) -> str:
    devs = sorted({r["device"] for r in runs})
    seeds = len({r["seed"] for r in runs})
    return f"{label} ({len(devs)} devices: {', '.join(devs)}; x {seeds} seeds)"


def report(results: dict, labels: dict, budgets, header: str, tag: str, focus: str, extra: dict | None = None) -> None:
    if "gp" in results and "devices:" not in labels["gp"]:
        labels["gp"] = gp_label(labels["gp"], results["gp"])
    table = summarise(results, budgets, labels) + "".join(
        "\n\n" + per_device_table(results, labels, f) for f in focus.split(",") if f in results)
    print(header)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.md").write_text(header + "\n" + table + "\n")
    if extra is not None:
        (OUT / f"{tag}.json").write_text(json.dumps({**extra, "labels": labels, "results": results}))
    plot(results, labels, OUT / f"{tag}.png")
    print(f"\nsaved {OUT / (tag + '.md')}, .png" + (", .json" if extra is not None else ""))


def merge(args) -> int:
    """Combine the JSON outputs of several runs (e.g. baselines, GP on a subset, raynas) in one table."""
    results, labels, source, files = {}, {}, {}, []
    for k, spec in enumerate(args.merge.split(",")):
        path, _, renames = spec.partition("#")  # FILE#gp=gp-all keeps a second GP run beside the first
        rename = dict(r.split("=") for r in renames.split(";") if r)
        data = json.loads(Path(path).read_text())
        files.append(f"{data.get('command')} (wall {data.get('wall_s', float('nan')):.0f} s)")
        for m0, runs in data["results"].items():  # a later file's method replaces an earlier one's ...
            m = rename.get(m0, m0)
            if m == "-":  # FILE#zc=- leaves a file's method out
                continue
            if m0 in rename and m in results:  # ... unless renamed onto it: then their runs are pooled
                have = {(r["device"], r["seed"]) for r in results[m]}
                runs = results[m] + [r for r in runs if (r["device"], r["seed"]) not in have]
                source[m].add(k)
            else:
                source[m] = {k}
            results[m] = runs
            labels[m] = gp_label(data["labels"][m0].split(" (")[0], runs) if m0 == "gp" else data["labels"][m0]
            if m != m0 and m0 != "gp":
                labels[m] += f" [{m}]"
    headers = [f"- {cmd} -> rows used: {', '.join(m for m in results if k in source[m]) or 'none'}"
               for k, cmd in enumerate(files)]
    budgets = [int(b) for b in args.budgets.split(",")]
    header = (f"NB201 cifar10-valid: valid error vs device latency; `benchmarks/search_quality.py --merge "
              f"'{args.merge}'` merged:\n" + "\n".join(headers) + "\n")
    report(results, labels, budgets, header, args.tag, args.focus)
    return 0


def tune_check(bench, space, scores, args, n: int = 12) -> str:
    """The Tune adapter (ZeroCostSearch.suggest/on_trial_complete) with the same seed proposes the
    same architectures as the strategy driven directly."""
    from searchers import ZeroCostSearch

    device = bench.devices[0]
    proxies = args.proxy.split(",")
    view = RunView(scores)
    direct = ZeroCostStrategy(space, [view.scorer(p) for p in proxies], view.scorer(args.cost), seed=0)
    searcher = ZeroCostSearch(space, ["accuracy", "latency"], ["max", "min"], proxy=proxies, cost=args.cost, seed=0)
    searcher.scores.cache = {a: scores.cache[a][[scores.names.index(n) for n in searcher.scores.names]]
                             for a in scores.cache}  # the same (prefilled) proxy values
    same = 0
    for i in range(n):
        a = direct.ask()
        direct.tell(a, bench.objectives(a, device))
        config = searcher.suggest(f"t{i}")
        b = space.from_config(config)
        searcher.on_trial_complete(f"t{i}", {"accuracy": bench.accuracy(b), "latency": bench.latency(b, device)})
        same += a == b
    return f"Tune adapter cross-check: {same}/{n} suggestions identical to the strategy driven directly ({device})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--devices", default=None, help="comma-separated subset (default: every column of the file)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    ap.add_argument("--budgets", default="25,50,100,200")
    ap.add_argument("--methods", default="zc,zc-hvi,zc-paper,zc-tpe,aging,random,nsga2-20,nsga2,tpe,gp")
    add_variant_option(ap)
    ap.add_argument("--gp-devices", default=None, help="devices for GP (default: 3 spread over --devices)")
    ap.add_argument("--gp-seeds", type=int, default=3)
    ap.add_argument("--proxy", default="path_params,synflow",
                    help="accuracy proxies, comma-separated (the first drives the warm-up); data-free ones")
    ap.add_argument("--cost", default="flops", help="static hardware cost: flops or params")
    ap.add_argument("--fill-workers", type=int, default=0,
                    help="compute every missing proxy first in this many processes (0: when a run needs it)")
    ap.add_argument("--runs", default=None, help="JSON lines of finished runs, appended to as each ends and "
                    "skipped by a rerun (default: benchmarks/out/<tag>.runs.jsonl)")
    ap.add_argument("--tag", default="search_quality")
    ap.add_argument("--focus", default="zc",
                    help="raynas method(s), comma-separated, compared per device with the best Optuna sampler")
    ap.add_argument("--tune-check", action="store_true", help="also cross-check the Tune adapter's suggestions")
    ap.add_argument("--merge", default=None, help="comma-separated JSON outputs of earlier runs: one combined table")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args)

    import torch

    torch.set_num_threads(1)
    bench = NB201Benchmark(args.data_dir)
    devices = args.devices.split(",") if args.devices else list(bench.devices)
    for d in devices:
        bench.latency(0, d)  # unknown devices fail here, naming the known ones
    budgets = [int(b) for b in args.budgets.split(",")]
    maxb = max(budgets)
    methods = args.methods.split(",")
    variants = set(parse_variants(args.variant, ap))
    needs_scores = any(m.startswith("zc") or m in variants for m in methods) or args.tune_check
    names = list(dict.fromkeys(args.proxy.split(",") + [args.cost, "synflow", "path_params", "flops"]))
    scores = load_scores(bench.space, names, args.fill_workers) if needs_scores else None
    factories = method_factories(args, bench.space, scores)
    for m in methods:
        if m not in factories:
            raise SystemExit(f"unknown method {m!r}; choose from {list(factories)}")
    gp_devices = args.gp_devices.split(",") if args.gp_devices else [devices[i] for i in
                                                                     sorted({0, len(devices) // 2, len(devices) - 1})]
    labels = {m: factories[m][1] for m in methods}
    results: dict[str, list] = {m: [] for m in methods}
    runs = Path(args.runs) if args.runs else OUT / f"{args.tag}.runs.jsonl"
    done = {(r["method"], r["device"], r["seed"], r["budget"]): r for r in load(runs)}
    runs.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for m in methods:
        devs, nseeds = (gp_devices, args.gp_seeds) if m == "gp" else (devices, args.seeds)
        for d in devs:
            for s in range(args.first_seed, args.first_seed + nseeds):
                r = done.get((m, d, s, maxb))
                if r is None:  # not in an earlier, interrupted run of this command
                    r = run_one(bench, factories[m][0](s), d, maxb)
                    r.update(method=m, device=d, seed=s, budget=maxb)
                    with runs.open("a") as f:
                        f.write(json.dumps(r) + "\n")
                results[m].append(r)
        print(f"# {m}: {len(results[m])} runs, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    wall = time.time() - t0
    command = " ".join(["benchmarks/search_quality.py"] + (argv if argv is not None else sys.argv[1:]))
    header = (f"NB201 cifar10-valid: valid error vs device latency; devices: {len(devices)} ({', '.join(devices)}); "
              f"seeds: {args.seeds}; proxy: {args.proxy}; static cost: {args.cost}; wall {wall:.0f} s "
              f"(2 shared, loaded cores)\ncommand: {command}\n")
    if args.tune_check:
        header += tune_check(bench, bench.space, scores, args) + "\n"
    report(results, labels, budgets, header, args.tag, args.focus,
           extra={"args": vars(args), "command": command, "wall_s": wall})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
