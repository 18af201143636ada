"""Bring-your-own-model search quality: raynas vs Optuna on a real training task, through Ray Tune.

The trainable and ``param_space`` are ``examples/bring_your_own.py``'s: a CNN family on
Fashion-MNIST (depth, width per stage, kernel, activation, learning rate, weight decay), trained for
2 epochs on 1,500 images at 14x14, validation accuracy on 1,000 images, latency measured in the
trial (one image, one thread), parameters. Every method searches the same ``param_space`` through
Tune with the same budget (80 trials, 2 at a time, no scheduler), one run per method x objective
set x seed:

    raynas ZeroCostSearch (defaults) · raynas PredictorSearch (defaults) ·
    Optuna TPE (multivariate) · Optuna GP · Optuna random   -- the Optuna samplers via Tune's OptunaSearch

Quality: hypervolume after 20, 40 and 80 trials, normalised per (objective set, seed): objectives
min-max normalised over the union of every method's trials in that seed, reference point 1 in each,
divided by the union front's HV. Reported: medians over seeds, the trials raynas needs to reach the
best Optuna sampler's HV at 80, and time -- wall clock of the whole run (Ray start excluded, the
zero-cost warm-up included, it runs as Ray tasks beside the trials) and the searcher's own time
(``suggest`` + ``on_trial_complete`` in the driver).

Every finished run is appended to ``benchmarks/out/byo_runs.jsonl`` at once; a rerun skips what is
there, so an interrupted benchmark continues. ``--report`` prints the tables from the file only.

    python benchmarks/byo_search.py --seeds 5                   # ~3-5 h on 2 quiet cores
    python benchmarks/byo_search.py --report                    # tables from what has run
    python benchmarks/byo_search.py --methods rf0 --variant rf0='{"moves": {"refine": 0}}'
                                                                # a ZeroCostSearch setting beside the rest
    python benchmarks/byo_search.py --methods p2 --variant p2='{"searcher": "predictor", "refine": 2}'
                                                                # a PredictorSearch setting
    python benchmarks/byo_search.py --methods f10 \
        --variant f10='{"searcher": "predictor", "forest": {"n_estimators": 10}}'   # its forest's settings
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))  # the example is the trainable under test
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.variants import add_run_options, parse_variants, run_record, variant_label, variant_settings  # noqa: E402, E501
from raynas.predictors import ForestPredictor  # noqa: E402

METHODS = ("zc", "zc-driver", "zc-ray", "zc-device", "predictor", "tpe", "gp", "random")
LABELS = {"zc": "raynas ZeroCostSearch", "zc-driver": "raynas ZeroCostSearch, scores on the driver (proxy_workers=0)",
          "zc-ray": "raynas ZeroCostSearch, scores as Ray tasks (proxy_where='ray')",
          "zc-device": "raynas ZeroCostSearch, latency estimated by timing each network here (LocalDevice)",
          "predictor": "raynas PredictorSearch", "tpe": "Optuna TPE (multivariate)",
          "gp": "Optuna GP", "random": "Optuna random"}
OBJECTIVES = {2: (["accuracy", "latency_ms"], ["max", "min"]),
              3: (["accuracy", "latency_ms", "params"], ["max", "min", "min"])}
BUDGETS = (20, 40, 80)
#: Searcher settings run as methods of their own (``--variant NAME='{json}'``): name -> keyword arguments of
#: ZeroCostSearch, or of PredictorSearch with ``"searcher": "predictor"``
VARIANTS: dict[str, dict] = {}


class TimedMixin:
    """Adds up the time a searcher's driver-side calls take (``searcher_seconds``); stays picklable."""

    searcher_seconds = 0.0

    def suggest(self, trial_id):
        t0 = time.perf_counter()
        try:
            return super().suggest(trial_id)
        finally:
            self.searcher_seconds += time.perf_counter() - t0

    def on_trial_complete(self, trial_id, result=None, error=False):
        t0 = time.perf_counter()
        try:
            return super().on_trial_complete(trial_id, result=result, error=error)
        finally:
            self.searcher_seconds += time.perf_counter() - t0


def timed(cls, namespace: dict | None = None):
    """A module-level subclass of ``cls`` with :class:`TimedMixin`, kept in ``namespace`` (a module's
    ``globals()``; default this module's) so that pickle finds it."""
    namespace = globals() if namespace is None else namespace
    name = "Timed" + cls.__name__
    if name not in namespace:
        namespace[name] = type(name, (TimedMixin, cls), {"__module__": namespace["__name__"], "__qualname__": name})
    return namespace[name]


