"""Proxy speed on NB201 networks on this CPU: raynas's shared passes vs the peer, same inputs, one run.

The peer is ``alethiometer`` (a maintained fork of the reference foresight code; the test-only peer
installed by ``make setup``), which computes each proxy in its own call on its own copy of the
network, as foresight does. For the proxies both implement (grad_norm, snip, grasp, synflow, and
NASWOT as ``nwot_relu``) each architecture is scored by

* ``peer, one call each``   — one ``calc_zc_metrics([name])`` call per proxy (how the suite is run);
* ``peer, one call``        — one ``calc_zc_metrics(names)`` call (it still runs one pass per proxy);
* ``raynas, one call each`` — one ``compute_proxies([name])`` call per proxy;
* ``raynas, shared``        — one ``compute_proxies(names)`` call (passes shared between proxies);

on the same network and the same 64-image 32x32 batch, 1 torch thread, in alternating order.
raynas's full suite (adding fisher, jacob_cov, which the peer lacks) is timed too.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/proxy_speed.py --archs 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from raynas.data import stand_in_batch  # noqa: E402
from raynas.proxies import PAPER_PROXIES, compute_proxies  # noqa: E402
from raynas.spaces import NB201Space  # noqa: E402

#: raynas name -> peer name, for the proxies both compute.
COMMON = {"grad_norm": "grad_norm", "snip": "snip", "grasp": "grasp", "synflow": "synflow", "naswot": "nwot_relu"}


def load_peer():
    sys.path.insert(0, str(ROOT / "tests" / "peer_stubs"))  # torchvision stand-in (tests/peer_stubs/torchvision/__init__.py says why)
    try:
        from alethiometer import calc_zc_metrics
    except ImportError as exc:
        raise SystemExit(f"the peer is not installed ({exc}); run `make setup` or "
                         "`.venv/bin/pip install --no-deps alethiometer==1.1.2`") from None
    return calc_zc_metrics


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", type=int, default=20, help="NB201 architectures (seeded sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    peer = load_peer()
    space = NB201Space()
    batch = stand_in_batch("fashion-mnist", args.batch_size, seed=0)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.archs)]
    cpu = torch.device("cpu")
    mine, theirs = list(COMMON), list(COMMON.values())
    full = [*PAPER_PROXIES, "naswot"]
    times: dict[str, list[float]] = {k: [] for k in
                                     ("peer, one call each", "peer, one call", "raynas, one call each",
                                      "raynas, shared", "raynas, full suite (7)")}

    def run_peer_each(model):
        for name in theirs:
            peer([name], model, [batch], cpu)

    def run_mine_each(model):
        for name in mine:
            compute_proxies(model, batch, [name])

    torch.manual_seed(0)
    warm = space.build(archs[0])
    run_peer_each(warm)
    compute_proxies(warm, batch, full)
    for i, arch in enumerate(archs):
        torch.manual_seed(0)
        model = space.build(arch)
        jobs = [("peer, one call each", lambda: run_peer_each(model)),
                ("peer, one call", lambda: peer(theirs, model, [batch], cpu)),
                ("raynas, one call each", lambda: run_mine_each(model)),
                ("raynas, shared", lambda: compute_proxies(model, batch, mine)),
                ("raynas, full suite (7)", lambda: compute_proxies(model, batch, full))]
        for label, job in (jobs if i % 2 == 0 else jobs[::-1]):
            times[label].append(timed(job))
        print(f"  {i + 1}/{len(archs)}  peer each {times['peer, one call each'][-1]:.2f} s  "
              f"raynas shared {times['raynas, shared'][-1]:.2f} s", flush=True)

    base = statistics.median(times["peer, one call each"])
    print(f"\nProxy speed, {len(archs)} NB201 networks (C=16, N=5), batch {args.batch_size} at 32x32x3, "
          f"{args.threads} thread(s); proxies: {', '.join(mine)} (peer: {', '.join(theirs)})")
    print(f"{'method':<24} {'median s/arch':>14} {'mean s/arch':>12} {'archs/s':>8} {'proxies/s':>10} "
          f"{'speed-up vs peer each':>22}")
    for label, ts in times.items():
        n_proxies = len(full) if "full" in label else len(mine)
        med = statistics.median(ts)
        print(f"{label:<24} {med:>14.3f} {statistics.mean(ts):>12.3f} {1 / med:>8.2f} {n_proxies / med:>10.2f} "
              f"{base / med:>21.2f}x")
    print("\nspeed-up = median peer time (one call per proxy) / median time of the row, same networks and batch;"
          "\nthe full-suite row computes 7 proxies (fisher and jacob_cov are not in the peer) and is compared"
          "\nwith the peer computing only 5.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
