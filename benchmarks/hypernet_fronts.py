"""Hypernetwork (MODNAS) fronts vs per-device NSGA-II and ZeroCost, NAS-Bench-201 CIFAR-10, published latencies.

The hypernetwork is trained once (surrogate mode) on the training devices' latency columns and an
accuracy surrogate fitted on ``N`` labelled architectures; every held-out device is then known only
by its latencies of the 10 reference architectures (zero-shot, no retraining) and gets the 24
architectures the hypernetwork proposes for 24 preference vectors (MODNAS's grid).

Quality: normalised hypervolume of :mod:`raynas.moo` (CIFAR-10 ``--split`` error and the device's
latency, each min-max normalised over all 15,625 architectures, reference (1, 1), HV / HV of all).

Evaluations are counted honestly. Per held-out device the hypernetwork evaluates 10 reference
latencies + 24 proposals; the accuracy surrogate cost ``N`` accuracy evaluations, shared by every
device. Two per-device searches run at
  * ``@dev``:   the same per-device count (10 + 24 = 34), and
  * ``@total``: the same total count, the ``N`` labels spread over the primary held-out devices
    only (``34 + ceil(N / D)``; conservative: the labels also serve every other device):
NSGA-II (Optuna's sampler via :class:`raynas.strategies.OptunaStrategy`) and raynas's
:class:`~raynas.strategies.ZeroCostStrategy` (2 objectives; accuracy proxies path_params + log
synflow, cost proxy FLOPs, read from the proxy cache as ``nb201_three.py`` does). ZeroCost's proxy
scores are a separate budget -- networks scored on one batch, not trained -- reported as
"networks scored". The training devices' latency tables are prior data (as MODNAS uses HELP's),
not counted.

"hardware embedding ignored" (``no-hw``): the same trained hypernetwork given the mean training
embedding for every device (after its standardisation the zero vector: one fixed mixture of the
tables), i.e. what the proposals are worth without knowing the target.

Devices: the MODNAS split of METHODS.md where its devices are columns of the table (train: the
13 MODNAS training devices present; primary held-out: the 6 MODNAS test devices present), every
other column held out too and reported separately. ``--holdout family`` (default) makes every
held-out device, primary or other, unseen as hardware: no device of its family
(:func:`raynas.hardware.device_family`, the same hardware at another batch size) is trained on.
A split given by ``--test-devices``/``--train-devices`` that breaks this is an error; with only
``--test-devices`` the training devices are every column outside the held-out families; the
default split *drops* its held-out devices of a trained family (listed in the header, neither
trained on nor scored) rather than moving them into training, so the training set stays
MODNAS's -- on the NB201 table no device is dropped (1080ti and titanx are trained, 2080ti and
titanxp held out, the rest are single-setting devices). A table with none of MODNAS's devices
holds out a seeded quarter of its families. ``--holdout device`` is the earlier protocol (only the
held-out columns unseen), labelled so in the output. The per-device table names each held-out
device's nearest training device (Spearman rho of latency over all architectures): families are
not the only near-twins.

``--local-device`` adds this machine's CPU, measured live as an unseen device (its nHV is relative
to a live-measured random population, so approximate; timings on a shared machine are noisy).
The report is printed and written to ``benchmarks/out/hypernet_fronts.md`` (``--out``).

    nice -n 10 .venv/bin/python benchmarks/hypernet_fronts.py --seeds 0,1,2 --labels 100,1000
    ... --test-devices raspi4,eyeriss --train-devices 1080ti_1,pixel3   # any split of the columns
    ... --holdout device                                               # the earlier protocol
    ... --labels 100                                                   # accuracy labels N (list)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

HOLDOUTS = ("family", "device")


class Split(NamedTuple):
    """Training and held-out devices. ``dropped``: columns of a trained family that the default split
    leaves out of the held-out sets (family protocol); ``holdout``: the protocol."""

    train: list
    test: list
    other: list
    dropped: list
    holdout: str


def family_clashes(held, train) -> list[tuple[str, str]]:
    """``(held-out device, a training device of its family)`` for every held-out device whose
    family (:func:`raynas.hardware.device_family`) is trained on."""
    from raynas.hardware import device_family

    trained: dict[str, str] = {}
    for t in train:
        trained.setdefault(device_family(t), t)
    return [(d, trained[device_family(d)]) for d in held if device_family(d) in trained]


def family_split(columns, seed: int = 0) -> tuple[list, list]:
    """``(train, held-out)``: a seeded quarter of the device families held out whole."""
    from raynas.hardware import device_family

    families = list(dict.fromkeys(device_family(c) for c in columns))
    k = max(1, len(families) // 4)
    held = set(np.random.default_rng(seed).choice(families, size=k, replace=False).tolist())
    return [c for c in columns if device_family(c) not in held], [c for c in columns if device_family(c) in held]


def default_split(columns, seed: int, holdout: str) -> tuple[list, list]:
    """The default ``(train, primary held-out)``: MODNAS's split where the table has its devices;
    under the family protocol its held-out devices of a trained family are dropped (none on NB201),
    and a table without MODNAS's devices holds out whole families instead of single columns."""
    from raynas.hypernet.pipeline import MODNAS_TEST_DEVICES, MODNAS_TRAIN_DEVICES, default_device_split

    train, test, _ = default_device_split(columns, seed)
    if holdout == "device":
        return train, test
    modnas = any(d in columns for d in MODNAS_TEST_DEVICES) and any(d in columns for d in MODNAS_TRAIN_DEVICES)
    clashing = {d for d, _ in family_clashes(test, train)}
    test = [d for d in test if d not in clashing]
    if not modnas or not test:
        train, test = family_split(columns, seed)
    return train, test


