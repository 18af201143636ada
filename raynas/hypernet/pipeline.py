"""End-to-end training in surrogate mode from the published tables (minutes on one CPU core)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from raynas.errors import InvalidConfigError
from raynas.hypernet.model import MetaHypernetwork
from raynas.predictors.modnas import (AccuracyFit, AccuracySurrogate, LatencyData, MetaPredictor,
                                        fit_meta_predictor, load_latency_data, nb201_accuracy_surrogate)
from raynas.hypernet.train import HypernetTrainer, TrainSettings, architecture_pool
from raynas.logs import get_logger

logger = get_logger("hypernet")

#: MODNAS's device split (METHODS.md section 3: its 13 training and 6 test devices of HELP's NB201 data).
MODNAS_TRAIN_DEVICES = ("1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50",
                        "pixel3", "essential_ph_1", "samsung_s7", "titanx_1", "titanx_32", "titanx_256", "gold_6240")
MODNAS_TEST_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")


def default_device_split(columns: Sequence[str], seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """``(train, held-out, other)`` from a latency table's device columns: MODNAS's split restricted
    to the columns the table has, the remaining columns as ``other`` (not trained on). A table with
    none of MODNAS's test devices holds out a seeded quarter of its columns and trains on the rest."""
    columns = list(columns)
    if not columns:
        raise InvalidConfigError("the latency table has no device columns")
    test = [d for d in MODNAS_TEST_DEVICES if d in columns]
    train = [d for d in MODNAS_TRAIN_DEVICES if d in columns]
    if not test or not train:
        k = max(1, len(columns) // 4) if len(columns) > 1 else 0
        test = sorted(np.random.default_rng(seed).choice(columns, size=k, replace=False).tolist()) if k else []
        train = [d for d in columns if d not in test]
    other = [d for d in columns if d not in train and d not in test]
    return train, test, other


@dataclass
class SurrogateBundle:
    """What surrogate-mode training produces, with how much data each part saw and what it cost.

    ``accuracy_labels`` is the number of architectures whose accuracy was looked up (each one an
    evaluation a benchmark must count); ``latency_replay``/``accuracy_replay`` are samples of the
    predictors' training data, mixed into refits so they do not forget."""

    data: LatencyData
    hypernet: MetaHypernetwork
    accuracy: AccuracySurrogate
    latency: MetaPredictor
    train_devices: list[str]
    accuracy_arch_indices: list[int]
    latency_replay: tuple[np.ndarray, np.ndarray, np.ndarray]
    accuracy_replay: tuple[np.ndarray, np.ndarray] | None = None
    timings: dict = field(default_factory=dict)
    history: list = field(default_factory=list)

    @property
    def accuracy_labels(self) -> int:
        return len(self.accuracy_arch_indices)


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
                         accuracy: AccuracySurrogate | AccuracyFit | None = None,
                         latency: MetaPredictor | None = None, standardise_hw: bool = True) -> SurrogateBundle:
    """Fit the MetaPredictor on ``train_devices``' latency columns, the accuracy surrogate on
    ``n_accuracy_archs`` NB201 CIFAR-10 validation accuracies (or use ``accuracy``), then train the
    hypernetwork by MGD over ``train_devices`` with Dirichlet-sampled preferences. A given
    ``latency`` predictor (already fitted on ``train_devices``) is used as it is.

    ``standardise_hw`` standardises hardware embeddings with the training devices' statistics
    before the hypernetwork's attention (see :class:`MetaHypernetwork`)."""
    if space.name != "nb201" and accuracy is None:
        raise InvalidConfigError(f"space {space.name!r} has no accuracy table: pass an accuracy surrogate")
    if not train_devices:
        raise InvalidConfigError("train_surrogate_mode needs at least one training device")
    torch.manual_seed(seed)
    timings = {}
    t = time.perf_counter()
    data = load_latency_data(space, data_dir)
    unknown = [d for d in train_devices if d not in data.latency_ms]
    if unknown:
        raise InvalidConfigError(f"training devices {unknown} are not in the {space.name} latency table "
                                 f"(it has {', '.join(data.devices)})")
    if latency is None:
        logger.info("hypernetwork, surrogate mode: fitting the latency predictor on %d devices' columns (%s)",
                    len(train_devices), ", ".join(train_devices))
        latency = fit_meta_predictor(data, list(train_devices), archs_per_device, predictor_epochs, seed=seed)
    timings["latency_predictor_s"] = time.perf_counter() - t
    t = time.perf_counter()
    seen: list[int] = []
    acc_replay = None
    if accuracy is None:
        logger.info("hypernetwork, surrogate mode: fitting the accuracy surrogate on %d architectures' accuracies",
                    n_accuracy_archs)
        accuracy = nb201_accuracy_surrogate(space, n_accuracy_archs, data_dir, seed=seed)
    if isinstance(accuracy, AccuracyFit):
        seen, acc_replay, accuracy = accuracy.arch_indices, accuracy.replay, accuracy.model
    timings["accuracy_surrogate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    profiles = {d: data.profile(d) for d in train_devices}
    hypernet = MetaHypernetwork(space.num_decisions, len(space.ops), num_tables=num_tables,
                                hw_dim=len(data.reference_rows), seed=seed)
    if standardise_hw:
        hypernet.set_hardware_stats(np.stack([p.embedding for p in profiles.values()]))
    settings = settings or TrainSettings(seed=seed)
    trainer = HypernetTrainer(hypernet, accuracy, latency, profiles, architecture_pool(space, seed=seed), settings)
    history = trainer.train(log_every=log_every)
    timings["hypernet_s"] = time.perf_counter() - t
    return SurrogateBundle(data, hypernet, accuracy, latency, list(train_devices), list(seen),
                           latency_replay(data, train_devices, seed=seed), acc_replay, timings, history)
