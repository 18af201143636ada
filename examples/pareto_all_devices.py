"""Pareto fronts for several devices from one hypernetwork and one Ray Tune experiment (MODNAS).

1. Train the MetaHypernetwork in surrogate mode (minutes on one CPU core) on the training device
   columns of the NB201 latency table (MODNAS's split where the table has those devices).
2. Profile the held-out devices -- known only by their latencies of 10 reference architectures --
   and this machine's CPU, whose reference latencies are measured right now: zero-shot, no retraining.
3. One Tune experiment: ``HypernetSearch`` suggests 24 architectures (one per preference vector) per
   device; the trainable answers table devices from the published tables and times the network on
   this CPU for the local device (accuracy: the NB201 CIFAR-10 table in both cases). Every
   ``--refit-every`` trials the results refine the surrogates and the hypernetwork (0: pure zero-shot).
4. Plot every device's proposals against all 15,625 architectures and the true front (for this CPU:
   against a random sample measured here).

    nice -n 10 .venv/bin/python examples/pareto_all_devices.py      # -> raynas_results/pareto_all_devices.png
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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def make_trainable(data_dir, local_name: str, split: str):
    """Tune trainable: ``accuracy`` from the NB201 table; ``latency_ms`` of the config's
    ``target_device`` from the latency table, or timed on this CPU for ``local_name``."""

    def trainable(config: dict) -> None:
        from ray import tune

        from raynas.benchmarks import NB201Benchmark
        from raynas.hardware import LocalDevice

        bench = NB201Benchmark(data_dir)
        arch = bench.space.from_config(config)
        device = config["target_device"]
        if device == local_name:
            latency = LocalDevice(warmup=2, repeats=7, threads=1).latency_ms(arch, bench.space)
        else:
            latency = bench.latency(arch, device)
        tune.report({"accuracy": bench.accuracy(arch, split), "latency_ms": latency,
                     f"latency_ms/{device}": latency, "arch": bench.space.arch_str(arch)})

    return trainable


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--plot-devices", default=None,
                    help="comma-separated table devices to plot (default: the held-out ones + one trained)")
    ap.add_argument("--labels", type=int, default=1000, help="accuracy labels of the surrogate")
    ap.add_argument("--steps", type=int, default=1000, help="hypernetwork MGD steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refit-every", type=int, default=24, help="trials between refinements (0: none)")
    ap.add_argument("--no-local-device", action="store_true", help="skip this CPU")
    ap.add_argument("--local-population", type=int, default=80,
                    help="random architectures timed here to show this CPU's landscape")
    ap.add_argument("--out", default="raynas_results/pareto_all_devices.png",
                    help="the plot; Tune's results go beside it, in pareto_all_devices_tune/")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    from raynas import moo
    from raynas.benchmarks import NB201Benchmark
    from raynas.hardware import LocalDevice
    from raynas.hypernet import HardwareProfile, TrainSettings, default_device_split, train_surrogate_mode
    from raynas.strategies.hypernet import HypernetStrategy
    from searchers.experiment import run_search
    from searchers.hypernet import HypernetSearch
    from searchers.spaces import tune_param_space

    bench = NB201Benchmark(args.data_dir)
    space = bench.space
    split = "valid"
    # 1. train once, on the training devices only
    from raynas.hypernet import load_latency_data

    data = load_latency_data(space, args.data_dir)
    train, held, other = default_device_split(data.devices, args.seed)
    plot = ([d for d in args.plot_devices.split(",") if d in data.latency_ms] if args.plot_devices
            else held[:4] + train[:1])
    print(f"training on {len(train)} devices ({', '.join(train)}); held out: {', '.join(held + other)}")
    bundle = train_surrogate_mode(space, train, data_dir=args.data_dir, n_accuracy_archs=args.labels,
                                  settings=TrainSettings(steps=args.steps, seed=args.seed), seed=args.seed)
    print(f"trained in {sum(bundle.timings.values()):.0f}s: "
          + ", ".join(f"{k} {v:.0f}s" for k, v in bundle.timings.items()))

    # 2. targets: table devices by their reference latencies, this CPU measured now
    targets = {d: data.profile(d) for d in plot}
    local_name = None
    if not args.no_local_device:
        local = LocalDevice(warmup=2, repeats=7, threads=1)
        prof = HardwareProfile.from_device(local, space, args.data_dir)
        local_name = prof.name
        targets[local_name] = prof
        print(f"{local_name}: reference latencies {np.round(prof.reference_ms, 2).tolist()} ms (measured now)")
    strategy = HypernetStrategy(space, bundle.hypernet, targets, accuracy=bundle.accuracy, latency=bundle.latency,
                                n_preferences=24, refit_every=args.refit_every, latency_replay=bundle.latency_replay,
                                accuracy_replay=bundle.accuracy_replay, seed=args.seed)
    n_trials = 24 * len(targets)

    # 3. one Tune experiment for every device
    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    Path(args.out).resolve().parent.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out).resolve().parent / "pareto_all_devices_tune"
    outcome = run_search(make_trainable(str(bench.data_dir), local_name, split), tune_param_space(space),
                         HypernetSearch(strategy, space, metric, mode), metric=metric, mode=mode,
                         num_samples=n_trials, output_dir=out_dir, max_concurrent=1, plot=False, overwrite=True)
    df = outcome.results
    print(f"Tune ran {len(df)} trials for {len(targets)} devices in {outcome.wall_time_s:.0f}s "
          f"(results in {out_dir})")

    # 4. one panel per device
    acc_all = bench.all_accuracy(split)
    cols = 3
    rows = (len(targets) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    for ax, d in zip(axes.flat, targets):
        mine = df[df["config/target_device"] == d]
        if d == local_name:
            rng = np.random.default_rng(args.seed)
            pop = [space.sample(rng) for _ in range(args.local_population)]
            dev = LocalDevice(warmup=2, repeats=7, threads=1)
            pop_lat = np.array([dev.latency_ms(a, space) for a in pop])
            pop_acc = np.array([bench.accuracy(a, split) for a in pop])
            ax.scatter(pop_lat, pop_acc, s=6, c="0.75", label=f"{len(pop)} random archs, timed here")
            title = f"{d} (this CPU, not trained on, timed live)"
            hv = None
        else:
            lat_all = bench.all_latency(d)
            ax.scatter(lat_all, acc_all, s=1, c="0.82", rasterized=True, label="all 15,625 archs")
            f = np.array(bench.true_front(d))
            f = f[np.argsort(lat_all[f])]
            ax.step(lat_all[f], acc_all[f], where="post", c="k", lw=1, label="true front")
            hv = bench.normalised_hv([space.parse(a) for a in mine["arch"]], d)
            title = f"{d} ({'trained on' if d in train else 'held out: not trained on'})"
        pts = mine[["latency_ms", "accuracy"]].to_numpy(float)
        front = moo.pareto_mask(np.c_[pts[:, 0], -pts[:, 1]])
        ax.scatter(pts[:, 0], pts[:, 1], s=30, facecolors="none", edgecolors="tab:red", lw=1.2,
                   label=f"hypernetwork's {len(mine)} trials")
        order = np.argsort(pts[front, 0])
        ax.step(pts[front, 0][order], pts[front, 1][order], where="post", c="tab:red", lw=1.2,
                label="its front")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        shown = pts[pts[:, 1] >= 80, 0]
        if d != local_name:  # zoom on the interesting region: archs above 80% accuracy
            shown = np.concatenate([shown, bench.all_latency(d)[acc_all >= 80]])
        if len(shown):
            ax.set_xlim(shown.min() / 1.15, shown.max() * 1.15)
        ax.set_ylim(80, acc_all.max() + 1)
        ax.set_title(title + (f"\nnormalised HV {hv:.3f}" if hv is not None else ""), fontsize=10)
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel(f"CIFAR-10 {split} accuracy (%)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="lower right")
        below = int((pts[:, 1] < 80).sum())
        if below:
            ax.annotate(f"{below} proposal(s) below 80%", (0.02, 0.03), xycoords="axes fraction", fontsize=7)
    for ax in list(axes.flat)[len(targets):]:
        ax.axis("off")
    fig.suptitle("One hypernetwork, one Tune experiment: a front per device (MODNAS, surrogate mode, "
                 f"{args.labels} accuracy labels, refined every {args.refit_every} trials)", fontsize=12)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
