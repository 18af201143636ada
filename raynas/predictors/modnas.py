"""Differentiable objectives for the hypernetwork: a hardware-conditioned latency predictor
(MetaPredictor) and an accuracy surrogate, both over the one-hot encoding of an architecture, so a
straight-through one-hot sample passes gradients to the hypernetwork.

Latency units. A device is described by its latencies ``r`` of the reference architectures
(:class:`HardwareProfile`). Its hardware embedding is ``(r - min r) / (max r - min r)``, and the
MetaPredictor predicts latency in the same *reference units* ``(ms - min r) / (max r - min r)``:
a quantity every device has, seen or unseen, and that converts back to milliseconds exactly.

Deliberate difference: MODNAS's MetaPredictor is HELP's GCN over the cell graph; ours is an
additive per-(decision, op) cost set by the hardware embedding plus an MLP for interactions, over
the one-hot encoding -- any space with decisions x ops (NB201, FBNet), trained in seconds on a CPU.
Zero-shot Spearman on NB201's held-out devices with 10 training columns: see
``benchmarks/hypernet_fronts.py`` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from raynas.errors import DataNotFoundError, InvalidConfigError, UnknownNameError


# --------------------------------------------------------------------------------------------------
# Devices as hardware embeddings
@dataclass
class HardwareProfile:
    """A device known only by its latencies (ms) of the space's reference architectures."""

    name: str
    reference_ms: np.ndarray

    def __post_init__(self):
        self.reference_ms = np.asarray(self.reference_ms, dtype=np.float64).reshape(-1)
        if self.reference_ms.size < 2 or not np.all(np.isfinite(self.reference_ms)):
            raise InvalidConfigError(f"device {self.name!r}: need >= 2 finite reference latencies, got {self.reference_ms}")

    @property
    def low(self) -> float:
        return float(self.reference_ms.min())

    @property
    def span(self) -> float:
        s = float(self.reference_ms.max() - self.reference_ms.min())
        return s if s > 0 else max(abs(self.low), 1e-9)

    @property
    def embedding(self) -> np.ndarray:
        """Min-max normalised reference latencies (HELP/MODNAS hardware embedding)."""
        return ((self.reference_ms - self.low) / self.span).astype(np.float32)

    def to_units(self, ms) -> np.ndarray:
        return (np.asarray(ms, dtype=np.float64) - self.low) / self.span

    def to_ms(self, units) -> np.ndarray:
        return np.asarray(units, dtype=np.float64) * self.span + self.low

    @classmethod
    def from_device(cls, device, space, data_dir=None, reference_archs=None) -> "HardwareProfile":
        """Measure (``LocalDevice``), look up (``TableDevice``) or predict the space's reference
        architectures on ``device`` (:func:`raynas.hardware.hardware_embedding`), or the given
        ``reference_archs``. Only these ~10 latencies are needed for a new device."""
        if reference_archs is not None:
            return cls(device.name, [device.latency_ms(a, space) for a in reference_archs])
        from raynas.hardware import hardware_embedding

        name = space if isinstance(space, str) else space.name
        return cls(device.name, hardware_embedding(device, name, data_dir, normalise=False))


@dataclass
class LatencyData:
    """A space's published latency table as one-hot features and per-device latencies (ms).

    A view of :class:`raynas.predictors.SpaceTable` (the one reader of the tables) with what the
    hypernetwork needs: one-hot rows, a column per device, and the reference rows that define a
    device's :class:`HardwareProfile`."""

    space_name: str
    archs: list[tuple[int, ...]]
    onehot: np.ndarray                       # [N, D*O]
    latency_ms: dict[str, np.ndarray]        # device -> [N]
    reference_rows: list[int]

    @property
    def devices(self) -> list[str]:
        return list(self.latency_ms)

    def profile(self, device: str) -> HardwareProfile:
        if device not in self.latency_ms:
            raise UnknownNameError(f"device {device!r} is not in the {self.space_name} latency table; "
                                   f"known: {', '.join(self.latency_ms)}")
        if not self.reference_rows:
            from raynas.hardware.table import fetch_hint

            raise DataNotFoundError(f"the {self.space_name} table has no reference architectures "
                                    f"(reference_archs.json) to make a hardware embedding from; "
                                    f"{fetch_hint(self.space_name)}")
        return HardwareProfile(device, self.latency_ms[device][self.reference_rows])

    def units(self, device: str) -> np.ndarray:
        return self.profile(device).to_units(self.latency_ms[device])

    @property
    def reference_archs(self) -> list[tuple[int, ...]]:
        """The architectures whose latencies make a device's hardware embedding."""
        return [self.archs[r] for r in self.reference_rows]


