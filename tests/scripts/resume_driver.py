"""Driver of the interrupt/resume tests: a tabular NB201 search through Tune, by searcher name.

    python tests/scripts/resume_driver.py OUTDIR SEARCHER NUM_SAMPLES [--restore] [--address ADDR]
        [--delay S] [--concurrency N] [--temp-dir DIR] [--checkpoint-s S]

SEARCHER is a name of tests/_zoo.py (``make:aging``, ``optuna_nsga2``, ``hypernet``, ...), or several
separated by commas (without --restore: uninterrupted reference runs, one Ray for all, each into
OUTDIR/<name>). Prints
``DONE <trial_id> <arch>`` per completed trial (so a test can kill this process mid-search), and at
the end ``RESTORE_S <seconds>`` (time of ``Tuner.restore``, with --restore) and ``WALL_S <seconds>``;
writes OUTDIR/final.csv (one row per trial: trial_id, arch, accuracy, latency_ms, outcome).

The experiment state is checkpointed after every controller step (``TUNE_GLOBAL_CHECKPOINT_S``,
default 0 here; Tune's own default is "auto": at most 5 % of the time, at least every 10 s) and
copied to the storage path at once (``SyncConfig(sync_period=0)``; Tune's default copies it at most
every 300 s, so a killed driver's experiment could restore up to 5 minutes back), so whatever the
kill interrupts, a completed trial is in the state at most one step after it ended. Tune writes and
copies that state non-atomically (a kill can leave it empty, and Tune then restarts the experiment
from scratch), so the driver keeps raynas's atomic ``StateSnapshot`` and restores from it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import _zoo  # noqa: E402  (sets Tune's quiet/fast environment before ray is imported)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("searcher")
    p.add_argument("num_samples", type=int)
    p.add_argument("--restore", action="store_true")
    p.add_argument("--address", default="local")
    p.add_argument("--delay", type=float, default=0.0, help="seconds each trial sleeps (to be killable)")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--temp-dir", default=None, help="Ray's temp dir (a local Ray only)")
    p.add_argument("--checkpoint-s", default="0", help="TUNE_GLOBAL_CHECKPOINT_S")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = args.checkpoint_s

    import ray
    from ray import tune

    class Announce(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            print(f"DONE {trial.trial_id} {trial.last_result.get('arch')}", flush=True)

    if args.address == "local":
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": _zoo.ray_env()}, _temp_dir=args.temp_dir)
    else:
        ray.init(address=args.address, log_to_driver=False, runtime_env={"env_vars": _zoo.ray_env()})
    try:
        names = args.searcher.split(",")
        if len(names) > 1 and not args.restore:
            for name in names:
                run(name, os.path.join(args.outdir, name.replace(":", "_")), args, Announce)
        else:
            run(args.searcher, args.outdir, args, Announce)
    finally:
        ray.shutdown()
    return 0


def run(name: str, outdir: str, args, announce) -> None:
    from ray import tune

    from searchers.experiment import StateSnapshot, restore_state_snapshot
    from searchers.results import results_dataframe
    from searchers.trainables import tabular_trainable

    os.makedirs(outdir, exist_ok=True)
    trainable = tabular_trainable(devices=_zoo.trainable_devices(name), delay_s=args.delay)
    path = os.path.join(os.path.abspath(outdir), "exp")
    t0 = time.perf_counter()
    if args.restore:
        print(f"SNAPSHOT {restore_state_snapshot(path)}", flush=True)
        tuner = tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True)
        print(f"RESTORE_S {time.perf_counter() - t0:.3f}", flush=True)
    else:
        searcher = _zoo.build(name, seed=args.seed)
        tuner = tune.Tuner(
            trainable,
            param_space=_zoo.param_space(name),
            tune_config=tune.TuneConfig(
                search_alg=tune.search.ConcurrencyLimiter(searcher, args.concurrency),
                num_samples=args.num_samples, reuse_actors=True),
            run_config=tune.RunConfig(name="exp", storage_path=os.path.abspath(outdir), verbose=0,
                                      sync_config=tune.SyncConfig(sync_period=0),
                                      callbacks=[announce(), StateSnapshot()]),
        )
    print("STARTED", flush=True)
    grid = tuner.fit()
    print(f"WALL_S {time.perf_counter() - t0:.3f}", flush=True)
    df = results_dataframe(grid)
    cols = [c for c in ("trial_id", "arch", "accuracy", "latency_ms", "outcome", "node_id") if c in df.columns]
    df[cols].to_csv(os.path.join(outdir, "final.csv"), index=False)


if __name__ == "__main__":
    sys.exit(main())
