"""How well ZeroCostStrategy's learned models rank the architectures a search is about to choose from.

Histories come from real searches: the default ZeroCostStrategy on NAS-Bench-201 tabular ground
truth (valid error vs a device's latency), stopped after T trials. The candidates are the unseen
one-decision neighbours of the 12 best told architectures (by non-dominated rank) -- what the move
proposal scores. Each model is fitted on the T told results (the same features: decisions, one-hot
encoding, zero-cost scores computed on the real networks) and ranks the candidates; the table gives
the mean Spearman correlation with the truth over all candidates and over the best quarter, and the
median regret of the best of its top 3 (truth minus the best candidate's truth; error in %, latency
in ms).

    .venv/bin/python benchmarks/surrogate_quality.py                 # 6 devices x 3 seeds, T = 20/35/50
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from raynas import moo  # noqa: E402
from raynas.benchmarks import NB201Benchmark  # noqa: E402
from raynas.evolution import unseen  # noqa: E402
from raynas.strategies import ZeroCostStrategy  # noqa: E402
from raynas.predictors.surrogates import ArchGP, RidgeSurrogate  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
MODELS = {"gp (default)": lambda n: ArchGP(n), "gp, no output warp": lambda n: ArchGP(n, warp_scale=None),
          "ridge (previous default)": lambda n: RidgeSurrogate(n)}


def candidates(space, told, values, n_parents: int = 12):
    order = np.argsort(moo.nondominated_ranks(values), kind="stable")[:n_parents]
    return unseen((a for i in order for a in space.neighbours(told[i])), set(told).__contains__)


def main(argv=None) -> int:
    import search_quality as sq

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", default="pixel3,raspi4,titanxp_1,2080ti_1,1080ti_32,silver_4114")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", default="20,35,50")
    ap.add_argument("--tag", default="surrogate_quality")
    args = ap.parse_args(argv)
    bench = NB201Benchmark(None)
    space = bench.space
    scores = sq.load_scores(space, ["path_params", "synflow", "flops"], 1)
    stops = [int(t) for t in args.trials.split(",")]
    rows: dict = {}
    for device in args.devices.split(","):
        for seed in range(args.seeds):
            view = sq.RunView(scores)
            search = ZeroCostStrategy(space, [view.scorer("path_params"), view.scorer("synflow")], view.scorer("flops"),
                                      seed=seed)
            told = []
            for _ in range(max(stops)):
                a = search.ask()
                search.tell(a, bench.objectives(a, device))
                told.append(a)
            for stop in stops:
                t = told[:stop]
                y = np.array([bench.objectives(a, device) for a in t])
                cands = candidates(space, t, y)
                truth = np.array([bench.objectives(a, device) for a in cands])
                x_told = search._features(t, search._scores(t))
                x_cand = search._features(cands, search._scores(cands))
                for name, make in MODELS.items():
                    pred = make(len(search.proxies) + 1).fit(np.asarray(t), x_told, y).predict(np.asarray(cands), x_cand)[0]
                    for j, objective in enumerate(("error", "latency")):
                        good = truth[:, j] <= np.quantile(truth[:, j], 0.25)
                        top = np.argsort(pred[:, j])[:3]
                        rows.setdefault((objective, stop, name), []).append(
                            (spearmanr(pred[:, j], truth[:, j])[0], spearmanr(pred[good, j], truth[good, j])[0],
                             truth[top, j].min() - truth[:, j].min()))
    lines = [f"devices {args.devices}; seeds {args.seeds}; histories from the default ZeroCostStrategy",
             "command: benchmarks/surrogate_quality.py " + " ".join(argv if argv is not None else sys.argv[1:]), "",
             "| objective | trials told | model | Spearman, all candidates | Spearman, best quarter | "
             "median regret of the top 3 |", "|---|---|---|---|---|---|"]
    for (objective, stop, name), v in rows.items():
        v = np.asarray(v)
        lines.append(f"| {objective} | {stop} | {name} | {v[:, 0].mean():.3f} | {v[:, 1].mean():.3f} | "
                     f"{np.median(v[:, 2]):.3f} |")
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
