"""Ready-made Tune trainables.

``live_trainable(...)`` builds the network a config describes, computes its cost proxies on one
batch, measures its latency on this CPU, trains it for a few epochs and reports a flat result dict
every epoch (so Tune's schedulers can stop it early)::

    {"accuracy", "val_loss", "latency_ms", "latency_iqr_ms", "params", "flops", "proxy/<name>",
     "epoch", "arch", ...}

``tabular_trainable(...)`` answers the same kind of config instantly from published NAS-Bench-201
tables, so the same searchers run in tabular and in live mode.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ray import tune

from raynas.errors import InvalidConfigError


@dataclass(frozen=True)
class LiveTrialSettings:
    """Everything a live trial needs besides the architecture (which comes from the config)."""

    space: str = "nb201"
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    limit: int | None = None
    seed: int = 0
    threads: int = 1
    latency_batch_size: int = 1
    latency_repeats: int = 20
    proxies: Sequence[str] = field(default_factory=lambda: ("params", "flops"))
    space_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InvalidConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 10):
            raise InvalidConfigError(f"limit must be an integer >= 10 or None, got {self.limit!r}")


def run_live_trial(config: dict, settings: LiveTrialSettings, report: Callable[[dict], None]) -> None:
    """The body of a live trial, independent of Tune (``report`` receives each epoch's metrics)."""
    from raynas import data
    from raynas.hardware import LocalDevice
    from raynas.proxies import compute_proxies
    from raynas.spaces import get_space
    from raynas.training import TrainingSettings, evaluate, train

    space = get_space(settings.space, **settings.space_kwargs)
    arch = space.from_config(config)
    dataset = data.load_dataset(settings.dataset, settings.data_dir)
    channels, size, _ = dataset.shape
    model = space.build(arch, num_classes=dataset.num_classes, in_channels=channels)

    batch = data.one_batch(dataset, batch_size=min(64, len(dataset)), seed=settings.seed)
    proxies = compute_proxies(model, batch, list(settings.proxies), seed=settings.seed)
    device = LocalDevice(input_shape=dataset.shape, batch_size=settings.latency_batch_size,
                         repeats=settings.latency_repeats, threads=settings.threads)
    latency = device.measure(model)

    static = {
        "arch": space.arch_str(arch),
        "latency_ms": latency.median_ms,
        "latency_iqr_ms": latency.iqr_ms,
        "latency_device": device.name,
        **{name: float(v) for name, v in proxies.items() if name in ("params", "flops")},
        **{f"proxy/{name}": float(v) for name, v in proxies.items() if name not in ("params", "flops")},
    }
    train_loader, val_loader = data.train_val_loaders(dataset, batch_size=settings.batch_size,
                                                      seed=settings.seed, limit=settings.limit)
    # Report cost, proxies and the untrained network's measured accuracy before training, so a gate
    # (ProxyGate, HardwareBudgetStop) can stop the trial without paying for it, and every result
    # carries the scheduler's metric. Fidelity is ``epoch`` (0 here); schedulers use it as time_attr.
    accuracy, val_loss = evaluate(model, val_loader)
    report({**static, "epoch": 0, "accuracy": accuracy, "val_loss": val_loss, "max_epochs": settings.epochs})
    training = TrainingSettings(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                                seed=settings.seed, threads=settings.threads)
    train(model, train_loader, val_loader, training,
          report=lambda m: report({**m, **static, "max_epochs": settings.epochs}))


def report_with_node() -> Callable[[dict], None]:
    """``tune.report`` that also records which Ray node ran the trial (``node_id``)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    return lambda metrics: tune.report({**metrics, "node_id": node})


def live_trainable(**kwargs) -> Callable[[dict], None]:
    """A Tune function trainable for live trials; keyword arguments are :class:`LiveTrialSettings`."""
    settings = LiveTrialSettings(**kwargs)

    def trainable(config: dict) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        run_live_trial(config, settings, report_with_node())

    trainable.__name__ = f"raynas_live_{settings.space}_{settings.dataset}"
    return trainable



def tabular_trainable(devices: Sequence[str] | None = None, data_dir: str | None = None,
                      split: str = "valid", fail_on: Callable[[str], bool] | None = None,
                      delay_s: float = 0.0) -> Callable[[dict], None]:
    """A Tune trainable answering NB201 configs instantly from the published tables.

    Reports ``accuracy`` (CIFAR-10 ``split`` accuracy, %), ``error`` (100 - accuracy), and
    ``latency_ms/<device>`` for each device (``latency_ms`` for the first), plus ``arch``.
    ``fail_on(arch_str)`` lets fault-injection tests make chosen architectures raise; ``delay_s``
    makes each trial take that long (to test interruption)."""
    from raynas.benchmarks import NB201Benchmark

    bench = NB201Benchmark(data_dir)
    names = list(devices) if devices else bench.devices[:1]
    for d in names:
        bench.latency(0, d)  # raises naming an unknown device before any trial starts

    def trainable(config: dict) -> None:
        arch = bench.space.from_config(config)
        arch_str = bench.space.arch_str(arch)
        if delay_s:
            time.sleep(delay_s)
        if fail_on is not None and fail_on(arch_str):
            raise RuntimeError(f"injected failure for {arch_str}")
        acc = bench.accuracy(arch, split=split)
        lat = {f"latency_ms/{d}": bench.latency(arch, d) for d in names}
        report_with_node()({"accuracy": acc, "error": 100.0 - acc, "latency_ms": lat[f"latency_ms/{names[0]}"],
                            **lat, "arch": arch_str, "epoch": 1, "max_epochs": 1})

    trainable.__name__ = "raynas_tabular_nb201"
    return trainable
