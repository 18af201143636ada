"""A tabular NAS-Bench-201 search through Ray Tune, scored against the true Pareto front.

Every trial answers instantly from the published tables (CIFAR-10 valid accuracy and the latency of
``--device``), so a whole multi-objective search runs in seconds and its front can be compared with
the true one: the normalised hypervolume of ``raynas.moo`` (1.0 = the true front found). Runs raynas's
``ZeroCostSearch`` and Tune's own ``OptunaSearch`` (multivariate TPE) with the same budget, plots both
fronts over all 15,625 architectures, and writes ``results_<searcher>.csv``.

    nice -n 10 .venv/bin/python examples/tabular_nb201.py --device raspi4 --samples 50
    nice -n 10 .venv/bin/python examples/tabular_nb201.py --device pixel3 --proxy synflow --engine tpe

The zero-cost proxies are computed on the real NB201 networks on the driver (``--proxy-workers N``:
in N Ray tasks); ``--proxy-cache DIR`` reuses values computed before (e.g. by
``benchmarks/search_quality.py``, which keeps them in ``benchmarks/cache/search_quality``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from raynas.benchmarks import NB201Benchmark  # noqa: E402
from raynas.strategies.optuna import make_sampler  # noqa: E402
from searchers import ZeroCostSearch, pareto_front, results_dataframe  # noqa: E402
from searchers.spaces import tune_param_space  # noqa: E402
from searchers.trainables import tabular_trainable  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="raspi4", help="a device column of nb201/latency_ms.csv")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proxy", default="path_params")
    ap.add_argument("--cost", default="flops")
    ap.add_argument("--engine", default="evolution", help="evolution, random, tpe, nsga2, gp")
    ap.add_argument("--proxy-workers", type=int, default=0)
    ap.add_argument("--proxy-cache", default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="raynas_results/tabular_nb201")
    args = ap.parse_args(argv)

    bench = NB201Benchmark(args.data_dir)
    bench.latency(0, args.device)  # an unknown device raises here, listing the known ones
    metric, mode = ["accuracy", f"latency_ms/{args.device}"], ["max", "min"]
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    searchers = {
        "ZeroCostSearch": lambda: ZeroCostSearch(bench.space, metric, mode, proxy=args.proxy, cost=args.cost,
                                                 engine=args.engine, seed=args.seed, proxy_workers=args.proxy_workers,
                                                 proxy_cache_dir=args.proxy_cache),
        "OptunaSearch(TPE)": lambda: OptunaSearch(metric=metric, mode=mode, sampler=make_sampler("tpe", args.seed)),
    }
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # with the per-trial logger files off, Tune's ExperimentAnalysis warns that it found none; results
    # are read from memory instead (searchers.results.results_dataframe)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    fronts = {}
    try:
        for name, make in searchers.items():
            t0 = time.perf_counter()
            tuner = tune.Tuner(
                tabular_trainable(devices=[args.device], data_dir=args.data_dir),
                param_space=tune_param_space(bench.space),
                tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(make(), 2),
                                            num_samples=args.samples, reuse_actors=True),
                run_config=tune.RunConfig(name=name.split("(")[0], storage_path=str(out), verbose=0),
            )
            df = results_dataframe(tuner.fit())
            wall = time.perf_counter() - t0
            df.to_csv(out / f"results_{name.split('(')[0]}.csv", index=False)
            front = pareto_front(df, metric, mode)
            fronts[name] = front
            hv = bench.normalised_hv(list(df["arch"].dropna()), args.device)
            print(f"{name}: {len(df)} trials ({df['arch'].nunique()} distinct) in {wall:.0f} s; "
                  f"normalised HV {hv:.3f} of the true front; its own front: {len(front)} architectures")
    finally:
        ray.shutdown()
    plot(bench, args.device, fronts, metric, out / f"fronts_{args.device}.png")
    print(f"wrote {out}/results_*.csv and fronts_{args.device}.png")
    return 0


def plot(bench, device: str, fronts: dict, metric, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = bench.all_objectives(device)
    true = pts[bench.true_front(device)]
    true = true[np.argsort(true[:, 1])]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter(pts[:, 1], 100 - pts[:, 0], s=2, c="lightgrey", label="all 15,625 architectures")
    ax.step(true[:, 1], 100 - true[:, 0], where="post", c="black", lw=1, label="true front")
    for (name, front), c in zip(fronts.items(), ["tab:red", "tab:blue"]):
        f = front.sort_values(metric[1])
        ax.step(f[metric[1]], f[metric[0]], where="post", c=c, lw=1.5)
        ax.scatter(f[metric[1]], f[metric[0]], s=25, c=c, label=f"{name} front")
    ax.set_xlabel(f"latency on {device} (ms)")
    ax.set_ylabel("CIFAR-10 valid accuracy (%)")
    ax.set_ylim(max(0, np.percentile(100 - pts[:, 0], 5)), 100 - pts[:, 0].min() + 1)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