def choose_split(columns, test_arg=None, train_arg=None, seed: int = 0, holdout: str = "family") -> Split:
    """The benchmark's devices from the table's columns (module docstring: Devices).

    ``holdout="family"``: no held-out device (primary or other) has a device of its family among the
    training devices. A split given by ``test_arg``/``train_arg`` that holds out such a device is an
    error; only ``test_arg`` given trains on every column outside the held-out families; the default
    split drops such devices from the held-out sets (``Split.dropped``: neither trained on nor
    scored), rather than moving them into training, so the training devices stay MODNAS's.
    ``holdout="device"``: the earlier protocol, only the held-out columns themselves are unseen."""
    from raynas.errors import InvalidConfigError, UnknownNameError
    from raynas.hardware import device_family

    if holdout not in HOLDOUTS:
        raise InvalidConfigError(f"holdout must be one of {', '.join(HOLDOUTS)}, got {holdout!r}")
    columns = list(columns)
    pick = lambda s: [d.strip() for d in s.split(",") if d.strip()]  # noqa: E731
    train, test = default_split(columns, seed, holdout)
    if test_arg:
        test = pick(test_arg)
        held_families = {device_family(d) for d in test} if holdout == "family" else set()
        train = [d for d in columns if d not in test and device_family(d) not in held_families]
    if train_arg:
        train = pick(train_arg)
    bad = [d for d in test + train if d not in columns]
    if bad:
        raise UnknownNameError(f"devices {bad} are not columns of the latency table ({', '.join(columns)})")
    if set(train) & set(test) or not train or not test:
        raise InvalidConfigError(f"need disjoint, non-empty training and held-out devices, got {train} and {test}")
    clashes = family_clashes(test, train) if holdout == "family" else []
    if clashes:
        d, t = clashes[0]
        raise InvalidConfigError(f"held-out device {d!r} is of the family {device_family(d)!r} of training device "
                                 f"{t!r}, so not unseen (--holdout device allows it)")
    other = [d for d in columns if d not in train and d not in test]
    dropped = [d for d, _ in family_clashes(other, train)] if holdout == "family" else []
    return Split(train, test, [d for d in other if d not in dropped], dropped, holdout)


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


