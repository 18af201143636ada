"""Few-shot predictors: raynas beside measured baselines, Spearman rho over ALL architectures.

Parts (``--parts``, default all):

* ``within``: leave-one-family-out inside a space (``--holdout family``, the default) — every device
  column of ``{space}/latency_ms.csv`` is the target once; the sources are the other columns except
  the target's whole family (:func:`raynas.hardware.device_family`: the same GPU at other batch sizes),
  as a really new device has no such twin. ``--holdout device`` is the optimistic leave-one-device-out
  protocol of earlier figures; ``--exclude`` drops more devices or families, ``--sources`` keeps only
  these source columns. ``--holdout twins`` also removes every source that ranks the architectures
  like the target (Spearman >= 0.95 over all of them: the GPUs at batch 256 are such twins across
  hardware), the strictest simulation of a device unlike any published one. n target samples are drawn (``--draws``
  random draws per n), each predictor is fitted on them and ranks every architecture. Reported:
  median rho over draws, mean over targets; targets with integer-ms timings (quantised phone timers)
  separately; every device beside its noise ceiling (5-fold CV, each fold trained on 80% of the
  device's architectures with a one-hot ridge and a GBDT, the better of the two).
* ``cross``: NB201 -> FBNet and FBNet -> NB201 with no target-space latency in training: the sources
  are every device column of the *other* space; only the n target samples come from the target space.
* ``accuracy``: accuracy predictors on NB201 CIFAR-10 (valid split) from n trained architectures,
  ZCP encoding vs one-hot vs analytic features (and their concatenation), ridge / GBDT / MLP.
* ``sampling``: which n architectures to measure (random, k-means and farthest-point diversity,
  sequential uncertainty), for raynas's latency transfer.
* ``search``: :class:`raynas.strategies.predictor.PredictorStrategy` (the algorithm behind
  ``searchers.predictor.PredictorSearch``) against random search and Optuna's NSGA-II / TPE on NB201
  tabular ground truth: normalised hypervolume of (valid error, latency) after a budget.

Methods (latency): ``onehot_ridge``, ``analytic_ridge`` (7 analytic features), ``nearest_source``,
``nnls`` (the issue's baselines; ``raynas.predictors.models``), ``multipredict`` (a reproduction of
Multi-Predict's MLP with a learned device embedding, pre-trained on the sources and fine-tuned on the
n samples; ``--no-multipredict`` skips it), ``raynas`` (:class:`raynas.predictors.RaynasTransfer`).
Cross-space adds ``roofline_ridge`` (the issue's cross-space baseline). Device names are never
hard-coded: whatever columns the data directory's tables have are used.

ZCP values come from the ProxyTable cache (:mod:`raynas.predictors.zcp`, ``benchmarks/cache``);
parts that need them run on the architectures whose proxies are computed (``--compute-zcp`` fills
the cache first, hours of CPU for a whole space) and say on how many.

    OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/predictor_transfer.py
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads busy-wait on a loaded machine
os.environ.setdefault("OMP_NUM_THREADS", "1")  # scikit-learn's gradient boosting: one core

import numpy as np  # noqa: E402

LATENCY_METHODS = ("onehot_ridge", "analytic_ridge", "nearest_source", "nnls", "multipredict", "raynas_prior", "raynas")


class PriorOnly:
    """``RaynasTransfer``'s own prior on the n samples (its source prior alone, no stack)."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):
        self.fitted_ = self.model.fit_prior(X, y)
        return self

    def predict(self, X):
        return self.fitted_.predict(X[:, :self.model.n_source])
