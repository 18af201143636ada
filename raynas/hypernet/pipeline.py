"""End-to-end training in surrogate mode from the published tables (minutes on one CPU core)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from raynas.errors import InvalidConfigError
from raynas.hypernet.model import MetaHypernetwork
from raynas.hypernet.predictors import (AccuracySurrogate, LatencyData, MetaPredictor, fit_meta_predictor,
                                        load_latency_data, nb201_accuracy_surrogate)
from raynas.hypernet.train import HypernetTrainer, TrainSettings, architecture_pool


@dataclass
class SurrogateBundle:
    """What surrogate-mode training produces, with how much data each part saw and what it cost."""

    data: LatencyData
    hypernet: MetaHypernetwork
    accuracy: AccuracySurrogate
    latency: MetaPredictor
    train_devices: list[str]
    accuracy_arch_indices: list[int]
    replay: tuple[np.ndarray, np.ndarray, np.ndarray]
    timings: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def latency_replay(data: LatencyData, devices: Sequence[str], n: int = 2000, seed: int = 0):
    """Random (one-hot, embedding, reference-unit latency) samples from source devices."""
    rng = np.random.default_rng(seed)
    xs, hs, ys = [], [], []
    per = max(1, n // max(1, len(devices)))
    for d in devices:
        rows = rng.choice(len(data.archs), size=min(per, len(data.archs)), replace=False)
        prof = data.profile(d)
        xs.append(data.onehot[rows]), hs.append(np.repeat(prof.embedding[None], len(rows), 0))
        ys.append(prof.to_units(data.latency_ms[d][rows]))
    return np.concatenate(xs), np.concatenate(hs).astype(np.float32), np.concatenate(ys)


def train_surrogate_mode(space, train_devices: Sequence[str], data_dir=None, n_accuracy_archs: int = 1000,
                         archs_per_device: int = 2000, predictor_epochs: int = 20, num_tables: int = 50,
                         settings: TrainSettings | None = None, log_every: int = 0, seed: int = 0,
                         accuracy: AccuracySurrogate | None = None) -> SurrogateBundle:
    """Fit the MetaPredictor on ``train_devices``, the accuracy surrogate on ``n_accuracy_archs``
    NB201 CIFAR-10 architectures (or use ``accuracy``), then train the hypernetwork by MGD."""
    if space.name != "nb201" and accuracy is None:
        raise InvalidConfigError(f"space {space.name!r} has no accuracy table: pass an accuracy surrogate")
    torch.manual_seed(seed)
    timings = {}
    t = time.perf_counter()
    data = load_latency_data(space, data_dir)
    unknown = [d for d in train_devices if d not in data.latency_ms]
    if unknown:
        raise InvalidConfigError(f"training devices {unknown} are not in the {space.name} latency table")
    latency = fit_meta_predictor(data, list(train_devices), archs_per_device, predictor_epochs, seed=seed)
    timings["latency_predictor_s"] = time.perf_counter() - t
    t = time.perf_counter()
    seen: list[int] = []
    if accuracy is None:
        accuracy, seen = nb201_accuracy_surrogate(space, n_accuracy_archs, data_dir, seed=seed)
    timings["accuracy_surrogate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    hypernet = MetaHypernetwork(space.num_decisions, len(space.ops), num_tables=num_tables,
                                hw_dim=len(data.reference_rows), seed=seed)
    settings = settings or TrainSettings(seed=seed)
    trainer = HypernetTrainer(hypernet, accuracy, latency, {d: data.profile(d) for d in train_devices},
                              architecture_pool(space, seed=seed), settings)
    history = trainer.train(log_every=log_every)
    timings["hypernet_s"] = time.perf_counter() - t
    return SurrogateBundle(data, hypernet, accuracy, latency, list(train_devices), seen,
                           latency_replay(data, train_devices, seed=seed), timings, history)