def zero_cost_archs(space, scores, objectives, evaluations: int, seed: int):
    """The architectures raynas's :class:`ZeroCostStrategy` evaluates, in order, on one device, and
    after each evaluation how many distinct networks it had scored by zero-cost proxies (scored, not
    trained). Proxies as in ``nb201_three.py``: path_params + log synflow for quality, FLOPs for cost,
    read from the shared ``scores`` (``nb201_three.shared_scores``)."""
    from benchmarks.nb201_three import PROXIES, RunView
    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.scorers import ProxyColumn

    view = RunView(scores)
    col = lambda n, t="none": ProxyColumn(view, PROXIES.index(n), t)  # noqa: E731
    strat = ZeroCostStrategy(space, [col("path_params"), col("synflow", "log")], col("flops"),
                             objectives=["quality", "cost"], seed=seed)
    archs, scored = [], []
    for _ in range(evaluations):
        a = tuple(strat.ask())
        strat.tell(a, objectives(a))
        archs.append(a)
        scored.append(view.evaluations)
    return archs, scored


def nearest_training_device(data, held, train) -> dict[str, tuple[str, float]]:
    """Per held-out device, the training device ranking all architectures most like it (Spearman)."""
    from raynas.predictors.models import rank_correlations

    cols = list(held) + list(train)
    rho = rank_correlations(np.column_stack([data.latency_ms[d] for d in cols]))
    out = {}
    for i, d in enumerate(held):
        j = len(held) + int(np.argmax(rho[i, len(held):]))
        out[d] = (cols[j], float(rho[i, j]))
    return out


def protocol_lines(split: Split) -> list[str]:
    """Header lines naming the holdout protocol (and what it let through or left out)."""
    if split.holdout == "family":
        lines = ["# holdout protocol: family -- no held-out device shares its device family "
                 "(raynas.hardware.device_family: the name without a batch-size suffix) with a training device"]
        if split.dropped:
            lines.append(f"# left out, their family is trained on (neither trained on nor scored): {', '.join(split.dropped)}")
        return lines
    clashes = family_clashes(split.test + split.other, split.train)
    return ["# holdout protocol: device (the earlier protocol) -- only the held-out columns are unseen; a "
            "held-out device may share its family (the same hardware at another batch size) with a training device",
            "# held-out devices whose family is trained on: "
            + (", ".join(f"{d} (trained: {t})" for d, t in clashes) or "none")]


