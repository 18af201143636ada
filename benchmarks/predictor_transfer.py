"""Few-shot latency transfer: Spearman rho over ALL architectures of each target device.

For every target device column of a space's latency table (leave-one-device-out: the sources are all
other columns of the same space), draw n architectures (``--draws`` random draws per n), fit each
predictor on their target latencies, and rank all architectures. Reported: median rho over draws,
then the mean over targets, per method and n; per device beside its noise ceiling (5-fold CV, each
fold trained on 80% of the device's architectures with a one-hot ridge and a GBDT, the better of the
two). Devices whose timings are all integers (quantised phone timers) are reported separately.
Device names are never hard-coded: whatever columns the data directory's tables have are used.

    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python benchmarks/predictor_transfer.py --spaces nb201 fbnet
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

METHODS = ("onehot_ridge", "analytic_ridge", "nearest_source", "nnls", "raynas")


def noise_ceiling(onehot: np.ndarray, y: np.ndarray, seed: int = 0, gbdt: bool = True) -> float:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    from raynas.predictors.models import spearman

    z = np.log(np.maximum(y, 1e-9))
    best = -1.0
    models = [lambda: Ridge(alpha=1.0)]
    if gbdt:
        models.append(lambda: HistGradientBoostingRegressor(max_iter=300, random_state=seed))
    for mk in models:
        oof = np.zeros_like(z)
        for tr, te in KFold(5, shuffle=True, random_state=seed).split(onehot):
            oof[te] = mk().fit(onehot[tr], z[tr]).predict(onehot[te])
        best = max(best, spearman(oof, y))
    return best


def run_space(space: str, ns, draws: int, targets=None, data_dir=None, ceiling: bool = True, verbose=True):
    import torch

    torch.set_num_threads(1)
    from raynas.predictors import (AnalyticRidge, NearestSourceDevice, NNLSTransfer, OneHotRidge, RaynasTransfer,
                                   analytic, load_space_table, spearman, transfer_encoding)

    tab = load_space_table(space, data_dir)
    F = tab.features(progress=verbose)
    OH = tab.onehot()
    basic = analytic(F, basic=True)
    devices = tab.devices if not targets else [d for d in tab.devices if d in targets]
    res: dict = {}
    ceil: dict = {}
    integer = {d: bool(np.allclose(tab.column(d), np.round(tab.column(d)))) for d in devices}
    for dev in devices:
        t0 = time.time()
        t = tab.devices.index(dev)
        src = [j for j in range(len(tab.devices)) if j != t]
        S, y = tab.latency[:, src], tab.latency[:, t]
        X_r, k, c = transfer_encoding(S, F, OH)
        makers = {
            "onehot_ridge": (OneHotRidge, OH),
            "analytic_ridge": (AnalyticRidge, basic),
            "nearest_source": (NearestSourceDevice, S),
            "nnls": (NNLSTransfer, S),
            "raynas": (lambda: RaynasTransfer(n_source=k, n_cost=c), X_r),
        }
        for n in ns:
            idxs = [np.random.default_rng([d, n, t]).choice(len(y), n, replace=False) for d in range(draws)]
            for name, (mk, X) in makers.items():
                rhos = [spearman(mk().fit(X[i], y[i]).predict(X), y) for i in idxs]
                res[(dev, name, n)] = float(np.nanmedian(rhos))
        if ceiling:
            ceil[dev] = noise_ceiling(OH, y)
        if verbose:
            print(f"  {space}/{dev}: {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return devices, res, ceil, integer


def print_table(space, devices, res, ceil, integer, ns):
    groups = [("all targets", devices), ("targets with continuous timings", [d for d in devices if not integer[d]]),
              ("integer-ms timings (quantised phone timers)", [d for d in devices if integer[d]])]
    print(f"\n## {space}: leave-one-device-out, sources = the other {space} columns; "
          "Spearman rho over all archs, median over draws, mean over targets")
    for label, devs in groups:
        if not devs:
            continue
        mc = np.mean([ceil[d] for d in devs]) if ceil else float("nan")
        print(f"\n### {label} ({len(devs)} devices; mean noise ceiling {mc:.3f})")
        print("| method | " + " | ".join(f"n={n}" for n in ns) + " |")
        print("|---|" + "---|" * len(ns))
        for m in METHODS:
            print(f"| {m} | " + " | ".join(f"{np.mean([res[(d, m, n)] for d in devs]):.3f}" for n in ns) + " |")
    n_show = [n for n in ns if n in (10, 20)] or ns[:1]
    print(f"\n### per device (n = {', '.join(map(str, n_show))}) beside its noise ceiling")
    print("| device | ceiling | " + " | ".join(f"{m} n={n}" for n in n_show for m in ("nnls", "raynas")) + " |")
    print("|---|---|" + "---|" * (2 * len(n_show)))
    for d in devices:
        flag = " (int ms)" if integer[d] else ""
        cells = " | ".join(f"{res[(d, m, n)]:.3f}" for n in n_show for m in ("nnls", "raynas"))
        print(f"| {d}{flag} | {ceil.get(d, float('nan')):.3f} | {cells} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spaces", nargs="+", default=["nb201", "fbnet"])
    p.add_argument("--n", type=int, nargs="+", default=[5, 10, 20, 50, 85, 100])
    p.add_argument("--draws", type=int, default=10)
    p.add_argument("--targets", nargs="*", default=None, help="target device columns (default: every column)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--no-ceiling", action="store_true", help="skip the (slower) noise ceiling")
    a = p.parse_args(argv)
    for space in a.spaces:
        devices, res, ceil, integer = run_space(space, a.n, a.draws, a.targets, a.data_dir, not a.no_ceiling)
        print_table(space, devices, res, ceil, integer, a.n)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
