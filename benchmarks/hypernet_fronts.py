"""Hypernetwork (MODNAS) fronts vs per-device NSGA-II on NAS-Bench-201 CIFAR-10 with published latencies.

The hypernetwork is trained once (surrogate mode) on the training devices' latency columns and an
accuracy surrogate fitted on ``N`` labelled architectures; every held-out device is then known only
by its latencies of the 10 reference architectures (zero-shot, no retraining) and gets the 24
architectures the hypernetwork proposes for 24 preference vectors (MODNAS's grid).

Quality: normalised hypervolume of :mod:`raynas.moo` (CIFAR-10 ``--split`` error and the device's
latency, each min-max normalised over all 15,625 architectures, reference (1, 1), HV / HV of all).

Evaluations are counted honestly. Per held-out device the hypernetwork evaluates 10 reference
latencies + 24 proposals; the accuracy surrogate cost ``N`` accuracy evaluations, shared by every
device. NSGA-II (Optuna's sampler via :class:`raynas.strategies.OptunaStrategy`) runs per device at
  * ``@dev``:   the same per-device count (10 + 24 = 34), and
  * ``@total``: the same total count, the ``N`` labels spread over the primary held-out devices
    only (``34 + ceil(N / D)``; conservative: the labels also serve every other device).
The training devices' latency tables are prior data (as MODNAS uses HELP's), not counted.

Devices: the MODNAS split of METHODS.md where its devices are columns of the table (train: the
13 MODNAS training devices present; primary held-out: the 6 MODNAS test devices present), every
other column held out too and reported separately; on a table with none of them, a seeded quarter
of the columns is held out. ``--local-device`` adds this machine's CPU, measured live as an unseen
device (its nHV is relative to a live-measured random population, so approximate; timings on a
shared machine are noisy).

    nice -n 10 .venv/bin/python benchmarks/hypernet_fronts.py --seeds 0,1,2 --local-device
    ... --test-devices raspi4,eyeriss --train-devices 1080ti_1,pixel3   # any split of the columns
    ... --labels 100                                                   # accuracy labels N (list)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

def choose_split(columns, test_arg, train_arg, seed: int = 0):
    """(train, primary held-out, other held-out) device lists from the table's columns."""
    from raynas.hypernet.pipeline import default_device_split

    pick = lambda s: [d.strip() for d in s.split(",") if d.strip()]  # noqa: E731
    train, test, _ = default_device_split(columns, seed)
    if test_arg:
        test = pick(test_arg)
        train = [d for d in columns if d not in test]
    if train_arg:
        train = pick(train_arg)
    bad = [d for d in test + train if d not in columns]
    if bad:
        raise SystemExit(f"devices {bad} are not columns of the latency table ({', '.join(columns)})")
    if set(train) & set(test) or not train or not test:
        raise SystemExit(f"need disjoint, non-empty training and held-out devices, got {train} and {test}")
    other = [d for d in columns if d not in train and d not in test]
    return train, test, other


def nsga2_archs(space, objectives, evaluations: int, seed: int, population: int):
    """The architectures NSGA-II evaluates, in order, on one device (``objectives(arch)``)."""
    from raynas.strategies import OptunaStrategy

    strat = OptunaStrategy(space, sampler="nsga2", seed=seed, population_size=population)
    archs = []
    for _ in range(evaluations):
        a = tuple(strat.ask())
        strat.tell(a, objectives(a))
        archs.append(a)
    return archs


