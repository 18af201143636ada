"""HW-EvRSNAS on Fashion-MNIST: does representation similarity rank architectures, and what does the
similarity search find under latency budgets, at what cost compared with training-based evolution?

(a) Ranking. Train a reference NB201 network (all 3x3 convs by default, ``--ref-channels`` x
    ``--ref-cells``, wider and deeper than the candidates unless told otherwise) on ``--ref-limit``
    Fashion-MNIST training images. Take one batch (RMI-NAS's choice: the ``--batch`` images of a
    ``--pool`` of held-out training images that the reference classifies with the lowest loss). For a
    seeded sample of ``--n-archs`` cells compute on that batch, at a fixed seeded initialisation and
    without training: RMI = Σ linear CKA over the three stages (the method's score), the linear CKA
    of the last stage alone, the debiased and RBF-kernel variants of RMI; RMI after RMI-NAS's one-batch
    fit (``--fit-steps`` SGD steps on that batch only, ``rmi_fitted``) and RMI-NAS's mixed loss
    (``rminas_loss``, negated); synflow (``raynas.proxies``); the parameter count (the bar every proxy
    must clear). Then train every architecture briefly (``--epochs`` on ``--train-limit`` training
    images, evaluated on the first ``--eval-size`` images of the official test split) and report the
    Spearman ρ of each score with that accuracy.
(b) Search. Devices: ``--n-table-devices`` columns of ``nb201/latency_ms.csv`` chosen from the file
    (greedily the least rank-correlated columns, unless ``--devices`` names them) plus this machine's
    CPU (``LocalDevice``, timing the candidate network built here, 1 thread, median of 10 runs after 3
    warm-up runs). Budget per device: the ``--budget-quantile`` of its latencies (table: all 15,625
    archs; local: the archs measured in (a)). For each device and each score of ``--search-scores``
    (``init``: RMI at initialisation, the method's "one batch, no training"; ``fitted``: RMI after
    the one-batch fit; ``loss``: minus RMI-NAS's mixed loss after that fit) the HW-EvRSNAS evolution runs (aging evolution, ``--candidates`` distinct
    architectures scored, fitness = RMI - λ·max(0, (lat - budget)/budget)); the architecture it
    finds is trained with the protocol of (a). A score is computed once and shared by the devices'
    searches; each search's time counts the measured time of every score and latency it used, as if
    it ran alone. A training-based evolution (the same machinery and number of candidates, fitness =
    3·accuracy - the same penalty, so both fitnesses span [0, 3]) really runs on the first
    ``--train-evo-devices`` devices; on the others its time is estimated as candidates x the mean
    measured training time of (a), and marked so.

Table latencies are the published ones of the benchmark network (C=16, N=5, CIFAR-size input); the
networks built and trained here are smaller (``--channels``/``--cells``, 28x28x1): the table gives the
hardware cost of the cell, the training gives its accuracy on this task. Trained accuracies and fitted
scores are cached in ``--out`` (``trained.json``, ``fitted.json``), so an interrupted run resumes.
Wall-clock times are measured on whatever machine runs this (a shared, loaded 2-core machine for the
figures in the docstrings).

Measured with the defaults (shared 2-core machine under load 10-13, 1 torch thread, niced; reference
NB201 all-3x3 C=16 N=2, 3 epochs on 8,000 + 2,000 val images, 85.4 %, 340 s; candidates C=8 N=1):

(a) Spearman with test accuracy, 30 cells (``--sample-seed 1 --skip-search``: a second sample of 30;
    pooled 60): RMI at init -0.13 / 0.08 / -0.02; RMI fitted (30 steps) 0.50 / 0.32 / 0.42; RMI-NAS
    loss 0.65 / 0.43 / 0.54; synflow 0.47 / 0.54 / 0.49; #params 0.35 / 0.53 / 0.44. RMI at
    initialisation does not predict accuracy at this scale; the fitted loss is on a par with synflow.
(b) Budget = 30 % latency quantile; 30 candidates per search. Test accuracy of the architecture found
    (all within budget) on 2080ti_1 / eyeriss / raspi4 (published) / this CPU (live):
    RMI at init 73.7 / 73.7 / 73.7 / 73.7 % (the worst of the sample: 73.6-79.9 %), RMI fitted
    76.7 / 77.3 / 76.7 / 76.3-77.3 %, RMI-NAS loss 78.0 / 78.5 / 75.2 / 76.3 %, training-based
    evolution (measured on 2080ti_1) 78.1 %; best within budget in the (a) sample 77.5 / 77.8 / 79.1 /
    79.1 %. Total search time over the 4 devices vs training-based evolution with as many
    candidates (3,450 s, of which 1,007 s measured and the rest estimated): init 11-15 s (~230-310x;
    ~10x counting the 340 s reference training), fitted 583 s (6x), loss 685-723 s (5x). The paper's
    "thousands of times" needs a training-based baseline that trains far longer than 3 epochs on
    3,000 images; at this scale the cheap variant is fast but finds poor cells, the accurate variants
    are only ~5x cheaper.

    nice -n 10 .venv/bin/python benchmarks/rmi_search.py --out benchmarks/out/rmi     # defaults, ~40 min
    ... --sample-seed 1 --skip-search                                                  # (a) on a second sample
    ... --n-archs 12 --epochs 2 --train-limit 2000 --candidates 12 --fit-steps 10     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from raynas.data import load_fashion_mnist  # noqa: E402
from raynas.hardware import LocalDevice, TableDevice, latency_table, table_devices  # noqa: E402
from raynas.proxies import compute_proxies  # noqa: E402
from raynas.proxies.rmi import FitSettings, ReferenceRepresentation, SimilarityScorer, select_batch  # noqa: E402
from raynas.reference import load_reference, save_reference, train_reference  # noqa: E402
from raynas.spaces import NB201Space  # noqa: E402
from raynas.strategies.similarity import SimilarityEvolutionStrategy, latency_cost  # noqa: E402
from raynas.training import TrainingSettings, train  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None, help="directory holding nb201/ and fashion-mnist/ (default: RAYNAS_DATA)")
    p.add_argument("--channels", type=int, default=8, help="C of the candidate networks built here")
    p.add_argument("--cells", type=int, default=1, help="cells per stage N of the candidate networks")
    p.add_argument("--ref-arch", default="|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    p.add_argument("--ref-channels", type=int, default=16, help="C of the reference")
    p.add_argument("--ref-cells", type=int, default=2, help="N of the reference")
    p.add_argument("--ref-limit", type=int, default=10000, help="training images for the reference (80/20 train/val)")
    p.add_argument("--ref-epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=64, help="the one batch RMI is computed on")
    p.add_argument("--pool", type=int, default=512, help="pool the batch is selected from (RMI-NAS); 0 = random batch")
    p.add_argument("--n-archs", type=int, default=30, help="(a) sampled architectures")
    p.add_argument("--train-limit", type=int, default=3000, help="training images of each brief training")
    p.add_argument("--eval-size", type=int, default=2000, help="test-split images the brief training is evaluated on")
    p.add_argument("--epochs", type=int, default=3, help="epochs of each brief training")
    p.add_argument("--fit-steps", type=int, default=30, help="RMI-NAS's one-batch fit: SGD steps (0 = skip the fitted score)")
    p.add_argument("--search-scores", default="init,fitted,loss",
                   help="comma-separated scores the search runs with: init (RMI, no training), fitted (RMI after the "
                        "one-batch fit), loss (minus RMI-NAS's mixed loss after that fit)")
    p.add_argument("--devices", default=None, help="comma-separated table columns (default: chosen from the file)")
    p.add_argument("--n-table-devices", type=int, default=3)
    p.add_argument("--no-local", action="store_true", help="skip this machine's CPU as a device")
    p.add_argument("--budget-quantile", type=float, default=0.3)
    p.add_argument("--candidates", type=int, default=30, help="(b) distinct architectures scored per search")
    p.add_argument("--population", type=int, default=10)
    p.add_argument("--tournament", type=int, default=3)
    p.add_argument("--penalty-weight", type=float, default=2.0, help="λ")
    p.add_argument("--train-evo-devices", type=int, default=1, help="devices on which the training-based evolution really runs")
    p.add_argument("--seed", type=int, default=0, help="seeds the reference, the batch, every build and training")
    p.add_argument("--sample-seed", type=int, default=None, help="seed of the (a) sample of architectures (default --seed)")
    p.add_argument("--skip-search", action="store_true", help="run (a) only")
    p.add_argument("--out", default="benchmarks/out/rmi", help="directory for CSV/JSON results, caches and the reference .pt")
    return p.parse_args(argv)


def choose_table_devices(n: int, data_dir) -> list[str]:
    """Greedily the ``n`` least rank-correlated device columns of the table (read from the file)."""
    table = latency_table("nb201", data_dir)
    cols = table_devices("nb201", data_dir)
    corr = table[cols].rank().corr().abs()
    i, j = np.unravel_index(np.argmin(corr.to_numpy() + np.eye(len(cols))), corr.shape)
    chosen = [cols[i], cols[j]]
    while len(chosen) < min(n, len(cols)):
        rest = [c for c in cols if c not in chosen]
        chosen.append(min(rest, key=lambda c: (corr.loc[c, chosen].max(), c)))
    return chosen[:n]


class JsonCache:
    """A dict ``arch_str -> value`` persisted to a JSON file after every new entry."""

    def __init__(self, path: Path | None, key: str):
        self.path, self.key = path, key
        self.data: dict = {}
        if path is not None and path.is_file():
            blob = json.loads(path.read_text())
            if blob.get("key") == key:
                self.data = blob["data"]

    def get(self, k):
        return self.data.get(k)

    def put(self, k, v) -> None:
        self.data[k] = v
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"key": self.key, "data": self.data}))
            os.replace(tmp, self.path)


class BriefTraining:
    """Test accuracy (%) of an architecture after one fixed short training; cached; times each run."""

    def __init__(self, space, train_ds, test_ds, limit: int, eval_size: int, epochs: int, seed: int, cache: JsonCache):
        self.space, self.seed, self.cache = space, seed, cache
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(train_ds), generator=g)[:limit]
        mean, std = train_ds.images.mean(), train_ds.images.std()
        tx, ty = (train_ds.images[idx] - mean) / std, train_ds.labels[idx]
        vx, vy = (test_ds.images[:eval_size] - mean) / std, test_ds.labels[:eval_size]
        self.train_loader = DataLoader(TensorDataset(tx, ty), batch_size=64, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed + 1))
        self.val_loader = DataLoader(TensorDataset(vx, vy), batch_size=256)
        self.settings = TrainingSettings(epochs=epochs, seed=seed)
        self.times: list[float] = []  # trainings run in this process

    def result(self, arch) -> dict:
        key = self.space.arch_str(tuple(arch))
        hit = self.cache.get(key)
        if hit is None:
            torch.manual_seed(self.seed)
            model = self.space.build(tuple(arch), 10, 1)
            t0 = time.perf_counter()
            acc = float(train(model, self.train_loader, self.val_loader, self.settings).get("accuracy", 0.0))
            hit = {"accuracy": acc, "time_s": time.perf_counter() - t0}
            self.cache.put(key, hit)
            self.times.append(hit["time_s"])
        return hit

    def __call__(self, arch) -> float:
        return self.result(arch)["accuracy"]


class TimedScore:
    """``arch -> score`` computed once (optionally persisted), remembering each one's measured time.
    ``fn`` returns a number or an :class:`~raynas.proxies.rmi.RMIResult` (its ``fit_loss`` is kept)."""

    def __init__(self, fn, space, cache: JsonCache | None = None):
        self.fn, self.space, self.cache = fn, space, cache
        self.entries: dict = {}

    def entry(self, arch) -> dict:
        arch = tuple(arch)
        if arch not in self.entries:
            key = self.space.arch_str(arch)
            hit = self.cache.get(key) if self.cache is not None else None
            if hit is None:
                t0 = time.perf_counter()
                res = self.fn(arch)
                hit = {"value": float(getattr(res, "score", res)), "time_s": time.perf_counter() - t0,
                       "loss": getattr(res, "fit_loss", None)}
                if self.cache is not None:
                    self.cache.put(key, hit)
            self.entries[arch] = hit
        return self.entries[arch]

    def __call__(self, arch) -> float:
        return self.entry(arch)["value"]

    def time_of(self, archs) -> float:
        return float(sum(self.entries[tuple(a)]["time_s"] for a in archs))


class NegatedLoss:
    """Minus RMI-NAS's mixed loss after the one-batch fit, from the same fitted computation (what
    RMI-NAS ranks by; ``SimilarityScorer(rank_by="rminas_loss")`` in the library)."""

    def __init__(self, fitted: TimedScore):
        self.fitted = fitted

    def __call__(self, arch) -> float:
        return -self.fitted.entry(arch)["loss"]

    def time_of(self, archs) -> float:
        return self.fitted.time_of(archs)


def fmt(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells)
    ref_kw = {"channels": args.ref_channels, "cells_per_stage": args.ref_cells}
    fmnist_dir = Path(args.data_dir) / "fashion-mnist" if args.data_dir else None
    ds = load_fashion_mnist(fmnist_dir)
    test_ds = load_fashion_mnist(fmnist_dir, split="test")
    search_scores = [s for s in args.search_scores.split(",") if s]
    if {"fitted", "loss"} & set(search_scores) and args.fit_steps <= 0:
        raise SystemExit("--search-scores fitted/loss need --fit-steps > 0")
    if set(search_scores) - {"init", "fitted", "loss"}:
        raise SystemExit(f"unknown --search-scores {args.search_scores!r}: choose from init, fitted, loss")

    # --- reference -----------------------------------------------------------------------------
    print(f"# Reference NB201 C={args.ref_channels} N={args.ref_cells} {args.ref_arch}: {args.ref_epochs} epochs on "
          f"{args.ref_limit} Fashion-MNIST training images (80/20 train/val) ...", flush=True)
    ref_path = out / "reference.pt"
    ref = load_reference(ref_path) if ref_path.is_file() else None
    wanted = {"arch_str": space.arch_str(space.parse(args.ref_arch)), "space_kwargs": ref_kw, "limit": args.ref_limit,
              "epochs": args.ref_epochs, "seed": args.seed}
    if ref is not None and all(ref.metadata.get(k) == v for k, v in wanted.items()):
        print("  (the same reference was trained by an earlier run: loaded from its file)")
    else:
        ref = train_reference(arch=space.parse(args.ref_arch), space_kwargs=ref_kw, dataset=ds, limit=args.ref_limit,
                              settings=TrainingSettings(epochs=args.ref_epochs, seed=args.seed), seed=args.seed)
        save_reference(ref, ref_path)
    ref_time = ref.metadata["train_time_s"]
    print(f"reference val accuracy {ref.metadata['accuracy']:.2f}% (training {ref_time:.1f} s)")
    # the batch: a pool of training images the reference never saw, RMI-NAS's lowest-loss choice
    g = torch.Generator().manual_seed(args.seed + 7)
    perm = torch.randperm(len(ds), generator=g)
    ref_seen = set(torch.randperm(len(ds), generator=torch.Generator().manual_seed(args.seed))[: args.ref_limit].tolist())
    pool_idx = torch.tensor([int(i) for i in perm if int(i) not in ref_seen][: max(args.pool, args.batch)])
    mean, std = ds.images.mean(), ds.images.std()
    px, py = (ds.images[pool_idx] - mean) / std, ds.labels[pool_idx]
    x, y = select_batch(ref.model, px, py, args.batch) if args.pool else (px[: args.batch], py[: args.batch])
    reps = {est: ReferenceRepresentation(ref.model, x, y, estimator=est) for est in ("linear", "linear_debiased", "rbf")}
    scorers = {est: SimilarityScorer(r, space, 10, 1, init_seed=args.seed) for est, r in reps.items()}
    key = json.dumps({k: v for k, v in vars(args).items() if k not in ("out", "search_scores", "devices",
                                                                        "n_table_devices", "no_local", "candidates",
                                                                        "population", "tournament", "penalty_weight",
                                                                        "budget_quantile", "train_evo_devices",
                                                                        "n_archs", "sample_seed", "skip_search")}, sort_keys=True)
    trainer = BriefTraining(space, ds, test_ds, args.train_limit, args.eval_size, args.epochs, args.seed,
                            JsonCache(out / "trained.json", key))
    init_score = TimedScore(scorers["linear"], space)
    fitted_score = (TimedScore(SimilarityScorer(reps["linear"], space, 10, 1, init_seed=args.seed,
                                                fit=FitSettings(steps=args.fit_steps)).result, space,
                               JsonCache(out / "fitted.json", key)) if args.fit_steps > 0 else None)

    # --- (a) ranking ---------------------------------------------------------------------------------
    rng = np.random.default_rng(args.seed if args.sample_seed is None else args.sample_seed)
    archs: list[tuple] = []
    while len(archs) < args.n_archs:
        a = tuple(space.sample(rng))
        if a not in archs:
            archs.append(a)
    local = None if args.no_local else LocalDevice("local_cpu", input_shape=(1, 28, 28), repeats=10, warmup=3)
    local_cost = TimedScore(latency_cost(local, space), space) if local is not None else None
    print(f"\n# (a) {len(archs)} archs (NB201 C={args.channels} N={args.cells}): scores on one batch of {args.batch}, "
          f"then {args.epochs} epochs on {args.train_limit} training images, accuracy on {args.eval_size} test images",
          flush=True)
    rows = []
    for k, a in enumerate(archs):
        res = scorers["linear"].result(a)
        row = {"arch": space.arch_str(a), "rmi": init_score(a), "cka_last": res.per_stage[-1],
               "rmi_debiased": scorers["linear_debiased"](a), "rmi_rbf": scorers["rbf"](a),
               "rmi_time_s": init_score.entry(a)["time_s"]}
        torch.manual_seed(args.seed)
        model = space.build(a, 10, 1)
        prox = compute_proxies(model, (x, y), ["synflow", "params"])
        row["synflow"], row["params"] = prox["synflow"], prox["params"]
        if fitted_score is not None:
            e = fitted_score.entry(a)
            row["rmi_fitted"], row["rmi_fitted_time_s"] = e["value"], e["time_s"]
            row["rminas_loss"] = -e["loss"] if e["loss"] is not None else float("nan")  # negated: higher is better
        if local is not None:
            row["local_ms"] = local_cost(a)
        tr = trainer.result(a)
        row["accuracy"], row["train_time_s"] = tr["accuracy"], tr["time_s"]
        rows.append(row)
        print(f"  {k + 1:2d}/{len(archs)} rmi {row['rmi']:.3f} fitted {row.get('rmi_fitted', float('nan')):.3f} "
              f"acc {row['accuracy']:.1f}% ({row['train_time_s']:.0f} s)  {row['arch']}", flush=True)
    dfa = pd.DataFrame(rows)
    tag = "" if args.sample_seed is None else f"_sample{args.sample_seed}"
    dfa.to_csv(out / f"ranking{tag}.csv", index=False)
    score_cols = [c for c in ("rmi", "cka_last", "rmi_debiased", "rmi_rbf", "rmi_fitted", "rminas_loss", "synflow",
                              "params") if c in dfa]
    corr_rows = []
    for c in score_cols:
        rho, pval = spearmanr(dfa[c], dfa["accuracy"], nan_policy="omit")
        corr_rows.append({"score": c, "spearman_rho": rho, "p_value": pval,
                          "mean_time_s": float(dfa[{"rmi": "rmi_time_s", "rmi_fitted": "rmi_fitted_time_s"}[c]].mean())
                          if c in ("rmi", "rmi_fitted") else float("nan")})
    dfc = pd.DataFrame(corr_rows)
    dfc.to_csv(out / f"spearman{tag}.csv", index=False)
    print("\nper-architecture results:\n" + fmt(dfa.drop(columns=["arch"]).assign(arch=dfa["arch"].str.slice(0, 60))))
    print(f"\nSpearman with test accuracy after {args.epochs} epochs on {args.train_limit} images (n={len(dfa)}; "
          f"accuracy {dfa.accuracy.min():.1f}-{dfa.accuracy.max():.1f}%, median {dfa.accuracy.median():.1f}%):")
    print(fmt(dfc))
    mean_train_s = float(dfa["train_time_s"].mean())
    print(f"mean time per candidate: RMI at init {dfa['rmi_time_s'].mean():.3f} s"
          + (f", fitted RMI ({args.fit_steps} steps) {dfa['rmi_fitted_time_s'].mean():.2f} s" if fitted_score else "")
          + f", brief training {mean_train_s:.1f} s (measured under load)")

    if args.skip_search:
        print(f"wall-clock of this benchmark: {time.perf_counter() - t_start:.0f} s (shared, loaded machine)")
        return 0

    # --- (b) search per device -----------------------------------------------------------------------
    names = args.devices.split(",") if args.devices else choose_table_devices(args.n_table_devices, args.data_dir)
    devices: dict[str, tuple] = {}
    for n in names:
        dev = TableDevice(n, "nb201", args.data_dir)
        devices[n] = (TimedScore(latency_cost(dev, space), space), float(np.quantile(dev.values, args.budget_quantile)),
                      "table (C16 N5, 32x32)")
    if local is not None:
        devices[local.name] = (local_cost, float(np.quantile(dfa["local_ms"], args.budget_quantile)),
                               f"measured here (C{args.channels} N{args.cells}, 28x28)")
    print(f"\n# (b) search per device: {args.candidates} candidates, population {args.population}, tournament "
          f"{args.tournament}, λ={args.penalty_weight}, budget = {args.budget_quantile:.0%} latency quantile", flush=True)
    score_fns = {"init": init_score, "fitted": fitted_score,
                 "loss": NegatedLoss(fitted_score) if fitted_score is not None else None}
    brow = []
    for d_i, (name, (cost, budget, kind)) in enumerate(devices.items()):
        sample_lat = [cost(a) for a in archs]
        feasible_sample = [acc for acc, lat in zip(dfa["accuracy"], sample_lat) if lat <= budget]
        train_evo = None
        if d_i < args.train_evo_devices:
            print(f"  {name}: training-based evolution with {args.candidates} candidates ...", flush=True)
            tstrat = SimilarityEvolutionStrategy(space, lambda a: 3.0 * trainer(a) / 100.0, cost, budget,
                                                 args.penalty_weight, args.population, args.tournament, seed=args.seed,
                                                 name=name)
            tstrat.run(args.candidates)
            tarch, trec = tstrat.best(feasible_only=True) or tstrat.best()
            t_train = sum(trainer.result(a)["time_s"] for a in tstrat.records) + cost.time_of(tstrat.records)
            train_evo = {"train_search_s": t_train, "train_search": "measured", "train_found_acc": trainer(tarch),
                         "train_found_latency_ms": trec["cost"], "train_found_arch": space.arch_str(tarch)}
        for which in search_scores:
            score = score_fns[which]
            strat = SimilarityEvolutionStrategy(space, score, cost, budget, args.penalty_weight, args.population,
                                                args.tournament, seed=args.seed, name=name)
            strat.run(args.candidates)
            # time of this search as if alone: the measured score and latency of every candidate it used
            rmi_search_s = score.time_of(strat.records) + cost.time_of(strat.records)
            arch, rec = strat.best(feasible_only=True) or strat.best()
            acc = trainer(arch)
            row = {"device": name, "kind": kind, "score": which, "budget_ms": budget, "found_latency_ms": rec["cost"],
                   "within": rec["cost"] <= budget, "found_score": rec["score"], "found_acc": acc,
                   "sample_best_acc_within": max(feasible_sample) if feasible_sample else float("nan"),
                   "rmi_search_s": rmi_search_s, "rmi_evals": strat.evaluations, "found_arch": space.arch_str(arch)}
            if train_evo is not None:
                row.update(train_evo)
            else:
                row.update(train_search_s=mean_train_s * strat.evaluations + cost.time_of(strat.records),
                           train_search="estimated", train_found_acc=float("nan"),
                           train_found_latency_ms=float("nan"), train_found_arch="")
            row["speedup"] = row["train_search_s"] / rmi_search_s
            brow.append(row)
            print(f"  {name} [{which}]: found {row['found_arch']} lat {rec['cost']:.3f} / budget {budget:.3f} ms, "
                  f"acc {acc:.1f}%, search {rmi_search_s:.1f} s vs training-based {row['train_search_s']:.0f} s "
                  f"({row['train_search']})", flush=True)
    dfb = pd.DataFrame(brow)
    dfb.to_csv(out / "search.csv", index=False)
    print("\nfound architectures (test accuracy after the brief training of (a); sample_best_acc_within = best "
          "accuracy among the (a) sample within budget):")
    print(fmt(dfb.drop(columns=["found_arch", "train_found_arch"])))
    print("\n" + "\n".join(f"{r['device']} [{r['score']}]: {r['found_arch']}   training-based: {r['train_found_arch']}"
                            for r in brow))
    for which in search_scores:
        sub = dfb[dfb.score == which]
        total_rmi, total_train = sub["rmi_search_s"].sum(), sub["train_search_s"].sum()
        print(f"total search time over {len(sub)} devices, RMI {which}: {total_rmi:.1f} s (+ reference training "
              f"{ref_time:.1f} s once) vs training-based evolution {total_train:.0f} s -> {total_train / total_rmi:.0f}x "
              f"({total_train / (total_rmi + ref_time):.1f}x counting the reference)")
    print(f"wall-clock of this benchmark: {time.perf_counter() - t_start:.0f} s (shared, loaded machine)")
    (out / "settings.json").write_text(json.dumps(vars(args), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