class Tee:
    """Writes to several streams (the console and the report file)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self):
        for s in self.streams:
            s.flush()


def default_out(args) -> Path:
    name = "hypernet_supernet" if args.mode == "supernet" else "hypernet_fronts"
    return ROOT / "benchmarks" / "out" / f"{name}{'_device' if args.holdout == 'device' else ''}.md"


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


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--test-devices", default=None, help="comma-separated primary held-out columns")
    ap.add_argument("--train-devices", default=None, help="comma-separated training columns")
    ap.add_argument("--holdout", default="family", choices=HOLDOUTS,
                    help="family (default): no held-out device has a training device of its family; "
                         "device: the earlier protocol, only the held-out columns themselves are unseen")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--labels", default="100,1000", help="accuracy labels N of the surrogate (comma list)")
    ap.add_argument("--steps", type=int, default=1000, help="hypernetwork MGD steps")
    ap.add_argument("--sampler", default="gumbel", choices=["gumbel", "reinmax"])
    ap.add_argument("--scalarisation", default="linear", choices=["linear", "chebyshev"])
    ap.add_argument("--split", default="valid", help="CIFAR-10 accuracy split of labels and scoring")
    ap.add_argument("--preferences", type=int, default=24)
    ap.add_argument("--nsga-population", type=int, default=16,
                    help="16 was the best of 8/16/32 at these budgets (held-out devices, 5 seeds)")
    ap.add_argument("--zero-cost", default=True, action=argparse.BooleanOptionalAction,
                    help="also raynas's ZeroCostStrategy per held-out device at NSGA-II's budgets")
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
    ap.add_argument("--out", default=None,
                    help="the report is written here too (default benchmarks/out/hypernet_fronts.md; "
                         "hypernet_fronts_device.md with --holdout device, hypernet_supernet.md in supernet mode; "
                         "'' for none); it is renamed from <out>.part once the run has finished")
    return ap, ap.parse_args(argv)


def main(argv=None) -> int:
    ap, args = parse_args(argv)
    out = default_out(args) if args.out is None else (Path(args.out) if args.out else None)
    if out is None:
        return run(ap, args)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    cmd = " ".join(["benchmarks/hypernet_fronts.py", *(argv if argv is not None else sys.argv[1:])])
    with open(part, "w") as f:
        f.write(f"command: {cmd}   ({os.cpu_count()} shared cores; {time.strftime('%Y-%m-%d')})\n\n")
        console, sys.stdout = sys.stdout, Tee(sys.stdout, f)
        try:
            rc = run(ap, args)
        finally:
            sys.stdout = console
    part.replace(out)
    print(f"# report written to {out}")
    return rc


def run(ap, args) -> int:
    from raynas.errors import RaynasError

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)

    from raynas import moo
    from raynas.benchmarks import NB201Benchmark
    from raynas.hypernet import HardwareProfile, TrainSettings, fit_meta_predictor, load_latency_data
    from raynas.hypernet.pipeline import train_surrogate_mode
    from raynas.predictors.modnas import nb201_accuracy_surrogate
    from raynas.strategies import RandomStrategy

    bench = NB201Benchmark(args.data_dir)
    space = bench.space
    data = load_latency_data(space, args.data_dir)
    try:
        split = choose_split(data.devices, args.test_devices, args.train_devices, holdout=args.holdout)
    except RaynasError as e:
        ap.error(str(e))
    train, test, other = split.train, split.test, split.other
    held = test + other
    near = nearest_training_device(data, held, train)
    seeds = [int(s) for s in args.seeds.split(",")]
    label_counts = [int(n) for n in args.labels.split(",")] if args.mode == "surrogate" else [0]
    per_device = len(data.reference_rows) + args.preferences
    budget_total = {n: per_device + math.ceil(n / len(test)) for n in label_counts}
    feedback = [int(k) for k in args.feedback.split(",") if k.strip()] if args.mode == "surrogate" else []
    n_fb = label_counts[0]
    budget_fb = {k: len(data.reference_rows) + k + math.ceil(n_fb / len(test)) for k in feedback}
    for line in protocol_lines(split):
        print(line)
    print(f"# train devices ({len(train)}): {', '.join(train)}")
    print(f"# held-out, primary ({len(test)}): {', '.join(test)}")
    print(f"# held-out, outside the split ({len(other)}): {', '.join(other) or '-'}")
    print(f"# scoring: CIFAR-10 {args.split} error x latency, raynas.moo normalised HV; hypernet: "
          f"{args.steps} MGD steps, {args.scalarisation} scalarisation, {args.sampler} sampling")
    print(f"# evaluations per held-out device: {per_device} (10 reference latencies + {args.preferences} proposals)"
          f" + N accuracy labels shared; NSGA-II{' and ZeroCost' if args.zero_cost else ''} @dev = {per_device}, "
          f"@total = " + ", ".join(f"{budget_total[n]} (N={n})" for n in label_counts), flush=True)
    if args.zero_cost:
        print("# ZeroCost: raynas ZeroCostStrategy, 2 objectives (quality, cost), accuracy proxies path_params + "
              "log synflow, cost proxy FLOPs (as benchmarks/nb201_three.py); its proxy scores are a separate budget "
              "(networks scored on one Fashion-MNIST batch, not trained), reported as 'networks scored'", flush=True)
    if feedback:
        print(f"# trial feedback (HypernetStrategy as HypernetSearch runs it in Tune, refit every {args.refit_every} "
              f"trials) from N={n_fb} labels, on the primary held-out devices: per device 10 + k evaluations, "
              f"NSGA-II at equal total = " + ", ".join(f"{budget_fb[k]} (k={k})" for k in feedback), flush=True)

    zc_scores = None
    if args.zero_cost:
        from benchmarks.nb201_three import shared_scores

        zc_scores = shared_scores(space, args.data_dir)
    local = LiveDevice(space, args.local_population, 0) if args.local_device else None
    grid = torch.tensor(moo.quarter_circle_preferences(args.preferences), dtype=torch.float32)
    res: dict = {}  # (method, device) -> list of (nHV, distinct, seconds, networks scored)

    def add(method, device, hv, distinct=float("nan"), secs=float("nan"), scored=float("nan")):
        res.setdefault((method, device), []).append((hv, distinct, secs, scored))

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
                if d in held:  # hardware embedding ignored: every device gets the mean training embedding
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
        t_base = time.perf_counter()
        zc_s = 0.0
        for d in held:
            obj = lambda a, d=d: bench.objectives(a, d, args.split)  # noqa: E731
            trajectory = lambda archs, d=d: moo.hv_trajectory(  # noqa: E731
                np.array([bench.objectives(a, d, args.split) for a in archs]), normaliser=bench.normaliser(d),
                true_hv=bench.true_hv(d))
            t1 = time.perf_counter()
            archs = nsga2_archs(space, obj, max(budgets), seed, args.nsga_population)
            secs = time.perf_counter() - t1
            traj = trajectory(archs)
            for b in budgets:
                add(f"NSGA-II @{b}", d, traj[b - 1], len(set(archs[:b])), secs * b / max(budgets))
            if zc_scores is not None:
                t1 = time.perf_counter()
                archs, scored = zero_cost_archs(space, zc_scores, obj, max(budgets), seed)
                secs = time.perf_counter() - t1
                zc_s += secs
                traj = trajectory(archs)
                for b in budgets:
                    add(f"ZeroCost @{b}", d, traj[b - 1], len(set(archs[:b])), secs * b / max(budgets), scored[b - 1])
            rs = RandomStrategy(space, seed=seed)
            rtraj = trajectory([tuple(rs.ask()) for _ in range(max(budgets))])
            for b in budgets:
                add(f"random @{b}", d, rtraj[b - 1])
        print(f"# seed {seed}: per-device baselines up to {max(budgets)} evaluations on {len(held)} held-out devices "
              f"in {time.perf_counter() - t_base:.1f}s (ZeroCost {zc_s:.1f}s)", flush=True)
        if local is not None:
            obj = lambda a: (100.0 - bench.accuracy(a, args.split), local.latency(a))  # noqa: E731
            t1 = time.perf_counter()
            local_sets[("nsga", seed)] = nsga2_archs(space, obj, per_device, seed, args.nsga_population)
            print(f"# seed {seed}: NSGA-II on {local.device.name} measured {per_device} archs live in "
                  f"{time.perf_counter() - t1:.1f}s", flush=True)

    if local is not None:
        score_local(local, local_sets, bench, args, per_device, add)
    ctx = dict(seeds=seeds, split=split, near=near, label_counts=label_counts, per_device=per_device,
               budget_total=budget_total, feedback=feedback, n_fb=n_fb, budget_fb=budget_fb,
               n_ref=len(data.reference_rows), local=local, zero_cost=zc_scores is not None)
    report(res, **ctx)
    print(f"\n# wall time {time.perf_counter() - t_start:.0f} s")
    return 0


def score_local(local, local_sets, bench, args, per_device, add) -> None:
    """The local CPU's nHV, normalised over everything measured live (a random population + all proposals)."""
    from raynas import moo

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


