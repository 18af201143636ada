"""A plain Ray Tune NAS script, before and after swapping in raynas's searcher and scheduler.

The script is ordinary Tune: a trainable that reports ``accuracy`` and ``latency_ms`` every epoch, a
``param_space`` of ``tune.choice`` per NAS-Bench-201 edge, a multi-objective ``OptunaSearch`` and an
ASHA scheduler. Switching to raynas changes two lines (marked ``# <- raynas``): the searcher becomes
``ZeroCostSearch`` (same metric/mode lists) and the scheduler ``MultiObjectiveASHA``, which promotes
by non-dominated rank instead of accuracy alone. Everything else -- trainable, Tuner, results -- stays.

    nice -n 10 .venv/bin/python examples/drop_in.py                # after: raynas, live training on digits
    nice -n 10 .venv/bin/python examples/drop_in.py --before       # before: OptunaSearch + ASHA
    nice -n 10 .venv/bin/python examples/drop_in.py --tabular      # instant trials from NAS-Bench-201 tables

Live mode trains small NB201 networks (C=8, N=1) on the digits dataset for 3 epochs and times them
on this CPU; ``--tabular`` answers from the published tables (raspi4 latency) in a fraction of a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

# The fast Tune settings raynas uses: no per-trial logger files (20+ instant trials/s instead of ~0.5).
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from raynas.spaces import NB201Space  # noqa: E402
from raynas.strategies import Warmup, make_sampler  # noqa: E402
from searchers import MultiObjectiveASHA, ZeroCostSearch, pareto_summary, results_dataframe  # noqa: E402
from searchers.results import MARGIN, hypervolume_box, normalised_hypervolume  # noqa: E402
from searchers.trainables import live_trainable, tabular_trainable  # noqa: E402

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
EPOCHS = 3
SPACE = NB201Space(channels=8, cells_per_stage=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", action="store_true", help="run the plain Tune version (OptunaSearch + ASHA)")
    ap.add_argument("--tabular", action="store_true", help="instant trials from the NAS-Bench-201 tables")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--out", default="raynas_results/drop_in")
    args = ap.parse_args(argv)

    if args.tabular:
        trainable = tabular_trainable(devices=["raspi4"])  # reports epoch 1 of max_epochs 1
        max_t = 1
    else:
        trainable = live_trainable(dataset="digits", epochs=EPOCHS, limit=600, latency_repeats=10,
                                   space_kwargs={"channels": 8, "cells_per_stage": 1})
        max_t = EPOCHS
    param_space = {edge: tune.choice(ops) for edge, ops in SPACE.param_space().items()}

    if args.before:
        search_alg = OptunaSearch(metric=METRIC, mode=MODE, sampler=make_sampler("tpe", seed=0))  # multivariate TPE
        scheduler = ASHAScheduler(metric="accuracy", mode="max", time_attr="epoch", max_t=max_t, grace_period=1)
    else:
        search_alg = ZeroCostSearch(SPACE, metric=METRIC, mode=MODE, warmup=Warmup(300), seed=0)  # <- raynas
        scheduler = MultiObjectiveASHA(METRIC, MODE, time_attr="epoch", max_t=max_t, grace_period=1)  # <- raynas

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # with the per-trial logger files off, Tune's ExperimentAnalysis warns that it found none; results
    # are read from memory instead (searchers.results.results_dataframe)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    try:
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(search_alg, 2),
                                        scheduler=scheduler, num_samples=args.samples, reuse_actors=True),
            run_config=tune.RunConfig(name="before" if args.before else "after",
                                      storage_path=str(Path(args.out).resolve()), verbose=0),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()

    summary = pareto_summary(grid, METRIC, MODE)  # complete trials only; early-stopped ones stay out
    name = "before" if args.before else "after"
    print(f"{'before (OptunaSearch + ASHA)' if args.before else 'after (ZeroCostSearch + MultiObjectiveASHA)'}: "
          f"{summary.n_trials} trials, {summary.n_complete} complete; Pareto front of {len(summary.front)}")
    cols = [c for c in [*METRIC, "epoch", "arch"] if c in summary.front.columns]
    print(summary.front[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print_hypervolumes(grid, name, Path(args.out))
    return 0


def print_hypervolumes(grid, name: str, out: Path) -> None:
    """This run's normalised hypervolume; once both runs exist, both in one box (so they compare)."""
    runs = {name: results_dataframe(grid)}
    runs[name].to_csv(out / f"{name}.csv", index=False)
    other = "after" if name == "before" else "before"
    if (out / f"{other}.csv").is_file():
        runs[other] = pd.read_csv(out / f"{other}.csv")
    ideal, reference = hypervolume_box(list(runs.values()), METRIC, MODE, margin=MARGIN)
    for run, df in sorted(runs.items(), reverse=True):  # before first
        print(f"{run}: {normalised_hypervolume(df, METRIC, MODE, ideal=ideal, reference=reference)}")
    if len(runs) == 1:
        print(f"(run the script {'without' if name == 'before' else 'with'} --before to compare both in one box)")


if __name__ == "__main__":
    raise SystemExit(main())
