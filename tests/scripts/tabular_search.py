"""Driver used by the interrupt/resume tests: a tabular NB201 search through Tune.

    python tabular_search.py OUTDIR SEARCHER NUM_SAMPLES [--restore] [--address ADDR] [--delay S] [--kw JSON]

Prints one ``DONE <trial_id> <arch>`` line per completed trial, so a test can kill the driver
after a given number of trials and check the resumed run against an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402

from raynas.spaces import NB201Space  # noqa: E402
from searchers import make_searcher  # noqa: E402
from searchers.results import results_dataframe  # noqa: E402
from searchers.trainables import tabular_trainable  # noqa: E402


class Announce(tune.Callback):
    def on_trial_complete(self, iteration, trials, trial, **info):
        print(f"DONE {trial.trial_id} {trial.last_result.get('arch')}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("searcher")
    p.add_argument("num_samples", type=int)
    p.add_argument("--restore", action="store_true")
    p.add_argument("--address", default="local")
    p.add_argument("--delay", type=float, default=0.0, help="seconds each trial sleeps (to be killable)")
    p.add_argument("--kw", default="{}", help="JSON keyword arguments of the searcher")
    p.add_argument("--device", default="gold_6226")
    args = p.parse_args()
    ray.init(address=args.address, num_cpus=2 if args.address == "local" else None, include_dashboard=False,
             log_to_driver=False)
    trainable = tabular_trainable(devices=[args.device], delay_s=args.delay)
    path = os.path.join(args.outdir, "exp")
    if args.restore:
        tuner = tune.Tuner.restore(path, trainable=trainable, resume_errored=True)
    else:
        searcher = make_searcher(args.searcher, NB201Space(channels=4, cells_per_stage=1),
                                 metric=["accuracy", "latency_ms"], mode=["max", "min"], seed=0,
                                 **json.loads(args.kw))
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=tune.search.ConcurrencyLimiter(searcher, 1),
                                        num_samples=args.num_samples, reuse_actors=True),
            run_config=tune.RunConfig(name="exp", storage_path=args.outdir, verbose=0, callbacks=[Announce()]),
        )
    grid = tuner.fit()
    df = results_dataframe(grid)
    df.reindex(columns=["trial_id", "arch", "accuracy", "latency_ms"]).to_csv(os.path.join(args.outdir, "final.csv"), index=False)
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