def report(res, *, seeds, split, near, label_counts, per_device, budget_total, feedback, n_fb, budget_fb, n_ref,
           local, zero_cost) -> None:
    """The tables: nHV per device, the summary over the primary held-out devices, trial feedback."""
    train, test, other = split.train, split.test, split.other

    def cell(method, d, k=0, devs=None):
        """mean ± std over seeds of one device, or (``devs``) of the per-seed means over devices"""
        if devs is not None:
            per_seed = [np.mean([res[(method, dd)][i][k] for dd in devs]) for i in range(len(seeds))
                        if all((method, dd) in res and len(res[(method, dd)]) > i for dd in devs)]
            return f"{np.mean(per_seed):.4f} ± {np.std(per_seed):.4f}" if per_seed else "-"
        v = [r[k] for r in res.get((method, d), [])]
        return f"{np.mean(v):.4f} ± {np.std(v):.4f}" if v else "-"

    def mean_of(method, devs, k=0):
        v = [r[k] for d in devs for r in res.get((method, d), [])]
        return float(np.mean(v)) if v else float("nan")

    budgets = list(dict.fromkeys([per_device] + [budget_total[n] for n in label_counts]))
    hn_methods = [f"hypernet N={n}" for n in label_counts]
    nohw_methods = [f"no-hw N={n}" for n in label_counts]
    ns_methods = [f"NSGA-II @{b}" for b in budgets]
    zc_methods = [f"ZeroCost @{b}" for b in budgets] if zero_cost else []
    cols = hn_methods + nohw_methods + ns_methods + zc_methods + [f"random @{budget_total[label_counts[0]]}"]
    protocol = ("holdout: family" if split.holdout == "family"
                else "holdout: device (the earlier protocol; families may be shared)")
    print(f"\n## Normalised hypervolume per device (mean ± std over seeds {','.join(map(str, seeds))}; {protocol})\n")
    print("no-hw = the hypernetwork given the mean training-device embedding for every device (hardware "
          "embedding ignored); nearest = the training device ranking the 15,625 architectures most alike (Spearman)\n")
    print("| device | group | nearest training device (ρ) | " + " | ".join(cols)
          + " | distinct archs of 24 (hypernet N=" + str(label_counts[-1]) + ") |")
    print("|" + "---|" * (len(cols) + 4))
    clashing = {d for d, _ in family_clashes(test + other, train)}
    groups = [("held-out", test), ("held-out (outside split)", other), ("train", train)]
    if local is not None:
        groups.insert(1, ("unseen, live*", [local.device.name]))
    for group, devs in groups:
        for d in devs:
            g = group + (", family trained on" if d in clashing else "")
            nb = f"{near[d][0]} ({near[d][1]:.3f})" if d in near else "-"
            print(f"| {d} | {g} | {nb} | " + " | ".join(cell(m, d) for m in cols) + f" | {cell(hn_methods[-1], d, 1)} |")

    print(f"\n## Summary over the primary held-out devices ({', '.join(test)}; {protocol})\n")
    print("nHV: mean ± std over seeds of the mean over these devices\n")
    print("| method | evaluations per device | held-out nHV | wall-clock |")
    print("|---|---|---|---|")
    for n in label_counts:
        t = mean_of(f"hypernet N={n}", test, 2)
        print(f"| hypernet N={n} (zero-shot) | {per_device} + {n} labels shared | {cell(f'hypernet N={n}', None, devs=test)} "
              f"| {t:.0f} s training once for all devices + ms per device |")
        print(f"| same, hardware embedding ignored (mean training embedding) | {per_device} + {n} shared | "
              f"{cell(f'no-hw N={n}', None, devs=test)} | - |")
    for m in ns_methods:
        print(f"| {m} | {m.split('@')[1]} | {cell(m, None, devs=test)} | {mean_of(m, test, 2):.2f} s per device on "
              f"the table (+ training every evaluated net in real use) |")
    for m in zc_methods:
        print(f"| {m} | {m.split('@')[1]} (+ {mean_of(m, test, 3):.0f} networks scored by proxies, not trained) | "
              f"{cell(m, None, devs=test)} | {mean_of(m, test, 2):.2f} s per device on the table, proxies mostly "
              f"read from the cache (+ training every evaluated net in real use) |")
    for n in label_counts:
        print(f"| random @{budget_total[n]} | {budget_total[n]} | {cell(f'random @{budget_total[n]}', None, devs=test)} | - |")
    if feedback:
        report_feedback(res, cell, mean_of, test, feedback, n_fb, budget_fb, n_ref, zero_cost)
    print()
    verdicts(res, mean_of, test, label_counts, per_device, budget_total, zero_cost)
    if other:
        print(f"held-out outside the split, hypernet N={label_counts[-1]}: mean nHV "
              f"{mean_of(hn_methods[-1], other):.4f} (embedding ignored {mean_of(nohw_methods[-1], other):.4f}); "
              f"train devices: {mean_of(hn_methods[-1], train):.4f}")
    if local is not None:
        print(f"* {local.device.name}: measured live on a shared, loaded machine; its nHV is relative to the "
              f"front of the {len(local.cache)} architectures measured here (a random population of "
              f"{len(local.population)} + every proposal), not of all 15,625.")