def load_latency_data(space, data_dir=None) -> LatencyData:
    """Read ``{space}/latency_ms.csv`` (every device column, whatever they are) and its references."""
    from raynas.predictors.tables import load_space_table

    table = load_space_table(space.name, data_dir)
    onehot = np.stack([space.encode_onehot(a) for a in table.archs]).astype(np.float32)
    lat = {d: table.latency[:, j].astype(np.float64) for j, d in enumerate(table.devices)}
    return LatencyData(space.name, [tuple(a) for a in table.archs], onehot, lat, list(table.reference))


# --------------------------------------------------------------------------------------------------
# Models
def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class MetaPredictor(nn.Module):
    """Latency (reference units) of a one-hot architecture on a device given its hardware embedding.

    An additive term ``x . c(h)`` (a per-(decision, op) cost that the embedding sets, the part of
    latency that is a sum over layers) plus an MLP of ``[x, h]`` for interactions.
    """

    def __init__(self, in_dim: int, hw_dim: int = 10, hidden: int = 128):
        super().__init__()
        self.in_dim, self.hw_dim, self.hidden = in_dim, hw_dim, hidden
        self.cost = _mlp([hw_dim, hidden, in_dim])
        self.bias = _mlp([hw_dim, hidden // 2, 1])
        self.mlp = _mlp([in_dim + hw_dim, hidden, hidden, 1])

    def config(self) -> dict:
        return {"in_dim": self.in_dim, "hw_dim": self.hw_dim, "hidden": self.hidden}

    def forward(self, x: torch.Tensor, hw: torch.Tensor) -> torch.Tensor:
        if hw.dim() == 1:
            hw = hw[None].expand(x.shape[0], -1)
        return (x * self.cost(hw)).sum(-1) + self.bias(hw).squeeze(-1) + self.mlp(torch.cat([x, hw], -1)).squeeze(-1)


class AccuracySurrogate(nn.Module):
    """Error (fraction in [0, 1]) of a one-hot architecture: an MLP (an ensemble mean if ``members`` > 1)."""

    def __init__(self, in_dim: int, hidden: int = 128, members: int = 1):
        super().__init__()
        self.in_dim, self.hidden, self.members = in_dim, hidden, members
        self.nets = nn.ModuleList(_mlp([in_dim, hidden, hidden, 1]) for _ in range(members))

    def config(self) -> dict:
        return {"in_dim": self.in_dim, "hidden": self.hidden, "members": self.members}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x).squeeze(-1) for net in self.nets]).mean(0)