CROSS_METHODS = ("onehot_ridge", "analytic_ridge", "roofline_ridge", "multipredict", "raynas")
BASELINES = {"onehot_ridge", "analytic_ridge", "nearest_source", "nnls", "roofline_ridge"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rho(pred, y) -> float:
    """Spearman rho; a constant prediction ranks nothing and counts as 0."""
    from raynas.predictors import spearman

    r = spearman(pred, y)
    return 0.0 if np.isnan(r) else r


def noise_ceiling(onehot: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Best 5-fold cross-validated rho of a one-hot ridge and a one-hot GBDT (each fold fitted on 80%)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    z = np.log(np.maximum(y, 1e-9))
    best = -1.0
    for mk in (lambda: Ridge(alpha=1.0), lambda: HistGradientBoostingRegressor(max_iter=300, random_state=seed)):
        oof = np.zeros_like(z)
        for tr, te in KFold(5, shuffle=True, random_state=seed).split(onehot):
            oof[te] = mk().fit(onehot[tr], z[tr]).predict(onehot[te])
        best = max(best, rho(oof, y))
    return best


def draws_for(n_rows: int, n: int, draws: int, device: str) -> list[np.ndarray]:
    """The target samples of each draw, seeded by the device's name (not its column position)."""
    import zlib

    salt = zlib.crc32(device.encode())
    return [np.random.default_rng([d, n, salt]).choice(n_rows, n, replace=False) for d in range(draws)]


def is_integer(y: np.ndarray) -> bool:
    return bool(np.allclose(y, np.round(y)))


# --- (a) within a space -------------------------------------------------------------------------
def run_within(space: str, ns, draws: int, targets=None, data_dir=None, multipredict: bool = True,
               mp_epochs: int = 30, holdout: str = "family", exclude=(), only=None):
    from raynas.predictors import (AnalyticRidge, NearestSourceDevice, NNLSTransfer, OneHotRidge, RaynasTransfer,
                                   analytic, load_space_table, standardise, transfer_encoding)
    from raynas.predictors.neural import MultiPredictTransfer

    tab = load_space_table(space, data_dir)
    F, OH = tab.features(progress=True), tab.onehot()
    basic = analytic(F, basic=True)
    enc = np.hstack([standardise(F), OH])  # the Multi-Predict MLP's architecture encoding
    devices = [d for d in tab.devices if not targets or d in targets]
    res, ceil = {}, {}
    for dev in devices:
        t0 = time.time()
        S, y, names = tab.sources(dev, holdout, exclude, only)
        X_r, k, c = transfer_encoding(S, F)
        # the stack's structure is chosen on the sources under the same protocol as the target's
        raynas = RaynasTransfer(n_source=k, n_cost=c, source_groups=[tab.family(d) for d in names],
                                twin_rho=0.95 if holdout == "twins" else None).pretrain(X_r)
        makers = {
            "onehot_ridge": (OneHotRidge, OH),
            "analytic_ridge": (AnalyticRidge, basic),
            "nearest_source": (NearestSourceDevice, S),
            "nnls": (NNLSTransfer, S),
            "raynas_prior": (lambda: PriorOnly(raynas), X_r),
            "raynas": (lambda: copy.deepcopy(raynas), X_r),
        }
        if multipredict:
            X_mp = np.hstack([S, enc])
            mp = MultiPredictTransfer(n_source=S.shape[1], pretrain_epochs=mp_epochs).pretrain(X_mp)
            makers["multipredict"] = (lambda: copy.deepcopy(mp), X_mp)
        for n in ns:
            for name, (mk, X) in makers.items():
                res[(dev, name, n)] = float(np.median([rho(mk().fit(X[i], y[i]).predict(X), y)
                                                       for i in draws_for(len(y), n, draws, dev)]))
        ceil[dev] = noise_ceiling(OH, y)
        log(f"  within {space}/{dev}: rank {raynas.rank_}, nnls weight {raynas.nnls_weight_}, {time.time() - t0:.0f}s")
    integer = {d: is_integer(tab.column(d)) for d in devices}
    return devices, res, ceil, integer


def mean_table(title: str, methods, devices, res, ns, ceil=None):
    mc = f"; mean noise ceiling {np.mean([ceil[d] for d in devices]):.3f}" if ceil else ""
    print(f"\n### {title} ({len(devices)} devices{mc})")
    print("| method | " + " | ".join(f"n={n}" for n in ns) + " |")
    print("|---|" + "---|" * len(ns))
    for m in methods:
        if all((d, m, n) in res for d in devices for n in ns):
            print(f"| {m} | " + " | ".join(f"{np.mean([res[(d, m, n)] for d in devices]):.3f}" for n in ns) + " |")


def verdict(methods, devices, res, ns, label: str):
    """Where raynas is above / below the best baseline, per n (mean over ``devices``)."""
    out = []
    for n in ns:
        r = np.mean([res[(d, "raynas", n)] for d in devices])
        best, bname = max((np.mean([res[(d, m, n)] for d in devices]), m) for m in methods
                          if m not in ("raynas", "raynas_prior") and all((d, m, n) in res for d in devices))
        out.append(f"n={n}: raynas {r:.3f} vs best other {bname} {best:.3f} ({'WIN' if r > best else 'LOSS'})")
    print(f"\n{label}: " + "; ".join(out))


def targets(devices, res, ceil, ns):
    """The transfer targets, spelled out: margin over NNLS, targets at or above it, distance to the
    model's own prior and, at the largest n, to the noise ceiling (means over ``devices``)."""
    mean = lambda m, n: np.mean([res[(d, m, n)] for d in devices])  # noqa: E731
    if not all((d, m, n) in res for d in devices for m in ("raynas", "nnls", "raynas_prior") for n in ns):
        return
    print("\n| n | raynas - nnls | targets with raynas >= nnls | raynas - its prior | ceiling - raynas |")
    print("|---|---|---|---|---|")
    for n in ns:
        share = sum(res[(d, "raynas", n)] >= res[(d, "nnls", n)] - 1e-12 for d in devices)
        print(f"| {n} | {mean('raynas', n) - mean('nnls', n):+.3f} | {share}/{len(devices)} | "
              f"{mean('raynas', n) - mean('raynas_prior', n):+.3f} | "
              f"{np.mean([ceil[d] for d in devices]) - mean('raynas', n):.3f} |")


def print_within(space, devices, res, ceil, integer, ns, holdout="family"):
    proto = {"family": "leave-one-family-out, sources = the other families' columns",
             "twins": "leave-one-family-out and no twin (no source ranks the target's architectures at Spearman "
                      ">= 0.95)",
             "device": "leave-one-device-out (optimistic: same-family columns are sources)"}[holdout]
    print(f"\n## {space}: {proto}; Spearman rho over all archs, median over draws, mean over targets")
    groups = [("all targets", devices), ("targets with continuous timings", [d for d in devices if not integer[d]]),
              ("integer-ms timings (quantised phone timers)", [d for d in devices if integer[d]])]
    for label, devs in groups:
        if devs:
            mean_table(label, LATENCY_METHODS, devs, res, ns, ceil)
    verdict(LATENCY_METHODS, devices, res, ns, f"{space} within-space, all targets")
    targets(devices, res, ceil, ns)
    n_show = [n for n in ns if n in (10, 20)] or ns[:1]
    print(f"\n### {space} per device (n = {', '.join(map(str, n_show))}) beside its noise ceiling")
    cols = [(m, n) for n in n_show for m in ("nnls", "raynas")]
    print("| device | ceiling | " + " | ".join(f"{m} n={n}" for m, n in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for d in devices:
        flag = " (int ms)" if integer[d] else ""
        print(f"| {d}{flag} | {ceil[d]:.3f} | " + " | ".join(f"{res[(d, m, n)]:.3f}" for m, n in cols) + " |")


# --- (b) across spaces --------------------------------------------------------------------------
def run_cross(src_space: str, tgt_space: str, ns, draws: int, data_dir=None, multipredict: bool = True,
              mp_epochs: int = 30):
    from raynas.predictors import (AnalyticRidge, OneHotRidge, RaynasTransfer, analytic, load_space_table,
                                   standardise)
    from raynas.predictors.crossspace import RooflineRidge
    from raynas.predictors.encodings import cost_columns
    from raynas.predictors.neural import MultiPredictTransfer
    from raynas.predictors.zcp import ZCPEncoder, zcp_available

    A, B = load_space_table(src_space, data_dir), load_space_table(tgt_space, data_dir)
    FA, FB, OHB = A.features(), B.features(), B.onehot()
    basic = analytic(FB, basic=True)
    R = RooflineRidge.columns(FA, A.latency, FB)  # every source device's roofline, on the target space
    CB = cost_columns(FB)
    X_r = np.hstack([R, CB, standardise(FB)])
    zA, zB = A.zcp(), B.zcp()
    okA, okB = zcp_available(A.space, A.archs), zcp_available(B.space, B.archs)
    mp = None
    if multipredict and okA.sum() >= 100 and okB.sum() >= 100:
        # Multi-Predict's space-independent encoding: ZCP (min-max over each space) + analytic features
        # (standardised over each space); pre-trained on the source space's devices
        encA = np.hstack([ZCPEncoder().fit_transform(zA[okA]), standardise(FA[okA])])
        encB = np.hstack([ZCPEncoder().fit_transform(zB[okB]), standardise(FB[okB])])
        mp = MultiPredictTransfer(n_source=A.latency.shape[1], pretrain_epochs=mp_epochs).pretrain(
            np.hstack([A.latency[okA], encA]))
        X_mp = np.hstack([R[okB], encB])
    res, res_z = {}, {}
    for t, dev in enumerate(B.devices):
        t0 = time.time()
        y = B.latency[:, t]
        raynas = RaynasTransfer(n_source=R.shape[1], n_cost=CB.shape[1]).pretrain(X_r)
        makers = {"onehot_ridge": (OneHotRidge, OHB), "analytic_ridge": (AnalyticRidge, basic),
                  "roofline_ridge": (RooflineRidge, R), "raynas": (lambda: copy.deepcopy(raynas), X_r)}
        for n in ns:
            for name, (mk, X) in makers.items():
                res[(dev, name, n)] = float(np.median([rho(mk().fit(X[i], y[i]).predict(X), y)
                                                       for i in draws_for(len(y), n, draws, dev)]))
            if mp is not None:  # on the architectures with ZCP values; every method on the same subset
                yz = y[okB]
                for name, (mk, X) in {**makers, "multipredict": (lambda: copy.deepcopy(mp), X_mp)}.items():
                    Xz = X if name == "multipredict" else X[okB]
                    res_z[(dev, name, n)] = float(np.median([rho(mk().fit(Xz[i], yz[i]).predict(Xz), yz)
                                                             for i in draws_for(len(yz), n, draws, t)]))
        log(f"  cross {src_space}->{tgt_space}/{dev}: {time.time() - t0:.0f}s")
    return B.devices, res, res_z, (int(okA.sum()), int(okB.sum())), {d: is_integer(B.column(d)) for d in B.devices}


def print_cross(src, tgt, devices, res, res_z, n_zcp, integer, ns):
    print(f"\n## cross-space {src} -> {tgt}: sources = every {src} device column (no {tgt} latency in training); "
          f"n samples of the {tgt} target; rho over all {tgt} archs, median over draws, mean over targets")
    mean_table("all targets", CROSS_METHODS, devices, res, ns)
    ints = [d for d in devices if integer[d]]
    if ints:
        mean_table("integer-ms timings (quantised phone timers)", CROSS_METHODS, ints, res, ns)
    verdict(CROSS_METHODS, devices, res, ns, f"cross {src}->{tgt}")
    if res_z:
        mean_table(f"on the {n_zcp[1]} {tgt} archs with ZCP values (pre-training on {n_zcp[0]} {src} archs)",
                   CROSS_METHODS, devices, res_z, ns)


# --- (c) accuracy -------------------------------------------------------------------------------
def run_accuracy(ns, draws: int, data_dir=None):
    from raynas.benchmarks import NB201Benchmark
    from raynas.predictors import load_space_table, standardise
    from raynas.predictors.models import _Standardised
    from raynas.predictors.neural import MLPPredictor, TreePredictor
    from raynas.predictors.zcp import ZCP_DATA_FREE, ZCP_PROXIES, ZCPEncoder, zcp_available

    tab = load_space_table("nb201", data_dir)
    bench = NB201Benchmark(data_dir)
    acc = np.array([bench.accuracy(a, "valid") for a in tab.archs])
    F, OH = standardise(tab.features()), tab.onehot()
    Z = tab.zcp(ZCP_PROXIES)
    models = {"ridge": lambda: _Standardised(log_target=False), "gbdt": lambda: TreePredictor(),
              "mlp": lambda: MLPPredictor(hidden=(64, 64), epochs=300)}
    free = [ZCP_PROXIES.index(p) for p in ZCP_DATA_FREE]
    subsets = []
    ok_free = zcp_available(tab.space, tab.archs, ZCP_DATA_FREE)
    if ok_free.sum() >= 2 * max(ns):
        subsets.append(("data-free ZCP (synflow, params, flops, path_params)", ok_free, free))
    ok_all = zcp_available(tab.space, tab.archs, ZCP_PROXIES)
    if ok_all.sum() >= 2 * max(ns):
        subsets.append((f"ZCP ({', '.join(ZCP_PROXIES)})", ok_all, list(range(len(ZCP_PROXIES)))))
    results = []
    for label, ok, cols in subsets:
        zc = ZCPEncoder().fit_transform(Z[ok][:, cols])
        encs = {"onehot": OH[ok], "analytic": F[ok], "zcp": zc, "zcp+onehot": np.hstack([zc, OH[ok]]),
                "zcp+analytic": np.hstack([zc, F[ok]]), "zcp+onehot+analytic": np.hstack([zc, OH[ok], F[ok]])}
        y = acc[ok]
        res = {}
        for n in ns:
            for en, X in encs.items():
                for mn, mk in models.items():
                    rs = []
                    for i in draws_for(len(y), n, draws, 7):
                        held = np.ones(len(y), dtype=bool)
                        held[i] = False  # ranked: the architectures not trained on
                        rs.append(rho(mk().fit(X[i], y[i]).predict(X[held]), y[held]))
                    res[(en, mn, n)] = float(np.median(rs))
            log(f"  accuracy [{label[:20]}] n={n} done")
        results.append((label, int(ok.sum()), encs, res))
    # the proxies alone, zero-shot
    single = {p: (rho(Z[np.isfinite(Z[:, j]), j], acc[np.isfinite(Z[:, j])]), int(np.isfinite(Z[:, j]).sum()))
              for j, p in enumerate(ZCP_PROXIES) if np.isfinite(Z[:, j]).sum() > 100}
    return results, single, models


def print_accuracy(results, single, models, ns, target_n: int = 100, target: float = 0.90):
    from raynas.predictors.zcp import ZCP_BATCH, zcp_table
    from raynas.spaces import get_space

    b, path = ZCP_BATCH, zcp_table(get_space("nb201")).path
    print("\n## accuracy predictors, NB201 CIFAR-10 (valid accuracy, 200 epochs) from n trained archs: Spearman rho "
          "over the architectures listed that were NOT trained on, median over draws")
    print(f"\nZCP values: raynas.proxies on the stand-in batch {b.size} {b.source} images ({b.image_size}px, "
          f"{b.channels} channels, batch seed {b.seed}), 10-class head, init seed 0 (ProxyTable cache "
          f"{path.name if path else 'off'}); the project has no CIFAR images.")
    if single:
        print("\nzero-shot, each proxy alone (rho over the archs it is computed for): "
              + ", ".join(f"{p} {r:.3f} ({c})" for p, (r, c) in single.items()))
    for label, count, encs, res in results:
        print(f"\n### encodings with {label}; {count} architectures"
              f"{' (all)' if count == 15625 else ' (a uniform random subset: proxies not computed for the rest)'}")
        print("| encoding | model | " + " | ".join(f"n={n}" for n in ns) + " |")
        print("|---|---|" + "---|" * len(ns))
        for en in encs:
            for mn in models:
                print(f"| {en} | {mn} | " + " | ".join(f"{res[(en, mn, n)]:.3f}" for n in ns) + " |")
        if target_n in ns:
            cells = [(res[(en, mn, target_n)], f"{en}/{mn}") for en in encs for mn in models]
            zcp = max(c for c in cells if c[1].startswith("zcp"))
            base = max(c for c in cells if not c[1].startswith("zcp"))
            print(f"\nn={target_n}: best ZCP-encoded {zcp[1]} {zcp[0]:.3f} vs best without ZCP {base[1]} "
                  f"{base[0]:.3f} ({'WIN' if zcp[0] > base[0] else 'LOSS'}); target >= {target:.2f}: "
                  f"{'met' if zcp[0] >= target else 'NOT met'} on these {count} architectures")


# --- (d) sampling -------------------------------------------------------------------------------
def run_sampling(space: str, ns, draws: int, data_dir=None, targets=None):
    from raynas.predictors import RaynasTransfer, choose, load_space_table, standardise, transfer_encoding

    tab = load_space_table(space, data_dir)
    F = tab.features()
    res = {}
    devices = [d for d in tab.devices if not targets or d in targets]
    for t, dev in enumerate(devices):
        S, y, _ = tab.sources(dev)
        X, k, c = transfer_encoding(S, F)
        model = RaynasTransfer(n_source=k, n_cost=c).pretrain(X)
        E = np.hstack([standardise(np.log(S)), standardise(F)])  # diversity in source-latency x feature space
        for n in ns:
            for strat in ("random", "kmeans", "farthest", "uncertainty"):
                rs = []
                for d in range(draws):
                    extra = {}
                    if strat == "uncertainty":
                        extra = {"model_factory": lambda: copy.deepcopy(model), "measure": lambda i: y[i]}
                        idx = choose(strat, X, n, seed=d, **extra)
                    else:
                        idx = choose(strat, E, n, seed=d)
                    rs.append(rho(copy.deepcopy(model).fit(X[idx], y[idx]).predict(X), y))
                res[(dev, strat, n)] = float(np.median(rs))
        log(f"  sampling {space}/{dev} done")
    return devices, res


def print_sampling(space, devices, res, ns):
    print(f"\n## {space}: which architectures to measure (raynas transfer; mean over {len(devices)} targets)")
    mean_table("sampling strategies", ("random", "kmeans", "farthest", "uncertainty"), devices, res, ns)


# --- (e) predictor-guided search ------------------------------------------------------------------
def run_search(budget: int, seeds: int, data_dir=None, targets=None, n_targets: int = 6):
    """Normalised hypervolume (error, latency) after ``budget`` tabular evaluations on NB201."""
    from raynas import moo
    from raynas.benchmarks import NB201Benchmark
    from raynas.predictors import TreePredictor, load_space_table, standardise
    from raynas.strategies import OptunaStrategy, RandomStrategy
    from raynas.strategies.predictor import ObjectiveModel, PredictorStrategy, transferred_latency_model

    bench = NB201Benchmark(data_dir)
    tab = load_space_table("nb201", data_dir)
    row = {a: i for i, a in enumerate(tab.archs)}
    F = tab.features()
    acc_enc = np.hstack([tab.onehot(), standardise(F)])
    from raynas.predictors.features import FEATURE_NAMES

    log_params = F[:, FEATURE_NAMES.index("log_params")]  # zero-cost accuracy prior: parameter count
    devices = [d for d in tab.devices if not targets or d in targets][:n_targets]
    out = {}
    for dev in devices:
        allp = np.stack([100 - bench.all_accuracy(), bench.all_latency(dev)], 1)
        norm = moo.Normaliser.fit(allp)
        ap = norm(allp)
        true_hv = moo.hypervolume(ap[moo.pareto_mask(ap)], np.ones(2))
        y = tab.column(dev)
        ref = {tab.archs[i]: y[i] for i in tab.reference}  # the device's hardware embedding: 10 measured archs
        for seed in range(seeds):
            lat = transferred_latency_model(tab, dev, samples=ref, n_boot=3)
            acc = ObjectiveModel(lambda A: acc_enc[[row[tuple(a)] for a in A]], TreePredictor(max_iter=200),
                                 prior=lambda A: log_params[[row[tuple(a)] for a in A]], min_fit=8, n_boot=3)
            strategies = {
                "predictor (raynas)": PredictorStrategy(bench.space, [acc, lat], signs=[-1, 1], candidates=tab.archs,
                                                        pool_size=256, seed=seed),
                "random": RandomStrategy(bench.space, seed=seed),
                # population budget/5 (Optuna's default 50 would leave NSGA-II random for a 50-trial budget)
                "optuna nsga2": OptunaStrategy(bench.space, "nsga2", seed=seed, population_size=max(4, budget // 5)),
                "optuna tpe": OptunaStrategy(bench.space, "tpe", seed=seed),
            }
            for name, st in strategies.items():
                t0 = time.time()
                for _ in range(budget):
                    a = st.ask()
                    st.tell(a, bench.objectives(a, dev))
                _, front = st.front()
                out[(dev, name, seed)] = (moo.normalised_hypervolume(front, normaliser=norm, true_hv=true_hv),
                                          time.time() - t0)
        log(f"  search nb201/{dev} done")
    return devices, out


def print_search(devices, out, budget, seeds):
    names = sorted({k[1] for k in out}, key=lambda n: (not n.startswith("predictor"), n))
    print(f"\n## predictor-guided search, NB201 tabular (valid error, latency of the target device): normalised "
          f"hypervolume after {budget} evaluations, mean over {seeds} seeds x {len(devices)} devices")
    print("\nThe predictor strategy's latency model is transferred from the other devices with the target's 10 "
          "reference architectures (its hardware embedding, not counted in the budget); accuracy: the parameter "
          "count (a zero-cost prior) until 8 results, then a GBDT on one-hot + analytic features refitted as "
          "results arrive. Optuna NSGA-II: population budget/5 (5 generations); TPE: multivariate, Optuna defaults.\n")
    print("| strategy | normalised HV | per device | s per run (loaded machine) |")
    print("|---|---|---|---|")
    for n in names:
        per = [np.mean([out[(d, n, s)][0] for s in range(seeds)]) for d in devices]
        secs = np.mean([out[(d, n, s)][1] for d in devices for s in range(seeds)])
        print(f"| {n} | {np.mean(per):.3f} | " + ", ".join(f"{d} {v:.3f}" for d, v in zip(devices, per))
              + f" | {secs:.1f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", nargs="+", default=["within", "cross", "accuracy", "sampling", "search"],
                   choices=["within", "cross", "accuracy", "sampling", "search"])
    p.add_argument("--spaces", nargs="+", default=["nb201", "fbnet"])
    p.add_argument("--n", type=int, nargs="+", default=[5, 10, 20, 50, 85, 100])
    p.add_argument("--draws", type=int, default=10)
    p.add_argument("--targets", nargs="*", default=None, help="target device columns (default: every column)")
    p.add_argument("--holdout", choices=["family", "twins", "device"], default="family",
                   help="what a target's sources exclude: its whole family (default), also every column ranking "
                        "like it (twins: Spearman >= 0.95), or only itself (device: optimistic)")
    p.add_argument("--exclude", nargs="*", default=(), help="devices or families never used as sources")
    p.add_argument("--sources", nargs="*", default=None, help="use only these source columns")
    p.add_argument("--acc-n", type=int, nargs="+", default=[20, 50, 100, 200])
    p.add_argument("--sampling-n", type=int, nargs="+", default=[10, 20])
    p.add_argument("--sampling-draws", type=int, default=5)
    p.add_argument("--search-budget", type=int, default=50)
    p.add_argument("--search-seeds", type=int, default=3)
    p.add_argument("--no-multipredict", action="store_true", help="skip the Multi-Predict MLP reproduction")
    p.add_argument("--mp-epochs", type=int, default=30, help="Multi-Predict MLP pre-training epochs")
    p.add_argument("--compute-zcp", action="store_true", help="fill the ZCP cache first (hours of CPU)")
    p.add_argument("--data-dir", default=None)
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t_start = time.time()
    if a.compute_zcp:
        from raynas.predictors import load_space_table

        for s in a.spaces:
            load_space_table(s, a.data_dir).zcp(compute=True)
    mp = not a.no_multipredict
    if "within" in a.parts:
        for space in a.spaces:
            out = run_within(space, a.n, a.draws, a.targets, a.data_dir, mp, a.mp_epochs, a.holdout, a.exclude,
                             a.sources)
            print_within(space, *out, a.n, a.holdout)
            sys.stdout.flush()
    if "cross" in a.parts and len(a.spaces) >= 2:
        for src, tgt in ((a.spaces[0], a.spaces[1]), (a.spaces[1], a.spaces[0])):
            devices, res, res_z, n_zcp, integer = run_cross(src, tgt, a.n, a.draws, a.data_dir, mp, a.mp_epochs)
            print_cross(src, tgt, devices, res, res_z, n_zcp, integer, a.n)
            sys.stdout.flush()
    if "accuracy" in a.parts:
        print_accuracy(*run_accuracy(a.acc_n, a.draws, a.data_dir), a.acc_n)
        sys.stdout.flush()
    if "sampling" in a.parts:
        for space in a.spaces:
            print_sampling(space, *run_sampling(space, a.sampling_n, a.sampling_draws, a.data_dir, a.targets),
                           a.sampling_n)
            sys.stdout.flush()
    if "search" in a.parts:
        print_search(*run_search(a.search_budget, a.search_seeds, a.data_dir, a.targets), a.search_budget,
                     a.search_seeds)
    print(f"\n(wall time {time.time() - t_start:.0f} s on a shared, heavily loaded 2-core machine)")


if __name__ == "__main__":
    main()