def report_feedback(res, cell, mean_of, test, feedback, n_fb, budget_fb, n_ref, zero_cost) -> None:
    print(f"\n## Trial feedback: hypernetwork from N={n_fb} labels refined by the trials' results, "
          f"vs per-device NSGA-II{' and ZeroCost' if zero_cost else ''}\n")
    zc_head = " | ZeroCost, equal total | networks scored (ZeroCost)" if zero_cost else ""
    print("| proposals per device k | evaluations per device | hypernet + feedback | NSGA-II, equal per-device "
          f"(10 + k) | NSGA-II, equal total (10 + k + N/D){zc_head} | random, equal total | wall-clock (hypernet) |")
    print("|---|---|---|---|---|---|" + ("---|---|" if zero_cost else "") + "---|")
    for k in feedback:
        t = mean_of(f"feedback k={k}", test, 2)
        zc = (f" | {cell(f'ZeroCost @{budget_fb[k]}', None, devs=test)} | {mean_of(f'ZeroCost @{budget_fb[k]}', test, 3):.0f}"
              if zero_cost else "")
        print(f"| {k} | {n_ref + k} + {n_fb} shared | {cell(f'feedback k={k}', None, devs=test)} | "
              f"{cell(f'NSGA-II @{n_ref + k}', None, devs=test)} | {cell(f'NSGA-II @{budget_fb[k]}', None, devs=test)}{zc} | "
              f"{cell(f'random @{budget_fb[k]}', None, devs=test)} | {t:.0f} s |")
    print()
    for k in feedback:
        hv, ns = mean_of(f"feedback k={k}", test), mean_of(f"NSGA-II @{budget_fb[k]}", test)
        print(f"feedback k={k}: held-out mean nHV {hv:.4f} vs NSGA-II at equal total evaluations "
              f"@{budget_fb[k]}: {'not worse' if hv >= ns else 'WORSE'} ({ns:.4f})")