class PerObjectiveForest(ForestPredictor):
    """The default forest, declared single-output: ``PredictorSearch`` then fits one per objective
    (variant ``{"searcher": "predictor", "per_objective": true}``) instead of one for all."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        return tags


def make_searcher(method: str, metric, mode, seed: int):
    import bring_your_own as byo

    settings = dict(VARIANTS.get(method, {}))
    if settings.pop("searcher", None) == "predictor":  # a PredictorSearch setting: {"searcher": "predictor", ...}
        from searchers.predictor import PredictorSearch

        if "forest" in settings or "per_objective" in settings:
            # {"forest": {"n_estimators": 10}}: the default regressor with other settings;
            # {"per_objective": true}: one forest per objective instead of one for all
            cls = PerObjectiveForest if settings.pop("per_objective", False) else ForestPredictor
            settings["regressor"] = cls(**settings.pop("forest", {}))

        return timed(PredictorSearch)(metric=metric, mode=mode, model_fn=byo.build_model, example_inputs=(1, 14, 14),
                                      seed=seed, **settings)
    if method in ("zc", "zc-driver", "zc-ray", "zc-device") or method in VARIANTS:
        from raynas.hardware import LocalDevice
        from searchers import ZeroCostSearch

        # zc-driver: scores computed on the driver, blocking; zc-ray: as Ray tasks (zc: a thread on one node);
        # zc-device: latency_ms estimated by timing each network on this CPU (not FLOPs)
        workers = {"zc-driver": {"proxy_workers": 0}, "zc-ray": {"proxy_where": "ray"},
                   "zc-device": {"cost": {"latency_ms": LocalDevice(warmup=3, repeats=10)}}}.get(method, {})
        workers.update(VARIANTS.get(method, {}))
        return timed(ZeroCostSearch)(metric=metric, mode=mode, model_fn=byo.build_model, example_inputs=(1, 14, 14),
                                     seed=seed, **workers)
    if method == "predictor":
        from searchers.predictor import PredictorSearch

        return timed(PredictorSearch)(metric=metric, mode=mode, model_fn=byo.build_model, example_inputs=(1, 14, 14),
                               seed=seed)
    from ray.tune.search.optuna import OptunaSearch

    from raynas.strategies.optuna import make_sampler

    return timed(OptunaSearch)(metric=metric, mode=mode, sampler=make_sampler(method, seed))


def run_one(method: str, n_obj: int, seed: int, trials: int, concurrency: int) -> dict:
    from ray import tune

    import bring_your_own as byo
    from searchers.experiment import tune_settings

    metric, mode = OBJECTIVES[n_obj]
    searcher = make_searcher(method, metric, mode, seed)
    param_space = {**byo.PARAM_SPACE, "epochs": 2, "train_size": 1500, "val_size": 1000, "seed": seed}
    tuner = tune.Tuner(byo.train_cnn, param_space=param_space,
                       tune_config=tune.TuneConfig(search_alg=searcher, num_samples=trials, reuse_actors=True,
                                                   max_concurrent_trials=concurrency),
                       run_config=tune.RunConfig(verbose=0, storage_path=str(Path("/tmp") / "raynas_byo"),
                                                 name=f"{method}-{n_obj}-{seed}"))
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)  # no result.json: loggers off
    t0 = time.perf_counter()
    with tune_settings():
        grid = tuner.fit()
    wall = time.perf_counter() - t0
    rows = []
    for r in grid:
        m = r.metrics or {}
        rows.append({"end": m.get("timestamp", 0) + m.get("time_total_s", 0),
                     "values": [m.get(k, float("nan")) for k in metric], "config": r.config})
    rows.sort(key=lambda x: x["end"])  # completion order: the order the searcher learned them
    return {"method": method, "n_obj": n_obj, "seed": seed, "trials": len(rows), "wall_s": wall,
            "searcher_s": searcher.searcher_seconds, "values": [r["values"] for r in rows],
            **run_record(method, VARIANTS)}


def done_runs(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def seed_trajectories(group: list[dict], signs) -> dict[str, np.ndarray]:
    """Each run's hypervolume after every trial (its ``values`` in order; non-finite rows count for
    nothing), for the runs of one seed: objectives min-max normalised over the union of every run's
    finite points, reference point 1, divided by the union front's HV. Empty when none is finite."""
    from raynas import moo

    pts = {r["method"]: np.asarray(r["values"], float).reshape(-1, len(signs)) * signs for r in group}
    union = np.vstack(list(pts.values()))
    union = union[np.isfinite(union).all(1)]
    if not len(union):
        return {}
    norm = moo.Normaliser.fit(union)
    u = norm(union)
    true_hv = moo.hypervolume(u[moo.pareto_mask(u)], np.ones(union.shape[1]))
    return {method: moo.hv_trajectory(np.where(np.isfinite(p), p, np.inf), normaliser=norm, true_hv=true_hv)
            for method, p in pts.items()}


