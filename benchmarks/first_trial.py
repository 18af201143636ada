"""How long after ``Tuner.fit()`` the first trial starts: raynas ZeroCostSearch vs Tune's OptunaSearch.

The trainable and ``param_space`` are ``examples/bring_your_own.py``'s (a user's own CNN family). The
zero-cost warm-up scores its networks as Ray tasks beside the first trials, so the first suggestion
should not wait for it. Measured: seconds from ``Tuner.fit()`` to the first trial's start (Tune's
``timestamp - time_total_s`` of its first result; Ray already started, its workers cold for the
first repeat), and the share of the first 8 trials proposed before every warm-up score arrived.

    python benchmarks/first_trial.py --repeats 3
    python benchmarks/first_trial.py --repeats 3 --size 56   # proxies scored on 56x56 inputs: a heavier warm-up
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import numpy as np  # noqa: E402


def first_start(method: str, seed: int, trials: int, size: int = 14) -> float:
    from ray import tune

    import bring_your_own as byo
    from searchers import ZeroCostSearch
    from searchers.experiment import tune_settings

    if method == "zc":
        searcher = ZeroCostSearch(metric=byo.METRIC, mode=byo.MODE, model_fn=byo.build_model,
                                  example_inputs=(1, size, size), seed=seed)
    else:
        from ray.tune.search.optuna import OptunaSearch

        from raynas.strategies.optuna import make_sampler

        searcher = OptunaSearch(metric=byo.METRIC, mode=byo.MODE, sampler=make_sampler("tpe", seed))
    space = {**byo.PARAM_SPACE, "epochs": 1, "train_size": 300, "val_size": 200, "seed": seed}
    tuner = tune.Tuner(byo.train_cnn, param_space=space,
                       tune_config=tune.TuneConfig(search_alg=searcher, num_samples=trials, max_concurrent_trials=2),
                       run_config=tune.RunConfig(verbose=0, storage_path="/tmp/raynas_first_trial",
                                                 name=f"{method}-{seed}-{time.time_ns()}"))
    t0 = time.time()
    with tune_settings():
        grid = tuner.fit()
    starts = [r.metrics["timestamp"] - r.metrics["time_total_s"] for r in grid if r.metrics]
    return min(starts) - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--size", type=int, default=14,
                   help="input size the searcher scores networks on (the trials train on 14x14 images either way)")
    args = p.parse_args(argv)
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE",
                                       "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "examples")])}})
    out = {"zc": [], "tpe": []}
    try:
        for r in range(args.repeats):
            for m in out:
                out[m].append(first_start(m, r, args.trials, args.size))
    finally:
        ray.shutdown()
    print(f"# python benchmarks/first_trial.py --repeats {args.repeats} --size {args.size} "
          f"(load average {os.getloadavg()[0]:.1f})")
    print("| searcher | seconds from Tuner.fit() to the first trial's start (each repeat) | median |")
    print("|---|---|---|")
    for m, label in (("zc", "raynas ZeroCostSearch"), ("tpe", "Tune OptunaSearch (TPE)")):
        print(f"| {label} | {', '.join(f'{v:.2f}' for v in out[m])} | {np.median(out[m]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