def verdicts(res, mean_of, test, label_counts, per_device, budget_total, zero_cost) -> None:
    rivals = ["NSGA-II"] + (["ZeroCost"] if zero_cost else [])
    for n in label_counts:
        hv = mean_of(f"hypernet N={n}", test)
        parts = []
        for r in rivals:
            dev, tot = mean_of(f"{r} @{per_device}", test), mean_of(f"{r} @{budget_total[n]}", test)
            parts.append(f"vs {r} @{per_device}: {'not worse' if hv >= dev else 'WORSE'} ({dev:.4f}); vs {r} at equal "
                         f"total evaluations @{budget_total[n]}: {'not worse' if hv >= tot else 'WORSE'} ({tot:.4f})")
        print(f"N={n}: held-out mean nHV {hv:.4f} ({'meets' if hv >= 0.97 else 'MISSES'} >= 0.97); " + "; ".join(parts))
        for r in rivals:
            worse = [d for d in test if np.mean([x[0] for x in res[(f'hypernet N={n}', d)]])
                     < np.mean([x[0] for x in res[(f'{r} @{budget_total[n]}', d)]])]
            if worse:
                print(f"   devices where {r} @{budget_total[n]} beats the hypernet: {', '.join(worse)}")


if __name__ == "__main__":
    raise SystemExit(main())
