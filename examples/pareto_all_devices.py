"""Pareto fronts for several devices from one hypernetwork training run (MODNAS, surrogate mode).

Trains the MetaHypernetwork on most device columns of the NB201 latency table, then for every
device plotted (held-out ones included: they are known only by their reference latencies) asks it
for 24 architectures, one per preference vector, and plots them against all 15,625 architectures
and the true front. With ``--local-device`` this machine's CPU is timed on the 10 reference
architectures and gets a zero-shot front too (printed with predicted latencies).

    nice -n 10 .venv/bin/python examples/pareto_all_devices.py --out pareto_all_devices.png
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def pareto_mask(points: np.ndarray) -> np.ndarray:
    order = np.lexsort((points[:, 1], points[:, 0]))
    mask = np.zeros(len(points), bool)
    best = np.inf
    for i in order:
        if points[i, 1] < best:
            mask[i], best = True, points[i, 1]
    return mask


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", default="raspi4,eyeriss,pixel2,gold_6226,1080ti_1,titanxp_256",
                    help="devices to plot (those absent from the table are skipped)")
    ap.add_argument("--held-out", default="raspi4,eyeriss,pixel2,gold_6226", help="columns not trained on")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--local-device", action="store_true", help="also time this CPU (zero-shot front)")
    ap.add_argument("--out", default="pareto_all_devices.png")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    from raynas.hypernet import HardwareProfile, TrainSettings, preference_grid, train_surrogate_mode
    from raynas.hypernet.predictors import load_accuracy_table, load_latency_data
    from raynas.spaces import NB201Space

    space = NB201Space()
    data = load_latency_data(space, args.data_dir)
    held = [d for d in args.held_out.split(",") if d in data.latency_ms]
    train = [d for d in data.devices if d not in held]
    plot = [d for d in args.devices.split(",") if d in data.latency_ms]
    print(f"training on {len(train)} devices; held out: {held}")
    bundle = train_surrogate_mode(space, train, data_dir=args.data_dir,
                                  settings=TrainSettings(steps=args.steps, seed=args.seed), seed=args.seed)
    print(f"trained in {sum(bundle.timings.values()):.0f}s {bundle.timings}")
    table = load_accuracy_table(args.data_dir, "test-accuracy")
    acc_of = dict(zip(table["arch_str"], table["test-accuracy"]))
    acc = np.array([acc_of[space.arch_str(a)] for a in data.archs])
    row = {a: i for i, a in enumerate(data.archs)}
    grid = torch.tensor(preference_grid(24), dtype=torch.float32)

    cols = 3
    fig, axes = plt.subplots((len(plot) + cols - 1) // cols, cols, figsize=(5 * cols, 4 * ((len(plot) + cols - 1) // cols)),
                             squeeze=False)
    for ax, d in zip(axes.flat, plot):
        lat = data.latency_ms[d]
        keep = acc > 20  # hide the collapsed (all-'none') architectures, as MODNAS drops error >= 90%
        pts = np.stack([100 - acc, lat], 1)
        front = pareto_mask(pts[keep])
        archs = bundle.hypernet.argmax_archs(grid, torch.tensor(data.profile(d).embedding))
        rows = sorted({row[a] for a in archs})
        ax.scatter(lat[keep], acc[keep], s=2, c="0.8", label="all architectures")
        f = np.where(keep)[0][front]
        f = f[np.argsort(lat[f])]
        ax.step(lat[f], acc[f], where="post", c="k", lw=1, label="true front")
        ax.scatter(lat[rows], acc[rows], s=25, c="tab:red", label=f"hypernetwork ({len(rows)} distinct of 24)")
        ax.set_xscale("log")
        ax.set_title(f"{d} ({'held out' if d in held else 'trained'})")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("CIFAR-10 test accuracy (%)")
        ax.set_ylim(max(acc[keep].min(), 60), acc.max() + 1)
    for ax in list(axes.flat)[len(plot):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")

    if args.local_device:
        from raynas.hardware import LocalDevice

        dev = LocalDevice(repeats=5, warmup=2)
        refs = [data.archs[r] for r in data.reference_rows]
        prof = HardwareProfile.from_device(dev, refs, space)
        archs = bundle.hypernet.argmax_archs(grid, torch.tensor(prof.embedding))
        with torch.no_grad():
            x = torch.tensor(np.stack([space.encode_onehot(a) for a in archs]))
            pred_ms = prof.to_ms(bundle.latency(x, torch.tensor(prof.embedding)).numpy())
        print(f"zero-shot front for {dev.name} (reference latencies {np.round(prof.reference_ms, 2).tolist()} ms):")
        for p, a, ms in zip(grid.tolist(), archs, pred_ms):
            print(f"  pref {p[0]:.2f}/{p[1]:.2f}  predicted {ms:7.2f} ms  table acc {acc_of[space.arch_str(a)]:.2f}%  {space.arch_str(a)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