def run_feedback(bench, space, bundle, targets, checkpoints, args, seed, record) -> None:
    """Drive :class:`HypernetStrategy` by ask/tell over ``targets`` as a Tune experiment with
    ``HypernetSearch`` would (trial results refine both surrogates and the hypernetwork), and call
    ``record(k, device, nHV)`` when every device has had ``k`` proposals evaluated."""
    import copy

    from raynas.strategies.hypernet import HypernetStrategy

    # refinement trains the models in place: work on copies, so nothing learnt from the held-out
    # devices' trials leaks into later (zero-shot) runs that share the latency predictor
    hypernet, accuracy, latency = (copy.deepcopy(m) for m in (bundle.hypernet, bundle.accuracy, bundle.latency))
    strat = HypernetStrategy(space, hypernet, targets, accuracy=accuracy, latency=latency,
                             n_preferences=args.preferences, refit_every=args.refit_every,
                             accuracy_kind="error_percent",
                             latency_replay=bundle.latency_replay, accuracy_replay=bundle.accuracy_replay, seed=seed)
    evaluated = {d: [] for d in targets}
    todo = sorted(checkpoints)
    while todo:
        arch, ctx = strat.ask_with_context()
        d = ctx["target_device"]
        if len(evaluated[d]) >= todo[-1]:  # this device is done: the trial is not run
            strat.tell(arch, [math.nan, math.nan], device=d)
            continue
        evaluated[d].append(arch)
        strat.tell(arch, bench.objectives(arch, d, args.split), device=d)  # (error %, latency ms)
        while todo and min(len(v) for v in evaluated.values()) >= todo[0]:
            for dev, archs in evaluated.items():
                record(todo[0], dev, bench.normalised_hv(archs[: todo[0]], dev))
            todo.pop(0)


def supernet_bundle(space, latency, devices, args, seed):
    """Supernet mode: the hypernetwork trained jointly with a weight-sharing supernet on a real dataset."""
    from types import SimpleNamespace

    from raynas.paths import data_dir
    from raynas.hypernet.supernet import SupernetSettings, train_supernet_mode

    settings = SupernetSettings(steps=args.steps, warmup_steps=args.warmup_steps, sampler=args.sampler,
                                scalarisation=args.scalarisation, seed=seed)
    trainer = train_supernet_mode(space, latency, devices, dataset=args.dataset,
                                  data_dir=data_dir(args.data_dir), limit=args.dataset_limit,
                                  channels=args.channels, settings=settings, seed=seed)
    probes = {"all conv3x3": (3,) * 6, "all conv1x1": (2,) * 6, "all skip": (1,) * 6, "all avg_pool": (4,) * 6}
    report = "inherited-weight accuracy on the validation split: " + ", ".join(
        f"{k} {trainer.evaluate(a):.1f}%" for k, a in probes.items())
    return SimpleNamespace(hypernet=trainer.hypernet, report=report)


