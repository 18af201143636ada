"""How well the learned model ranks configurations of the bring-your-own CNN space, with and without
per-dimension relevance.

Trains ``--configs`` random configurations of ``examples/bring_your_own.py``'s ``param_space`` (the
same trainable settings as ``byo_search.py``: 2 epochs on 1,500 Fashion-MNIST images at 14x14, one
torch thread, seed 0 -- so an accuracy does not depend on the machine's load), then for n told
configurations fits ``ZeroCostStrategy``'s Gaussian process (accuracy only, through the strategy,
zero-cost scores as features) and reports the Spearman correlation of its predicted accuracy with
the true accuracy of the other configurations: median over ``--splits`` random splits.

    python benchmarks/byo_surrogate.py                 # ~3 min on one core (the training)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import numpy as np  # noqa: E402

SIZES = (10, 20, 40, 80)


def train_random(space, n: int, seed: int) -> list[tuple[str, float]]:
    """(configuration string, validation accuracy %) of ``n`` random configurations."""
    import bring_your_own as byo
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    (xt, yt), (xv, yv) = byo.load_data(1500, 1000)
    out = []
    for _ in range(n):
        arch = space.sample(rng)
        cfg = space.to_config(arch)
        torch.manual_seed(0)
        model = byo.build_model(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        for _epoch in range(2):
            model.train()
            order = torch.randperm(len(xt))
            for j in range(0, len(xt), 64):
                idx = order[j:j + 64]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            out.append((space.arch_str(arch), 100.0 * (model(xv).argmax(1) == yv).float().mean().item()))
    return out


def rank_quality(space, data, relevance: bool, n: int, splits: int) -> list[float]:
    from scipy.stats import spearmanr

    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.parts import Model

    archs = [space.parse(s) for s, _ in data]
    acc = np.array([a for _, a in data])
    rhos = []
    for rep in range(splits):
        perm = np.random.default_rng(rep).permutation(len(archs))
        told, rest = perm[:n], perm[n:]
        s = ZeroCostStrategy(space, objectives=["quality"], model=Model(min_fit=3, options={"relevance": relevance}),
                             seed=0)
        for i in told:
            s.tell(archs[i], [-acc[i]])
        est = s.estimates([archs[i] for i in rest])[:, 0]
        rhos.append(float(spearmanr(-est, acc[rest]).statistic))
    return rhos


def main(argv=None) -> None:
    import bring_your_own as byo

    from searchers.spaces import space_from_param_space

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", type=int, default=240)
    p.add_argument("--splits", type=int, default=5)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "byo_surrogate.md"))
    args = p.parse_args(argv)
    space = space_from_param_space(byo.PARAM_SPACE, model_fn=byo.build_model, example_inputs=(1, 14, 14))
    cache = Path(args.out).with_suffix(".json")
    data = json.loads(cache.read_text()) if cache.is_file() else []
    if len(data) < args.configs:
        t0 = time.perf_counter()
        data = train_random(space, args.configs, args.seed)
        cache.write_text(json.dumps(data))
        print(f"# trained {len(data)} configurations in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    lines = [f"# python benchmarks/byo_surrogate.py --configs {args.configs} --splits {args.splits}", "",
             f"Spearman of the GP's predicted accuracy with the true accuracy of the {args.configs} - n other "
             f"random configurations (median of {args.splits} splits)", "",
             "| model | " + " | ".join(f"n={n}" for n in SIZES) + " |", "|---|" + "---|" * len(SIZES)]
    for relevance, label in ((False, "GP, one lengthscale for every dimension"),
                             (True, "GP with per-dimension relevance (the default on this space)")):
        cells = [f"{np.median(rank_quality(space, data, relevance, n, args.splits)):.3f}" for n in SIZES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
