"""Hypernetwork (MODNAS) fronts vs per-device NSGA-II on NAS-Bench-201 CIFAR-10 with published latencies.

Trains the hypernetwork in surrogate mode on a subset of the latency table's device columns and
evaluates on the others (zero-shot: a held-out device is known only by its 10 reference latencies).
Per device: normalised hypervolume (both objectives min-max normalised over all 15,625 archs of the
device, reference point (1, 1), divided by the HV of all archs) of the 24 architectures proposed for
24 preference vectors, vs NSGA-II (Optuna) run on that device alone with the same number of
evaluated architectures (24 proposals + the 10 reference architectures measured for the embedding,
by default). Several seeds; wall-clock of each; number of distinct architectures among the 24.

    nice -n 10 .venv/bin/python benchmarks/hypernet_fronts.py --seeds 0,1,2
    ... --test-devices raspi4,eyeriss        # choose the held-out columns
    ... --n-test 4                           # or hold out 4 random columns (seeded)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

#: MODNAS's test devices; the default hold-out is those present in the table (never assumed).
MODNAS_TEST_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")


# --- objectives, hypervolume and true front: from raynas.moo / raynas.benchmarks when present ---------
def _private_hv2(points: np.ndarray, ref=(1.0, 1.0)) -> float:
    p = points[np.all(points < np.asarray(ref), 1)]
    if len(p) == 0:
        return 0.0
    p = p[np.lexsort((p[:, 1], p[:, 0]))]
    hv, best = 0.0, ref[1]
    for x, y in p:
        if y < best:
            hv += (ref[0] - x) * (best - y)
            best = y
    return float(hv)


def hypervolume_fn():
    """``raynas.moo.hypervolume(points, reference)`` (minimisation) if that module exists."""
    try:
        from raynas import moo

        if hasattr(moo, "hypervolume"):
            return lambda pts, ref: float(moo.hypervolume(np.asarray(pts, float), np.asarray(ref, float))), "raynas.moo"
    except ImportError:
        pass
    return _private_hv2, "fallback (raynas.moo missing)"


class GroundTruth:
    """Per-device (error, latency) of every NB201 architecture, from the published tables."""

    def __init__(self, space, data, accuracy_column: str, data_dir=None):
        from raynas.hypernet.predictors import load_accuracy_table

        table = load_accuracy_table(data_dir, accuracy_column)
        acc_of = {s: v for s, v in zip(table["arch_str"], table[accuracy_column])}
        self.error = np.array([1.0 - acc_of[space.arch_str(a)] / 100.0 for a in data.archs])
        self.row = {a: i for i, a in enumerate(data.archs)}
        self.data = data
        self.hv, self.hv_source = hypervolume_fn()
        self._norm = {}

    def normalised(self, device: str) -> np.ndarray:
        if device not in self._norm:
            pts = np.stack([self.error, self.data.latency_ms[device]], 1)
            lo, hi = pts.min(0), pts.max(0)
            n = (pts - lo) / np.where(hi > lo, hi - lo, 1.0)
            self._norm[device] = (n, self.hv(n, (1.0, 1.0)))
        return self._norm[device][0]

    def nhv(self, device: str, archs) -> float:
        n = self.normalised(device)
        rows = sorted({self.row[tuple(a)] for a in archs})
        return self.hv(n[rows], (1.0, 1.0)) / self._norm[device][1]


# --- NSGA-II baseline ------------------------------------------------------------------------------
def nsga2_front(space, truth: GroundTruth, device: str, evaluations: int, seed: int, population: int):
    """NSGA-II (Optuna's sampler, via raynas.strategies.OptunaStrategy if present) on one device."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lat = truth.data.latency_ms[device]
    archs = []

    try:  # the project's ask/tell wrapper, if the other helper's module exists
        from raynas.strategies import OptunaStrategy  # type: ignore

        strat = OptunaStrategy(space, n_objectives=2, sampler="nsga2", seed=seed, population_size=population)
        for _ in range(evaluations):
            a = tuple(strat.ask())
            r = truth.row[a]
            strat.tell(a, [truth.error[r], lat[r]])
            archs.append(a)
        return archs, "raynas.strategies.OptunaStrategy"
    except (ImportError, TypeError):
        pass
    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    decisions = space.decisions

    def objective(trial):
        a = tuple(space.op_index(trial.suggest_categorical(name, ops)) for name, ops in decisions)
        archs.append(a)
        r = truth.row[a]
        return truth.error[r], lat[r]

    study.optimize(objective, n_trials=evaluations)
    return archs, "optuna.samplers.NSGAIISampler"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--test-devices", default=None, help="comma-separated held-out columns")
    ap.add_argument("--n-test", type=int, default=None, help="hold out this many random columns instead")
    ap.add_argument("--train-devices", default=None, help="comma-separated (default: every other column)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=1500, help="hypernetwork MGD steps")
    ap.add_argument("--sampler", default="gumbel", choices=["gumbel", "reinmax"])
    ap.add_argument("--n-accuracy-archs", type=int, default=1000)
    ap.add_argument("--accuracy-column", default="test-accuracy", help="column the fronts are scored on")
    ap.add_argument("--preferences", type=int, default=24)
    ap.add_argument("--nsga-evals", default=None, help="comma-separated budgets (default: preferences + 10)")
    ap.add_argument("--nsga-population", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", default="surrogate", choices=["surrogate", "supernet"],
                    help="supernet: accuracy gradient from a weight-sharing NB201 supernet trained jointly on "
                         "--dataset (small scale); fronts are still scored on the CIFAR-10 table")
    ap.add_argument("--dataset", default="digits", choices=["digits", "fashion-mnist"])
    ap.add_argument("--dataset-limit", type=int, default=5000)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from raynas.hypernet import TrainSettings, preference_grid, train_surrogate_mode
    from raynas.hypernet.predictors import load_latency_data
    from raynas.spaces import NB201Space

    space = NB201Space()
    data = load_latency_data(space, args.data_dir)
    columns = data.devices
    if args.test_devices:
        test = [d.strip() for d in args.test_devices.split(",") if d.strip()]
    elif args.n_test:
        test = sorted(np.random.default_rng(0).choice(columns, size=args.n_test, replace=False).tolist())
    else:
        test = [d for d in MODNAS_TEST_DEVICES if d in columns]
        if not test:  # a table without any of them: hold out a seeded quarter of its columns
            test = sorted(np.random.default_rng(0).choice(columns, size=max(1, len(columns) // 4), replace=False).tolist())
    missing = [d for d in test if d not in columns]
    if missing:
        ap.error(f"test devices {missing} are not columns of the latency table ({', '.join(columns)})")
    train = ([d.strip() for d in args.train_devices.split(",")] if args.train_devices
             else [d for d in columns if d not in test])
    if not train:
        ap.error("no training devices left")
    seeds = [int(s) for s in args.seeds.split(",")]
    budgets = [int(b) for b in args.nsga_evals.split(",")] if args.nsga_evals else [args.preferences + len(data.reference_rows)]

    truth = GroundTruth(space, data, args.accuracy_column, args.data_dir)
    print(f"# train devices ({len(train)}): {', '.join(train)}")
    print(f"# held-out devices ({len(test)}): {', '.join(test)}")
    print(f"# hypervolume from: {truth.hv_source}; accuracy column: {args.accuracy_column}")
    grid = torch.tensor(preference_grid(args.preferences), dtype=torch.float32)
    hn_rows, ns_rows = {}, {}
    nsga_source = "?"
    for seed in seeds:
        t0 = time.perf_counter()
        if args.mode == "surrogate":
            bundle = train_surrogate_mode(space, train, data_dir=args.data_dir, n_accuracy_archs=args.n_accuracy_archs,
                                          settings=TrainSettings(steps=args.steps, sampler=args.sampler, seed=seed),
                                          seed=seed)
            info = f"{bundle.timings}; accuracy surrogate saw {len(bundle.accuracy_arch_indices)} archs (valid-accuracy)"
        else:
            from raynas.hypernet.predictors import fit_meta_predictor
            from raynas.hypernet.supernet import SupernetSettings, train_supernet_mode

            torch.manual_seed(seed)
            latency = fit_meta_predictor(data, train, 2000, 20, seed=seed)
            bundle = train_supernet_mode(space, latency, {d: data.profile(d) for d in train}, dataset=args.dataset,
                                         data_dir=None, limit=args.dataset_limit,
                                         settings=SupernetSettings(steps=args.steps, sampler=args.sampler, seed=seed),
                                         seed=seed)
            info = f"supernet on {args.dataset}, {args.steps} joint steps; no accuracy table used"
        train_s = time.perf_counter() - t0
        print(f"# seed {seed}: {args.mode}-mode training {train_s:.1f}s ({info})", flush=True)
        for d in test + train:
            t1 = time.perf_counter()
            archs = bundle.hypernet.argmax_archs(grid, torch.tensor(data.profile(d).embedding))
            infer_s = time.perf_counter() - t1
            hn_rows.setdefault(d, []).append((truth.nhv(d, archs), len(set(archs)), train_s, infer_s))
        for d in test:
            for b in budgets:
                t1 = time.perf_counter()
                archs, nsga_source = nsga2_front(space, truth, d, b, seed, args.nsga_population)
                ns_rows.setdefault((d, b), []).append((truth.nhv(d, archs), time.perf_counter() - t1))
    print(f"# NSGA-II from: {nsga_source}, population {args.nsga_population}")

    def ms(v):
        v = np.asarray(v, float)
        return f"{v.mean():.4f} ± {v.std():.4f}"

    head = f"| device | split | hypernet nHV ({args.preferences} prefs) | distinct | " + " | ".join(
        f"NSGA-II nHV @{b}" for b in budgets) + " | hypernet train s (once, all devices) | NSGA-II s/device |"
    print("\n" + head)
    print("|" + "---|" * (head.count("|") - 1))
    for split, devs in (("held-out", test), ("train", train)):
        for d in devs:
            h = hn_rows[d]
            ns = " | ".join(ms([r[0] for r in ns_rows[(d, b)]]) if (d, b) in ns_rows else "-" for b in budgets)
            nst = ms([r[1] for b in budgets for r in ns_rows.get((d, b), [])]) if (d, budgets[0]) in ns_rows else "-"
            print(f"| {d} | {split} | {ms([r[0] for r in h])} | {np.mean([r[1] for r in h]):.1f} | {ns} | "
                  f"{np.mean([r[2] for r in h]):.1f} | {nst} |")
    test_hv = [r[0] for d in test for r in hn_rows[d]]
    print(f"\nheld-out mean nHV hypernet: {np.mean(test_hv):.4f} (target >= 0.97)")
    for b in budgets:
        v = [r[0] for d in test for r in ns_rows[(d, b)]]
        print(f"held-out mean nHV NSGA-II @{b} evals/device: {np.mean(v):.4f}")
    print(f"train-device mean nHV hypernet: {np.mean([r[0] for d in train for r in hn_rows[d]]):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
