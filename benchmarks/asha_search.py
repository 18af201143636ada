"""Search quality with early stopping: the `make demo` task, several seeds, raynas vs Optuna.

The task is ``raynas search``'s (``make demo``): NAS-Bench-201 cells (C=16, N=5) trained for 4
epochs on scikit-learn's digits, objectives validation accuracy (max) and latency measured in the
trial on this CPU (min), Tune's ``ASHAScheduler`` (grace 1 epoch, reduction factor 2) stopping weak
trials, 40 trials 2 at a time. Every method searches through the same ``run_search`` call the
command line makes:

    raynas ZeroCostSearch (defaults) · Optuna GP · Optuna TPE   -- Optuna via Tune's OptunaSearch

Tune's ``OptunaSearch`` tells Optuna a trial ASHA stopped as complete, with the accuracy it had
reached; raynas never learns it as a final result: only its latency (which does not depend on
training) is kept.

Quality: hypervolume of the complete trials after 20 and 40 trials (completion order), normalised
per seed over the union of every method's complete trials (min-max, reference point 1), divided by
the union front's HV; medians over seeds. Time: the run's wall clock (``run_search``'s, Ray start excluded; the
zero-cost warm-up included: it runs in a thread beside the trials) and the searcher's own time in
the driver (``suggest`` + ``on_trial_complete``).

Every finished run is appended to ``--out`` at once; a rerun skips what is there.

    python benchmarks/asha_search.py --seeds 5                          # ~20 min on 2 quiet cores
    python benchmarks/asha_search.py --methods g --variant g='{"model": {"min_fit": 4}}'   # a setting beside
    python benchmarks/asha_search.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.byo_search import done_runs, seed_trajectories, timed  # noqa: E402
from benchmarks.variants import add_run_options, parse_variants, run_record, variant_label, variant_settings  # noqa: E402, E501

METHODS = ("zc", "gp", "tpe")
LABELS = {"zc": "raynas ZeroCostSearch", "gp": "Optuna GP", "tpe": "Optuna TPE (multivariate)",
          "zc-device": "raynas ZeroCostSearch, latency estimated by timing each network here (LocalDevice)"}
METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
BUDGETS = (20, 40)
EPOCHS = 4
VARIANTS: dict[str, dict] = {}


def this_cpu():
    """This CPU timed as the trials time it (:meth:`~searchers.trainables.LiveTrialSettings.device`)."""
    from raynas.data import load_dataset
    from searchers.trainables import LiveTrialSettings

    return LiveTrialSettings().device(load_dataset("digits"))


def make_searcher(method: str, space, seed: int):
    if method in ("zc", "zc-device") or method in VARIANTS:
        from raynas.strategies.parts import Model
        from searchers import ZeroCostSearch

        settings = dict(VARIANTS.get(method, {}))
        if isinstance(settings.get("model"), dict):
            settings["model"] = Model(**settings["model"])
        if method == "zc-device":  # latency estimated by timing each network here, not by FLOPs
            settings["cost"] = {"latency_ms": this_cpu()}
        return timed(ZeroCostSearch, globals())(space, METRIC, MODE, seed=seed, **settings)
    from ray.tune.search.optuna import OptunaSearch

    from raynas.strategies.optuna import make_sampler

    return timed(OptunaSearch, globals())(metric=METRIC, mode=MODE, sampler=make_sampler(method, seed))


def run_one(method: str, seed: int, trials: int, concurrency: int) -> dict:
    from ray.tune.schedulers import ASHAScheduler

    from raynas.spaces import NB201Space
    from searchers.experiment import run_search
    from searchers.spaces import tune_param_space
    from searchers.trainables import live_trainable

    space_kwargs = {"channels": 16, "cells_per_stage": 5}
    space = NB201Space(**space_kwargs)
    searcher = make_searcher(method, space, seed)
    trainable = live_trainable(dataset="digits", epochs=EPOCHS, seed=seed, space_kwargs=space_kwargs)
    scheduler = ASHAScheduler(metric="accuracy", mode="max", time_attr="epoch", max_t=EPOCHS, grace_period=1,
                              reduction_factor=2)
    outcome = run_search(trainable, tune_param_space(space), searcher, scheduler, metric=METRIC, mode=MODE,
                         num_samples=trials, max_concurrent=concurrency, plot=False, overwrite=True,
                         output_dir=Path("/tmp") / "raynas_asha" / f"{method}-{seed}")
    wall = outcome.wall_time_s
    rows = []
    for r in outcome.grid:
        m = r.metrics or {}
        complete = m.get("epoch", 0) >= EPOCHS
        rows.append({"end": m.get("timestamp", 0) + m.get("time_total_s", 0),
                     "values": [m.get(k, float("nan")) if complete else float("nan") for k in METRIC]})
    rows.sort(key=lambda x: x["end"])  # completion order: the order the searcher learned them
    inner = getattr(searcher, "searcher_seconds", 0.0)
    return {"method": method, "seed": seed, "trials": len(rows), "wall_s": wall, "searcher_s": inner,
            "complete": int(sum(np.isfinite(r["values"][0]) for r in rows)), "values": [r["values"] for r in rows],
            **run_record(method, VARIANTS)}


def hv_table(runs: list[dict]) -> str:
    """Medians over seeds of each method's normalised HV at each budget, and its time."""
    from raynas import moo

    signs = moo.minimisation_signs(METRIC, MODE)
    per = {}
    for seed in sorted({r["seed"] for r in runs}):
        for method, traj in seed_trajectories([r for r in runs if r["seed"] == seed], signs).items():
            per[(method, seed)] = traj
    names = [*METHODS, *sorted({m for m, _ in per} - set(METHODS))]
    lines = ["| method | seeds | " + " | ".join(f"HV@{b}" for b in BUDGETS)
             + " | ahead of the best Optuna sampler at 40 (seeds) | complete trials | wall s | searcher s (share) |",
             "|---|---|" + "---|" * len(BUDGETS) + "---|---|---|---|"]
    for m in names:
        seeds = sorted(s for mm, s in per if mm == m)
        if not seeds:
            continue
        hv = {b: [per[(m, s)][min(b, len(per[(m, s)])) - 1] for s in seeds] for b in BUDGETS}
        ahead = 0
        for s in seeds:
            opt = [per[(o, s)][-1] for o in ("gp", "tpe") if (o, s) in per]
            ahead += bool(opt) and per[(m, s)][-1] >= max(opt) - 1e-12
        rs = [r for r in runs if r["method"] == m]
        wall, sec = np.median([r["wall_s"] for r in rs]), np.median([r["searcher_s"] for r in rs])
        label = LABELS.get(m) or variant_label("ZeroCostSearch", m, variant_settings(m, VARIANTS, rs))
        lines.append(f"| {label} | {len(seeds)} | " + " | ".join(f"{np.median(hv[b]):.3f}" for b in BUDGETS)
                     + f" | {'-' if m in ('gp', 'tpe') else f'{ahead}/{len(seeds)}'} | "
                     f"{np.median([r['complete'] for r in rs]):.0f} | {wall:.0f} | "
                     f"{sec:.1f} ({100 * sec / wall:.1f}%) |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(p, ",".join(METHODS), max(BUDGETS), str(ROOT / "benchmarks" / "out" / "asha_search.jsonl"),
                    what="table")
    args = p.parse_args(argv)
    VARIANTS.update(parse_variants(args.variant, p))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        have = {(r["method"], r["seed"]) for r in done_runs(out)}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for method in args.methods.split(","):
                if (method, seed) in have:
                    continue
                rec = run_one(method, seed, args.trials, args.concurrency)  # its own local Ray, as the demo's
                with open(out, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(f"{method} seed {seed}: {rec['trials']} trials ({rec['complete']} complete) in "
                      f"{rec['wall_s']:.0f} s (searcher {rec['searcher_s']:.1f} s)", flush=True)
    runs = done_runs(out)
    header = (f"# Early stopping (ASHA), the demo task ({len(runs)} runs; command: python benchmarks/asha_search.py "
              f"{' '.join(argv if argv is not None else sys.argv[1:])})\n\nNormalised HV of the complete trials "
              f"(median over seeds)\n")
    print(header + "\n" + hv_table(runs))
    out.with_suffix(".md").write_text(header + "\n" + hv_table(runs) + "\n")


if __name__ == "__main__":
    main()
