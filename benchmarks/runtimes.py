"""This CPU as three devices: the same architectures timed under PyTorch eager, TorchScript and ONNX Runtime.

Measures ``--archs`` architectures of NB201 and FBNet (the first rows of a seeded permutation of
each published table, so the sample does not depend on anything but the seed) with
:class:`raynas.hardware.LocalDevice` under each runtime (batch 1, one thread, 5 warm-up and 20
timed passes, median; compilation not timed), writes them to ``benchmarks/data/runtimes_<space>.csv``
(``arch_index``, ``arch_str``, one column per runtime, plus how it was measured in the header
comment), and prints how differently the runtimes rank the architectures (Spearman) beside how two
published devices of different families rank them, how well a transfer from the published
devices (NNLS and RaynasTransfer, 10 and 20 samples) predicts each runtime, and how well each runtime
is predicted from 10 or 20 of its own timings when this CPU's other runtimes are sources too, beside
its noise ceiling (what a model fitted on 80 % of the architectures achieves).
Rerunning continues the rows already measured (saved every 25 networks). TorchScript traces are
never freed by PyTorch, so one process grows by ~100 MB per FBNet network: 300 FBNet networks
need ~30 GB, more than this 24 GB machine has; the FBNet table was measured in two processes.

    python benchmarks/runtimes.py --archs 300           # needs: pip install onnx onnxruntime
    python benchmarks/runtimes.py --report               # tables from the CSVs only
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "data"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def sample_rows(n_rows: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_rows)[:n]


def measure(space_name: str, n: int, seed: int, runtimes, data_dir=None) -> Path:
    """Time the first ``n`` rows of the seeded permutation under every runtime, continuing the
    rows already in ``benchmarks/data/runtimes_<space>.csv`` and saving every 25 networks."""
    import torch

    from raynas.hardware import LocalDevice
    from raynas.predictors import load_space_table

    torch.set_num_threads(1)
    tab = load_space_table(space_name, data_dir)
    rows = sample_rows(len(tab.archs), n, seed)
    path = OUT / f"runtimes_{space_name}.csv"
    done = pd.read_csv(path, comment="#") if path.is_file() else pd.DataFrame()
    if len(done) and (list(done["arch_index"]) != list(rows[:len(done)]) or
                      [c for c in done.columns if c not in ("arch_index", "arch_str")] != list(runtimes)):
        raise SystemExit(f"{path} holds other rows or runtimes than --seed {seed} --runtimes {' '.join(runtimes)}; "
                         f"move it away to measure afresh")
    shape = (3, 32, 32) if space_name == "nb201" else (3, 224, 224)
    devices = {rt: LocalDevice(input_shape=shape, runtime=rt, num_classes=10 if space_name == "nb201" else 1000)
               for rt in runtimes}
    records = done.to_dict("records")
    t0 = time.time()
    for i, r in enumerate(rows[len(done):], start=len(done)):
        model = tab.space.build(tab.archs[r], num_classes=devices[runtimes[0]].num_classes).eval()
        rec = {"arch_index": int(r), "arch_str": tab.space.arch_str(tab.archs[r])}
        for rt in runtimes:  # the same network object under every runtime, back to back
            rec[rt] = devices[rt].measure(model).median_ms
        records.append(rec)
        if (i + 1) % 25 == 0 or i + 1 == len(rows):
            write(pd.DataFrame(records), path, space_name, seed)
            print(f"  {space_name}: {i + 1}/{len(rows)} networks, {time.time() - t0:.0f} s", file=sys.stderr)
    return path


def write(df: pd.DataFrame, path: Path, space_name: str, seed: int) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# {space_name}: {len(df)} architectures (published table rows, permutation seed {seed}), "
              f"latency ms on {platform.processor() or platform.machine()} ({os.cpu_count()} cores), batch 1, "
              f"1 thread, 5 warm-up + 20 timed passes, median; torch {torch.__version__}; "
              f"measured up to {time.strftime('%Y-%m-%d')} by benchmarks/runtimes.py (a rerun appends rows)\n")
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(header)
        df.to_csv(f, index=False)
    os.replace(tmp, path)


def report(space_name: str, data_dir=None) -> None:
    from raynas.predictors import NNLSTransfer, RaynasTransfer, load_space_table, spearman, transfer_encoding

    path = OUT / f"runtimes_{space_name}.csv"
    if not path.is_file():
        print(f"(no {path})")
        return
    df = pd.read_csv(path, comment="#")
    runtimes = [c for c in df.columns if c not in ("arch_index", "arch_str")]
    print(f"\n## {space_name}: {len(df)} architectures, this CPU under {len(runtimes)} runtimes ({path.name})")
    print("\nSpearman between runtimes:\n\n| | " + " | ".join(runtimes) + " |\n|---|" + "---|" * len(runtimes))
    for a in runtimes:
        print(f"| {a} | " + " | ".join(f"{spearman(df[a], df[b]):.3f}" for b in runtimes) + " |")
    tab = load_space_table(space_name, data_dir)
    rows = df["arch_index"].to_numpy()
    sub = tab.take(rows)
    S = sub.latency
    pub = [spearman(S[:, i], S[:, j]) for i in range(S.shape[1]) for j in range(i + 1, S.shape[1])
           if sub.family(sub.devices[i]) != sub.family(sub.devices[j])]
    print(f"\nfor scale: two published devices of different families, median Spearman {np.median(pub):.3f} "
          f"(range {min(pub):.2f}-{max(pub):.2f}) on the same architectures")
    features = tab.features()
    X, k, c = transfer_encoding(tab.latency, features)  # the prior sees every architecture
    groups = [tab.family(d) for d in tab.devices]
    print("\nTransfer from the 20 published devices to each runtime (Spearman over these architectures, "
          "median of 10 draws of n samples):\n\n| runtime | n | NNLS | RaynasTransfer |\n|---|---|---|---|")
    model = RaynasTransfer(n_source=k, n_cost=c, source_groups=groups).pretrain(X)
    Xr, Sr = X[rows], tab.latency[rows]
    for rt in runtimes:
        y = df[rt].to_numpy()
        for n in (10, 20):
            if n >= len(y):
                continue
            draws = [np.random.default_rng([d, n]).choice(len(y), n, replace=False) for d in range(10)]
            nn = np.median([spearman(NNLSTransfer().fit(Sr[i], y[i]).predict(Sr), y) for i in draws])
            rt_ = np.median([spearman(model.fit(Xr[i], y[i]).predict(Xr), y) for i in draws])
            print(f"| {rt} | {n} | {nn:.3f} | {rt_:.3f} |")
    cross_runtime(df, tab, rows, runtimes, Sr, features[rows], groups)


def cross_runtime(df: pd.DataFrame, tab, rows: np.ndarray, runtimes, Sr: np.ndarray, features: np.ndarray,
                  groups) -> None:
    """Each runtime predicted from n of its own timings, the sources being the published devices and
    this CPU's other runtimes (cheap to time on the machine at hand), beside its noise ceiling."""
    from predictor_transfer import noise_ceiling

    from raynas.hardware import LocalDevice
    from raynas.predictors import NNLSTransfer, RaynasTransfer, spearman, transfer_encoding

    print("\nBetween runtimes of this CPU: each runtime from n of its own timings, sources = the 20 published "
          "devices + this CPU's other runtimes (median of 10 draws); ceiling = out-of-fold Spearman of the better "
          "of a one-hot ridge and a one-hot GBDT, each fold fitted on 80 % of the architectures:\n\n"
          "| runtime | ceiling | n | NNLS | RaynasTransfer | RaynasTransfer / ceiling |\n|---|---|---|---|---|---|")
    onehot = np.stack([tab.space.encode_onehot(tab.archs[r]) for r in rows])
    for rt in runtimes:
        others = [o for o in runtimes if o != rt]
        S2 = np.hstack([Sr, df[others].to_numpy()])
        X2, k2, c2 = transfer_encoding(S2, features)
        model = RaynasTransfer(n_source=k2, n_cost=c2,
                               source_groups=list(groups) + [LocalDevice().family] * len(others)).pretrain(X2)
        y = df[rt].to_numpy()
        ceiling = noise_ceiling(onehot, y)
        for n in (10, 20):
            draws = [np.random.default_rng([d, n]).choice(len(y), n, replace=False) for d in range(10)]
            nn = np.median([spearman(NNLSTransfer().fit(S2[i], y[i]).predict(S2), y) for i in draws])
            ours = np.median([spearman(model.fit(X2[i], y[i]).predict(X2), y) for i in draws])
            print(f"| {rt} | {ceiling:.3f} | {n} | {nn:.3f} | {ours:.3f} | {ours / ceiling:.2f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spaces", nargs="+", default=["nb201", "fbnet"])
    p.add_argument("--archs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runtimes", nargs="+", default=["torch-eager", "torchscript", "onnxruntime"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--report", action="store_true", help="only print the tables from benchmarks/data")
    a = p.parse_args(argv)
    for space in a.spaces:
        if not a.report:
            print(f"# wrote {measure(space, a.archs, a.seed, a.runtimes, a.data_dir)}", file=sys.stderr)
        report(space, a.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