class LiveDevice:
    """This CPU as an unseen device: latencies measured here (cached per architecture)."""

    def __init__(self, space, population: int, seed: int):
        from raynas.hardware import LocalDevice

        self.space, self.device = space, LocalDevice(warmup=2, repeats=7, threads=1)
        self.cache: dict[tuple, float] = {}
        rng = np.random.default_rng(seed + 12345)
        self.population = [tuple(space.sample(rng)) for _ in range(population)]

    def latency(self, arch) -> float:
        a = tuple(arch)
        if a not in self.cache:
            self.cache[a] = self.device.latency_ms(a, self.space)
        return self.cache[a]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--test-devices", default=None, help="comma-separated primary held-out columns")
    ap.add_argument("--train-devices", default=None, help="comma-separated training columns")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--labels", default="100,1000", help="accuracy labels N of the surrogate (comma list)")
    ap.add_argument("--steps", type=int, default=1000, help="hypernetwork MGD steps")
    ap.add_argument("--sampler", default="gumbel", choices=["gumbel", "reinmax"])
    ap.add_argument("--scalarisation", default="linear", choices=["linear", "chebyshev"])
    ap.add_argument("--split", default="valid", help="CIFAR-10 accuracy split of labels and scoring")
    ap.add_argument("--preferences", type=int, default=24)
    ap.add_argument("--nsga-population", type=int, default=16,
                    help="16 was the best of 8/16/32 at these budgets (held-out devices, 5 seeds)")
    ap.add_argument("--feedback", default="24,49,100,249",
                    help="proposals per device at which to score the trial-feedback loop ('' to skip)")
    ap.add_argument("--refit-every", type=int, default=24, help="trials between refits in the feedback loop")
    ap.add_argument("--mode", default="surrogate", choices=["surrogate", "supernet"],
                    help="supernet: the accuracy gradient comes from a weight-sharing NB201 supernet trained jointly "
                         "on --dataset (no accuracy labels: N=0); fronts are still scored on the CIFAR-10 table")
    ap.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "digits"])
    ap.add_argument("--dataset-limit", type=int, default=6000)
    ap.add_argument("--warmup-steps", type=int, default=200, help="supernet weight-only warm-up steps")
    ap.add_argument("--channels", type=int, default=8, help="supernet width")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--local-device", action="store_true", help="also this CPU, measured live (unseen)")
    ap.add_argument("--local-population", type=int, default=150,
                    help="random architectures measured live to normalise the local CPU's hypervolume")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from raynas import moo
    from raynas.benchmarks import NB201Benchmark
    from raynas.hypernet import HardwareProfile, TrainSettings, fit_meta_predictor, load_latency_data
    from raynas.hypernet.pipeline import train_surrogate_mode
    from raynas.hypernet.predictors import nb201_accuracy_surrogate
    from raynas.strategies import RandomStrategy

    bench = NB201Benchmark(args.data_dir)
    space = bench.space
    data = load_latency_data(space, args.data_dir)
    train, test, other = choose_split(data.devices, args.test_devices, args.train_devices)
    held = test + other
    seeds = [int(s) for s in args.seeds.split(",")]
    label_counts = [int(n) for n in args.labels.split(",")] if args.mode == "surrogate" else [0]
    per_device = len(data.reference_rows) + args.preferences
    budget_total = {n: per_device + math.ceil(n / len(test)) for n in label_counts}
    feedback = [int(k) for k in args.feedback.split(",") if k.strip()] if args.mode == "surrogate" else []
    n_fb = label_counts[0]
    budget_fb = {k: len(data.reference_rows) + k + math.ceil(n_fb / len(test)) for k in feedback}
    print(f"# train devices ({len(train)}): {', '.join(train)}")
    print(f"# held-out, primary ({len(test)}): {', '.join(test)}")
    print(f"# held-out, outside the split ({len(other)}): {', '.join(other) or '-'}")
    print(f"# scoring: CIFAR-10 {args.split} error x latency, raynas.moo normalised HV; hypernet: "
          f"{args.steps} MGD steps, {args.scalarisation} scalarisation, {args.sampler} sampling")
    print(f"# evaluations per held-out device: {per_device} (10 reference latencies + {args.preferences} proposals)"
          f" + N accuracy labels shared; NSGA-II @dev = {per_device}, @total = "
          + ", ".join(f"{budget_total[n]} (N={n})" for n in label_counts), flush=True)
    if feedback:
        print(f"# trial feedback (HypernetStrategy as HypernetSearch runs it in Tune, refit every {args.refit_every} "
              f"trials) from N={n_fb} labels, on the primary held-out devices: per device 10 + k evaluations, "
              f"NSGA-II at equal total = " + ", ".join(f"{budget_fb[k]} (k={k})" for k in feedback), flush=True)

    local = LiveDevice(space, args.local_population, 0) if args.local_device else None
    grid = torch.tensor(moo.quarter_circle_preferences(args.preferences), dtype=torch.float32)
    res: dict = {}  # (method, device) -> list of (nHV, distinct, seconds)

    def add(method, device, hv, distinct=float("nan"), secs=float("nan")):
        res.setdefault((method, device), []).append((hv, distinct, secs))

    local_sets: dict = {}
    for seed in seeds:
        t0 = time.perf_counter()
        latency = fit_meta_predictor(data, train, 2000, 20, seed=seed)
        lat_s = time.perf_counter() - t0
        mean_emb = torch.tensor(np.mean([data.profile(d).embedding for d in train], 0))
        local_prof = None
        if local is not None:
            t1 = time.perf_counter()
            local_prof = HardwareProfile(local.device.name, [local.latency(a) for a in data.reference_archs])
            print(f"# seed {seed}: {local.device.name} reference latencies measured in {time.perf_counter() - t1:.1f}s: "
                  f"{np.round(local_prof.reference_ms, 2).tolist()} ms", flush=True)
        for n in label_counts:
            t0 = time.perf_counter()
            if args.mode == "supernet":
                bundle = supernet_bundle(space, latency, {d: data.profile(d) for d in train}, args, seed)
                train_s = time.perf_counter() - t0 + lat_s
                print(f"# seed {seed}: supernet mode on {args.dataset} ({args.dataset_limit} images, width "
                      f"{args.channels}, {args.warmup_steps} warm-up + {args.steps} joint steps) trained in "
                      f"{train_s:.1f}s, no accuracy labels; {bundle.report}", flush=True)
            else:
                fit = nb201_accuracy_surrogate(space, n, args.data_dir, split=args.split, seed=seed)
                acc_s = time.perf_counter() - t0
                settings = TrainSettings(steps=args.steps, sampler=args.sampler, scalarisation=args.scalarisation,
                                         seed=seed)
                bundle = train_surrogate_mode(space, train, data_dir=args.data_dir, settings=settings, seed=seed,
                                              accuracy=fit, latency=latency)
                train_s = time.perf_counter() - t0 + lat_s
                print(f"# seed {seed}, N={n}: trained in {train_s:.1f}s "
                      f"(latency predictor {lat_s:.1f}s, accuracy surrogate {acc_s:.1f}s, "
                      f"hypernet {bundle.timings['hypernet_s']:.1f}s)", flush=True)
            for d in held + train:
                t1 = time.perf_counter()
                archs = bundle.hypernet.argmax_archs(grid, torch.tensor(data.profile(d).embedding))
                add(f"hypernet N={n}", d, bench.normalised_hv(archs, d), len(set(archs)),
                    train_s + time.perf_counter() - t1)
                if d in held:
                    flat = bundle.hypernet.argmax_archs(grid, mean_emb)
                    add(f"no-hw N={n}", d, bench.normalised_hv(flat, d), len(set(flat)))
            if local_prof is not None:
                archs = bundle.hypernet.argmax_archs(grid, torch.tensor(local_prof.embedding))
                local_sets[(n, seed)] = archs
                for a in archs:
                    local.latency(a)
            if n == n_fb and feedback:
                t1 = time.perf_counter()
                run_feedback(bench, space, bundle, {d: data.profile(d) for d in test}, feedback, args, seed,
                             lambda k, d, hv: add(f"feedback k={k}", d, hv, secs=train_s + time.perf_counter() - t1))
                print(f"# seed {seed}: trial-feedback loop up to k={max(feedback)} per device in "
                      f"{time.perf_counter() - t1:.1f}s", flush=True)
        budgets = sorted({per_device, *budget_total.values(), *budget_fb.values(),
                          *(len(data.reference_rows) + k for k in feedback)})
        for d in held:
            obj = lambda a, d=d: bench.objectives(a, d, args.split)  # noqa: E731
            t1 = time.perf_counter()
            archs = nsga2_archs(space, obj, max(budgets), seed, args.nsga_population)
            secs = time.perf_counter() - t1
            traj = moo.hv_trajectory(np.array([obj(a) for a in archs]), normaliser=bench.normaliser(d),
                                     true_hv=bench.true_hv(d))
            for b in budgets:
                add(f"NSGA-II @{b}", d, traj[b - 1], len(set(archs[:b])), secs * b / max(budgets))
            rs = RandomStrategy(space, seed=seed)
            ra = [tuple(rs.ask()) for _ in range(max(budgets))]
            rtraj = moo.hv_trajectory(np.array([obj(a) for a in ra]), normaliser=bench.normaliser(d),
                                      true_hv=bench.true_hv(d))
            for b in budgets:
                add(f"random @{b}", d, rtraj[b - 1])
        if local is not None:
            obj = lambda a: (100.0 - bench.accuracy(a, args.split), local.latency(a))  # noqa: E731
            t1 = time.perf_counter()
            local_sets[("nsga", seed)] = nsga2_archs(space, obj, per_device, seed, args.nsga_population)
            print(f"# seed {seed}: NSGA-II on {local.device.name} measured {per_device} archs live in "
                  f"{time.perf_counter() - t1:.1f}s", flush=True)

    # --- local CPU: normalise over everything measured live (a random population + all proposals) ---
    if local is not None:
        name = local.device.name
        t1 = time.perf_counter()
        for a in local.population:
            local.latency(a)
        print(f"# {name}: {len(local.cache)} architectures measured live in total "
              f"(population {time.perf_counter() - t1:.1f}s)")
        every = list(local.cache)
        pts = np.array([(100.0 - bench.accuracy(a, args.split), local.cache[a]) for a in every])
        norm = moo.Normaliser.fit(pts)
        ref_hv = moo.hypervolume(norm(pts[moo.pareto_mask(pts)]), np.ones(2))
        nhv = lambda archs: moo.normalised_hypervolume(  # noqa: E731
            np.array([(100.0 - bench.accuracy(a, args.split), local.cache[a]) for a in archs]),
            normaliser=norm, true_hv=ref_hv)
        for (key, seed), archs in local_sets.items():
            label = "NSGA-II @%d" % per_device if key == "nsga" else f"hypernet N={key}"
            add(label, name, nhv(archs), len(set(archs)))
        add("population", name, nhv(local.population), len(local.population))

    # --- tables ---------------------------------------------------------------------------------------
    def cell(method, d, k=0, devs=None):
        """mean ± std over seeds of one device, or (``devs``) of the per-seed means over devices"""
        if devs is not None:
            per_seed = [np.mean([res[(method, dd)][i][k] for dd in devs]) for i in range(len(seeds))
                        if all((method, dd) in res and len(res[(method, dd)]) > i for dd in devs)]
            return f"{np.mean(per_seed):.4f} ± {np.std(per_seed):.4f}" if per_seed else "-"
        v = [r[k] for r in res.get((method, d), [])]
        return f"{np.mean(v):.4f} ± {np.std(v):.4f}" if v else "-"

    hn_methods = [f"hypernet N={n}" for n in label_counts]
    ns_methods = [f"NSGA-II @{per_device}"] + [f"NSGA-II @{budget_total[n]}" for n in label_counts
                                                if budget_total[n] != per_device]
    ns_methods = list(dict.fromkeys(ns_methods))
    cols = hn_methods + [f"no-hw N={label_counts[-1]}"] + ns_methods + [f"random @{budget_total[label_counts[0]]}"]
    print("\n## Normalised hypervolume per device (mean ± std over seeds " + ",".join(map(str, seeds)) + ")\n")
    print("| device | group | " + " | ".join(cols) + " | distinct archs of 24 (hypernet N=" + str(label_counts[-1]) + ") |")
    print("|" + "---|" * (len(cols) + 3))
    groups = [("held-out", test), ("held-out (outside split)", other), ("train", train)]
    if local is not None:
        groups.insert(1, ("unseen, live*", [local.device.name]))
    for group, devs in groups:
        for d in devs:
            print(f"| {d} | {group} | " + " | ".join(cell(m, d) for m in cols) + f" | {cell(hn_methods[-1], d, 1)} |")

    def mean_of(method, devs):
        v = [r[0] for d in devs for r in res.get((method, d), [])]
        return float(np.mean(v)) if v else float("nan")

    print("\n## Summary over the primary held-out devices (" + ", ".join(test) + ")\n")
    print("| method | evaluations per device | mean nHV | wall-clock |")
    print("|---|---|---|---|")
    for n in label_counts:
        t = np.mean([r[2] for d in test for r in res[(f"hypernet N={n}", d)]])
        print(f"| hypernet N={n} (zero-shot) | {per_device} + {n} labels shared | {mean_of(f'hypernet N={n}', test):.4f} "
              f"| {t:.0f} s training once for all devices + ms per device |")
        print(f"| same, hardware embedding ignored | {per_device} + {n} shared | {mean_of(f'no-hw N={n}', test):.4f} | - |")
    for m in ns_methods:
        t = np.mean([r[2] for d in test for r in res[(m, d)]])
        print(f"| {m} | {m.split('@')[1]} | {mean_of(m, test):.4f} | {t:.2f} s per device on the table "
              f"(+ training every evaluated net in real use) |")
    for n in label_counts:
        print(f"| random @{budget_total[n]} | {budget_total[n]} | {mean_of(f'random @{budget_total[n]}', test):.4f} | - |")
    if feedback:
        print(f"\n## Trial feedback: hypernetwork from N={n_fb} labels refined by the trials' results, "
              f"vs per-device NSGA-II\n")
        print("| proposals per device k | evaluations per device | hypernet + feedback | NSGA-II, equal per-device "
              "(10 + k) | NSGA-II, equal total (10 + k + N/D) | random, equal total | wall-clock (hypernet) |")
        print("|---|---|---|---|---|---|---|")
        for k in feedback:
            t = np.mean([r[2] for d in test for r in res[(f"feedback k={k}", d)]])
            print(f"| {k} | {len(data.reference_rows) + k} + {n_fb} shared | {cell(f'feedback k={k}', None, devs=test)} | "
                  f"{cell(f'NSGA-II @{len(data.reference_rows) + k}', None, devs=test)} | {cell(f'NSGA-II @{budget_fb[k]}', None, devs=test)} | "
                  f"{cell(f'random @{budget_fb[k]}', None, devs=test)} | {t:.0f} s |")

    print()
    for k in feedback:
        hv, ns = mean_of(f"feedback k={k}", test), mean_of(f"NSGA-II @{budget_fb[k]}", test)
        print(f"feedback k={k}: held-out mean nHV {hv:.4f} vs NSGA-II at equal total evaluations "
              f"@{budget_fb[k]}: {'not worse' if hv >= ns else 'WORSE'} ({ns:.4f})")
    for n in label_counts:
        hv = mean_of(f"hypernet N={n}", test)
        ns_dev, ns_tot = mean_of(f"NSGA-II @{per_device}", test), mean_of(f"NSGA-II @{budget_total[n]}", test)
        print(f"N={n}: held-out mean nHV {hv:.4f} ({'meets' if hv >= 0.97 else 'MISSES'} >= 0.97); "
              f"vs NSGA-II @{per_device}: {'not worse' if hv >= ns_dev else 'WORSE'} ({ns_dev:.4f}); "
              f"vs NSGA-II at equal total evaluations @{budget_total[n]}: "
              f"{'not worse' if hv >= ns_tot else 'WORSE'} ({ns_tot:.4f})")
        worse = [d for d in test if np.mean([r[0] for r in res[(f'hypernet N={n}', d)]])
                 < np.mean([r[0] for r in res[(f'NSGA-II @{budget_total[n]}', d)]])]
        if worse:
            print(f"   devices where NSGA-II @{budget_total[n]} beats the hypernet: {', '.join(worse)}")
    if other:
        print(f"held-out outside the split, hypernet N={label_counts[-1]}: mean nHV "
              f"{mean_of(hn_methods[-1], other):.4f}; train devices: {mean_of(hn_methods[-1], train):.4f}")
    if local is not None:
        print(f"* {local.device.name}: measured live on a shared, loaded machine; its nHV is relative to the "
              f"front of the {len(local.cache)} architectures measured here (a random population of "
              f"{len(local.population)} + every proposal), not of all 15,625.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
