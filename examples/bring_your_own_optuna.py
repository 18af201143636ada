"""A plain Ray Tune + PyTorch script searching a CNN family on Fashion-MNIST.

Three objectives: validation accuracy (max), latency on this CPU (min, measured in each trial) and
parameters (min). The search space is an ordinary Tune ``param_space``: depth, width per stage,
kernel size, activation, learning rate and weight decay. ``bring_your_own.py`` searches with
raynas's ``ZeroCostSearch``, ``bring_your_own_optuna.py`` with Tune's ``OptunaSearch``: ``diff`` the
two files and the searcher lines (marked ``<-``) are all that differ.

    raynas data fetch fashion-mnist                        # once
    python examples/bring_your_own.py                      # 40 trials
    python examples/bring_your_own_optuna.py --samples 8 --train-size 500

``build_model``, ``train_cnn`` and ``PARAM_SPACE`` are imported by ``benchmarks/byo_search.py``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: busy-waiting OpenMP slows a shared CPU

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from ray import tune  # noqa: E402

from ray.tune.search.optuna import OptunaSearch  # noqa: E402  <- Optuna

METRIC, MODE = ["accuracy", "latency_ms", "params"], ["max", "min", "min"]
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
PARAM_SPACE = {
    "depth": tune.randint(1, 4),                      # conv layers per stage
    "width": {"stage1": tune.choice([4, 8, 16]), "stage2": tune.choice([8, 16, 32])},
    "kernel": tune.choice([3, 5, 7]),
    "act": tune.choice(list(ACTIVATIONS)),
    "lr": tune.loguniform(1e-4, 3e-2),
    "weight_decay": tune.loguniform(1e-6, 1e-2),
}


def build_model(config: dict) -> nn.Module:
    """Two stages of ``depth`` convolutions (``width`` channels each), pooling after each, a linear
    classifier; 1-channel 14x14 inputs (Fashion-MNIST at half resolution, so a trial takes seconds
    on a CPU), 10 classes."""
    act = ACTIVATIONS[config["act"]]
    layers, c = [], 1
    for stage, width in enumerate((config["width"]["stage1"], config["width"]["stage2"])):
        for _ in range(config["depth"]):
            layers += [nn.Conv2d(c, width, config["kernel"], padding="same", bias=False), nn.BatchNorm2d(width), act()]
            c = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def latency_ms(model: nn.Module, repeats: int = 15) -> float:
    """Median time of one forward pass of a single image on this CPU (one thread, after warm-up)."""
    model.eval()
    x = torch.randn(1, 1, 14, 14)
    times = []
    with torch.no_grad():
        for i in range(repeats + 3):
            t0 = time.perf_counter()
            model(x)
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def load_data(train_size: int, val_size: int):
    from raynas.data import load_fashion_mnist

    train = load_fashion_mnist(split="train", limit=train_size + val_size)
    x = (nn.functional.avg_pool2d(train.images, 2) - 0.286) / 0.353
    return (x[:train_size], train.labels[:train_size]), (x[train_size:], train.labels[train_size:])


def train_cnn(config: dict) -> None:
    """Tune trainable: measure latency and parameters, then train and report every epoch."""
    torch.set_num_threads(1)
    torch.manual_seed(config.get("seed", 0))
    (xt, yt), (xv, yv) = load_data(config["train_size"], config["val_size"])
    model = build_model(config)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    latency = latency_ms(model)
    opt = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    for epoch in range(config["epochs"]):
        model.train()
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = 100.0 * (model(xv).argmax(1) == yv).float().mean().item()
        tune.report({"accuracy": accuracy, "latency_ms": latency, "params": params})


def main(argv=None) -> None:
    import ray
    from ray.tune.schedulers import ASHAScheduler

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-size", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    param_space = {**PARAM_SPACE, "epochs": args.epochs, "train_size": args.train_size, "val_size": 1000}

    search_alg = OptunaSearch(metric=METRIC, mode=MODE,  # <- Optuna
                              seed=args.seed)             # <- Optuna
    scheduler = ASHAScheduler(metric="accuracy", mode="max", max_t=args.epochs, grace_period=1)

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(train_cnn, param_space=param_space,
                           tune_config=tune.TuneConfig(search_alg=search_alg, scheduler=scheduler,
                                                       num_samples=args.samples, max_concurrent_trials=2),
                           run_config=tune.RunConfig(name="bring_your_own", verbose=1))
        grid = tuner.fit()
    finally:
        ray.shutdown()
    from searchers import pareto_front

    front = pareto_front(grid, METRIC, MODE)
    cols = [c for c in [*METRIC, *(f"config/{k}" for k in ("depth", "kernel", "act", "lr"))] if c in front.columns]
    print(f"\n{len(grid)} trials; Pareto front of the trials that trained to the end ({len(front)}):")
    print(front[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
