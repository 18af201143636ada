"""HW-EvRSNAS on Fashion-MNIST: does representation similarity rank architectures, and what does the
similarity search find under latency budgets, at what cost compared with training-based evolution?

(a) Ranking. Train a reference NB201 network (all 3x3 convs, by default) on Fashion-MNIST. Take one
    batch (RMI-NAS's choice: the ``--pool`` held-out images the reference classifies with the lowest
    loss). For a seeded sample of architectures compute, at a fixed seeded initialisation and without
    training: RMI = Σ linear CKA over the three stages, its debiased and RBF variants, the last-stage
    CKA alone; then RMI after RMI-NAS's one-batch fit (``--fit-steps`` SGD steps on that batch only,
    ``rmi_fitted``) and RMI-NAS's mixed loss (``rminas_loss``, negated); synflow if ``raynas.proxies``
    provides it; the parameter count (the bar every proxy must clear). Then train every architecture
    briefly (``--epochs`` on ``--train-limit`` images) and report the Spearman ρ of each score with
    trained accuracy.
(b) Search. Devices: ``--n-table-devices`` columns of ``nb201/latency_ms.csv`` chosen from the file
    (greedily the least Spearman-correlated columns, unless ``--devices`` names them) plus this
    machine's CPU (``LocalDevice``, measuring the candidate network actually built here). Budget per
    device: the ``--budget-quantile`` of its latencies (table: all 15,625 archs; local: the archs
    measured in (a)). For each device the RMI evolution (aging evolution, ``--candidates`` distinct
    architectures scored, fitness RMI - λ·max(0, (lat - budget)/budget), RMI after the one-batch fit
    unless ``--search-score init``; a score is computed once and shared by the devices' searches, each
    search's time counting the measured time of every score it used) runs; the architecture it
    finds is trained with the protocol of (a). A training-based evolution with the same machinery and
    the same number of candidates (fitness 3·accuracy - the same penalty, so both scores span [0, 3])
    runs on ``--train-evo-devices`` devices (default 0: too slow for the 10-minute default); otherwise
    its time is estimated from the mean per-candidate training time measured in (a), and marked so.
    (2 epochs on 3,000 images proved too noisy a ground truth: even #params ranked at -0.2.)

Table latencies are the published ones of the benchmark network (C=16, N=5, CIFAR-size input); the
networks built and trained here are smaller (``--channels``/``--cells``, 28x28x1) — the table gives the
hardware cost of the cell, the training gives its accuracy on this task.

    nice -n 10 .venv/bin/python benchmarks/rmi_search.py                      # defaults: ~10 min
    ... --n-archs 30 --epochs 4 --train-limit 6000 --candidates 40 --train-evo-devices 1   # ~30 min
    nice -n 10 .venv/bin/python benchmarks/rmi_search.py --n-archs 40 --epochs 3 --candidates 60
    ... --devices raspi4,pixel3 --budget-quantile 0.2 --fit-steps 30 --out results/rmi
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

from raynas.data import load_fashion_mnist, train_val_loaders  # noqa: E402
from raynas.hardware import LocalDevice, TableDevice, latency_table, table_devices  # noqa: E402
from raynas.proxies.rmi import FitSettings, ReferenceRepresentation, SimilarityScorer, select_batch  # noqa: E402
from raynas.reference import save_reference, train_reference  # noqa: E402
from raynas.spaces import NB201Space  # noqa: E402
from raynas.strategies.similarity import SimilarityEvolutionStrategy, count_params, latency_cost  # noqa: E402
from raynas.training import TrainingSettings, train  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None, help="directory holding nb201/ and fashion-mnist/ (default: RAYNAS_DATA)")
    p.add_argument("--channels", type=int, default=8, help="C of the networks built here")
    p.add_argument("--cells", type=int, default=1, help="cells per stage N of the networks built here")
    p.add_argument("--ref-arch", default="|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    p.add_argument("--ref-channels", type=int, default=None, help="C of the reference (default --channels)")
    p.add_argument("--ref-cells", type=int, default=None, help="N of the reference (default --cells)")
    p.add_argument("--ref-limit", type=int, default=10000, help="images for the reference (80/20 train/val)")
    p.add_argument("--ref-epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=64, help="the one batch RMI is computed on")
    p.add_argument("--pool", type=int, default=512, help="pool the batch is selected from (RMI-NAS); 0 = random batch")
    p.add_argument("--n-archs", type=int, default=16, help="(a) sampled architectures")
    p.add_argument("--train-limit", type=int, default=5000, help="images for each brief training (80/20)")
    p.add_argument("--epochs", type=int, default=3, help="epochs of each brief training")
    p.add_argument("--fit-steps", type=int, default=30, help="RMI-NAS's one-batch fit: SGD steps (0 = skip the fitted score)")
    p.add_argument("--search-score", choices=("fitted", "init"), default="fitted",
                   help="RMI the search uses: after the one-batch fit (RMI-NAS) or at initialisation")
    p.add_argument("--devices", default=None, help="comma-separated table columns (default: chosen from the file)")
    p.add_argument("--n-table-devices", type=int, default=3)
    p.add_argument("--no-local", action="store_true", help="skip this machine's CPU as a device")
    p.add_argument("--budget-quantile", type=float, default=0.3)
    p.add_argument("--candidates", type=int, default=20, help="(b) distinct architectures scored per search")
    p.add_argument("--population", type=int, default=10)
    p.add_argument("--tournament", type=int, default=3)
    p.add_argument("--penalty-weight", type=float, default=2.0, help="λ")
    p.add_argument("--train-evo-devices", type=int, default=0, help="devices on which the training-based evolution really runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory for CSV/JSON results and the reference .pt")
    return p.parse_args(argv)


def choose_table_devices(n: int, data_dir) -> list[str]:
    """Greedily the ``n`` least correlated device columns of the table (from the file, never a list)."""
    table = latency_table("nb201", data_dir)
    cols = table_devices("nb201", data_dir)
    corr = table[cols].rank().corr().abs()
    i, j = np.unravel_index(np.argmin(corr.to_numpy() + np.eye(len(cols))), corr.shape)
    chosen = [cols[i], cols[j]]
    while len(chosen) < min(n, len(cols)):
        rest = [c for c in cols if c not in chosen]
        chosen.append(min(rest, key=lambda c: (corr.loc[c, chosen].max(), c)))
    return chosen[:n]


class BriefTraining:
    """Trained accuracy (%) of an architecture with one fixed protocol; cached; times each run."""

    def __init__(self, space, dataset, limit, epochs, seed):
        self.space, self.seed = space, seed
        self.loaders = train_val_loaders(dataset, 64, limit=limit, seed=seed)
        self.settings = TrainingSettings(epochs=epochs, seed=seed)
        self.cache: dict = {}
        self.times: list[float] = []

    def __call__(self, arch) -> float:
        arch = tuple(arch)
        if arch not in self.cache:
            torch.manual_seed(self.seed)
            model = self.space.build(arch, 10, 1)
            t0 = time.perf_counter()
            self.cache[arch] = float(train(model, *self.loaders, self.settings).get("accuracy", 0.0))
            self.times.append(time.perf_counter() - t0)
        return self.cache[arch]


def synflow_fn():
    try:
        from raynas.proxies import compute_proxies  # noqa: F401
    except ImportError:
        return None, "raynas.proxies.compute_proxies not available"
    return compute_proxies, "raynas.proxies"


def fmt(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells)
    ref_kw = {"channels": args.ref_channels or args.channels, "cells_per_stage": args.ref_cells or args.cells}
    fmnist_dir = Path(args.data_dir) / "fashion-mnist" if args.data_dir else None
    ds = load_fashion_mnist(fmnist_dir, limit=max(args.ref_limit, args.train_limit, 12000))

    # --- reference -----------------------------------------------------------------------------
    print(f"# Reference NB201 {ref_kw} {args.ref_arch}: training {args.ref_epochs} epochs on {args.ref_limit} images ...",
          flush=True)
    ref = train_reference(arch=space.parse(args.ref_arch), space_kwargs=ref_kw, dataset=ds, limit=args.ref_limit,
                          settings=TrainingSettings(epochs=args.ref_epochs, seed=args.seed), seed=args.seed)
    ref_time = ref.metadata["train_time_s"]
    print(f"reference val accuracy {ref.metadata['accuracy']:.2f}% ({ref_time:.1f} s)")
    if out:
        save_reference(ref, out / "reference.pt")
    # the batch: held-out images (past the reference's training range), RMI-NAS's lowest-loss choice
    g = torch.Generator().manual_seed(args.seed + 7)
    held = torch.arange(max(args.ref_limit, args.train_limit), len(ds))
    pool_idx = held[torch.randperm(len(held), generator=g)[: max(args.pool, args.batch)]]
    mean, std = ds.images.mean(), ds.images.std()
    px, py = (ds.images[pool_idx] - mean) / std, ds.labels[pool_idx]
    x, y = select_batch(ref.model, px, py, args.batch) if args.pool else (px[: args.batch], py[: args.batch])
    reps = {est: ReferenceRepresentation(ref.model, x, y, estimator=est) for est in ("linear", "linear_debiased", "rbf")}
    scorers = {est: SimilarityScorer(r, space, 10, 1, init_seed=args.seed) for est, r in reps.items()}
    fit_scorer = (SimilarityScorer(reps["linear"], space, 10, 1, init_seed=args.seed, fit=FitSettings(steps=args.fit_steps))
                  if args.fit_steps > 0 else None)

    # --- (a) ranking ---------------------------------------------------------------------------------
    rng = np.random.default_rng(args.seed)
    archs: list[tuple] = []
    while len(archs) < args.n_archs:
        a = tuple(space.sample(rng))
        if a not in archs:
            archs.append(a)
    trainer = BriefTraining(space, ds, args.train_limit, args.epochs, args.seed)
    local = None if args.no_local else LocalDevice("local_cpu", input_shape=(1, 28, 28), repeats=10, warmup=3)
    proxies, proxies_src = synflow_fn()
    print(f"\n# (a) {len(archs)} archs: scores at init on one batch of {args.batch}, then {args.epochs} epochs on "
          f"{args.train_limit} images", flush=True)
    rows = []
    for k, a in enumerate(archs):
        t0 = time.perf_counter()
        res = scorers["linear"].result(a)
        rmi_time = time.perf_counter() - t0
        row = {"arch": space.arch_str(a), "rmi": res.score, "cka_last": res.per_stage[-1],
               "rmi_debiased": scorers["linear_debiased"](a), "rmi_rbf": scorers["rbf"](a), "rmi_time_s": rmi_time}
        torch.manual_seed(args.seed)
        model = space.build(a, 10, 1)
        row["params"] = count_params(model)
        if fit_scorer is not None:
            t1 = time.perf_counter()
            fr = fit_scorer.result(a)
            row["rmi_fitted_time_s"] = time.perf_counter() - t1
            row["rmi_fitted"], row["rminas_loss"] = fr.score, -fr.fit_loss  # negated: higher is better
        if proxies is not None:
            try:
                row["synflow"] = float(proxies(model, (x, y), ["synflow"])["synflow"])
            except Exception as e:  # noqa: BLE001 - a missing proxy must not end the benchmark
                proxies, proxies_src = None, f"synflow failed: {e}"
        if local is not None:
            row["local_ms"] = local.latency_ms(model)
        row["accuracy"] = trainer(a)
        row["train_time_s"] = trainer.times[-1]
        rows.append(row)
        print(f"  {k + 1:2d}/{len(archs)} rmi {row['rmi']:.3f} acc {row['accuracy']:.1f}%  {row['arch']}", flush=True)
    dfa = pd.DataFrame(rows)
    score_cols = [c for c in ("rmi", "rmi_debiased", "rmi_rbf", "cka_last", "rmi_fitted", "rminas_loss", "synflow",
                              "params") if c in dfa]
    corr_rows = []
    for c in score_cols:
        rho, pval = spearmanr(dfa[c], dfa["accuracy"])
        corr_rows.append({"score": c, "spearman_rho": rho, "p_value": pval})
    if "synflow" not in dfa:
        corr_rows.append({"score": f"synflow ({proxies_src})", "spearman_rho": float("nan"), "p_value": float("nan")})
    dfc = pd.DataFrame(corr_rows)
    print("\nper-architecture results:\n" + fmt(dfa.drop(columns=["arch"]).assign(arch=dfa["arch"].str.slice(0, 60))))
    print(f"\nSpearman with trained accuracy (n={len(dfa)}; accuracy range {dfa.accuracy.min():.1f}-{dfa.accuracy.max():.1f}%):")
    print(fmt(dfc))
    if args.search_score == "fitted" and fit_scorer is None:
        raise SystemExit("--search-score fitted needs --fit-steps > 0")
    mean_rmi_s = float(dfa["rmi_fitted_time_s" if args.search_score == "fitted" else "rmi_time_s"].mean())
    mean_train_s = float(np.mean(trainer.times))
    print(f"mean time per candidate: RMI at init {dfa['rmi_time_s'].mean():.3f} s"
          + (f", fitted RMI ({args.fit_steps} steps) {dfa['rmi_fitted_time_s'].mean():.2f} s" if fit_scorer else "")
          + f", brief training {mean_train_s:.1f} s ({mean_train_s / mean_rmi_s:.0f}x the search's score)")
    # the search's score; cached across devices (it does not depend on the device), seeded with (a)'s values
    base = fit_scorer if args.search_score == "fitted" else scorers["linear"]
    score_cache = {a: float(r) for a, r in zip(archs, dfa["rmi_fitted" if args.search_score == "fitted" else "rmi"])}
    score_time = {a: float(t) for a, t in zip(archs, dfa["rmi_fitted_time_s" if args.search_score == "fitted" else "rmi_time_s"])}

    def search_score(a):
        if a not in score_cache:
            t1 = time.perf_counter()
            score_cache[a] = float(base(a))
            score_time[a] = time.perf_counter() - t1
        return score_cache[a]

    # --- (b) search per device -----------------------------------------------------------------------
    names = args.devices.split(",") if args.devices else choose_table_devices(args.n_table_devices, args.data_dir)
    devices: dict[str, tuple] = {}
    for n in names:
        dev = TableDevice(n, "nb201", args.data_dir)
        devices[n] = (latency_cost(dev, space), float(np.quantile(dev.values, args.budget_quantile)), "table (C16 N5)")
    if local is not None:
        devices[local.name] = (latency_cost(local, space), float(np.quantile(dfa["local_ms"], args.budget_quantile)),
                               f"measured here (C{args.channels} N{args.cells}, 28x28)")
    sample_lat = {n: [c(a) for a in archs] if n != "local_cpu" else list(dfa["local_ms"]) for n, (c, _, _) in devices.items()}
    print(f"\n# (b) search per device: {args.candidates} candidates, population {args.population}, tournament "
          f"{args.tournament}, λ={args.penalty_weight}, budget = {args.budget_quantile:.0%} latency quantile", flush=True)
    brow = []
    for d_i, (name, (cost, budget, kind)) in enumerate(devices.items()):
        strat = SimilarityEvolutionStrategy(space, search_score, cost, budget, args.penalty_weight,
                                            args.population, args.tournament, seed=args.seed, name=name)
        t0 = time.perf_counter()
        cached_before = set(score_cache)
        strat.run(args.candidates)
        # time of this search as if alone: its own run plus the measured score time of archs it found cached
        rmi_search_s = time.perf_counter() - t0 + sum(score_time[a] for a in strat.records if a in cached_before)
        arch, rec = strat.best(feasible_only=True) or strat.best()
        acc = trainer(arch)
        feasible_sample = [(acc_, a) for a, acc_, lat in zip(archs, dfa["accuracy"], sample_lat[name]) if lat <= budget]
        row = {"device": name, "kind": kind, "budget_ms": budget, "found_latency_ms": rec["cost"],
               "within": rec["cost"] <= budget, "found_rmi": rec["score"], "found_acc": acc,
               "sample_best_acc_within": max(feasible_sample)[0] if feasible_sample else float("nan"),
               "rmi_search_s": rmi_search_s, "rmi_evals": strat.evaluations, "found_arch": space.arch_str(arch)}
        if d_i < args.train_evo_devices:
            print(f"  {name}: training-based evolution with {args.candidates} candidates ...", flush=True)
            trained_before = len(trainer.times)
            tstrat = SimilarityEvolutionStrategy(space, lambda a: 3.0 * trainer(a) / 100.0, cost, budget,
                                                 args.penalty_weight, args.population, args.tournament, seed=args.seed)
            t0 = time.perf_counter()
            tstrat.run(args.candidates)
            row["train_search_s"] = time.perf_counter() - t0
            newly = len(trainer.times) - trained_before
            if newly < tstrat.evaluations:  # cached trainings (from (a)) cost nothing here: add their measured time
                row["train_search_s"] += mean_train_s * (tstrat.evaluations - newly)
            row["train_search"] = "measured"
            tarch, trec = tstrat.best(feasible_only=True) or tstrat.best()
            row["train_found_acc"], row["train_found_latency_ms"] = trainer(tarch), trec["cost"]
        else:
            row["train_search_s"] = mean_train_s * strat.evaluations  # training time only (hardware cost left out)
            row["train_search"] = "estimated"
            row["train_found_acc"], row["train_found_latency_ms"] = float("nan"), float("nan")
        row["speedup"] = row["train_search_s"] / rmi_search_s
        brow.append(row)
        print(f"  {name}: found {row['found_arch']} lat {rec['cost']:.3f} / budget {budget:.3f} ms, acc {acc:.1f}%, "
              f"RMI search {rmi_search_s:.1f} s vs training-based {row['train_search_s']:.0f} s ({row['train_search']})",
              flush=True)
    dfb = pd.DataFrame(brow)
    print("\nfound architectures (accuracy after the brief training of (a); sample_best_acc_within = best trained "
          "accuracy among the (a) sample within budget):")
    print(fmt(dfb.drop(columns=["found_arch"])))
    print("\n" + "\n".join(f"{r['device']}: {r['found_arch']}" for r in brow))
    total_rmi = dfb["rmi_search_s"].sum()
    total_train = dfb["train_search_s"].sum()
    print(f"\ntotal search time over {len(dfb)} devices: RMI evolution {total_rmi:.1f} s "
          f"(+ reference training {ref_time:.1f} s once) vs training-based evolution {total_train:.0f} s "
          f"-> {total_train / total_rmi:.0f}x ({total_train / (total_rmi + ref_time):.1f}x counting the reference)")
    print(f"wall-clock of this benchmark: {time.perf_counter() - t_start:.0f} s")
    if out:
        dfa.to_csv(out / "ranking.csv", index=False)
        dfc.to_csv(out / "spearman.csv", index=False)
        dfb.to_csv(out / "search.csv", index=False)
        (out / "settings.json").write_text(json.dumps(vars(args), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