def hv_table(runs: list[dict]) -> tuple[str, dict]:
    """Medians of normalised HV at each budget per (objective set, method), and the per-seed values."""
    from raynas import moo

    out, per = [], {}
    for n_obj, (metric, mode) in OBJECTIVES.items():
        signs = moo.minimisation_signs(metric, mode)
        seeds = sorted({r["seed"] for r in runs if r["n_obj"] == n_obj})
        for seed in seeds:
            group = [r for r in runs if r["n_obj"] == n_obj and r["seed"] == seed]
            for method, traj in seed_trajectories(group, signs).items():
                per[(n_obj, method, seed)] = traj
    for n_obj in OBJECTIVES:
        out.append(f"\n{n_obj} objectives {OBJECTIVES[n_obj][0]}: normalised HV (median over seeds), trials to reach "
                   f"the best Optuna sampler's HV@80 (median), time")
        out.append("| method | seeds | HV@20 | HV@40 | HV@80 | trials to best Optuna HV@80 | wall s | searcher s (share) |")
        out.append("|---|---|---|---|---|---|---|---|")
        names = [*METHODS, *sorted({k[1] for k in per} - set(METHODS))]
        methods = [m for m in names if any(k[0] == n_obj and k[1] == m for k in per)]
        seeds = sorted({k[2] for k in per if k[0] == n_obj})
        best80 = {}
        for seed in seeds:
            opt = [per[(n_obj, m, seed)][min(79, len(per[(n_obj, m, seed)]) - 1)]
                   for m in ("tpe", "gp", "random") if (n_obj, m, seed) in per]
            best80[seed] = max(opt) if opt else np.nan
        for m in methods:
            hv = {b: [] for b in BUDGETS}
            reach = []
            for seed in seeds:
                t = per.get((n_obj, m, seed))
                if t is None:
                    continue
                for b in BUDGETS:
                    hv[b].append(t[min(b, len(t)) - 1])
                hit = np.flatnonzero(t >= best80[seed] - 1e-12)
                reach.append(hit[0] + 1 if len(hit) else np.inf)
            runs_m = [r for r in runs if r["n_obj"] == n_obj and r["method"] == m]
            wall = np.median([r["wall_s"] for r in runs_m])
            sec = np.median([r["searcher_s"] for r in runs_m])
            r_med = np.median(reach) if reach else np.nan
            settings = variant_settings(m, VARIANTS, runs_m)
            which = "PredictorSearch" if (settings or {}).get("searcher") == "predictor" else "ZeroCostSearch"
            label = LABELS.get(m) or variant_label(which, m, settings)
            out.append(f"| {label} | {len(runs_m)} | " + " | ".join(f"{np.median(hv[b]):.3f}" for b in BUDGETS)
                       + f" | {'>80' if not np.isfinite(r_med) else f'{r_med:.0f}'} | {wall:.0f} | "
                       f"{sec:.1f} ({100 * sec / wall:.1f}%) |")
    return "\n".join(out), per


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(p, ",".join(m for m in METHODS if m not in ("zc-driver", "zc-ray", "zc-device")), max(BUDGETS),
                    str(ROOT / "benchmarks" / "out" / "byo_runs.jsonl"))
    p.add_argument("--objectives", default="2,3")
    args = p.parse_args(argv)
    VARIANTS.update(parse_variants(args.variant, p))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        import ray

        have = {(r["method"], r["n_obj"], r["seed"]) for r in done_runs(out)}
        ray.init(address="local", num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE",
                                           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "examples")])}})
        try:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for n_obj in (int(x) for x in args.objectives.split(",")):
                    for method in args.methods.split(","):
                        if (method, n_obj, seed) in have:
                            continue
                        rec = run_one(method, n_obj, seed, args.trials, args.concurrency)
                        with open(out, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                        print(f"{method} {n_obj}obj seed {seed}: {rec['trials']} trials in {rec['wall_s']:.0f} s "
                              f"(searcher {rec['searcher_s']:.1f} s)", flush=True)
        finally:
            ray.shutdown()
    table, _ = hv_table(done_runs(out))
    header = (f"# Bring-your-own search ({len(done_runs(out))} runs; command: python benchmarks/byo_search.py "
              f"{' '.join(argv if argv is not None else sys.argv[1:])})")
    print(header + "\n" + table)
    md = out.parent / "byo_search.md" if out.name == "byo_runs.jsonl" else out.with_suffix(".md")
    md.write_text(header + "\n" + table + "\n")


if __name__ == "__main__":
    main()