def _fit(model: nn.Module, inputs: tuple[torch.Tensor, ...], y: torch.Tensor, epochs: int, batch_size: int,
         lr: float, seed: int, weight_decay: float = 1e-5) -> list[float]:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, (len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        total = 0.0
        for i in range(0, len(y), batch_size):
            idx = perm[i: i + batch_size]
            pred = model(*(t[idx] for t in inputs))
            loss = nn.functional.mse_loss(pred, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
    model.eval()
    return losses


def fit_meta_predictor(data: LatencyData, devices: list[str], archs_per_device: int = 3000, epochs: int = 30,
                       hidden: int = 128, lr: float = 2e-3, seed: int = 0) -> MetaPredictor:
    """Train a MetaPredictor on ``archs_per_device`` random rows of each source device's table."""
    if not devices:
        raise InvalidConfigError("fit_meta_predictor needs at least one source device")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xs, hs, ys = [], [], []
    n = len(data.archs)
    for d in devices:
        rows = rng.choice(n, size=min(archs_per_device, n), replace=False)
        prof = data.profile(d)
        xs.append(data.onehot[rows])
        hs.append(np.repeat(prof.embedding[None], len(rows), 0))
        ys.append(prof.to_units(data.latency_ms[d][rows]))
    model = MetaPredictor(data.onehot.shape[1], len(data.reference_rows), hidden)
    x = torch.tensor(np.concatenate(xs))
    h = torch.tensor(np.concatenate(hs))
    y = torch.tensor(np.concatenate(ys), dtype=torch.float32)
    _fit(model, (x, h), y, epochs, 256, lr, seed)
    return model


def _epochs_for(n: int, epochs: int, batch_size: int, min_steps: int) -> int:
    """At least ``min_steps`` optimiser steps, however few observations there are."""
    return max(epochs, -(-min_steps // max(1, -(-n // batch_size))))


def refit_meta_predictor(model: MetaPredictor, x: np.ndarray, hw: np.ndarray, y_units: np.ndarray,
                         replay: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, epochs: int = 30,
                         lr: float = 5e-4, seed: int = 0, min_steps: int = 150) -> MetaPredictor:
    """Fine-tune on observed measurements (``y_units`` in reference units), mixed with ``replay``
    samples from the source devices so the predictor does not forget them."""
    xs, hs, ys = [np.asarray(x, np.float32)], [np.asarray(hw, np.float32)], [np.asarray(y_units, np.float64)]
    if replay is not None:
        xs.append(replay[0]), hs.append(replay[1]), ys.append(replay[2])
    n = sum(len(v) for v in ys)
    _fit(model, (torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(hs))),
         torch.tensor(np.concatenate(ys), dtype=torch.float32), _epochs_for(n, epochs, 64, min_steps), 64, lr, seed)
    return model


def fit_accuracy_surrogate(space, archs: list[tuple[int, ...]], accuracy_pct: np.ndarray, epochs: int = 300,
                           hidden: int = 128, members: int = 3, lr: float = 2e-3, seed: int = 0) -> AccuracySurrogate:
    """Train the accuracy surrogate on ``archs`` with accuracies in percent (it predicts error fractions)."""
    acc = np.asarray(accuracy_pct, dtype=np.float64)
    if len(acc) != len(archs) or len(archs) < 2 or not np.all(np.isfinite(acc)):
        raise InvalidConfigError(f"need >= 2 architectures with finite accuracies, got {len(archs)} archs, "
                                 f"{len(acc)} accuracies")
    torch.manual_seed(seed)
    x = torch.tensor(np.stack([space.encode_onehot(a) for a in archs]))
    y = torch.tensor(1.0 - acc / 100.0, dtype=torch.float32)
    model = AccuracySurrogate(x.shape[1], hidden, members)
    for i, net in enumerate(model.nets):
        _fit(_Single(net), (x,), y, epochs, 64, lr, seed + i)
    model.eval()
    return model


def refit_accuracy_surrogate(model: AccuracySurrogate, x: np.ndarray, error: np.ndarray,
                             replay: tuple[np.ndarray, np.ndarray] | None = None, epochs: int = 30,
                             lr: float = 5e-4, seed: int = 0, min_steps: int = 150) -> AccuracySurrogate:
    """Fine-tune every ensemble member on observed ``(one-hot, error fraction)`` pairs, mixed with
    ``replay`` (the surrogate's own training set) so it does not forget what it knew."""
    xs, ys = [np.asarray(x, np.float32)], [np.asarray(error, np.float64)]
    if replay is not None:
        xs.append(np.asarray(replay[0], np.float32)), ys.append(np.asarray(replay[1], np.float64))
    xt, yt = torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(ys), dtype=torch.float32)
    for p in model.parameters():
        p.requires_grad_(True)
    epochs = _epochs_for(len(yt), epochs, 64, min_steps)
    for i, net in enumerate(model.nets):
        _fit(_Single(net), (xt,), yt, epochs, 64, lr, seed + i)
    model.eval()
    return model


class _Single(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(-1)


@dataclass
class AccuracyFit:
    """An accuracy surrogate with the labelled architectures it was trained on."""

    model: AccuracySurrogate
    arch_indices: list[int]          # NB201 official ``arch_index`` of each labelled architecture
    onehot: np.ndarray               # [n, D*O]
    error: np.ndarray                # [n] error fractions

    @property
    def replay(self) -> tuple[np.ndarray, np.ndarray]:
        return self.onehot, self.error


def nb201_accuracy_surrogate(space, n_archs: int = 1000, data_dir=None, split: str = "valid", seed: int = 0,
                             **kwargs) -> AccuracyFit:
    """An accuracy surrogate trained on ``n_archs`` random NB201 CIFAR-10 architectures' ``split``
    accuracies (:class:`raynas.benchmarks.NB201Benchmark`); every label counts as one evaluation."""
    from raynas.benchmarks import NB201Benchmark

    if n_archs < 2:
        raise InvalidConfigError(f"the accuracy surrogate needs at least 2 labelled architectures, got {n_archs}")
    bench = NB201Benchmark(data_dir)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(bench), size=min(n_archs, len(bench)), replace=False))
    archs = [bench.arch(int(i)) for i in rows]
    acc = np.array([bench.accuracy(int(i), split) for i in rows])
    model = fit_accuracy_surrogate(space, archs, acc, seed=seed, **kwargs)
    onehot = np.stack([space.encode_onehot(a) for a in archs]).astype(np.float32)
    return AccuracyFit(model, [int(i) for i in rows], onehot, 1.0 - acc / 100.0)
